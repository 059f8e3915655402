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

// Package gitea holds the manager's Gitea controllers: the GiteaProvider controller, which checks each
// provider's connection and keeps its client (internal/giteaclient) in a cache shared with the controllers
// of the managed kinds.
package gitea

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// The provider controller's permissions. Secrets: read the credentials and CA bundles (get, live), watch
// their metadata (list, watch), keep the token created from a username and password (create, update,
// delete). giteaproviders/finalizers: the token Secret's controller reference sets blockOwnerDeletion, which
// needs it. Status is only ever patched, here and by every managed kind.
//
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=giteaproviders,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=giteaproviders/status,verbs=patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=giteaproviders/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ProviderControllerName names the GiteaProvider controller (its logs, metrics and events).
const ProviderControllerName = "giteaprovider"

// MaxRetryDelay caps the backoff of a provider whose Gitea does not answer.
const MaxRetryDelay = 5 * time.Minute

// ProviderOptions configure the GiteaProvider controller.
type ProviderOptions struct {
	// AllowedHosts is --gitea-allowed-hosts.
	AllowedHosts giteaclient.AllowList
	// Metrics receives the clients' series; nil records none.
	Metrics *giteaclient.Metrics
	// Clock tells the time of checks and paces the clients; default the real clock.
	Clock clock.Clock
	// ManagedKinds are the kinds whose resources keep a provider from going while they use it.
	ManagedKinds []ManagedKind
	// MaxConcurrentReconciles of the controller; default 2.
	MaxConcurrentReconciles int
}

// CacheByObject is what the manager's cache must be configured with (merge it into ctrl.Options'
// Cache.ByObject): Secrets and ConfigMaps are watched for their metadata only, and without annotations
// (kubectl's last-applied-configuration annotation holds a Secret's data) or managed fields. Their data is
// read live, when a provider needs it.
func CacheByObject() map[client.Object]cache.ByObject {
	strip := func(in any) (any, error) {
		if obj, err := meta.Accessor(in); err == nil {
			obj.SetAnnotations(nil)
			obj.SetManagedFields(nil)
		}
		return in, nil
	}
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}:    {Transform: strip},
		&corev1.ConfigMap{}: {Transform: strip},
	}
}

// SetupProviderWithManager registers the GiteaProvider controller. The manager's scheme must hold the
// client-go types and gitea.kemper.buzz/v1alpha1, and its cache must be configured with CacheByObject.
func SetupProviderWithManager(ctx context.Context, mgr ctrl.Manager, clients *giteaclient.Cache, opts ProviderOptions) error {
	if !mgr.GetScheme().Recognizes(giteav1alpha1.GroupVersion.WithKind("GiteaProvider")) {
		return errors.New("the manager's scheme lacks gitea.kemper.buzz/v1alpha1: add giteav1alpha1.AddToScheme to it")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 2
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &giteav1alpha1.GiteaProvider{}, referencesIndex,
		func(o client.Object) []string { return references(o.(*giteav1alpha1.GiteaProvider)) }); err != nil {
		return err
	}
	r := &ProviderReconciler{
		client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		recorder:  mgr.GetEventRecorder(ProviderControllerName),
		clients:   clients,
		opts:      opts,
	}
	providers := func() client.ObjectList { return &giteav1alpha1.GiteaProviderList{} }
	referenced := func(key func(string) string) handler.EventHandler {
		return indexed(r.client, referencesIndex, providers, func(o client.Object) string { return key(o.GetName()) })
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(ProviderControllerName).
		// The provider's own status writes (a check time each check) must not start another check.
		For(&giteav1alpha1.GiteaProvider{}, builder.WithPredicates(specOrDeletionChanged{})).
		WatchesMetadata(&corev1.Secret{}, referenced(secretKey)).
		WatchesMetadata(&corev1.ConfigMap{}, referenced(configMapKey))
	// A resource appearing or going changes who uses its provider (and may let a deleted one go).
	providerOf := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		m, ok := o.(giteav1alpha1.Managed)
		if !ok {
			return nil
		}
		key := types.NamespacedName{Namespace: o.GetNamespace(), Name: m.ManagedSpec().ProviderRef.Name}
		return []reconcile.Request{{NamespacedName: key}}
	})
	for _, k := range opts.ManagedKinds {
		b = b.Watches(k.NewObject(), providerOf, builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(event.UpdateEvent) bool { return false },
		}))
	}
	return b.WithOptions(controller.Options{
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, MaxRetryDelay),
	}).Complete(r)
}

// specOrDeletionChanged passes an object's creation, a change of its spec (generation), the start of its
// deletion and a sync asked for with SyncRequestAnnotation.
type specOrDeletionChanged struct{ predicate.Funcs }

func (specOrDeletionChanged) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return true
	}
	return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
		e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero() ||
		syncRequest(e.ObjectOld) != syncRequest(e.ObjectNew)
}

func syncRequest(o client.Object) string {
	return o.GetAnnotations()[giteav1alpha1.SyncRequestAnnotation]
}
