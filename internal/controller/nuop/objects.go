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

package nuop

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// ownership of an object named <name>-nuop in a NuOperator's namespace.
type ownership int

const (
	// absent: there is no such object.
	absent ownership = iota
	// owned: the NuOperator is its controller, and it carries the manager's labels (it is in the cache).
	owned
	// ownedForeign: the NuOperator is its controller, but the manager did not make it (nuop did: it is not
	// in the manager's label-selected cache).
	ownedForeign
	// stale: its controller is an earlier NuOperator of the same name, now gone; the garbage collector
	// will delete it.
	stale
	// foreign: someone else's.
	foreign
)

// lookup reads the object of obj's kind named <name>-nuop in n's namespace into obj and says whose it is.
// The cache holds only the manager's objects; with live, an object missing from it is looked up in the API
// server too.
func (r *Reconciler) lookup(ctx context.Context, n *nuopv1alpha1.NuOperator, obj client.Object, live bool) (ownership, error) {
	key := client.ObjectKey{Namespace: n.Namespace, Name: n.DeploymentName()}
	inCache := true
	err := r.client.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) && live {
		inCache = false
		err = r.apiReader.Get(ctx, key, obj)
	}
	if apierrors.IsNotFound(err) {
		return absent, nil
	}
	if err != nil {
		return absent, fmt.Errorf("reading %s %s: %w", kindOf(obj), key, err)
	}
	ref := metav1.GetControllerOf(obj)
	switch {
	case ref != nil && ref.UID == n.UID && inCache:
		return owned, nil
	case ref != nil && ref.UID == n.UID:
		return ownedForeign, nil
	case ref != nil && ref.Kind == "NuOperator" && ref.Name == n.Name && sameGroup(ref.APIVersion):
		return stale, nil
	default:
		return foreign, nil
	}
}

func sameGroup(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == nuopv1alpha1.GroupVersion.Group
}

// claim makes way for applying n's version of obj, found with ownership o: a stale object is deleted (and
// the pass retried once it is gone), a foreign one is a conflict.
func (r *Reconciler) claim(ctx context.Context, n *nuopv1alpha1.NuOperator, obj client.Object, o ownership) error {
	switch o {
	case stale:
		if err := r.deleteObject(ctx, obj); err != nil {
			return err
		}
		r.event(n, corev1.EventTypeNormal, "Replacing", "Delete",
			"deleted %s %s, left by an earlier NuOperator of the same name", kindOf(obj), obj.GetName())
		return &waitError{msg: fmt.Sprintf("replacing %s %s, left by an earlier NuOperator of the same name",
			kindOf(obj), obj.GetName()), after: time.Second}
	case foreign:
		return &conflictError{msg: fmt.Sprintf("%s %s/%s exists and this NuOperator does not control it: delete it, "+
			"or give the NuOperator another name", kindOf(obj), obj.GetNamespace(), obj.GetName())}
	}
	return nil
}

// prepareDeployment makes way for applying n's Deployment: a Deployment nuop made for n is taken over
// (server-side apply then removes what nuop set and the manager does not), one whose selector differs
// (immutable) is deleted to be recreated, one being deleted is waited for.
func (r *Reconciler) prepareDeployment(ctx context.Context, n *nuopv1alpha1.NuOperator) error {
	dep := &appsv1.Deployment{}
	o, err := r.lookup(ctx, n, dep, true)
	if err != nil || o == absent {
		return err
	}
	if err := r.claim(ctx, n, dep, o); err != nil {
		return err
	}
	if !dep.DeletionTimestamp.IsZero() {
		return &waitError{msg: fmt.Sprintf("Deployment %s is being deleted; it is made again once it is gone",
			dep.Name), after: 5 * time.Second}
	}
	if dep.Spec.Selector == nil || len(dep.Spec.Selector.MatchExpressions) > 0 ||
		!maps.Equal(dep.Spec.Selector.MatchLabels, n.SelectorLabels()) {
		if err := r.deleteObject(ctx, dep); err != nil {
			return err
		}
		r.event(n, corev1.EventTypeNormal, "Recreating", "Delete",
			"deleted Deployment %s to make it again: its selector %s differs from app=%s and cannot be changed",
			dep.Name, metav1.FormatLabelSelector(dep.Spec.Selector), n.DeploymentName())
		return &waitError{msg: fmt.Sprintf("recreating Deployment %s: its selector differed", dep.Name),
			after: time.Second}
	}
	if o == ownedForeign {
		return r.takeOver(ctx, n, dep)
	}
	return nil
}

// takeOver makes the manager the owner of every field of dep that another writer of its spec set (nuop
// created and patched it), so that the next apply removes those fields it does not set itself: nuop's
// containers, volumes and annotations. Fields only others write (the Deployment controller's) stay theirs.
func (r *Reconciler) takeOver(ctx context.Context, n *nuopv1alpha1.NuOperator, dep *appsv1.Deployment) error {
	managers := sets.New[string]()
	for _, e := range dep.ManagedFields {
		if e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == "" && ownsSpec(e) {
			managers.Insert(e.Manager)
		}
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(dep, managers, nuopv1alpha1.ManagerFieldManager)
	if err != nil {
		return fmt.Errorf("taking over Deployment %s: %w", dep.Name, err)
	}
	if patch != nil {
		if err := r.client.Patch(ctx, dep, client.RawPatch(types.JSONPatchType, patch)); err != nil {
			return fmt.Errorf("taking over Deployment %s: %w", dep.Name, err)
		}
	}
	r.event(n, corev1.EventTypeNormal, "TakingOver", "Update",
		"taking over Deployment %s, which this NuOperator controls but the manager did not make (nuop did): "+
			"its fields are replaced by the manager's (previous writers: %v)", dep.Name, sets.List(managers))
	return nil
}

// ownsSpec tells whether a managed fields entry owns something under spec.
func ownsSpec(e metav1.ManagedFieldsEntry) bool {
	if e.FieldsV1 == nil {
		return false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.FieldsV1.GetRawBytes(), &fields); err != nil {
		return false
	}
	_, ok := fields["f:spec"]
	return ok
}

// removeAll deletes every object the manager derived from n: there is nothing to run.
func (r *Reconciler) removeAll(ctx context.Context, n *nuopv1alpha1.NuOperator, why string) error {
	// The Deployment is looked up live too: nuop made one even for a NuOperator without mappings.
	if err := r.removeOwned(ctx, n, &appsv1.Deployment{}, true, why); err != nil {
		return err
	}
	for _, obj := range []client.Object{&rbacv1.RoleBinding{}, &rbacv1.Role{}, &corev1.ServiceAccount{}} {
		if err := r.removeOwned(ctx, n, obj, false, why); err != nil {
			return err
		}
	}
	return nil
}

// removeOwned deletes the object of obj's kind named <name>-nuop if n (or an earlier NuOperator of its
// name) controls it.
func (r *Reconciler) removeOwned(ctx context.Context, n *nuopv1alpha1.NuOperator, obj client.Object, live bool,
	why string) error {
	o, err := r.lookup(ctx, n, obj, live)
	if err != nil {
		return err
	}
	if o != owned && o != ownedForeign && o != stale {
		return nil
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return nil
	}
	if err := r.deleteObject(ctx, obj); err != nil {
		return err
	}
	r.event(n, corev1.EventTypeNormal, "Deleted", "Delete", "deleted %s %s: %s", kindOf(obj), obj.GetName(), why)
	return nil
}

// deleteObject deletes obj if it is still the object that was read, in the background.
func (r *Reconciler) deleteObject(ctx context.Context, obj client.Object) error {
	uid := obj.GetUID()
	err := r.client.Delete(ctx, obj, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", kindOf(obj), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// kindOf names the kind of the objects this controller derives.
func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *rbacv1.Role:
		return "Role"
	case *rbacv1.RoleBinding:
		return "RoleBinding"
	}
	return fmt.Sprintf("%T", obj)
}
