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
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// A manager restart (or a new leader) while a provider is being deleted: the client cache is the process's,
// so the new manager starts without the provider's client. What a restart does to the cache is clearing
// it; what it does to the provider is reconciling it once (recheck stands for the manager's first list).
var _ = Describe("a provider being deleted when the manager restarts", func() {
	// restartedWhileDeleting makes an Organization, deletes its provider (and, with secrets, the provider's
	// Secret as a namespace deletion does), then restarts the manager as far as the provider is concerned.
	restartedWhileDeleting := func(name, username string, secrets bool) (*giteav1alpha1.Organization, *giteav1alpha1.GiteaProvider) {
		ns := readyProvider()
		o := newOrg(ns, name, username, nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		if secrets {
			Expect(k8sClient.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns))).To(Succeed())
		}
		Eventually(ready(p), eventually, poll).Should(Equal("False/Deleting"))
		clients.Delete(client.ObjectKeyFromObject(p))
		recheck(p)
		return o, p
	}

	It("rebuilds its client from its Secret, so its resources still delete their Gitea objects and it goes", func() {
		o, p := restartedWhileDeleting("restarted", "acme-restarted", false)
		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-restarted")
		Expect(ok).To(BeFalse(), "the organization the resource created is deleted with it")
		Eventually(gone(p), eventually, poll).Should(BeTrue())
	})

	It("says so on the resource when its Secret is gone too, and lets it go once it is orphaned", func() {
		o, p := restartedWhileDeleting("stranded", "acme-stranded", true)
		Eventually(func() string { return readyMessage(p) }, eventually, poll).Should(ContainSubstring("Secret gitea"))
		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(func() string { return readyReason(o) }, eventually, poll).Should(And(
			HavePrefix(giteav1alpha1.ReasonProviderNotReady), ContainSubstring("deletionPolicy: Orphan")))
		update(o, func(o *giteav1alpha1.Organization) { o.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan })
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		Eventually(gone(p), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-stranded")
		Expect(ok).To(BeTrue(), "an orphaned object stays in Gitea")
		giteaCall(http.MethodDelete, "/orgs/acme-stranded", nil)
	})
})
