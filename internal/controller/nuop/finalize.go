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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// finalizeRecheck bounds how long a NuOperator waiting for its managed operator goes without a look: a
// terminating namespace is not watched.
const finalizeRecheck = 30 * time.Second

// release is why the manager lets a deleted NuOperator go, or removes the managed operator of one that maps
// nothing.
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
	rel, wait, err := r.releaseDecision(ctx, n, dep, n.DeletionTimestamp.Time)
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
		s.ready = falseCond(nuopv1alpha1.ReasonDeleting, "%s",
			r.waitingMessage(n, n.DeletionTimestamp.Time, "the deletion", "let it go"))
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
	r.announce(n, rel, "let the NuOperator go")
	return ctrl.Result{}, nil
}

// unmap removes what runs a NuOperator whose spec maps no script. A managed operator the manager runs may
// have put its scripts' finalizers on objects: its Deployment stays until it reports them released for
// the current generation, by the deletion handshake with the same time-out (counted from the first pass
// that found the mappings gone, kept in status) and skip annotation.
func (r *Reconciler) unmap(ctx context.Context, n *nuopv1alpha1.NuOperator) (ctrl.Result, managerStatus, error) {
	dep := &appsv1.Deployment{}
	o, err := r.lookup(ctx, n, dep, true)
	if err != nil {
		return r.failed(ctx, n, err)
	}
	// A Deployment nuop made (ownedForeign) runs nuop's own operator, which cannot answer.
	if o == owned && dep.DeletionTimestamp.IsZero() {
		since := r.opts.Clock.Now().Truncate(time.Second)
		if t := n.Status.FinalizerReleaseStartTime; t != nil {
			since = t.Time
		}
		rel, wait, err := r.releaseDecision(ctx, n, dep, since)
		if err != nil {
			return r.failed(ctx, n, err)
		}
		if rel == nil {
			return ctrl.Result{RequeueAfter: min(wait, finalizeRecheck)}, managerStatus{
				deploymentName:      dep.Name,
				readyReplicas:       &dep.Status.ReadyReplicas,
				deploymentAvailable: deploymentAvailability(dep),
				ready: falseCond(nuopv1alpha1.ReasonReleasingFinalizers, "spec.mappings is empty: %s",
					r.waitingMessage(n, since, "the mappings were removed", "remove its Deployment")),
				releaseStart: &metav1.Time{Time: since},
			}, nil
		}
		r.announce(n, rel, "removing the managed operator (spec.mappings is empty)")
	}
	if err := r.removeAll(ctx, n, "spec.mappings is empty"); err != nil {
		return r.failed(ctx, n, err)
	}
	return ctrl.Result{}, managerStatus{deploymentAvailable: falseCond(nuopv1alpha1.ReasonNoMappings,
		"spec.mappings is empty: no script is mapped, so there is nothing to run and no Deployment; "+
			"add a mapping naming a script and the kind it reconciles")}, nil
}

// waitingMessage says what the handshake that began at since (after what) waits for, and how to skip it
// (then what the manager does). It holds no countdown: it must not change, and be written again, on every
// pass.
func (r *Reconciler) waitingMessage(n *nuopv1alpha1.NuOperator, since time.Time, after, then string) string {
	return fmt.Sprintf("waiting until %s (%s after %s) for the managed operator to release its scripts' "+
		"finalizers (%s); annotate the NuOperator %s=true to %s at once",
		since.Add(r.opts.FinalizerReleaseTimeout).UTC().Format(time.RFC3339), r.opts.FinalizerReleaseTimeout,
		after, finalizerList(n), nuopv1alpha1.SkipFinalizerReleaseAnnotation, then)
}

// announce records why the manager did what (letting the NuOperator go, removing its managed operator)
// when the handshake ended: a Warning naming what may be left behind when the managed operator did not
// report its scripts' finalizers released.
func (r *Reconciler) announce(n *nuopv1alpha1.NuOperator, rel *release, what string) {
	if rel.warn {
		r.event(n, corev1.EventTypeWarning, "FinalizersNotReleased", "Delete",
			"%s without the managed operator releasing its scripts' finalizers: %s. %s", what, rel.why, releaseHint(n))
		return
	}
	r.event(n, corev1.EventTypeNormal, "FinalizersReleased", "Delete", "%s: %s", what, rel.why)
}

// releaseDecision says why the managed operator's scripts' finalizers may be let go of now, or how long the
// manager may still wait, from since, for it to release them. dep is its Deployment, nil when there is none.
func (r *Reconciler) releaseDecision(ctx context.Context, n *nuopv1alpha1.NuOperator,
	dep *appsv1.Deployment, since time.Time) (*release, time.Duration, error) {
	if n.Annotations[nuopv1alpha1.SkipFinalizerReleaseAnnotation] == "true" {
		return &release{why: fmt.Sprintf("the annotation %s is \"true\"", nuopv1alpha1.SkipFinalizerReleaseAnnotation),
			warn: true}, 0, nil
	}
	// A report of an earlier generation may be from before the change that ends the scripts: mappings
	// removed, then added back and removed again, say.
	if c := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded); c != nil &&
		c.Reason == nuopv1alpha1.ReasonFinalizersReleased && c.ObservedGeneration >= n.Generation {
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
	elapsed := r.opts.Clock.Since(since)
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
