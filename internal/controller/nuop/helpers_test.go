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
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
)

const (
	eventually = 20 * time.Second
	poll       = 100 * time.Millisecond
)

var namespaceCount int

// newNamespace makes a namespace of its own for a test.
func newNamespace() string {
	namespaceCount++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("nuop-test-%d", namespaceCount)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var configMapMapping = nuopv1alpha1.Mapping{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"}

// createNuOperator creates a NuOperator named name in ns with spec.
func createNuOperator(ns, name string, spec nuopv1alpha1.NuOperatorSpec, labels ...string) *nuopv1alpha1.NuOperator {
	n := &nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	if len(labels) > 0 {
		n.Labels = map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			n.Labels[labels[i]] = labels[i+1]
		}
	}
	Expect(k8sClient.Create(ctx, n)).To(Succeed())
	return n
}

// getNuOperator reads n again.
func getNuOperator(n *nuopv1alpha1.NuOperator) *nuopv1alpha1.NuOperator {
	got := &nuopv1alpha1.NuOperator{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(n), got)).To(Succeed())
	return got
}

// updateNuOperator changes n's spec or metadata, retrying on conflicts.
func updateNuOperator(n *nuopv1alpha1.NuOperator, change func(*nuopv1alpha1.NuOperator)) {
	Eventually(func() error {
		got := &nuopv1alpha1.NuOperator{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(n), got); err != nil {
			return err
		}
		change(got)
		return k8sClient.Update(ctx, got)
	}, eventually, poll).Should(Succeed())
}

// conditionOf is "Status/Reason" of n's condition t, or "" when it has none.
func conditionOf(n *nuopv1alpha1.NuOperator, t string) func() string {
	return func() string {
		got := &nuopv1alpha1.NuOperator{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(n), got); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, t)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason
	}
}

func key(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// deploymentOf waits for n's Deployment and returns it.
func deploymentOf(n *nuopv1alpha1.NuOperator) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	Eventually(func() error {
		return k8sClient.Get(ctx, key(n.Namespace, n.DeploymentName()), dep)
	}, eventually, poll).Should(Succeed())
	return dep
}

// absentEventually checks that obj (by its name and namespace) is gone or stays absent.
func gone(obj client.Object) func() bool {
	return func() bool {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err)
	}
}

// setDeploymentStatus writes a Deployment's status as its controller would (envtest has none).
func setDeploymentStatus(n *nuopv1alpha1.NuOperator, ready int32, conditions ...appsv1.DeploymentCondition) {
	Eventually(func() error {
		dep := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, key(n.Namespace, n.DeploymentName()), dep); err != nil {
			return err
		}
		dep.Status.ObservedGeneration = dep.Generation
		dep.Status.Replicas = *dep.Spec.Replicas
		dep.Status.UpdatedReplicas = *dep.Spec.Replicas
		dep.Status.ReadyReplicas = ready
		dep.Status.AvailableReplicas = ready
		dep.Status.Conditions = conditions
		return k8sClient.Status().Update(ctx, dep)
	}, eventually, poll).Should(Succeed())
}

func deploymentCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string) appsv1.DeploymentCondition {
	now := metav1.Now()
	return appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: message,
		LastUpdateTime: now, LastTransitionTime: now}
}

// available is the status of a rolled out Deployment with all its replicas ready.
func available() []appsv1.DeploymentCondition {
	return []appsv1.DeploymentCondition{
		deploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable",
			"Deployment has minimum availability."),
		deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable",
			"ReplicaSet has successfully progressed."),
	}
}

// managedStatus applies status as the managed operator does (its own field manager).
func managedStatus(n *nuopv1alpha1.NuOperator, status map[string]any) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": nuopv1alpha1.GroupVersion.String(),
		"kind":       "NuOperator",
		"metadata":   map[string]any{"name": n.Name, "namespace": n.Namespace},
		"status":     status,
	}}
	Expect(k8sClient.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner("nuop-managed"), client.ForceOwnership)).To(Succeed())
}

// scriptsLoaded is the ScriptsLoaded condition as the managed operator writes it.
func scriptsLoaded(status, reason string, generation int64) map[string]any {
	return map[string]any{
		"type": nuopv1alpha1.ConditionScriptsLoaded, "status": status, "reason": reason,
		"message": "written by the test for the managed operator", "observedGeneration": generation,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	}
}

// replicatorScript is a status.scripts entry of a script with a finalizer.
func replicatorScript() map[string]any {
	return map[string]any{
		"name": "config-replicator", "version": "v1", "kind": "ConfigMap",
		"finalizer": "example.com/replicator", "state": string(nuopv1alpha1.ScriptRunning),
	}
}

// eventsOf are the notes of the events on n with the reason, as "Type: note".
func eventsOf(n *nuopv1alpha1.NuOperator, reason string) func() []string {
	return func() []string {
		list := &eventsv1.EventList{}
		Expect(k8sClient.List(ctx, list, client.InNamespace(n.Namespace))).To(Succeed())
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Name == n.Name && e.Regarding.Kind == "NuOperator" && e.Reason == reason {
				notes = append(notes, e.Type+": "+e.Note)
			}
		}
		return notes
	}
}

// forceReconcile runs a pass of the controller's reconciler on n.
func forceReconcile(n *nuopv1alpha1.NuOperator) {
	GinkgoHelper()
	_, err := testReconciler.Reconcile(ctx, reconcileRequest(n))
	Expect(err).NotTo(HaveOccurred())
}

// resourceVersions of the objects derived from n.
func resourceVersions(n *nuopv1alpha1.NuOperator) map[string]string {
	versions := map[string]string{}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &rbacv1.Role{},
		&rbacv1.RoleBinding{}} {
		Expect(k8sClient.Get(ctx, key(n.Namespace, n.DeploymentName()), obj)).To(Succeed())
		versions[kindOf(obj)] = obj.GetResourceVersion()
	}
	versions["NuOperator"] = getNuOperator(n).ResourceVersion
	return versions
}

// container finds a container by name.
func container(containers []corev1.Container, name string) *corev1.Container {
	for i := range containers {
		if containers[i].Name == name {
			return &containers[i]
		}
	}
	return nil
}

// volumeNames are the names of a pod's volumes.
func volumeNames(spec corev1.PodSpec) []string {
	names := make([]string, 0, len(spec.Volumes))
	for _, v := range spec.Volumes {
		names = append(names, v.Name)
	}
	return names
}

// mounts are a container's mounts as "name:path(:ro)".
func mounts(c *corev1.Container) []string {
	out := make([]string, 0, len(c.VolumeMounts))
	for _, m := range c.VolumeMounts {
		s := m.Name + ":" + m.MountPath
		if m.ReadOnly {
			s += ":ro"
		}
		out = append(out, s)
	}
	return out
}

// allowed asks the API server whether user (a ServiceAccount) may do verb on a resource in ns.
func allowed(user, ns, verb, group, resource, subresource, name string) bool {
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group,
			Resource: resource, Subresource: subresource, Name: name},
	}}
	Expect(k8sClient.Create(ctx, review)).To(Succeed())
	return review.Status.Allowed
}

// gauge is the value of nuop_nuoperators{ready=ready}, or -1 when the series is missing.
func gauge(ready string) float64 {
	metrics, err := utils.GatherMetrics(testRegistry)
	Expect(err).NotTo(HaveOccurred())
	v, err := metrics.Value("nuop_nuoperators", map[string]string{"ready": ready})
	if errors.Is(err, utils.ErrNoSeries) {
		return -1
	}
	Expect(err).NotTo(HaveOccurred())
	return v
}

// readyOf is what the gauge's bookkeeping holds for n: "true", "false", or "" when it does not count it.
func readyOf(n *nuopv1alpha1.NuOperator) string {
	m := testReconciler.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	ready, ok := m.ready[client.ObjectKeyFromObject(n)]
	if !ok {
		return ""
	}
	return fmt.Sprint(ready)
}
