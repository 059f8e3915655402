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

package gitea

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/test/utils"
)

// series are the registry's series of the metric name whose labels include labels; none is an empty list.
func series(name string, labels map[string]string) []utils.Series {
	metrics, err := utils.GatherMetrics(registry)
	Expect(err).NotTo(HaveOccurred())
	s, err := utils.OrZero(metrics.Series(name, labels))
	Expect(err).NotTo(HaveOccurred())
	return s
}

// operations is the count of gitea_resource_operations_total and of the duration histogram of an operation
// of kind.
func operations(kind, operation, result string) (count float64, timed float64) {
	metrics, err := utils.GatherMetrics(registry)
	Expect(err).NotTo(HaveOccurred())
	count, err = utils.OrZero(metrics.Value("gitea_resource_operations_total",
		map[string]string{"kind": kind, "operation": operation, "result": result}))
	Expect(err).NotTo(HaveOccurred())
	h, err := utils.OrZero(metrics.Histogram("gitea_resource_operation_duration_seconds",
		map[string]string{"kind": kind, "operation": operation}))
	Expect(err).NotTo(HaveOccurred())
	return count, h.Count
}

// grew waits for a successful operation of kind to be counted and timed (other specs' resources may add
// theirs: at least one more than before).
func grew(kind, operation string, count, timed float64) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		c, t := operations(kind, operation, "success")
		g.Expect(c).To(BeNumerically(">", count), "gitea_resource_operations_total")
		g.Expect(t).To(BeNumerically(">", timed), "gitea_resource_operation_duration_seconds")
	}, eventually, poll).Should(Succeed())
}

var _ = Describe("gitea_providers", func() {
	It("has one series per provider with its Ready status and reason, which follows the condition and goes with the provider", func() {
		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		of := map[string]string{"provider": ns + "/gitea"}
		Eventually(func() []utils.Series { return series("gitea_providers", of) }, eventually, poll).Should(ConsistOf(
			utils.Series{Labels: map[string]string{"provider": ns + "/gitea", "ready": "true", "reason": "Connected"}, Value: 1}))

		const wrong = "0123456789abcdef0123456789abcdef01234567"
		remember(wrong)
		updateSecret(ns, "gitea", map[string]string{"token": wrong})
		Eventually(ready(p), eventually, poll).Should(Equal("False/Unauthorized"))
		Eventually(func() []utils.Series { return series("gitea_providers", of) }, eventually, poll).Should(ConsistOf(
			utils.Series{Labels: map[string]string{"provider": ns + "/gitea", "ready": "false", "reason": "Unauthorized"}, Value: 1}))

		deleteCR(p)
		Eventually(func() []utils.Series { return series("gitea_providers", of) }, eventually, poll).Should(BeEmpty())
	})
})

var _ = Describe("gitea_resource_operations", func() {
	It("counts and times the creates, updates and deletes of a kind, and those Gitea refuses as errors", func() {
		const kind = kindOrganization
		created, createTimed := operations(kind, operationCreate, "success")
		updated, updateTimed := operations(kind, operationUpdate, "success")
		deleted, deleteTimed := operations(kind, operationDelete, "success")
		refused, _ := operations(kind, operationCreate, "error")

		ns := readyProvider()
		o := newOrg(ns, "operated", "acme-operated", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		grew(kind, operationCreate, created, createTimed)

		update(o, func(o *giteav1alpha1.Organization) { o.Spec.Description = ptr.To("counted") })
		grew(kind, operationUpdate, updated, updateTimed)

		deleteCR(o)
		_, ok := orgInGitea("acme-operated")
		Expect(ok).To(BeFalse())
		grew(kind, operationDelete, deleted, deleteTimed)

		// The name of a user: Gitea refuses to create an organization under it.
		bad := newOrg(ns, "taken", gitea.AdminUser, nil)
		Eventually(func() float64 { c, _ := operations(kind, operationCreate, "error"); return c }, eventually, poll).
			Should(BeNumerically(">", refused))
		Expect(conditionOf(bad, giteav1alpha1.ConditionReady)()).To(HavePrefix("False/"))
		deleteCR(bad)
	})
})
