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
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// releaseCommand is how the Warning events tell to release the finalizer of replicatorScript, but for its
// instance.
const releaseCommand = "`manager finalizers release --finalizer example.com/replicator --kind v1/ConfigMap --instance "

var _ = Describe("Deleting a NuOperator", func() {
	var ns string
	var n *nuopv1alpha1.NuOperator

	// running makes a NuOperator whose managed operator runs and reports a script with a finalizer, and
	// deletes it: the manager waits.
	running := func(name string) {
		n = runningScript(name)
		ns = n.Namespace
		Expect(k8sClient.Delete(ctx, n)).To(Succeed())
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Deleting"))
		ready := meta.FindStatusCondition(getNuOperator(n).Status.Conditions, nuopv1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring("release its scripts' finalizers (example.com/replicator on v1/ConfigMap)"))
		Expect(ready.Message).To(ContainSubstring("annotate the NuOperator nuop.kemper.buzz/skip-finalizer-release=true"))
		Consistently(func() []string { return getNuOperator(n).Finalizers }, time.Second, poll).
			Should(ContainElement(nuopv1alpha1.ManagerFinalizer))
	}
	isGone := func() bool { return gone(&nuopv1alpha1.NuOperator{ObjectMeta: n.ObjectMeta})() }

	It("lets it go once the managed operator reports its scripts' finalizers released", func() {
		running("released")
		managedStatus(n, map[string]any{
			"conditions": []any{scriptsLoaded("False", nuopv1alpha1.ReasonFinalizersReleased, getNuOperator(n).Generation)},
			"scripts":    []any{replicatorScript()},
		})
		Eventually(isGone, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersReleased"), eventually, poll).Should(ConsistOf(
			"Normal: let the NuOperator go: the managed operator released its scripts' finalizers"))
		Expect(eventsOf(n, "FinalizersNotReleased")()).To(BeEmpty())
		Eventually(func() string { return readyOf(n) }, eventually, poll).Should(BeEmpty())
	})

	It("lets it go when the managed operator's Deployment is gone, naming the finalizers left behind", func() {
		running("no-deployment")
		dep := deploymentOf(n)
		Expect(k8sClient.Delete(ctx, dep)).To(Succeed())
		Eventually(isGone, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersNotReleased"), eventually, poll).Should(ConsistOf(
			"Warning: let the NuOperator go without the managed operator releasing its scripts' finalizers: " +
				"the managed operator's Deployment is gone (or never existed). Objects may still carry " +
				"example.com/replicator on v1/ConfigMap; release them with " + releaseCommand + ns + "/no-deployment`"))
	})

	It("lets one that never ran go at once", func() {
		ns = newNamespace()
		n = createNuOperator(ns, "never-ran", nuopv1alpha1.NuOperatorSpec{})
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
		Expect(k8sClient.Delete(ctx, n)).To(Succeed())
		Eventually(isGone, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersReleased"), eventually, poll).Should(ConsistOf(
			"Normal: let the NuOperator go: the managed operator's Deployment is gone (or never existed)"))
	})

	It("lets it go after the time-out", func() {
		running("timeout")
		testClock.SetTime(time.Now().Add(DefaultFinalizerReleaseTimeout + time.Second))
		DeferCleanup(func() { testClock.SetTime(time.Now()) })
		// Any event makes a pass; the requeue is on the real clock.
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Annotations = map[string]string{"touch": "1"} })
		Eventually(isGone, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersNotReleased"), eventually, poll).Should(ConsistOf(
			"Warning: let the NuOperator go without the managed operator releasing its scripts' finalizers: " +
				"the managed operator did not report its scripts' finalizers released within 2m0s. Objects may " +
				"still carry example.com/replicator on v1/ConfigMap; release them with " + releaseCommand + ns + "/timeout`"))
	})

	It("lets it go at once with the skip annotation", func() {
		running("skipped")
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) {
			n.Annotations = map[string]string{nuopv1alpha1.SkipFinalizerReleaseAnnotation: "true"}
		})
		Eventually(isGone, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersNotReleased"), eventually, poll).Should(ConsistOf(
			"Warning: let the NuOperator go without the managed operator releasing its scripts' finalizers: " +
				"the annotation nuop.kemper.buzz/skip-finalizer-release is \"true\". Objects may still carry " +
				"example.com/replicator on v1/ConfigMap; release them with " + releaseCommand + ns + "/skipped`"))
	})
})

var _ = Describe("Removing every mapping of a running NuOperator", func() {
	var n *nuopv1alpha1.NuOperator

	// unmapped makes a NuOperator whose managed operator runs and reports a script with a finalizer, and
	// removes its mappings: the manager keeps the Deployment and waits.
	unmapped := func(name string) {
		n = runningScript(name)
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Spec.Mappings = nil })
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ReleasingFinalizers"))
		n = getNuOperator(n)
		ready := meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionReady)
		Expect(ready.Message).To(HavePrefix("spec.mappings is empty: waiting until "))
		Expect(ready.Message).To(ContainSubstring("release its scripts' finalizers (example.com/replicator on v1/ConfigMap)"))
		Expect(ready.Message).To(HaveSuffix("annotate the NuOperator nuop.kemper.buzz/skip-finalizer-release=true to remove its Deployment at once"))
		Expect(n.Status.FinalizerReleaseStartTime).NotTo(BeNil())
		Expect(n.Status.DeploymentName).To(Equal(n.DeploymentName()))
		Expect(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable)()).To(Equal("True/DeploymentAvailable"))
		Expect(deploymentGone(n)).To(BeFalse())
	}

	It("keeps the Deployment until the managed operator reports its scripts' finalizers released for the new generation", func() {
		unmapped("unmapped")
		// A report of the generation that still mapped the script is not the answer.
		managedStatus(n, map[string]any{"conditions": []any{
			scriptsLoaded("False", nuopv1alpha1.ReasonFinalizersReleased, n.Generation-1)}})
		Eventually(cachedScriptsLoaded(n), eventually, poll).Should(Equal(
			fmt.Sprintf("%s/%d", nuopv1alpha1.ReasonFinalizersReleased, n.Generation-1)))
		forceReconcile(n)
		Expect(deploymentGone(n)).To(BeFalse())
		Expect(conditionOf(n, nuopv1alpha1.ConditionReady)()).To(Equal("False/ReleasingFinalizers"))

		managedStatus(n, map[string]any{"conditions": []any{
			scriptsLoaded("False", nuopv1alpha1.ReasonFinalizersReleased, n.Generation)}})
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
		for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &rbacv1.Role{},
			&rbacv1.RoleBinding{}} {
			obj.SetNamespace(n.Namespace)
			obj.SetName(n.DeploymentName())
			Eventually(gone(obj), eventually, poll).Should(BeTrue(), kindOf(obj))
		}
		got := getNuOperator(n)
		Expect(got.Status.FinalizerReleaseStartTime).To(BeNil())
		Expect(got.Status.DeploymentName).To(BeEmpty())
		Eventually(eventsOf(n, "FinalizersReleased"), eventually, poll).Should(ConsistOf(
			"Normal: removing the managed operator (spec.mappings is empty): the managed operator released its scripts' finalizers"))
		Expect(eventsOf(n, "FinalizersNotReleased")()).To(BeEmpty())
	})

	It("removes it after the time-out, naming the finalizers left behind", func() {
		unmapped("unmapped-timeout")
		testClock.SetTime(n.Status.FinalizerReleaseStartTime.Add(DefaultFinalizerReleaseTimeout + time.Second))
		DeferCleanup(func() { testClock.SetTime(time.Now()) })
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Annotations = map[string]string{"touch": "1"} })
		Eventually(func() bool { return deploymentGone(n) }, eventually, poll).Should(BeTrue())
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
		Eventually(eventsOf(n, "FinalizersNotReleased"), eventually, poll).Should(ConsistOf(
			"Warning: removing the managed operator (spec.mappings is empty) without the managed operator releasing " +
				"its scripts' finalizers: the managed operator did not report its scripts' finalizers released within " +
				"2m0s. Objects may still carry example.com/replicator on v1/ConfigMap; release them with " +
				releaseCommand + n.Namespace + "/unmapped-timeout`"))
	})

	It("removes it at once with the skip annotation", func() {
		unmapped("unmapped-skipped")
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) {
			n.Annotations = map[string]string{nuopv1alpha1.SkipFinalizerReleaseAnnotation: "true"}
		})
		Eventually(func() bool { return deploymentGone(n) }, eventually, poll).Should(BeTrue())
		Eventually(eventsOf(n, "FinalizersNotReleased"), eventually, poll).Should(ConsistOf(
			"Warning: removing the managed operator (spec.mappings is empty) without the managed operator releasing " +
				"its scripts' finalizers: the annotation nuop.kemper.buzz/skip-finalizer-release is \"true\". Objects may " +
				"still carry example.com/replicator on v1/ConfigMap; release them with " + releaseCommand +
				n.Namespace + "/unmapped-skipped`"))
	})

	It("keeps the managed operator when a mapping comes back before it answered", func() {
		unmapped("remapped")
		updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Spec.Mappings = []nuopv1alpha1.Mapping{configMapMapping} })
		Eventually(func() *metav1.Time { return getNuOperator(n).Status.FinalizerReleaseStartTime }, eventually, poll).
			Should(BeNil())
		Expect(conditionOf(n, nuopv1alpha1.ConditionReady)()).To(Equal("False/WaitingForManagedOperator"))
		Expect(deploymentGone(n)).To(BeFalse())
		Expect(eventsOf(n, "Deleted")()).To(BeEmpty())
	})
})

// runningScript makes a NuOperator whose Deployment is available and whose managed operator reports a
// script with a finalizer running.
func runningScript(name string) *nuopv1alpha1.NuOperator {
	n := createNuOperator(newNamespace(), name,
		nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
	deploymentOf(n)
	setDeploymentStatus(n, 1, available()...)
	n = getNuOperator(n)
	managedStatus(n, map[string]any{
		"conditions": []any{scriptsLoaded("True", nuopv1alpha1.ReasonScriptsLoaded, n.Generation)},
		"scripts":    []any{replicatorScript()},
	})
	Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	return n
}

// deploymentGone tells whether n's Deployment is absent.
func deploymentGone(n *nuopv1alpha1.NuOperator) bool {
	return gone(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.DeploymentName()}})()
}

// cachedScriptsLoaded is "Reason/observedGeneration" of n's ScriptsLoaded as the controller's cache holds it,
// so that a forced pass is known to see a status the test wrote.
func cachedScriptsLoaded(n *nuopv1alpha1.NuOperator) func() string {
	return func() string {
		got := &nuopv1alpha1.NuOperator{}
		if err := testReconciler.client.Get(ctx, client.ObjectKeyFromObject(n), got); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded)
		if c == nil {
			return ""
		}
		return fmt.Sprintf("%s/%d", c.Reason, c.ObservedGeneration)
	}
}
