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

// Package nuop is the manager's NuOperator controller. For each NuOperator that maps at least one script it
// keeps, by server-side apply as the field manager "nuop-manager", a managed operator Deployment
// (<name>-nuop: spec.image, else the manager's --image or its own image, in --mode=managed, with a fetch
// sidecar when there are git sources), the ServiceAccount it runs as when the spec names none, and the Role
// and RoleBinding the managed operator needs (its lease, events, its own NuOperator and status). It writes
// the manager's part of the status (observedGeneration, Ready, DeploymentAvailable, deploymentName,
// readyReplicas) and holds a finalizer so that a deleted NuOperator's managed operator can release its
// scripts' finalizers first (SCRIPT-PROTOCOL section 5).
package nuop

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// The manager's own permissions, each used or needed to grant (test/rbac/testdata/manager-rules.yaml says
// why, rule by rule). It can only grant what it holds, so these include everything the Role of a managed
// operator grants (leases, events, get/list/watch on nuoperators, patch/update on their status). Server-side
// apply is a patch, and needs create too when the object is new; blockOwnerDeletion in the owner references
// needs update on nuoperators/finalizers. It never creates, deletes or updates a NuOperator: it patches
// its finalizer and applies its status.
//
// +kubebuilder:rbac:groups=kemper.buzz,resources=nuoperators,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=kemper.buzz,resources=nuoperators/status,verbs=update;patch
// +kubebuilder:rbac:groups=kemper.buzz,resources=nuoperators/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// ControllerName names the controller (its logs, metrics and the reporting controller of its events).
const ControllerName = "nuoperator"

// Defaults of Options.
const (
	// DefaultMaxScriptTimeout is Options.MaxScriptTimeout when unset (the binary's --max-script-timeout
	// default).
	DefaultMaxScriptTimeout = 2 * time.Minute
	// DefaultFinalizerReleaseTimeout is how long a deleted NuOperator waits for its managed operator to
	// release its scripts' finalizers (SCRIPT-PROTOCOL section 5).
	DefaultFinalizerReleaseTimeout = 2 * time.Minute
	// TerminationGraceMargin is added to MaxScriptTimeout to give the managed operator's pods their
	// terminationGracePeriodSeconds: above the managed operator's graceful shutdown.
	TerminationGraceMargin = 30 * time.Second
)

// Options configure the controller.
type Options struct {
	// Image is the managed operator's image unless spec.image names another: the manager's --image (env
	// NUOP_IMAGE), else its own image read from its Pod. Empty: a NuOperator without spec.image gets
	// Ready=False, reason NoImage.
	Image string
	// NoImageReason says why Image is empty (why the manager could not read its own image), for the NoImage
	// condition's message.
	NoImageReason string
	// MaxScriptTimeout is passed to the managed operator as --max-script-timeout and sizes its pods'
	// terminationGracePeriodSeconds (MaxScriptTimeout + TerminationGraceMargin). Default
	// DefaultMaxScriptTimeout.
	MaxScriptTimeout time.Duration
	// FinalizerReleaseTimeout bounds the deletion handshake. Default DefaultFinalizerReleaseTimeout.
	FinalizerReleaseTimeout time.Duration
	// MaxConcurrentReconciles of the controller. Default 2.
	MaxConcurrentReconciles int
	// Clock tells the time of the deletion handshake. Default the real clock; tests inject their own.
	Clock clock.PassiveClock
	// Registry receives the nuop_nuoperators gauge. Default controller-runtime's metrics.Registry.
	Registry prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.MaxScriptTimeout <= 0 {
		o.MaxScriptTimeout = DefaultMaxScriptTimeout
	}
	if o.FinalizerReleaseTimeout <= 0 {
		o.FinalizerReleaseTimeout = DefaultFinalizerReleaseTimeout
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = 2
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Registry == nil {
		o.Registry = crmetrics.Registry
	}
	return o
}

// CacheByObject is what the manager's cache must be configured with (merge it into ctrl.Options'
// Cache.ByObject): the caches of the objects this controller owns hold only those it derived from a
// NuOperator (label app.kubernetes.io/managed-by=nuop-manager), without their managed fields. Namespace
// restrictions (Cache.DefaultNamespaces) still apply to them. Nothing else in the manager may rely on the
// manager's cache holding every Deployment, ServiceAccount, Role or RoleBinding.
func CacheByObject() map[client.Object]cache.ByObject {
	selector := labels.SelectorFromSet(labels.Set{nuopv1alpha1.ManagedByLabel: nuopv1alpha1.ManagerFieldManager})
	byObject := cache.ByObject{Label: selector, Transform: cache.TransformStripManagedFields()}
	return map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:     byObject,
		&corev1.ServiceAccount{}: byObject,
		&rbacv1.Role{}:           byObject,
		&rbacv1.RoleBinding{}:    byObject,
	}
}

// CacheOptions are cache.Options holding CacheByObject, for a manager that sets nothing else in its cache.
func CacheOptions() cache.Options {
	return cache.Options{ByObject: CacheByObject()}
}

// SetupWithManager registers the NuOperator controller with mgr. The manager's scheme must hold the client-go
// types and kemper.buzz/v1alpha1, and its cache must be configured with CacheByObject.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	_, err := setup(mgr, opts, nil)
	return err
}

// setup builds the reconciler and its controller; filter, when not nil, selects the NuOperators whose own
// events are reconciled (tests keep some away from the running controller).
func setup(mgr ctrl.Manager, opts Options, filter predicate.Predicate) (*Reconciler, error) {
	if !mgr.GetScheme().Recognizes(nuopv1alpha1.GroupVersion.WithKind("NuOperator")) {
		return nil, errors.New("the manager's scheme lacks kemper.buzz/v1alpha1: add nuopv1alpha1.AddToScheme to it")
	}
	opts = opts.withDefaults()
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		recorder:  mgr.GetEventRecorder(nuopv1alpha1.ManagerFieldManager),
		opts:      opts,
		metrics:   m,
	}
	var forOpts []builder.ForOption
	if filter != nil {
		forOpts = append(forOpts, builder.WithPredicates(filter))
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&nuopv1alpha1.NuOperator{}, forOpts...).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Complete(r)
	if err != nil {
		return nil, err
	}
	return r, nil
}
