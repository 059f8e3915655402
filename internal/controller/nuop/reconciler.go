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
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/truncate"
)

// Reconciler reconciles NuOperators.
type Reconciler struct {
	client    client.Client
	apiReader client.Reader
	recorder  recorder.EventRecorder
	opts      Options
	metrics   *metrics
}

// conflictRetry is how soon a NuOperator whose object another owner holds is looked at again: the other
// object is not watched (the caches hold only the manager's own).
const conflictRetry = time.Minute

// Reconcile brings the objects derived from a NuOperator and the manager's part of its status in line with
// its spec, or, once it is being deleted, runs the deletion handshake.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	n := &nuopv1alpha1.NuOperator{}
	if err := r.client.Get(ctx, req.NamespacedName, n); err != nil {
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !n.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, n)
	}
	if !controllerutil.ContainsFinalizer(n, nuopv1alpha1.ManagerFinalizer) {
		patch := client.MergeFromWithOptions(n.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(n, nuopv1alpha1.ManagerFinalizer)
		if err := r.client.Patch(ctx, n, patch); err != nil {
			return retryOnConflict(err)
		}
	}

	result, s, err := r.sync(ctx, n)
	if apierrors.IsConflict(err) {
		// An optimistic lock lost to another writer: the next pass sees the newer object.
		return retryOnConflict(err)
	}
	if s.ready == (cond{}) {
		s.ready = readiness(n, s.deploymentAvailable)
	}
	if statusErr := r.writeStatus(ctx, n, s); statusErr != nil {
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("writing the status: %w", statusErr))
	}
	return result, err
}

// sync applies the objects derived from n (or removes them when there is nothing to run) and observes the
// Deployment. The status it returns has DeploymentAvailable set; Reconcile derives Ready from it unless
// it is set too.
func (r *Reconciler) sync(ctx context.Context, n *nuopv1alpha1.NuOperator) (ctrl.Result, managerStatus, error) {
	if len(n.Spec.Mappings) == 0 {
		return r.unmap(ctx, n)
	}
	image := cmp.Or(n.Spec.Image, r.opts.Image)
	if image == "" {
		// The objects of an earlier pass are left as they are: a manager that does not know its image must not
		// take every managed operator down.
		s := r.observed(ctx, n)
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonNoImage,
			"spec.image is unset and the manager does not know its own image (its NUOP_IMAGE environment "+
				"variable is empty, and %s): set spec.image, or NUOP_IMAGE on the manager's Deployment",
			cmp.Or(r.opts.NoImageReason, "it did not read its own Pod"))
		return ctrl.Result{}, s, nil
	}
	if n.Spec.ServiceAccountName == "default" {
		s := r.observed(ctx, n)
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonDefaultServiceAccount,
			"spec.serviceAccountName is \"default\": the managed operator's permissions are never granted to the "+
				"namespace's default ServiceAccount, which every pod of the namespace runs as; name a ServiceAccount "+
				"of its own, or leave it empty for %s, made by the manager", n.DeploymentName())
		return ctrl.Result{}, s, nil
	}

	serviceAccount := n.Spec.ServiceAccountName
	ownServiceAccount := serviceAccount == "" || serviceAccount == n.DeploymentName()
	if ownServiceAccount {
		serviceAccount = n.DeploymentName()
	}
	// The permissions first, so that the pods never start without them.
	if ownServiceAccount {
		if err := r.applyOwned(ctx, n, &corev1.ServiceAccount{}, desiredServiceAccount(n)); err != nil {
			return r.failed(ctx, n, err)
		}
	} else if err := r.removeOwned(ctx, n, &corev1.ServiceAccount{}, false,
		"spec.serviceAccountName names "+serviceAccount); err != nil {
		return r.failed(ctx, n, err)
	}
	if err := r.applyOwned(ctx, n, &rbacv1.Role{}, desiredRole(n)); err != nil {
		return r.failed(ctx, n, err)
	}
	if err := r.applyOwned(ctx, n, &rbacv1.RoleBinding{}, desiredRoleBinding(n, serviceAccount)); err != nil {
		return r.failed(ctx, n, err)
	}

	desired, err := desiredDeployment(n, deploymentParams{
		image: image, serviceAccount: serviceAccount, maxScriptTimeout: r.opts.MaxScriptTimeout})
	if err != nil {
		return r.failed(ctx, n, fmt.Errorf("building the Deployment: %w", err))
	}
	if err := r.prepareDeployment(ctx, n); err != nil {
		return r.failed(ctx, n, err)
	}
	if err := r.apply(ctx, desired); err != nil {
		return r.failed(ctx, n, fmt.Errorf("applying Deployment %s/%s: %w", n.Namespace, n.DeploymentName(), err))
	}
	applied, err := convert[appsv1.Deployment](desired)
	if err != nil {
		return r.failed(ctx, n, err)
	}
	return ctrl.Result{}, managerStatus{
		deploymentName:      applied.Name,
		readyReplicas:       &applied.Status.ReadyReplicas,
		deploymentAvailable: deploymentAvailability(&applied),
	}, nil
}

// apply server-side applies ac as nuop-manager, taking over the fields it sets from any other manager.
func (r *Reconciler) apply(ctx context.Context, ac runtime.ApplyConfiguration) error {
	return r.client.Apply(ctx, ac, client.FieldOwner(nuopv1alpha1.ManagerFieldManager), client.ForceOwnership)
}

// applyOwned applies ac, an object derived from n, after checking that the object of its kind (obj, empty)
// and name is n's or absent.
func (r *Reconciler) applyOwned(ctx context.Context, n *nuopv1alpha1.NuOperator, obj client.Object,
	ac runtime.ApplyConfiguration) error {
	found, err := r.lookup(ctx, n, obj, true)
	if err != nil {
		return err
	}
	if found != absent {
		if err := r.claim(ctx, n, obj, found); err != nil {
			return err
		}
	}
	if err := r.apply(ctx, ac); err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", kindOf(obj), n.Namespace, n.DeploymentName(), err)
	}
	return nil
}

// failed turns an error of sync into the status it gives, and the result: an object held by another owner
// is a Conflict, looked at again later; a wait is retried soon; anything else is an error, retried with
// backoff.
func (r *Reconciler) failed(ctx context.Context, n *nuopv1alpha1.NuOperator, err error) (ctrl.Result, managerStatus, error) {
	s := r.observed(ctx, n)
	var conflict *conflictError
	var wait *waitError
	switch {
	case errors.As(err, &conflict):
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonConflict, "%s", conflict.msg)
		return ctrl.Result{RequeueAfter: conflictRetry}, s, nil
	case errors.As(err, &wait):
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonDeploymentProgressing, "%s", wait.msg)
		return ctrl.Result{RequeueAfter: wait.after}, s, nil
	case apierrors.IsForbidden(err):
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonForbidden,
			"%v (the manager's ClusterRole lacks a permission, or would grant one it does not hold)", err)
	default:
		s.deploymentAvailable = falseCond(nuopv1alpha1.ReasonApplyFailed, "%v", err)
	}
	return ctrl.Result{}, s, err
}

// observed is the status the Deployment gives when sync did not apply it: its name and ready replicas if
// it is n's.
func (r *Reconciler) observed(ctx context.Context, n *nuopv1alpha1.NuOperator) managerStatus {
	dep := &appsv1.Deployment{}
	if found, err := r.lookup(ctx, n, dep, false); err != nil || found != owned {
		return managerStatus{}
	}
	return managerStatus{deploymentName: dep.Name, readyReplicas: &dep.Status.ReadyReplicas}
}

// writeStatus applies the manager's part of the status, updates the gauge and records an event when Ready
// changes.
func (r *Reconciler) writeStatus(ctx context.Context, n *nuopv1alpha1.NuOperator, s managerStatus) error {
	before := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionReady)
	if err := r.applyStatus(ctx, n, s); err != nil {
		return err
	}
	r.metrics.set(client.ObjectKeyFromObject(n), s.ready.status == metav1.ConditionTrue)
	if before != nil && before.Status == s.ready.status && before.Reason == s.ready.reason {
		return nil
	}
	logf.FromContext(ctx).Info("Ready changed", "status", s.ready.status, "reason", s.ready.reason,
		"message", s.ready.message)
	eventType := corev1.EventTypeWarning
	if s.ready.status == metav1.ConditionTrue || normalReasons[s.ready.reason] {
		eventType = corev1.EventTypeNormal
	}
	r.event(n, eventType, s.ready.reason, "Reconcile", "Ready is %s: %s", s.ready.status, s.ready.message)
	return nil
}

// normalReasons are the reasons of a Ready=False that is not a failure: waiting, or nothing asked for.
var normalReasons = map[string]bool{
	nuopv1alpha1.ReasonNoMappings:                true,
	nuopv1alpha1.ReasonScaledToZero:              true,
	nuopv1alpha1.ReasonDeploymentProgressing:     true,
	nuopv1alpha1.ReasonWaitingForScripts:         true,
	nuopv1alpha1.ReasonWaitingForManagedOperator: true,
	nuopv1alpha1.ReasonDeleting:                  true,
	nuopv1alpha1.ReasonReleasingFinalizers:       true,
	nuopv1alpha1.ReasonLoading:                   true,
	nuopv1alpha1.ReasonFetching:                  true,
}

// event records an event on n; its note is cut to the 1 KiB events.k8s.io allows.
func (r *Reconciler) event(n *nuopv1alpha1.NuOperator, eventType, reason, action, note string, args ...any) {
	r.recorder.Eventf(n, nil, eventType, reason, action, "%s", truncate.String(fmt.Sprintf(note, args...), 1024))
}

// retryOnConflict retries a pass that lost an optimistic lock soon, without logging it as an error.
func retryOnConflict(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	return ctrl.Result{}, err
}

// conflictError: an object the manager would derive from a NuOperator exists and belongs to someone else.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// waitError: the pass cannot finish yet (an object is being replaced); it is retried after a while.
type waitError struct {
	msg   string
	after time.Duration
}

func (e *waitError) Error() string { return e.msg }
