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
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

func orgCR(ns, name, username string) *giteav1alpha1.Organization {
	return &giteav1alpha1.Organization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.OrganizationSpec{
			ResourceSpec: resourceSpec(),
			Account:      giteav1alpha1.Account{Username: giteav1alpha1.Username(username)},
		},
	}
}

func newOrg(ns, name, username string, edit func(*giteav1alpha1.Organization)) *giteav1alpha1.Organization {
	return created(orgCR(ns, name, username), edit)
}

// orgInGitea reads an organization straight from Gitea's API.
func orgInGitea(name string) (map[string]any, bool) { return inGitea("/orgs/" + name) }

func createOrgInGitea(name string) {
	giteaCall(http.MethodPost, "/orgs", map[string]any{"username": name, "description": "made by hand"})
}

var organizationFixture = kindFixture{
	prepare: func(string) {},
	newCR: func(ns, key string) client.Object {
		o := orgCR(ns, key, "corg-"+key)
		o.Spec.Description = ptr.To("managed")
		return o
	},
	drift:         []string{"description"},
	createInGitea: func(key string) { createOrgInGitea("corg-" + key) },
	deleteInGitea: func(key string) { giteaCall(http.MethodDelete, "/orgs/corg-"+key, nil) },
	count: func(key string) int {
		if _, ok := orgInGitea("corg-" + key); ok {
			return 1
		}
		return 0
	},
}

var _ = Describe("Organization", func() {
	itBehavesAsAManagedKind(organizationFixture)

	It("creates the organization, corrects drift at the next sync, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-create", func(o *giteav1alpha1.Organization) {
			o.Spec.FullName = ptr.To("Acme Corp")
			o.Spec.Description = ptr.To("we make everything")
			o.Spec.Visibility = ptr.To("private")
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(o, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(o)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.ID).To(BeNumerically(">", 0))
		Expect(got.Status.Identity).To(Equal(strings.TrimSuffix(gitea.URL, "/") + " Organization acme-create"))
		Expect(got.Status.AtProvider.FullName).To(Equal("Acme Corp"))
		Expect(got.Annotations).NotTo(HaveKey(giteav1alpha1.CreatePendingAnnotation))
		Expect(got.Finalizers).To(ContainElement(giteav1alpha1.ResourceFinalizer))
		org, ok := orgInGitea("acme-create")
		Expect(ok).To(BeTrue())
		Expect(org).To(HaveKeyWithValue("visibility", "private"))

		// Drift made in Gitea is corrected at the next sync; what the spec leaves alone stays.
		giteaCall(http.MethodPatch, "/orgs/acme-create", map[string]any{"description": "hacked", "location": "Mars"})
		requestSync(o)
		org, _ = orgInGitea("acme-create")
		Expect(org).To(HaveKeyWithValue("description", "we make everything"))
		Expect(org).To(HaveKeyWithValue("location", "Mars"))
		Expect(org).To(HaveKeyWithValue("full_name", "Acme Corp"))

		// A spec change is applied at once.
		update(o, func(got *giteav1alpha1.Organization) { got.Spec.Website = ptr.To("https://acme.example.com") })
		Eventually(func() any { org, _ := orgInGitea("acme-create"); return org["website"] }, eventually, poll).
			Should(Equal("https://acme.example.com"))

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(o, ns)
	})

	It("renames the organization when its username changes, keeping its id", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-old", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(o).Status.ID
		update(o, func(got *giteav1alpha1.Organization) { got.Spec.Username = "acme-new" })
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(o).Status.ID).To(Equal(id))
		Expect(fresh(o).Status.AtProvider.Username).To(Equal("acme-new"))
		org, ok := orgInGitea("acme-new")
		Expect(ok).To(BeTrue())
		Expect(org).To(HaveKeyWithValue("id", BeNumerically("==", id)))
		// Gitea redirects the old name to the new one.
		org, _ = orgInGitea("acme-old")
		Expect(org).To(HaveKeyWithValue("username", "acme-new"))
	})

	It("takes a name Gitea only redirects as free, and never renames, edits or deletes the organization it redirects to", func() {
		ns := readyProvider()
		// Organizations nobody manages, renamed in Gitea: their old names now redirect to them.
		for old, renamed := range map[string]string{"acme-was": "acme-is", "acme-other-was": "acme-other"} {
			createOrgInGitea(old)
			giteaCall(http.MethodPost, "/orgs/"+old+"/rename", map[string]any{"new_name": renamed})
		}
		theirs, _ := orgInGitea("acme-is")
		other, _ := orgInGitea("acme-other")
		expectUntouched := func() {
			GinkgoHelper()
			for _, want := range []map[string]any{theirs, other} {
				got, ok := orgInGitea(want["username"].(string))
				Expect(ok).To(BeTrue(), "%s is gone", want["username"])
				Expect(got).To(HaveKeyWithValue("id", want["id"]))
				Expect(got).To(HaveKeyWithValue("description", "made by hand"))
			}
		}

		// A new resource at an old name creates its own organization there (Gitea drops the redirect).
		o := newOrg(ns, "newcomer", "acme-was", func(o *giteav1alpha1.Organization) { o.Spec.Description = ptr.To("the newcomer") })
		mine := expectCreatedApart(o, "/orgs/acme-was", theirs)
		Expect(mine).To(HaveKeyWithValue("username", "acme-was"))
		Expect(mine).To(HaveKeyWithValue("description", "the newcomer"))
		expectUntouched()

		// A rename onto a name that only redirects moves this organization there, keeping its id.
		update(o, func(o *giteav1alpha1.Organization) { o.Spec.Username = "acme-other-was" })
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		moved, ok := orgInGitea("acme-other-was")
		Expect(ok).To(BeTrue())
		Expect(moved).To(HaveKeyWithValue("username", "acme-other-was"))
		Expect(moved).To(HaveKeyWithValue("id", mine["id"]))
		Expect(fresh(o).Status.ID).To(BeNumerically("==", mine["id"]))
		expectUntouched()

		// A rename onto a name another organization holds is a Conflict; deleting the resource then deletes its
		// own organization only.
		expectRenameRefused(o, func(o *giteav1alpha1.Organization) { o.Spec.Username = "acme-is" },
			"cannot rename organization acme-other-was to acme-is", "/orgs/acme-other-was", expectUntouched)
	})

	It("gives Conflict to another organization at its name once its own is gone, and never edits or deletes it", func() {
		ns := readyProvider()
		o := newOrg(ns, "replaced", "acme-replaced", func(o *giteav1alpha1.Organization) { o.Spec.Description = ptr.To("managed") })
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(o).Status.ID
		// Its organization is deleted in Gitea, and someone else makes one of the same name.
		giteaCall(http.MethodDelete, "/orgs/acme-replaced", nil)
		createOrgInGitea("acme-replaced")
		theirs, _ := orgInGitea("acme-replaced")

		update(o, func(o *giteav1alpha1.Organization) { o.Spec.Description = ptr.To("managed again") })
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(o, giteav1alpha1.ConditionSynced)).To(Equal(fmt.Sprintf("the account acme-replaced in "+
			"Gitea (id %v) is not the one this resource manages (id %d), which Gitea no longer finds by name: to manage "+
			"acme-replaced, delete the resource and create it again (it is then adopted)", theirs["id"], id)))
		Expect(fresh(o).Status.ID).To(Equal(id))
		deleteCR(o)
		got, ok := orgInGitea("acme-replaced")
		Expect(ok).To(BeTrue(), "another's organization was deleted with the resource")
		Expect(got).To(HaveKeyWithValue("id", theirs["id"]))
		Expect(got).To(HaveKeyWithValue("description", "made by hand"))
	})

	It("gives Conflict to a second organization on the same Gitea reached through another spelling of its url", func() {
		// http://LocalHost:<port>/ and http://localhost:<port> are one Gitea (the suite's, on 127.0.0.1).
		local := strings.Replace(gitea.URL, "127.0.0.1", "localhost", 1)
		first := newOrg(readyProviderAt(strings.Replace(local, "localhost", "LocalHost", 1)+"/"), "spelled", "acme-spelled", nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(statusOfCR(first).Identity).To(Equal(local + " Organization acme-spelled"))
		second := newOrg(readyProviderAt(local), "spelled", "acme-spelled", nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(first.Namespace + "/spelled"))
		Expect(conditionOf(first, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
	})

	It("reports a delete Gitea refuses with the repositories that block it, never sending the DELETE, and finishes once they are gone", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-owner", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		// One more than the suite's Gitea lists on a page: the condition counts them all, and names a page.
		blockers := []string{"blocker-1", "blocker-2", "blocker-3", "blocker-4", "blocker-5", "blocker-6"}
		for _, name := range blockers {
			giteaCall(http.MethodPost, "/orgs/acme-owner/repos", map[string]any{"name": name})
		}

		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(func() string { return readyReason(o) }, eventually, poll).Should(Equal(giteav1alpha1.ReasonDeleteRefused +
			": Gitea refuses to delete organization acme-owner while it owns repositories (6): blocker-1, blocker-2, " +
			"blocker-3, blocker-4, blocker-5, 1 more"))
		// Gitea's refusal is a 500, which the client retries: it is never asked.
		Expect(requests(ns+"/gitea", http.MethodDelete, "500")).To(BeZero())
		Expect(requests(ns+"/gitea", http.MethodDelete, "204")).To(BeZero())

		for _, name := range blockers {
			giteaCall(http.MethodDelete, "/repos/acme-owner/"+name, nil)
		}
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-owner")
		Expect(ok).To(BeFalse())
		Expect(requests(ns+"/gitea", http.MethodDelete, "204")).To(Equal(1.0))
		Expect(requests(ns+"/gitea", http.MethodDelete, "500")).To(BeZero())
	})
})

var _ = Describe("gitea_resources", func() {
	It("counts the managed resources by kind and readiness, from their conditions", func() {
		ns := readyProvider()
		o := newOrg(ns, "counted", "acme-counted", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		stuck := newOrg(newNamespace(), "stuck", "acme-stuck", nil) // no provider in its namespace
		Eventually(conditionOf(stuck, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))

		count := func(ready string) float64 {
			return gauge("gitea_resources", map[string]string{"kind": "Organization", "ready": ready})
		}
		var list giteav1alpha1.OrganizationList
		Expect(k8sClient.List(ctx, &list)).To(Succeed())
		var readyNow float64
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, giteav1alpha1.ConditionReady) {
				readyNow++
			}
		}
		Eventually(func() float64 { return count("true") + count("false") }, eventually, poll).Should(BeNumerically("==", len(list.Items)))
		Expect(count("true")).To(BeNumerically("==", readyNow))
		Expect(count("false")).To(BeNumerically(">=", 1))
	})
})

var _ = Describe("a Ready provider whose client is not built yet", func() {
	It("is retried with backoff, so a resource acts once the client is back (as after a manager restart)", func() {
		ns := readyProvider()
		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		// What a restart looks like to a resource: the provider is Ready, its client is not in the cache.
		clients.Delete(client.ObjectKeyFromObject(p))
		o := newOrg(ns, "restart", "acme-restart", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		Expect(conditionMessage(o, giteav1alpha1.ConditionReady)).To(ContainSubstring("its client is being built"))

		// The provider's next check rebuilds the client; nothing about the provider's readiness changes.
		recheck(p)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	})
})
