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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/internal/promreg"
)

// Names of the kinds other kinds refer to (organizationRef, repositoryRef).
const (
	kindOrganization = "Organization"
	kindRepository   = "Repository"
)

// dependsOnIndex indexes managed resources by the resources they refer to, as "Kind/name".
const dependsOnIndex = "gitea.kemper.buzz/depends-on"

// secretsIndex indexes managed resources by the Secrets they take values from (SecretUser adapters).
const secretsIndex = "gitea.kemper.buzz/secrets"

// identityIndex indexes managed resources by the Gitea object they claim (status.identity), across
// namespaces, to find two claiming the same one.
const identityIndex = "status.identity"

// kind is one managed kind: its names and how to set its controller up.
type kind struct {
	ManagedKind
	// dependencies lists what an object of the kind refers to; nil for a kind that refers to nothing.
	dependencies func(client.Object) []Dependency
	setup        func(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock,
		ops *operationMetrics) error
}

// registerKind ties a kind's types to its adapter; each kind's file calls it from init.
func registerKind[T giteav1alpha1.Managed](name string, newObj func() T, newList func() client.ObjectList, adapter Adapter[T]) {
	k := kind{
		ManagedKind: ManagedKind{Kind: name, NewObject: func() client.Object { return newObj() }, NewList: newList},
		setup: func(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock,
			ops *operationMetrics) error {
			return setupKind(ctx, mgr, clients, clk, ops, name, newObj, newList, adapter)
		},
	}
	if dep, ok := any(adapter).(Dependent[T]); ok {
		k.dependencies = func(o client.Object) []Dependency { return dep.Dependencies(o.(T)) }
	}
	kinds = append(kinds, k)
}

// kinds are every managed kind the manager runs, in the order their files register them.
var kinds []kind

// kindNamed is the registered kind called name.
func kindNamed(name string) (kind, bool) {
	for _, k := range kinds {
		if k.Kind == name {
			return k, true
		}
	}
	return kind{}, false
}

// ManagedKinds lists the managed kinds, for the provider controller (which waits for their resources
// before it lets a provider go).
func ManagedKinds() []ManagedKind {
	out := make([]ManagedKind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.ManagedKind)
	}
	return out
}

// ManagedOptions configure the controllers of the managed kinds.
type ManagedOptions struct {
	// Clock tells the time of syncs; default the real clock.
	Clock clock.PassiveClock
	// Registry receives gitea_resources{kind,ready}, gitea_providers{provider,ready,reason} and
	// gitea_resource_operation(s)_*; default controller-runtime's metrics.Registry.
	Registry prometheus.Registerer
}

// SetupManagedWithManager registers the controller of every managed kind; they share the provider
// controller's client cache.
func SetupManagedWithManager(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, opts ManagedOptions) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Registry == nil {
		opts.Registry = crmetrics.Registry
	}
	ops, err := newOperationMetrics(opts.Registry)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if err := k.setup(ctx, mgr, clients, opts.Clock, ops); err != nil {
			return err
		}
	}
	// A second manager in one process (tests) shares the first one's collectors, which read the same kinds.
	if _, err := promreg.Register(opts.Registry, newResourcesCollector(mgr.GetCache())); err != nil {
		return err
	}
	_, err = promreg.Register(opts.Registry, newProvidersCollector(mgr.GetCache()))
	return err
}

func setupKind[T giteav1alpha1.Managed](ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock,
	ops *operationMetrics, name string, newObj func() T, newList func() client.ObjectList, adapter Adapter[T]) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, newObj(), ProviderRefIndex, func(o client.Object) []string {
		return []string{o.(T).ManagedSpec().ProviderRef.Name}
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, newObj(), identityIndex, func(o client.Object) []string {
		if id := o.(T).ManagedStatus().Identity; id != "" {
			return []string{id}
		}
		return nil
	}); err != nil {
		return err
	}
	controllerName := strings.ToLower(name)
	r := &ManagedReconciler[T]{
		kind:      name,
		newObj:    newObj,
		newList:   newList,
		adapter:   adapter,
		client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		recorder:  mgr.GetEventRecorder(controllerName),
		clients:   clients,
		clock:     clk,
		ops:       ops,
	}
	// A provider turning Ready (or not) matters to the resources using it; its periodic check time does not.
	b := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(newObj(), builder.WithPredicates(specOrDeletionChanged{})).
		Watches(&giteav1alpha1.GiteaProvider{}, indexed(r.client, ProviderRefIndex, newList, client.Object.GetName),
			builder.WithPredicates(readyChanged{}))
	if secrets, ok := any(adapter).(SecretUser[T]); ok {
		if err := indexer.IndexField(ctx, newObj(), secretsIndex, func(o client.Object) []string {
			return secrets.SecretNames(o.(T))
		}); err != nil {
			return err
		}
		// Metadata only, as the provider controller watches them: a new resourceVersion is all that matters.
		b = b.WatchesMetadata(&corev1.Secret{}, indexed(r.client, secretsIndex, newList, client.Object.GetName))
	}
	self, _ := kindNamed(name)
	if self.dependencies != nil {
		if err := indexer.IndexField(ctx, newObj(), dependsOnIndex, func(o client.Object) []string {
			deps := self.dependencies(o)
			keys := make([]string, 0, len(deps))
			for _, d := range deps {
				keys = append(keys, d.key())
			}
			return keys
		}); err != nil {
			return err
		}
	}
	referable := name == kindOrganization || name == kindRepository
	for _, other := range kinds {
		// A dependency turning Ready, or renamed, matters to the resources that refer to it. Only
		// organizations and repositories are referred to (organizationRef, repositoryRef).
		if self.dependencies != nil && (other.Kind == kindOrganization || other.Kind == kindRepository) {
			b = b.Watches(other.NewObject(), dependentsOf(r.client, other.Kind, newList), builder.WithPredicates(readyChanged{}))
		}
		// A resource that refers to this kind going away may unblock a delete (an organization that still
		// owned a repository).
		if referable && other.dependencies != nil {
			b = b.Watches(other.NewObject(), dependenciesOf(name, other.dependencies), builder.WithPredicates(deleted{}))
		}
	}
	return b.WithOptions(controller.Options{
		MaxConcurrentReconciles: 4,
		RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, MaxRetryDelay),
	}).Complete(r)
}

// readyChanged passes a provider or a managed resource whose Ready condition changed status, a managed
// resource whose Gitea object changed name (status.identity), and their creation and deletion.
type readyChanged struct{ predicate.Funcs }

func (readyChanged) Update(e event.UpdateEvent) bool {
	return readyOf(e.ObjectOld) != readyOf(e.ObjectNew) || identityOf(e.ObjectOld) != identityOf(e.ObjectNew)
}

func readyOf(o client.Object) bool {
	switch o := o.(type) {
	case *giteav1alpha1.GiteaProvider:
		return meta.IsStatusConditionTrue(o.Status.Conditions, giteav1alpha1.ConditionReady)
	case giteav1alpha1.Managed:
		return meta.IsStatusConditionTrue(o.ManagedStatus().Conditions, giteav1alpha1.ConditionReady)
	}
	return false
}

func identityOf(o client.Object) string {
	if m, ok := o.(giteav1alpha1.Managed); ok {
		return m.ManagedStatus().Identity
	}
	return ""
}

// deleted passes deletions only.
type deleted struct{ predicate.Funcs }

func (deleted) Create(event.CreateEvent) bool   { return false }
func (deleted) Update(event.UpdateEvent) bool   { return false }
func (deleted) Generic(event.GenericEvent) bool { return false }

// dependentsOf maps an object of kind depKind to the resources (of the kind listed by newList) that refer
// to it.
func dependentsOf(c client.Client, depKind string, newList func() client.ObjectList) handler.EventHandler {
	return indexed(c, dependsOnIndex, newList, func(o client.Object) string {
		return Dependency{Kind: depKind, Name: o.GetName()}.key()
	})
}

// indexed maps an object to the resources (of the kind listed by newList) in its namespace whose index
// holds key(object).
func indexed(c client.Client, index string, newList func() client.ObjectList,
	key func(client.Object) string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		list := newList()
		if err := c.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: key(o)}); err != nil {
			return nil
		}
		items, _ := meta.ExtractList(list)
		out := make([]reconcile.Request, 0, len(items))
		for _, item := range items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(item.(client.Object))})
		}
		return out
	})
}

// dependenciesOf maps a resource to the resources of kind depKind it refers to.
func dependenciesOf(depKind string, dependencies func(client.Object) []Dependency) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		var out []reconcile.Request
		for _, d := range dependencies(o) {
			if d.Kind == depKind {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: d.Name}})
			}
		}
		return out
	})
}
