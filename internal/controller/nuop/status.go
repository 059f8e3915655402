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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/truncate"
)

// cond is a condition before it gets its type, generation and transition time.
type cond struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func falseCond(reason, format string, args ...any) cond {
	return cond{status: metav1.ConditionFalse, reason: reason, message: fmt.Sprintf(format, args...)}
}

// managerStatus is the manager's part of a NuOperator's status.
type managerStatus struct {
	deploymentName      string
	readyReplicas       *int32
	deploymentAvailable cond
	ready               cond
	// releaseStart is when the wait for the managed operator to release its scripts' finalizers began, while
	// spec.mappings is empty.
	releaseStart *metav1.Time
}

// deploymentAvailability follows the Deployment's Available condition, with a reason that says what to look
// at when it is not True.
func deploymentAvailability(d *appsv1.Deployment) cond {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want == 0 {
		return falseCond(nuopv1alpha1.ReasonScaledToZero, "spec.replicas is 0: the managed operator is stopped")
	}
	replicas := fmt.Sprintf("%d of %d replicas ready", d.Status.ReadyReplicas, want)
	var available, progressing *appsv1.DeploymentCondition
	for i := range d.Status.Conditions {
		switch d.Status.Conditions[i].Type {
		case appsv1.DeploymentAvailable:
			available = &d.Status.Conditions[i]
		case appsv1.DeploymentProgressing:
			progressing = &d.Status.Conditions[i]
		}
	}
	switch {
	case available != nil && available.Status == corev1.ConditionTrue:
		return cond{status: metav1.ConditionTrue, reason: nuopv1alpha1.ReasonDeploymentAvailable, message: replicas}
	case progressing != nil && progressing.Status == corev1.ConditionFalse:
		return falseCond(nuopv1alpha1.ReasonDeploymentFailed, "%s; the rollout failed: %s (see the pods' events)",
			replicas, progressing.Message)
	case available == nil && progressing == nil:
		return falseCond(nuopv1alpha1.ReasonDeploymentProgressing,
			"%s; waiting for the Deployment controller to roll out Deployment %s", replicas, d.Name)
	case progressing != nil && progressing.Reason != "NewReplicaSetAvailable":
		return falseCond(nuopv1alpha1.ReasonDeploymentProgressing, "%s; rolling out: %s", replicas, progressing.Message)
	default:
		msg := "no condition"
		if available != nil {
			msg = available.Message
		}
		return falseCond(nuopv1alpha1.ReasonDeploymentUnavailable,
			"%s: %s (see the pods of Deployment %s: image pull, crash loop, scheduling)", replicas, msg, d.Name)
	}
}

// readiness is Ready: the Deployment available, the sources fetched (when the managed operator reports them
// failing) and the mapped scripts loaded, as the managed operator reported them for the current generation.
// When False, its reason is the first failing condition's.
func readiness(n *nuopv1alpha1.NuOperator, deploymentAvailable cond) cond {
	if deploymentAvailable.status != metav1.ConditionTrue {
		return deploymentAvailable
	}
	if sources := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionSourcesFetched); sources != nil &&
		sources.Status == metav1.ConditionFalse {
		return cond{status: metav1.ConditionFalse, reason: sources.Reason, message: sources.Message}
	}
	scripts := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded)
	switch {
	case scripts == nil:
		return falseCond(nuopv1alpha1.ReasonWaitingForScripts,
			"the managed operator runs but has not reported its scripts yet (condition %s)",
			nuopv1alpha1.ConditionScriptsLoaded)
	case scripts.Status != metav1.ConditionTrue:
		return cond{status: metav1.ConditionFalse, reason: scripts.Reason, message: scripts.Message}
	case scripts.ObservedGeneration < n.Generation:
		return falseCond(nuopv1alpha1.ReasonWaitingForManagedOperator,
			"the managed operator reported its scripts for generation %d; waiting for it to load generation %d",
			scripts.ObservedGeneration, n.Generation)
	}
	return cond{status: metav1.ConditionTrue, reason: nuopv1alpha1.ReasonAvailable,
		message: "the managed operator runs and its mapped scripts are loaded"}
}

// statusConditions are the manager's two conditions as they will be stored: the transition time is kept
// while the status does not change.
func statusConditions(n *nuopv1alpha1.NuOperator, s managerStatus) []metav1.Condition {
	conditions := append([]metav1.Condition(nil), n.Status.Conditions...)
	for _, c := range []struct {
		t string
		c cond
	}{{nuopv1alpha1.ConditionReady, s.ready}, {nuopv1alpha1.ConditionDeploymentAvailable, s.deploymentAvailable}} {
		meta.SetStatusCondition(&conditions, metav1.Condition{
			Type:               c.t,
			Status:             c.c.status,
			Reason:             c.c.reason,
			Message:            truncate.String(c.c.message, 32768),
			ObservedGeneration: n.Generation,
		})
	}
	return []metav1.Condition{
		*meta.FindStatusCondition(conditions, nuopv1alpha1.ConditionReady),
		*meta.FindStatusCondition(conditions, nuopv1alpha1.ConditionDeploymentAvailable),
	}
}

// statusUnchanged tells whether the stored status already says what s does.
func statusUnchanged(n *nuopv1alpha1.NuOperator, s managerStatus, conditions []metav1.Condition) bool {
	if n.Status.ObservedGeneration != n.Generation || n.Status.DeploymentName != s.deploymentName ||
		!ptr.Equal(n.Status.ReadyReplicas, s.readyReplicas) ||
		!n.Status.FinalizerReleaseStartTime.Equal(s.releaseStart) {
		return false
	}
	for _, want := range conditions {
		got := meta.FindStatusCondition(n.Status.Conditions, want.Type)
		if got == nil || got.Status != want.Status || got.Reason != want.Reason || got.Message != want.Message ||
			got.ObservedGeneration != want.ObservedGeneration {
			return false
		}
	}
	return true
}

// applyStatus writes the manager's part of the status by server-side apply on the status subresource, as
// nuop-manager: the managed operator's conditions (ScriptsLoaded, SourcesFetched), sources and scripts,
// owned by its own field manager, are left alone. Nothing is written when nothing changed.
func (r *Reconciler) applyStatus(ctx context.Context, n *nuopv1alpha1.NuOperator, s managerStatus) error {
	conditions := statusConditions(n, s)
	if statusUnchanged(n, s, conditions) {
		return nil
	}
	status := &statusApply{ObservedGeneration: ptr.To(n.Generation), ReadyReplicas: s.readyReplicas,
		FinalizerReleaseStartTime: s.releaseStart}
	if s.deploymentName != "" {
		status.DeploymentName = ptr.To(s.deploymentName)
	}
	for _, c := range conditions {
		status.Conditions = append(status.Conditions, *metav1ac.Condition().
			WithType(c.Type).
			WithStatus(c.Status).
			WithReason(c.Reason).
			WithMessage(c.Message).
			WithObservedGeneration(c.ObservedGeneration).
			WithLastTransitionTime(c.LastTransitionTime))
	}
	ac := &nuOperatorStatusApply{
		TypeMetaApplyConfiguration: *metav1ac.TypeMeta().
			WithAPIVersion(nuopv1alpha1.GroupVersion.String()).
			WithKind("NuOperator"),
		ObjectMetaApplyConfiguration: metav1ac.ObjectMeta().WithName(n.Name).WithNamespace(n.Namespace),
		Status:                       status,
	}
	return r.client.Status().Apply(ctx, ac, client.FieldOwner(nuopv1alpha1.ManagerFieldManager), client.ForceOwnership)
}

// nuOperatorStatusApply is an apply configuration of a NuOperator holding only the manager's part of its
// status (there is no generated apply configuration for the NuOperator API).
type nuOperatorStatusApply struct {
	metav1ac.TypeMetaApplyConfiguration    `json:",inline"`
	*metav1ac.ObjectMetaApplyConfiguration `json:"metadata,omitempty"`
	Status                                 *statusApply `json:"status,omitempty"`
}

// IsApplyConfiguration marks nuOperatorStatusApply as an apply configuration.
func (*nuOperatorStatusApply) IsApplyConfiguration() {}

type statusApply struct {
	ObservedGeneration *int64                                 `json:"observedGeneration,omitempty"`
	Conditions         []metav1ac.ConditionApplyConfiguration `json:"conditions,omitempty"`
	DeploymentName     *string                                `json:"deploymentName,omitempty"`
	ReadyReplicas      *int32                                 `json:"readyReplicas,omitempty"`
	// A field left out is released and so removed: the start time goes once the wait is over.
	FinalizerReleaseStartTime *metav1.Time `json:"finalizerReleaseStartTime,omitempty"`
}
