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

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// identityIndex indexes managed resources by the Gitea object they claim (status.identity), across
// namespaces, to find two claiming the same one.
const identityIndex = "status.identity"

// kind is one managed kind: its names and how to set its controller up.
type kind struct {
	ManagedKind
	setup func(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock) error
}

// newKind ties a kind's types to its adapter.
func newKind[T giteav1alpha1.Managed](name string, newObj func() T, newList func() client.ObjectList, adapter Adapter[T]) kind {
	return kind{
		ManagedKind: ManagedKind{Kind: name, NewObject: func() client.Object { return newObj() }, NewList: newList},
		setup: func(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock) error {
			return setupKind(ctx, mgr, clients, clk, name, newObj, newList, adapter)
		},
	}
}

// kinds are every managed kind the manager runs.
var kinds = []kind{
	newKind[*giteav1alpha1.Organization]("Organization", func() *giteav1alpha1.Organization { return &giteav1alpha1.Organization{} },
		func() client.ObjectList { return &giteav1alpha1.OrganizationList{} }, organizations{}),
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

// SetupManagedWithManager registers the controller of every managed kind; they share the provider
// controller's client cache.
func SetupManagedWithManager(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock) error {
	if clk == nil {
		clk = clock.RealClock{}
	}
	for _, k := range kinds {
		if err := k.setup(ctx, mgr, clients, clk); err != nil {
			return err
		}
	}
	return nil
}

func setupKind[T giteav1alpha1.Managed](ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, clk clock.PassiveClock,
	name string, newObj func() T, newList func() client.ObjectList, adapter Adapter[T]) error {
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
		kind:     name,
		newObj:   newObj,
		newList:  newList,
		adapter:  adapter,
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder(controllerName),
		clients:  clients,
		clock:    clk,
	}
	// A provider turning Ready (or not) matters to the resources using it; its periodic check time does not.
	usersOf := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, p client.Object) []reconcile.Request {
		list := newList()
		if err := r.client.List(ctx, list, client.InNamespace(p.GetNamespace()),
			client.MatchingFields{ProviderRefIndex: p.GetName()}); err != nil {
			return nil
		}
		items, _ := meta.ExtractList(list)
		out := make([]reconcile.Request, 0, len(items))
		for _, item := range items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(item.(client.Object))})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named(controllerName).
		For(newObj(), builder.WithPredicates(specOrDeletionChanged{})).
		Watches(&giteav1alpha1.GiteaProvider{}, usersOf, builder.WithPredicates(readyChanged{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: 4,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, MaxRetryDelay),
		}).
		Complete(r)
}

// readyChanged passes a provider whose Ready condition changed status (and its creation and deletion).
type readyChanged struct{ predicate.Funcs }

func (readyChanged) Update(e event.UpdateEvent) bool {
	ready := func(o client.Object) bool {
		p, ok := o.(*giteav1alpha1.GiteaProvider)
		return ok && meta.IsStatusConditionTrue(p.Status.Conditions, giteav1alpha1.ConditionReady)
	}
	return ready(e.ObjectOld) != ready(e.ObjectNew)
}
