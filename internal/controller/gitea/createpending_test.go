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
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clientevents "k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// racedCreate is a kind's real adapter, with someone else creating the object in Gitea just before the
// adapter's create: two parties that both looked and found nothing, the other one first to create.
type racedCreate[T giteav1alpha1.Managed] struct {
	Adapter[T]
	first func()
}

func (a racedCreate[T]) Create(ctx context.Context, c *Conn, obj T) error {
	a.first()
	return a.Adapter.Create(ctx, c, obj)
}

// The create-pending marker stands for a create whose outcome is unknown, and only for that: a resource
// never claims (as Created, or by deleting it) an object it did not make.
var _ = Describe("the create-pending marker", func() {
	pending := func(o *giteav1alpha1.User) func() map[string]string {
		return func() map[string]string { return fresh(o).GetAnnotations() }
	}
	// withoutPassword is a User the adapter refuses to create before it calls Gitea.
	withoutPassword := func(u *giteav1alpha1.User) { u.Spec.PasswordSecretRef = nil }

	It("is gone after a create refused by the adapter or by Gitea, so an object made later is adopted, and left when the resource goes", func() {
		ns := readyProvider()
		later := newUser(ns, "later", "cp-later", withoutPassword)
		Eventually(conditionOf(later, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/InvalidSpec"))
		Eventually(pending(later), eventually, poll).ShouldNot(HaveKey(giteav1alpha1.CreatePendingAnnotation))

		// Someone makes the user (by hand, by signing in through SSO): the resource finds it, not its own.
		Expect(gitea.CreateUser(ctx, "cp-later", userPassword("cp-later"), false)).To(Succeed())
		requestSync(later)
		Expect(conditionOf(later, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(statusOfCR(later).Origin).To(Equal(giteav1alpha1.OriginAdopted))
		deleteCR(later)
		_, ok := userInGitea("cp-later")
		Expect(ok).To(BeTrue(), "an adopted user is left when the resource goes")

		// Gitea refuses the create (the email is cp-later's), then someone makes the user; the resource goes
		// before it syncs again.
		createSecret(ns, "taken-password", map[string]string{"password": userPassword("cp-taken")})
		taken := newUser(ns, "taken", "cp-taken", func(u *giteav1alpha1.User) { u.Spec.Email = ptr.To("cp-later@example.com") })
		Eventually(conditionOf(taken, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/InvalidSpec"))
		Eventually(pending(taken), eventually, poll).ShouldNot(HaveKey(giteav1alpha1.CreatePendingAnnotation))
		Expect(gitea.CreateUser(ctx, "cp-taken", userPassword("cp-taken-by-hand"), false)).To(Succeed())
		deleteCR(taken)
		_, ok = userInGitea("cp-taken")
		Expect(ok).To(BeTrue(), "a resource whose create was refused deleted a user someone else made")
		for _, name := range []string{"cp-later", "cp-taken"} {
			giteaCall(http.MethodDelete, "/admin/users/"+name, nil)
		}
	})

	It("does not make a create answered \"already exists\" the resource's: the object is adopted", func() {
		// No provider in the namespace: the suite's manager leaves the resource alone (ProviderNotReady), and
		// this test drives one sync itself, on the kind's real adapter and the suite's Gitea.
		ns := newNamespace()
		o := newOrg(ns, "raced", "acme-raced", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		cl, err := giteaclient.New(giteaclient.Config{URL: gitea.URL, Token: gitea.AdminToken, Provider: ns + "/raced"})
		Expect(err).NotTo(HaveOccurred())
		s, err := cl.SDK(ctx)
		Expect(err).NotTo(HaveOccurred())
		conn := &Conn{Client: cl, SDK: s, Self: gitea.AdminUser, Kube: k8sClient, namespace: ns}
		recorded := clientevents.NewFakeRecorder(10)
		r := &ManagedReconciler[*giteav1alpha1.Organization]{
			kind:     kindOrganization,
			adapter:  racedCreate[*giteav1alpha1.Organization]{Adapter: organizations{}, first: func() { createOrgInGitea("acme-raced") }},
			client:   k8sClient,
			recorder: recorded,
			clock:    clock.RealClock{},
		}

		obj := fresh(o)
		obs, err := r.adapter.Observe(ctx, conn, obj)
		Expect(err).NotTo(HaveOccurred())
		Expect(obs.Exists).To(BeFalse())
		obs, err = r.sync(ctx, conn, obj, obs)
		Expect(err).NotTo(HaveOccurred())
		Expect(obs.Exists).To(BeTrue())
		Expect(obj.Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(recorded.Events).To(Receive(ContainSubstring("Adopted")))
		Expect(fresh(o).GetAnnotations()).NotTo(HaveKey(giteav1alpha1.CreatePendingAnnotation))
		deleteCR(o)
		giteaCall(http.MethodDelete, "/orgs/acme-raced", nil)
	})

	It("leaves the object of a resource in Conflict in Gitea when the resource is deleted, whatever its deletionPolicy", func() {
		// The earlier resource waits for its provider while a later one creates the organization; once the
		// earlier one's provider is Ready, it holds the organization and the later one is in Conflict.
		first := newOrg(newNamespace(), "holder", "acme-contested", nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		time.Sleep(time.Second) // creation times have a resolution of one second: the first must be earlier
		second := newOrg(readyProvider(), "loser", "acme-contested", func(o *giteav1alpha1.Organization) {
			o.Spec.DeletionPolicy = giteav1alpha1.DeletionDelete
		})
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		createSecret(first.Namespace, "gitea", map[string]string{"token": gitea.AdminToken})
		newProvider(first.Namespace, gitea.URL)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		update(second, func(o *giteav1alpha1.Organization) { o.Spec.Description = ptr.To("a change syncs it") })
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))

		deleteCR(second)
		Expect(eventReasonsOf(second)).To(ContainElement(giteav1alpha1.ReasonConflict))
		_, ok := orgInGitea("acme-contested")
		Expect(ok).To(BeTrue(), "the resource in Conflict deleted the organization another resource holds")
		Expect(conditionOf(first, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
	})
})
