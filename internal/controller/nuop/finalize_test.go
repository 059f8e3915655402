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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

var _ = Describe("Deleting a NuOperator", func() {
	var ns string
	var n *nuopv1alpha1.NuOperator
	const releaseCommand = "`manager finalizers release --finalizer example.com/replicator --kind v1/ConfigMap --instance "

	// running makes a NuOperator whose managed operator runs and reports a script with a finalizer, and
	// deletes it: the manager waits.
	running := func(name string) {
		ns = newNamespace()
		n = createNuOperator(ns, name, nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
		deploymentOf(n)
		setDeploymentStatus(n, 1, available()...)
		n = getNuOperator(n)
		managedStatus(n, map[string]any{
			"conditions": []any{scriptsLoaded("True", nuopv1alpha1.ReasonScriptsLoaded, n.Generation)},
			"scripts":    []any{replicatorScript()},
		})
		Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
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
			"conditions": []any{scriptsLoaded("False", nuopv1alpha1.ReasonFinalizersReleased, n.Generation)},
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
