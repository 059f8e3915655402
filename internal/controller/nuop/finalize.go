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
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// finalizeRecheck bounds how long a NuOperator waiting for its managed operator goes without a look: a
// terminating namespace is not watched.
const finalizeRecheck = 30 * time.Second

// release is why the manager lets a deleted NuOperator go.
type release struct {
	why string
	// warn: the managed operator did not report its scripts' finalizers released; objects may still carry
	// them.
	warn bool
}

// finalize runs the deletion handshake (SCRIPT-PROTOCOL section 5): the manager's finalizer stays until the
// managed operator reports its scripts' finalizers released, cannot answer, or has had its time.
func (r *Reconciler) finalize(ctx context.Context, n *nuopv1alpha1.NuOperator) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(n, nuopv1alpha1.ManagerFinalizer) {
		return ctrl.Result{}, nil
	}
	dep := &appsv1.Deployment{}
	o, err := r.lookup(ctx, n, dep, true)
	if err != nil {
		return ctrl.Result{}, err
	}
	if o != owned && o != ownedForeign {
		dep = nil
	}
	rel, wait, err := r.releaseDecision(ctx, n, dep)
	if err != nil {
		return ctrl.Result{}, err
	}
	if rel == nil {
		s := managerStatus{deploymentAvailable: falseCond(nuopv1alpha1.ReasonDeploymentUnavailable,
			"the Deployment is gone")}
		if dep != nil {
			s = managerStatus{deploymentName: dep.Name, readyReplicas: &dep.Status.ReadyReplicas,
				deploymentAvailable: deploymentAvailability(dep)}
		}
		// The message holds no countdown: it must not change, and be written again, on every pass.
		s.ready = falseCond(nuopv1alpha1.ReasonDeleting,
			"waiting until %s (%s after the deletion) for the managed operator to release its scripts' "+
				"finalizers (%s); annotate the NuOperator %s=true to let it go at once",
			n.DeletionTimestamp.Add(r.opts.FinalizerReleaseTimeout).UTC().Format(time.RFC3339),
			r.opts.FinalizerReleaseTimeout, finalizerList(n), nuopv1alpha1.SkipFinalizerReleaseAnnotation)
		if err := r.writeStatus(ctx, n, s); err != nil {
			return ctrl.Result{}, fmt.Errorf("writing the status: %w", err)
		}
		return ctrl.Result{RequeueAfter: min(wait, finalizeRecheck)}, nil
	}

	patch := client.MergeFromWithOptions(n.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(n, nuopv1alpha1.ManagerFinalizer)
	if err := r.client.Patch(ctx, n, patch); err != nil && !apierrors.IsNotFound(err) {
		return retryOnConflict(err)
	}
	r.metrics.forget(client.ObjectKeyFromObject(n))
	if rel.warn {
		r.event(n, corev1.EventTypeWarning, "FinalizersNotReleased", "Delete",
			"let the NuOperator go without the managed operator releasing its scripts' finalizers: %s. %s",
			rel.why, releaseHint(n))
	} else {
		r.event(n, corev1.EventTypeNormal, "FinalizersReleased", "Delete", "let the NuOperator go: %s", rel.why)
	}
	return ctrl.Result{}, nil
}

// releaseDecision says why the NuOperator may go now, or how long it may still wait for the managed
// operator. dep is its Deployment, nil when there is none.
func (r *Reconciler) releaseDecision(ctx context.Context, n *nuopv1alpha1.NuOperator,
	dep *appsv1.Deployment) (*release, time.Duration, error) {
	if n.Annotations[nuopv1alpha1.SkipFinalizerReleaseAnnotation] == "true" {
		return &release{why: fmt.Sprintf("the annotation %s is \"true\"", nuopv1alpha1.SkipFinalizerReleaseAnnotation),
			warn: true}, 0, nil
	}
	if c := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded); c != nil &&
		c.Reason == nuopv1alpha1.ReasonFinalizersReleased {
		return &release{why: "the managed operator released its scripts' finalizers"}, 0, nil
	}
	// The managed operator cannot answer: nothing runs it.
	reported := len(scriptFinalizers(n)) > 0
	switch {
	case dep == nil:
		return &release{why: "the managed operator's Deployment is gone (or never existed)", warn: reported}, 0, nil
	case !dep.DeletionTimestamp.IsZero():
		return &release{why: "the managed operator's Deployment is being deleted", warn: reported}, 0, nil
	case dep.Spec.Replicas != nil && *dep.Spec.Replicas == 0:
		return &release{why: "the managed operator is scaled to zero", warn: reported}, 0, nil
	}
	ns := &corev1.Namespace{}
	err := r.apiReader.Get(ctx, client.ObjectKey{Name: n.Namespace}, ns)
	terminating := err == nil && (!ns.DeletionTimestamp.IsZero() || ns.Status.Phase == corev1.NamespaceTerminating)
	if apierrors.IsNotFound(err) || terminating {
		return &release{why: fmt.Sprintf("namespace %s is terminating", n.Namespace), warn: reported}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading namespace %s: %w", n.Namespace, err)
	}
	elapsed := r.opts.Clock.Since(n.DeletionTimestamp.Time)
	if elapsed >= r.opts.FinalizerReleaseTimeout {
		return &release{why: fmt.Sprintf("the managed operator did not report its scripts' finalizers released "+
			"within %s", r.opts.FinalizerReleaseTimeout), warn: true}, 0, nil
	}
	return nil, r.opts.FinalizerReleaseTimeout - elapsed, nil
}

// scriptFinalizer is a finalizer a script of the managed operator manages, on objects of its kind.
type scriptFinalizer struct {
	finalizer string
	kind      string // group/version/kind, as `manager finalizers release --kind` takes it
}

// scriptFinalizers are the finalizers the managed operator reported in status.scripts.
func scriptFinalizers(n *nuopv1alpha1.NuOperator) []scriptFinalizer {
	var out []scriptFinalizer
	for _, s := range n.Status.Scripts {
		if s.Finalizer == "" {
			continue
		}
		kind := s.Version + "/" + s.Kind
		if s.Group != "" {
			kind = s.Group + "/" + kind
		}
		out = append(out, scriptFinalizer{finalizer: s.Finalizer, kind: kind})
	}
	return out
}

// finalizerList names the scripts' finalizers for a status message.
func finalizerList(n *nuopv1alpha1.NuOperator) string {
	fs := scriptFinalizers(n)
	if len(fs) == 0 {
		return "none reported"
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.finalizer + " on " + f.kind
	}
	return strings.Join(names, ", ")
}

// releaseHint names the finalizers left behind and the commands that release them.
func releaseHint(n *nuopv1alpha1.NuOperator) string {
	instance := n.Namespace + "/" + n.Name
	fs := scriptFinalizers(n)
	if len(fs) == 0 {
		return "The managed operator reported no script finalizers; if its scripts had any, release them with " +
			"`manager finalizers release --finalizer <name> --kind <group/version/kind> --instance " + instance + "`"
	}
	commands := make([]string, len(fs))
	for i, f := range fs {
		commands[i] = fmt.Sprintf("`manager finalizers release --finalizer %s --kind %s --instance %s`",
			f.finalizer, f.kind, instance)
	}
	return fmt.Sprintf("Objects may still carry %s; release them with %s", finalizerList(n),
		strings.Join(commands, " and "))
}
