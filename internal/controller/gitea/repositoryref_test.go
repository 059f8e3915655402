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
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

var _ = Describe("repositoryRef", func() {
	It("keeps a Webhook, a DeployKey and a BranchProtection DependencyNotReady until their Repository is Ready, then creates them in it", func() {
		ns := readyProvider()
		ref := &giteav1alpha1.LocalObjectReference{Name: "site"}
		key, _ := newPublicKey()
		dependents := []client.Object{
			newWebhook(ns, "site-ci", "", "http://127.0.0.1:9/hook", func(w *giteav1alpha1.Webhook) { w.Spec.RepositoryRef = ref }),
			newDeployKey(ns, "site-deploy", "", key, func(k *giteav1alpha1.DeployKey) { k.Spec.RepositoryParent = onRepositoryRef("site") }),
			newBranchProtection(ns, "site-main", "", "main", func(b *giteav1alpha1.BranchProtection) {
				b.Spec.RepositoryParent = onRepositoryRef("site")
			}),
		}
		for _, d := range dependents {
			Eventually(conditionOf(d, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
			Expect(conditionMessage(d, giteav1alpha1.ConditionReady)).To(Equal("Repository site does not exist"))
		}

		repo := newRepo(ns, "site", gitea.AdminUser, "ref-site", nil)
		Eventually(conditionOf(repo, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		for _, d := range dependents {
			Eventually(conditionOf(d, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"),
				"%T acts once its Repository is Ready (a watch, not a timer)", d)
		}
		full := gitea.AdminUser + "/ref-site"
		Expect(hooksOf(full)).To(HaveLen(1))
		Expect(deployKeysOf(full)).To(HaveLen(1))
		Expect(protectionNamesOf(full)).To(ConsistOf("main"))
	})
})

var _ = Describe("an Organization and its Repository resources", func() {
	It("deletes the organization once the Repository resources that kept it are deleted", func() {
		ns := readyProvider()
		org := newOrg(ns, "owner", "ref-owner", nil)
		Eventually(conditionOf(org, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		repo := newRepo(ns, "blocker", "", "blocker", func(r *giteav1alpha1.Repository) {
			r.Spec.Owner, r.Spec.OrganizationRef = nil, &giteav1alpha1.LocalObjectReference{Name: "owner"}
		})
		Eventually(conditionOf(repo, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))

		Expect(k8sClient.Delete(ctx, org)).To(Succeed())
		Eventually(func() string { return conditionMessage(org, giteav1alpha1.ConditionReady) }, eventually, poll).
			Should(ContainSubstring("while it owns repositories (1): blocker"))

		Expect(k8sClient.Delete(ctx, repo)).To(Succeed())
		Eventually(gone(repo), eventually, poll).Should(BeTrue())
		Eventually(gone(org), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("ref-owner")
		Expect(ok).To(BeFalse())
	})
})
