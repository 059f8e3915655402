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
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

func TestDeploymentAvailability(t *testing.T) {
	dc := func(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string) appsv1.DeploymentCondition {
		return appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: message}
	}
	availableTrue := dc(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable", "ok")
	availableFalse := dc(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "not enough")
	rollingOut := dc(appsv1.DeploymentProgressing, corev1.ConditionTrue, "ReplicaSetUpdated", "rolling")
	rolledOut := dc(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable", "done")
	deadline := dc(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", "timed out")

	for _, tc := range []struct {
		name       string
		replicas   *int32
		conditions []appsv1.DeploymentCondition
		want       string
	}{
		{name: "just made", want: "False/DeploymentProgressing"},
		{name: "available", conditions: []appsv1.DeploymentCondition{availableTrue, rolledOut}, want: "True/DeploymentAvailable"},
		{name: "available while rolling out", conditions: []appsv1.DeploymentCondition{availableTrue, rollingOut},
			want: "True/DeploymentAvailable"},
		{name: "first rollout", conditions: []appsv1.DeploymentCondition{availableFalse, rollingOut},
			want: "False/DeploymentProgressing"},
		{name: "pods lost after the rollout", conditions: []appsv1.DeploymentCondition{availableFalse, rolledOut},
			want: "False/DeploymentUnavailable"},
		{name: "only Available, False", conditions: []appsv1.DeploymentCondition{availableFalse},
			want: "False/DeploymentUnavailable"},
		{name: "progress deadline", conditions: []appsv1.DeploymentCondition{availableFalse, deadline},
			want: "False/DeploymentFailed"},
		{name: "scaled to zero", replicas: ptr.To[int32](0), conditions: []appsv1.DeploymentCondition{availableTrue},
			want: "False/ScaledToZero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x-nuop"},
				Spec: appsv1.DeploymentSpec{Replicas: tc.replicas}, Status: appsv1.DeploymentStatus{Conditions: tc.conditions}}
			got := deploymentAvailability(dep)
			g.Expect(string(got.status) + "/" + got.reason).To(Equal(tc.want))
			g.Expect(got.message).NotTo(BeEmpty())
		})
	}
}

func TestReadiness(t *testing.T) {
	available := cond{status: metav1.ConditionTrue, reason: nuopv1alpha1.ReasonDeploymentAvailable}
	c := func(typ, status, reason string, generation int64) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: reason,
			ObservedGeneration: generation}
	}
	loaded := c(nuopv1alpha1.ConditionScriptsLoaded, "True", nuopv1alpha1.ReasonScriptsLoaded, 3)
	for _, tc := range []struct {
		name       string
		deployment cond
		conditions []metav1.Condition
		want       string
	}{
		{name: "Deployment not available", deployment: falseCond(nuopv1alpha1.ReasonDeploymentFailed, "x"),
			conditions: []metav1.Condition{loaded}, want: "False/DeploymentFailed"},
		{name: "no report yet", deployment: available, want: "False/WaitingForScripts"},
		{name: "scripts loaded", deployment: available, conditions: []metav1.Condition{loaded}, want: "True/Available"},
		{name: "scripts loaded for an older generation", deployment: available,
			conditions: []metav1.Condition{c(nuopv1alpha1.ConditionScriptsLoaded, "True", nuopv1alpha1.ReasonScriptsLoaded, 2)},
			want:       "False/WaitingForManagedOperator"},
		{name: "a script is missing", deployment: available,
			conditions: []metav1.Condition{c(nuopv1alpha1.ConditionScriptsLoaded, "False", nuopv1alpha1.ReasonScriptNotFound, 3)},
			want:       "False/ScriptNotFound"},
		{name: "a fetch fails", deployment: available, conditions: []metav1.Condition{loaded,
			c(nuopv1alpha1.ConditionSourcesFetched, "False", nuopv1alpha1.ReasonFetchFailed, 3)}, want: "False/FetchFailed"},
		{name: "sources fetched", deployment: available, conditions: []metav1.Condition{loaded,
			c(nuopv1alpha1.ConditionSourcesFetched, "True", nuopv1alpha1.ReasonSourcesFetched, 3)}, want: "True/Available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Generation: 3},
				Status: nuopv1alpha1.NuOperatorStatus{Conditions: tc.conditions}}
			got := readiness(n, tc.deployment)
			NewWithT(t).Expect(string(got.status) + "/" + got.reason).To(Equal(tc.want))
		})
	}
}

func TestContainerEnvKeepsTheLastOfEachName(t *testing.T) {
	g := NewWithT(t)
	env, err := containerEnv([]corev1.EnvVar{
		{Name: "A", Value: "1"}, {Name: "HOME", Value: "/home"}, {Name: "A", Value: "2"}, {Name: "B", Value: "3"},
	})
	g.Expect(err).NotTo(HaveOccurred())
	got := make([]string, 0, len(env))
	for _, e := range env {
		got = append(got, *e.Name+"="+ptr.Deref(e.Value, "<from>"))
	}
	g.Expect(got).To(Equal([]string{"POD_NAMESPACE=<from>", "HOME=/home", "A=2", "B=3"}))
}

func TestCredentialVolumeNamesAreLabels(t *testing.T) {
	g := NewWithT(t)
	g.Expect(credentialVolume(nil, 0)).To(BeNil())
	g.Expect(credentialVolume(&nuopv1alpha1.Credentials{}, 0)).To(BeNil())
	v := credentialVolume(&nuopv1alpha1.Credentials{
		SSHPrivateKey: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "ssh"}, Key: "id"},
		KnownHosts:    &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "ssh"}, Key: "hosts"},
	}, 12)
	g.Expect(*v.Name).To(Equal("cred-12"))
	g.Expect(v.Projected.Sources).To(HaveLen(2))
	items := v.Projected.Sources[0].Secret.Items
	files := make([]string, 0, len(items))
	for _, item := range items {
		files = append(files, *item.Key+"->"+*item.Path)
	}
	g.Expect(files).To(Equal([]string{"id->ssh-privatekey", "hosts->known_hosts"}))
}
