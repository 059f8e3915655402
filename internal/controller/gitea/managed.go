/*
Copyright 2026 The nuop authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package gitea

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/internal/truncate"
)

// Conn is what an adapter gets to talk to Gitea during one reconcile.
type Conn struct {
	// Client is the provider's shared client, for raw calls (Do) where the SDK lacks a field.
	Client *giteaclient.Client
	// SDK is an SDK client for this reconcile only (its context is the reconcile's).
	SDK *sdk.Client
	// Self is the provider's login.
	Self string
	// Kube reads Kubernetes objects live from the API server: Secrets, whose data the manager's cache does
	// not hold (see Conn.Secret).
	Kube client.Reader
	// namespace is the resource's: the only one whose Secrets it may name.
	namespace string
	// Deps are the resources the object refers to, by Dependency.key(); while it is being deleted, those
	// already gone are missing (adapters then fall back on what the status recorded).
	Deps map[string]giteav1alpha1.Managed
}

// Dep is the resource d, if it was found.
func (c *Conn) Dep(d Dependency) (giteav1alpha1.Managed, bool) {
	m, ok := c.Deps[d.key()]
	return m, ok
}

// Dependency is another managed resource, in the same namespace, that a resource refers to
// (organizationRef, repositoryRef, ...).
type Dependency struct {
	Kind string
	Name string
}

func (d Dependency) key() string { return d.Kind + "/" + d.Name }

// Dependent is implemented by the adapters of kinds that refer to other resources. The generic reconciler
// waits until each is Ready (DependencyNotReady until then) and hands them to the adapter in Conn.Deps.
type Dependent[T giteav1alpha1.Managed] interface {
	Dependencies(obj T) []Dependency
}

// SecretUser is implemented by the adapters of kinds that take values from Secrets (a password, a webhook
// secret): a change to one of those Secrets reconciles the resources naming it at once.
type SecretUser[T giteav1alpha1.Managed] interface {
	// SecretNames are the Secrets, in obj's namespace, that obj takes values from.
	SecretNames(obj T) []string
}

// Observation is what an adapter found in Gitea.
type Observation struct {
	// Exists is false when Gitea has no such object.
	Exists bool
	// ID is Gitea's id of the object.
	ID int64
	// Drift names the managed fields where Gitea differs from the spec; empty when up to date.
	Drift []string
	// State is the object as the adapter read it, handed back to Update (Gitea's PATCH resets what it is
	// not sent, so updates are read-modify-write).
	State any
}

// Adapter talks to Gitea for one kind; the generic reconciler does everything else (provider, finalizer,
// policies, conditions, events, conflicts, requeues).
type Adapter[T giteav1alpha1.Managed] interface {
	// Key is the object's natural key in Gitea (a name, owner/name, ...), as Gitea compares it.
	Key(c *Conn, obj T) string
	// Observe reads the object, records what it found in obj's status (atProvider) and compares it with
	// the spec.
	Observe(ctx context.Context, c *Conn, obj T) (Observation, error)
	// Create creates the object from the spec.
	Create(ctx context.Context, c *Conn, obj T) error
	// Update makes the object match the spec (renames included), starting from what Observe read.
	Update(ctx context.Context, c *Conn, obj T, observed Observation) error
	// Delete deletes the object; a 404 is success.
	Delete(ctx context.Context, c *Conn, obj T) error
}

// ManagedReconciler reconciles one kind of managed resource through its Adapter.
type ManagedReconciler[T giteav1alpha1.Managed] struct {
	kind     string
	newObj   func() T
	newList  func() client.ObjectList
	adapter  Adapter[T]
	client   client.Client
	recorder recorder.EventRecorder
	clients  *giteaclient.Cache
	clock    clock.PassiveClock
	ops      *operationMetrics

	// apiReader reads live, for what the cache does not hold (Secrets' data).
	apiReader client.Reader
}

// Reconcile brings the Gitea object in line with the resource, or lets it go when the resource is deleted.
func (r *ManagedReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObj()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := obj.DeepCopyObject().(T)
	if !obj.GetDeletionTimestamp().IsZero() {
		return r.finalize(ctx, obj, orig)
	}

	provider, conn, err := r.connect(ctx, obj, false)
	if err != nil {
		return r.done(ctx, obj, orig, provider, err)
	}
	if controllerutil.AddFinalizer(obj, giteav1alpha1.ResourceFinalizer) {
		if err := r.client.Update(ctx, obj); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		orig = obj.DeepCopyObject().(T)
	}
	status := obj.ManagedStatus()
	if err := r.claim(ctx, provider, conn, obj, true); err != nil {
		return r.done(ctx, obj, orig, provider, err)
	}

	obs, err := r.adapter.Observe(ctx, conn, obj)
	if err == nil {
		// A key that depends on what Observe found (a webhook's is its hook's id) is claimed again before
		// anything is written.
		err = r.claim(ctx, provider, conn, obj, false)
	}
	if err == nil {
		obs, err = r.sync(ctx, conn, obj, obs)
	}
	if giteaclient.IsLocked(err) {
		err = reasonf(giteav1alpha1.ReasonLocked, "Gitea refuses to change the %s while its repository is archived "+
			"(unarchive it to apply the spec; until then it is tried at each sync): %v", strings.ToLower(r.kind), err)
	}
	if err != nil {
		return r.done(ctx, obj, orig, provider, err)
	}
	status.Identity = r.identity(provider, conn, obj) // the key of an object just created may be its new id
	status.ID, status.Drift = obs.ID, obs.Drift
	now := metav1.NewTime(r.clock.Now())
	status.LastSyncTime = &now
	r.setReady(obj, metav1.ConditionTrue, giteav1alpha1.ReasonAvailable, "the %s exists in Gitea", strings.ToLower(r.kind))
	if len(obs.Drift) == 0 {
		r.setSynced(obj, metav1.ConditionTrue, giteav1alpha1.ReasonUpToDate, "Gitea matches the spec")
	} else {
		r.setSynced(obj, metav1.ConditionFalse, giteav1alpha1.ReasonDrifted,
			"Gitea differs from the spec in %s; managementPolicy ObserveOnly leaves it", strings.Join(obs.Drift, ", "))
	}
	res, err := r.done(ctx, obj, orig, provider, nil)
	if err != nil {
		return res, err
	}
	if err := r.clearCreatePending(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	return res, nil
}

// sync creates or updates the object as the management policy allows, and returns what Gitea has then.
func (r *ManagedReconciler[T]) sync(ctx context.Context, conn *Conn, obj T, obs Observation) (Observation, error) {
	status := obj.ManagedStatus()
	observeOnly := obj.ManagedSpec().ManagementPolicy == giteav1alpha1.ManagementObserveOnly
	switch {
	case !obs.Exists && observeOnly:
		return obs, reasonf(giteav1alpha1.ReasonNotFound, "the %s %s does not exist in Gitea; managementPolicy "+
			"ObserveOnly does not create it", strings.ToLower(r.kind), r.adapter.Key(conn, obj))
	case !obs.Exists:
		// The marker says "a create of ours may have happened" while the create's outcome is unknown; Observe
		// has just found nothing, so any marker of an earlier pass is moot.
		if err := r.markCreatePending(ctx, obj); err != nil {
			return obs, err
		}
		createErr := r.ops.record(r.kind, operationCreate, func() error { return r.adapter.Create(ctx, conn, obj) })
		exists := createErr != nil && (giteaclient.IsValidation(createErr) || giteaclient.IsConflict(createErr) ||
			errors.Is(createErr, errAlreadyExists))
		if createErr != nil && !exists {
			if outcomeUnknown(createErr) {
				return obs, createErr
			}
			// Refused: nothing was created, and an object someone makes later under that name is not ours.
			return obs, errors.Join(createErr, r.clearCreatePending(ctx, obj))
		}
		// A create answered 409 or 422 may mean "already exists" (or "invalid"): look before deciding.
		after, err := r.adapter.Observe(ctx, conn, obj)
		if err != nil {
			return obs, err
		}
		if !after.Exists {
			if createErr == nil {
				// Accepted, yet not there: the marker stays, in case it shows up.
				return obs, reasonf(giteav1alpha1.ReasonInvalidSpec, "gitea accepted the create, but the %s cannot be found",
					strings.ToLower(r.kind))
			}
			return obs, errors.Join(reasonf(giteav1alpha1.ReasonInvalidSpec, "%v", createErr), r.clearCreatePending(ctx, obj))
		}
		// Recorded at once: the lookups of the rest of this pass (Update, Observe) then go by id, not by a
		// scan of every sibling.
		status.ID = after.ID
		obs = after
		if exists {
			// Made by someone else between the lookup and the create (another resource claiming it, a
			// person): adopted, as if the lookup had found it.
			r.adopt(conn, obj)
			if err := r.clearCreatePending(ctx, obj); err != nil {
				return obs, err
			}
			break
		}
		status.Origin = giteav1alpha1.OriginCreated
		r.event(obj, "Normal", giteav1alpha1.ReasonCreating, "Create", "created the %s %s in Gitea",
			strings.ToLower(r.kind), r.adapter.Key(conn, obj))
	case status.ID != 0 && obs.ID != 0 && obs.ID != status.ID:
		// Found with another id than the one recorded: that one is gone (or out of the key's reach). Whoever
		// made this one, it is not counted as created.
		r.event(obj, "Warning", "Adopted", "Adopt", "the %s this resource had (id %d) is no longer %s, another "+
			"one is (id %d): adopted, so deleting the resource leaves it unless deletionPolicy is Delete",
			strings.ToLower(r.kind), status.ID, r.adapter.Key(conn, obj), obs.ID)
		status.Origin = giteav1alpha1.OriginAdopted
	case status.Origin == "":
		// Found without a record of creating it: ours only if the create-pending marker says so.
		if _, pending := obj.GetAnnotations()[giteav1alpha1.CreatePendingAnnotation]; pending {
			status.Origin = giteav1alpha1.OriginCreated
		} else {
			r.adopt(conn, obj)
		}
	}
	if len(obs.Drift) == 0 || observeOnly {
		return obs, nil
	}
	drift := obs.Drift
	status.ID = obs.ID // Update and the Observe after it find the object by id
	if err := r.ops.record(r.kind, operationUpdate, func() error { return r.adapter.Update(ctx, conn, obj, obs) }); err != nil {
		return obs, err
	}
	after, err := r.adapter.Observe(ctx, conn, obj)
	if err != nil {
		return obs, err
	}
	if len(after.Drift) > 0 {
		// Never PATCH forever: what Gitea did not take is reported, and tried again only at the next sync.
		return after, reasonf(giteav1alpha1.ReasonInvalidSpec, "Gitea did not take the change of %s",
			strings.Join(after.Drift, ", "))
	}
	r.event(obj, "Normal", "Updated", "Update", "corrected %s in Gitea", strings.Join(drift, ", "))
	return after, nil
}

// adopt records that the object was found, not created.
func (r *ManagedReconciler[T]) adopt(conn *Conn, obj T) {
	obj.ManagedStatus().Origin = giteav1alpha1.OriginAdopted
	r.event(obj, "Normal", "Adopted", "Adopt", "adopted the existing %s %s", strings.ToLower(r.kind), r.adapter.Key(conn, obj))
}

// outcomeUnknown says whether a create that failed may have happened all the same: no answer (a timeout,
// a connection lost after sending), a 5xx, or an answer that could not be read. Any other error is a refusal
// (a 4xx, or the adapter's own before it called Gitea): nothing was created.
func outcomeUnknown(err error) bool {
	e, ok := errors.AsType[*giteaclient.Error](err)
	if !ok {
		return false
	}
	switch {
	case e.StatusCode >= 500:
		return true
	case e.StatusCode != 0:
		return false
	}
	// Without an answer: what never left (a refused address, a failed handshake, the client's own rate limit)
	// is a refusal; the rest may have reached Gitea.
	return e.Kind == giteaclient.KindUnreachable || e.Kind == giteaclient.KindOther
}

// finalize deletes or orphans the Gitea object of a deleted resource, then lets the resource go.
func (r *ManagedReconciler[T]) finalize(ctx context.Context, obj, orig T) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, giteav1alpha1.ResourceFinalizer) {
		return ctrl.Result{}, nil
	}
	deletes := r.deletes(obj)
	if c := meta.FindStatusCondition(obj.ManagedStatus().Conditions, giteav1alpha1.ConditionReady); deletes && c != nil &&
		c.Reason == giteav1alpha1.ReasonConflict {
		// Another resource claims the same object: it is that resource's, never deleted for this one. A conflict
		// Gitea reported (a rename onto a taken name) leaves this resource its own object, which the adapter's
		// Delete finds by what the status recorded, never by the name another object holds.
		other, err := r.claimedBy(ctx, obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		if other != "" {
			deletes = false
			r.event(obj, "Warning", giteav1alpha1.ReasonConflict, "Delete", "left the Gitea object in place: %s %s "+
				"manages it", r.kind, other)
		}
	}
	if deletes {
		r.setReady(obj, metav1.ConditionFalse, giteav1alpha1.ReasonDeleting, "deleting the %s in Gitea", strings.ToLower(r.kind))
		provider, conn, err := r.connect(ctx, obj, true)
		if err == nil {
			if other, ok := r.foundOther(ctx, conn, obj); ok {
				r.event(obj, "Warning", "Orphaned", "Delete", "left the %s %s in place: the one this resource had "+
					"(id %d) is gone, and this one (id %d) was not made by it", strings.ToLower(r.kind),
					r.adapter.Key(conn, obj), obj.ManagedStatus().ID, other)
				controllerutil.RemoveFinalizer(obj, giteav1alpha1.ResourceFinalizer)
				return ctrl.Result{}, client.IgnoreNotFound(r.client.Update(ctx, obj))
			}
			// An object already gone, or gone with the repository or organization holding it, is deleted.
			err = r.ops.record(r.kind, operationDelete, func() error { return ignoreAbsent(r.adapter.Delete(ctx, conn, obj)) })
		}
		if giteaclient.IsLocked(err) {
			// deletionPolicy says to delete it: the resource stays until Gitea lets it, or the policy changes.
			err = reasonf(giteav1alpha1.ReasonDeleteRefused, "Gitea refuses to delete the %s %s while its repository is "+
				"archived: unarchive the repository, or set deletionPolicy: Orphan to let the resource go and leave "+
				"the %[1]s in Gitea: %[3]v", strings.ToLower(r.kind), r.adapter.Key(conn, obj), err)
		}
		if err != nil {
			return r.done(ctx, obj, orig, provider, err)
		}
		r.event(obj, "Normal", "Deleted", "Delete", "deleted the %s %s in Gitea", strings.ToLower(r.kind), r.adapter.Key(conn, obj))
	}
	controllerutil.RemoveFinalizer(obj, giteav1alpha1.ResourceFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Update(ctx, obj))
}

// foundOther says whether the object at the resource's key in Gitea is another (its id) than the one the
// status recorded, which is then gone: it is someone else's, and deleting the resource must leave it. An
// adapter's Delete may look the object up by its key when its id finds nothing (a Team by its name). When
// Observe fails, it cannot tell, and Delete decides alone.
func (r *ManagedReconciler[T]) foundOther(ctx context.Context, conn *Conn, obj T) (int64, bool) {
	id := obj.ManagedStatus().ID
	if id == 0 {
		return 0, false
	}
	// On a copy: Observe records what it read into the status, which a deletion does not report.
	obs, err := r.adapter.Observe(ctx, conn, obj.DeepCopyObject().(T))
	if err != nil || !obs.Exists || obs.ID == 0 || obs.ID == id {
		return 0, false
	}
	return obs.ID, true
}

// deletes says whether deleting the resource deletes its Gitea object: deletionPolicy, or when unset
// whether the resource created it. An object never created or adopted is not deleted. Without a recorded
// origin, the create-pending marker (a create whose outcome is unknown) counts as created.
func (r *ManagedReconciler[T]) deletes(obj T) bool {
	status := obj.ManagedStatus()
	_, pending := obj.GetAnnotations()[giteav1alpha1.CreatePendingAnnotation]
	created := status.Origin == giteav1alpha1.OriginCreated || (status.Origin == "" && pending)
	switch {
	case obj.ManagedSpec().ManagementPolicy == giteav1alpha1.ManagementObserveOnly:
		return false
	case obj.ManagedSpec().DeletionPolicy == giteav1alpha1.DeletionOrphan:
		return false
	case obj.ManagedSpec().DeletionPolicy == giteav1alpha1.DeletionDelete:
		return status.Origin != "" || pending
	default:
		return created
	}
}

// connect finds the resource's provider and its client. While the resource is being deleted, the provider's
// last client serves even if the provider is no longer Ready (being deleted with its namespace). The provider
// comes back with an error too, when it exists: its syncInterval says when to look again.
func (r *ManagedReconciler[T]) connect(ctx context.Context, obj T, deleting bool) (*giteav1alpha1.GiteaProvider, *Conn, error) {
	key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.ManagedSpec().ProviderRef.Name}
	provider := &giteav1alpha1.GiteaProvider{}
	err := r.client.Get(ctx, key, provider)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		provider = nil
	}
	ready := provider != nil && meta.IsStatusConditionTrue(provider.Status.Conditions, giteav1alpha1.ConditionReady)
	cl, cached := r.clients.Get(key)
	switch {
	case !cached && ready:
		// After a restart the provider is Ready before its controller has rebuilt its client: no event on the
		// provider will say when it has, so retry with backoff rather than wait for the next sync.
		return provider, nil, &reasonError{reason: giteav1alpha1.ReasonProviderNotReady, retry: true,
			msg: fmt.Sprintf("GiteaProvider %s is Ready; its client is being built", key.Name)}
	case !cached && deleting && provider != nil && !provider.DeletionTimestamp.IsZero():
		// A provider being deleted when the manager started (a restart, a new leader): its controller builds its
		// client from its Secrets, if they are still there, and nothing on the provider will say when.
		return provider, nil, &reasonError{reason: giteav1alpha1.ReasonProviderNotReady, retry: true,
			msg: fmt.Sprintf("GiteaProvider %s is being deleted and its client is not built yet (it is, from the "+
				"provider's Secrets, unless they are gone: then set deletionPolicy: Orphan to let the resource go "+
				"without deleting the Gitea object)", key.Name)}
	case !cached || (!ready && !deleting):
		what := "is not Ready"
		if provider == nil {
			what = "does not exist"
		}
		msg := fmt.Sprintf("GiteaProvider %s %s", key.Name, what)
		if deleting {
			msg += ": the Gitea object cannot be deleted; set deletionPolicy: Orphan to let the resource go without it"
		}
		return provider, nil, reasonf(giteav1alpha1.ReasonProviderNotReady, "%s", msg)
	}
	deps, err := r.dependencies(ctx, obj, deleting)
	if err != nil {
		return provider, nil, err
	}
	s, err := cl.SDK(ctx)
	if err != nil {
		return provider, nil, err
	}
	return provider, &Conn{Client: cl, SDK: s, Self: provider.Status.User, Kube: r.apiReader,
		namespace: obj.GetNamespace(), Deps: deps}, nil
}

// dependencies reads the resources obj refers to. Each must be Ready, except while obj is being deleted,
// when those that are gone are left out.
func (r *ManagedReconciler[T]) dependencies(ctx context.Context, obj T, deleting bool) (map[string]giteav1alpha1.Managed, error) {
	dependent, ok := any(r.adapter).(Dependent[T])
	if !ok {
		return nil, nil
	}
	deps := map[string]giteav1alpha1.Managed{}
	for _, d := range dependent.Dependencies(obj) {
		k, ok := kindNamed(d.Kind)
		if !ok {
			return nil, fmt.Errorf("%s refers to the unknown kind %s", r.kind, d.Kind)
		}
		dep := k.NewObject()
		err := r.client.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: d.Name}, dep)
		switch {
		case apierrors.IsNotFound(err) && deleting:
			continue
		case apierrors.IsNotFound(err):
			return nil, reasonf(giteav1alpha1.ReasonDependencyNotReady, "%s %s does not exist", d.Kind, d.Name)
		case err != nil:
			return nil, err
		}
		m := dep.(giteav1alpha1.Managed)
		if !deleting && !meta.IsStatusConditionTrue(m.ManagedStatus().Conditions, giteav1alpha1.ConditionReady) {
			return nil, reasonf(giteav1alpha1.ReasonDependencyNotReady, "%s %s is not Ready", d.Kind, d.Name)
		}
		deps[d.key()] = m
	}
	return deps, nil
}

// identity is the Gitea object obj stands for: its provider's Gitea (instanceURL), its kind and its key.
func (r *ManagedReconciler[T]) identity(provider *giteav1alpha1.GiteaProvider, conn *Conn, obj T) string {
	return strings.Join([]string{instanceURL(provider.Spec.URL), r.kind, r.adapter.Key(conn, obj)}, " ")
}

// claim records obj's identity, and gives Conflict when an earlier-created resource claims the same; unless
// always, it looks only when the identity changed.
func (r *ManagedReconciler[T]) claim(ctx context.Context, provider *giteav1alpha1.GiteaProvider, conn *Conn, obj T,
	always bool) error {
	status := obj.ManagedStatus()
	identity := r.identity(provider, conn, obj)
	if !always && identity == status.Identity {
		return nil
	}
	status.Identity = identity
	other, err := r.claimedBy(ctx, obj)
	if err != nil || other == "" {
		return err
	}
	return reasonf(giteav1alpha1.ReasonConflict, "%s %s, created earlier, manages the same Gitea object (%s)",
		r.kind, other, status.Identity)
}

// claimedBy names the earlier-created resource of the kind, in any namespace, that claims the same Gitea
// object as obj, or "".
func (r *ManagedReconciler[T]) claimedBy(ctx context.Context, obj T) (string, error) {
	list := r.newList()
	if err := r.client.List(ctx, list, client.MatchingFields{identityIndex: obj.ManagedStatus().Identity}); err != nil {
		return "", err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return "", err
	}
	for _, item := range items {
		other := item.(giteav1alpha1.Managed)
		if other.GetUID() == obj.GetUID() || !other.GetDeletionTimestamp().IsZero() {
			continue
		}
		if earlier(other, obj) {
			return other.GetNamespace() + "/" + other.GetName(), nil
		}
	}
	return "", nil
}

// earlier orders resources by creation. Creation times have a resolution of one second: on a tie the one
// that already holds the object (it has an origin) comes first, so an established resource never loses it to
// a newcomer; then namespace and name decide.
func earlier(a, b giteav1alpha1.Managed) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	if holdsA, holdsB := a.ManagedStatus().Origin != "", b.ManagedStatus().Origin != ""; holdsA != holdsB {
		return holdsA
	}
	return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
}

// markCreatePending records, before a create, that the object is about to be ours.
func (r *ManagedReconciler[T]) markCreatePending(ctx context.Context, obj T) error {
	if _, ok := obj.GetAnnotations()[giteav1alpha1.CreatePendingAnnotation]; ok {
		return nil
	}
	return r.patchAnnotations(ctx, obj, func(a map[string]string) {
		a[giteav1alpha1.CreatePendingAnnotation] = r.clock.Now().UTC().Format(time.RFC3339)
	})
}

// clearCreatePending removes the marker once the status records the origin.
func (r *ManagedReconciler[T]) clearCreatePending(ctx context.Context, obj T) error {
	if _, ok := obj.GetAnnotations()[giteav1alpha1.CreatePendingAnnotation]; !ok {
		return nil
	}
	return client.IgnoreNotFound(r.patchAnnotations(ctx, obj, func(a map[string]string) {
		delete(a, giteav1alpha1.CreatePendingAnnotation)
	}))
}

// patchAnnotations patches obj's annotations. It patches a copy: a patch answers with the stored object,
// which would drop the status this reconcile has not written yet.
func (r *ManagedReconciler[T]) patchAnnotations(ctx context.Context, obj T, edit func(map[string]string)) error {
	stored := obj.DeepCopyObject().(T)
	patch := client.MergeFrom(obj.DeepCopyObject().(T))
	annotations := maps.Clone(stored.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	edit(annotations)
	stored.SetAnnotations(annotations)
	if err := r.client.Patch(ctx, stored, patch); err != nil {
		return err
	}
	obj.SetAnnotations(stored.GetAnnotations())
	obj.SetResourceVersion(stored.GetResourceVersion())
	return nil
}

// errAlreadyExists is what an adapter's Create returns when Gitea says the object already exists in an
// answer other than 409 or 422 (which the reconciler reads the same way): the reconciler then looks the
// object up rather than report the refusal.
var errAlreadyExists = errors.New("the object already exists in Gitea")

// reasonError is an error with the condition reason it stands for.
type reasonError struct {
	reason string
	msg    string
	// retry says a retry with backoff may help, where the reason alone would wait for a change or a sync.
	retry bool
}

func (e *reasonError) Error() string { return e.msg }

func reasonf(reason, format string, args ...any) error {
	return &reasonError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// reasonOf maps an error to the condition reason a human can act on, and says whether a retry with backoff
// may help (the alternative being the next sync or a change to the resource).
func reasonOf(err error) (reason string, retry bool) {
	if re, ok := errors.AsType[*reasonError](err); ok {
		return re.reason, re.retry || re.reason == giteav1alpha1.ReasonDeleteRefused
	}
	switch giteaclient.KindOf(err) {
	case giteaclient.KindUnauthorized:
		return giteav1alpha1.ReasonUnauthorized, false
	case giteaclient.KindForbidden:
		return giteav1alpha1.ReasonForbidden, false
	case giteaclient.KindConflict:
		return giteav1alpha1.ReasonConflict, false
	case giteaclient.KindLocked:
		return giteav1alpha1.ReasonLocked, false
	case giteaclient.KindValidation:
		return giteav1alpha1.ReasonInvalidSpec, false
	case giteaclient.KindNotFound:
		return giteav1alpha1.ReasonNotFound, false
	case giteaclient.KindRateLimited:
		return giteav1alpha1.ReasonRateLimited, true
	default:
		return giteav1alpha1.ReasonUnreachable, true
	}
}

// done writes the status: on error, Ready and Synced False with the error's reason (Ready stays True when
// the object is known to exist and only the sync failed), and an event when the reason changes. Unless a
// retry with backoff may help, the resource is synced again after the provider's syncInterval (nil: there is
// no provider, DefaultSyncInterval).
func (r *ManagedReconciler[T]) done(ctx context.Context, obj, orig T, provider *giteav1alpha1.GiteaProvider,
	err error) (ctrl.Result, error) {
	var retry bool
	if err != nil {
		var reason string
		reason, retry = reasonOf(err)
		before := meta.FindStatusCondition(orig.ManagedStatus().Conditions, giteav1alpha1.ConditionSynced)
		if before == nil || before.Reason != reason {
			r.event(obj, "Warning", reason, "Sync", "%s", err.Error())
		}
		r.setSynced(obj, metav1.ConditionFalse, reason, "%s", err.Error())
		if !meta.IsStatusConditionTrue(obj.ManagedStatus().Conditions, giteav1alpha1.ConditionReady) ||
			reason == giteav1alpha1.ReasonNotFound || reason == giteav1alpha1.ReasonConflict {
			r.setReady(obj, metav1.ConditionFalse, reason, "%s", err.Error())
		} else {
			// Ready stays True, and is as true of this generation: the object exists in Gitea.
			meta.FindStatusCondition(obj.ManagedStatus().Conditions, giteav1alpha1.ConditionReady).ObservedGeneration =
				obj.GetGeneration()
		}
	}
	obj.ManagedStatus().ObservedGeneration = obj.GetGeneration()
	if !reflect.DeepEqual(statusOf(orig), statusOf(obj)) {
		if perr := r.client.Status().Patch(ctx, obj, client.MergeFrom(orig)); perr != nil {
			return ctrl.Result{}, client.IgnoreNotFound(perr)
		}
	}
	if retry {
		return ctrl.Result{}, err
	}
	// In sync, or failed for a reason fixed by a change to the resource, its provider or its dependencies
	// (all watched) or by someone in Gitea (not watched): looked at again at the next sync, which also
	// corrects drift made in Gitea.
	var every *metav1.Duration
	if provider != nil {
		every = provider.Spec.SyncInterval
	}
	return ctrl.Result{RequeueAfter: resyncAfter(every, rand.Float64())}, nil //nolint:gosec // spreads syncs, not for security
}

// statusOf is the whole status of a resource, atProvider included, for the comparison before a write.
func statusOf(obj client.Object) any {
	v := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if !v.IsValid() {
		return nil
	}
	return v.Interface()
}

func (r *ManagedReconciler[T]) setReady(obj T, status metav1.ConditionStatus, reason, format string, args ...any) {
	setCondition(&obj.ManagedStatus().Conditions, obj.GetGeneration(), r.clock.Now(), giteav1alpha1.ConditionReady,
		status, reason, fmt.Sprintf(format, args...))
}

func (r *ManagedReconciler[T]) setSynced(obj T, status metav1.ConditionStatus, reason, format string, args ...any) {
	setCondition(&obj.ManagedStatus().Conditions, obj.GetGeneration(), r.clock.Now(), giteav1alpha1.ConditionSynced,
		status, reason, fmt.Sprintf(format, args...))
}

// setCondition sets a condition of an object (a provider's or a managed resource's) of generation; its
// transition time is now if its status changes.
func setCondition(conditions *[]metav1.Condition, generation int64, now time.Time, condType string,
	status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            truncate.String(message, maxConditionMessage),
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(now),
	})
}

// The API server's bounds on a condition's message and an event's note.
const (
	maxConditionMessage = 32768
	maxEventNote        = 1024
)

func (r *ManagedReconciler[T]) event(obj T, eventType, reason, action, format string, args ...any) {
	r.recorder.Eventf(obj, nil, eventType, reason, action, "%s", truncate.String(fmt.Sprintf(format, args...), maxEventNote))
}

// DefaultSyncInterval is the sync interval of a resource whose provider does not exist (a provider's
// syncInterval defaults to the same).
const DefaultSyncInterval = 10 * time.Minute

// resyncAfter is how long after a sync a resource is synced again: every (a provider's syncInterval;
// DefaultSyncInterval when nil) spread over [-10 %, +10 %) of it by u, a uniform random number in [0, 1)
// (0: 10 % sooner; 0.5: every itself). The spread keeps resources created together from syncing together
// forever. An interval so long that 10 % more would overflow a Duration (the CRD admits up to 168h, but a
// provider stored before it had that bound may hold any Duration) gives the longest Duration rather than
// a negative one, which would end the resyncs.
func resyncAfter(every *metav1.Duration, u float64) time.Duration {
	d := DefaultSyncInterval
	if every != nil {
		d = every.Duration
	}
	spread := time.Duration(u*float64(d/5)) - d/10
	if spread > 0 && d > math.MaxInt64-spread {
		return math.MaxInt64
	}
	return d + spread
}
