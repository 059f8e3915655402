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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// testOrg owns the repositories of the tests.
const testOrg = "kinds-org"

func ensureTestOrg() {
	ensureInGitea("/orgs/"+testOrg, "/orgs", map[string]any{"username": testOrg})
}

func repoCR(ns, name, owner, repoName string) *giteav1alpha1.Repository {
	r := &giteav1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.RepositorySpec{
			ResourceSpec: resourceSpec(),
			Name:         giteav1alpha1.RepositoryName(repoName),
		},
	}
	if owner != "" {
		r.Spec.Owner = ptr.To(giteav1alpha1.Username(owner))
	}
	return r
}

// newRepo creates a Repository owned by owner ("": by the organizationRef edit sets).
func newRepo(ns, name, owner, repoName string, edit func(*giteav1alpha1.Repository)) *giteav1alpha1.Repository {
	return created(repoCR(ns, name, owner, repoName), edit)
}

// repoInGitea reads a repository straight from Gitea's API.
func repoInGitea(fullName string) (map[string]any, bool) { return inGitea("/repos/" + fullName) }

func patchRepoInGitea(fullName string, body map[string]any) {
	giteaCall(http.MethodPatch, "/repos/"+fullName, body)
}

var repositoryFixture = kindFixture{
	prepare: func(string) { ensureTestOrg() },
	newCR: func(ns, key string) client.Object {
		r := repoCR(ns, key, testOrg, "repo-"+key)
		r.Spec.Description = ptr.To("managed")
		return r
	},
	drift: []string{"description"},
	createInGitea: func(key string) {
		giteaCall(http.MethodPost, "/orgs/"+testOrg+"/repos", map[string]any{"name": "repo-" + key, "description": "made by hand"})
	},
	deleteInGitea: func(key string) { giteaCall(http.MethodDelete, "/repos/"+testOrg+"/repo-"+key, nil) },
	count: func(key string) int {
		return len(namedIn(listInGitea[map[string]any]("/orgs/"+testOrg+"/repos"), "repo-"+key))
	},
}

var _ = Describe("Repository", func() {
	itBehavesAsAManagedKind(repositoryFixture)

	It("creates the repository, corrects drift at the next sync, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		ensureTestOrg()
		r := newRepo(ns, "app", testOrg, "app-create", func(r *giteav1alpha1.Repository) {
			r.Spec.Description = ptr.To("the app")
			r.Spec.Private = ptr.To(true)
			r.Spec.Topics = &[]string{"go", "kubernetes"}
			r.Spec.HasWiki = ptr.To(false)
			r.Spec.AllowSquashMerge = ptr.To(false)
			r.Spec.DefaultMergeStyle = ptr.To("rebase")
			r.Spec.DefaultDeleteBranchAfterMerge = ptr.To(true)
			r.Spec.AutoInit = ptr.To(true)
			r.Spec.DefaultBranch = ptr.To("trunk")
			r.Spec.Website = ptr.To("https://app.example.com")
		})
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(r, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(r)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		owner, name := got.GiteaFullName()
		Expect(owner + "/" + name).To(Equal(testOrg + "/app-create"))
		Expect(got.Status.AtProvider.DefaultBranch).To(Equal("trunk"))
		repo, ok := repoInGitea(testOrg + "/app-create")
		Expect(ok).To(BeTrue())
		Expect(repo).To(HaveKeyWithValue("private", true))
		Expect(repo).To(HaveKeyWithValue("website", "https://app.example.com"))
		Expect(repo).To(HaveKeyWithValue("has_wiki", false))
		Expect(repo).To(HaveKeyWithValue("default_merge_style", "rebase"))
		Expect(repo).To(HaveKeyWithValue("topics", ConsistOf("go", "kubernetes")))

		// Drift made in Gitea is corrected at the next sync; what the spec leaves alone stays.
		patchRepoInGitea(testOrg+"/app-create", map[string]any{"description": "hacked", "has_wiki": true,
			"allow_squash_merge": true, "has_projects": false})
		giteaCall(http.MethodPut, "/repos/"+testOrg+"/app-create/topics", map[string]any{"topics": []string{"hacked"}})
		requestSync(r)
		repo, _ = repoInGitea(testOrg + "/app-create")
		Expect(repo).To(HaveKeyWithValue("description", "the app"))
		Expect(repo).To(HaveKeyWithValue("has_wiki", false))
		Expect(repo).To(HaveKeyWithValue("allow_squash_merge", false))
		Expect(repo).To(HaveKeyWithValue("has_projects", false))
		Expect(repo).To(HaveKeyWithValue("topics", ConsistOf("go", "kubernetes")))

		// A spec change is applied at once.
		update(r, func(r *giteav1alpha1.Repository) { r.Spec.Topics = &[]string{} })
		Eventually(func() int {
			repo, _ := repoInGitea(testOrg + "/app-create")
			topics, _ := repo["topics"].([]any)
			return len(topics)
		}, eventually, poll).Should(BeZero())

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(r, ns)
	})

	It("creates repositories for the provider's own login and, as site admin, for another user", func() {
		ns := readyProvider()
		Expect(gitea.CreateUser(ctx, "repo-owner", "Passw0rd-long!", false)).To(Succeed())
		mine := newRepo(ns, "mine", gitea.AdminUser, "mine", nil)
		theirs := newRepo(ns, "theirs", "repo-owner", "theirs", nil)
		for _, r := range []*giteav1alpha1.Repository{mine, theirs} {
			Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		repo, ok := repoInGitea("repo-owner/theirs")
		Expect(ok).To(BeTrue())
		Expect(repo).To(HaveKeyWithValue("owner", HaveKeyWithValue("login", "repo-owner")))
		_, ok = repoInGitea(gitea.AdminUser + "/mine")
		Expect(ok).To(BeTrue())
	})

	It("names a missing owner in its condition", func() {
		ns := readyProvider()
		r := newRepo(ns, "orphaned", "nobody-here", "x", nil)
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(r, giteav1alpha1.ConditionReady)).To(ContainSubstring("nobody-here"))
	})

	It("takes an owner name Gitea only redirects as missing: never creates a repository in the account renamed from it, nor adopts one there", func() {
		ns := readyProvider()
		// An organization and a user renamed in Gitea: their old names now redirect to them.
		createOrgInGitea("repo-org-was")
		giteaCall(http.MethodPost, "/orgs/repo-org-was/rename", map[string]any{"new_name": "repo-org-is"})
		Expect(gitea.CreateUser(ctx, "repo-user-was", "Passw0rd-long!", false)).To(Succeed())
		giteaCall(http.MethodPost, "/admin/users/repo-user-was/rename", map[string]any{"new_username": "repo-user-is"})
		for owner, create := range map[string]string{"repo-org": "/orgs/repo-org-is/repos", "repo-user": "/admin/users/repo-user-is/repos"} {
			giteaCall(http.MethodPost, create, map[string]any{"name": "theirs"})
			for _, name := range []string{"theirs", "mine"} {
				r := newRepo(ns, owner+"-"+name, owner+"-was", name, nil)
				Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
				Expect(conditionMessage(r, giteav1alpha1.ConditionReady)).To(Equal("the owner " + owner +
					"-was is neither a user nor an organization in Gitea"))
				Expect(statusOfCR(r).Origin).To(BeEmpty())
				deleteCR(r)
			}
			_, ok := repoInGitea(owner + "-is/theirs")
			Expect(ok).To(BeTrue(), "the repository of the renamed account is gone")
			_, ok = repoInGitea(owner + "-is/mine")
			Expect(ok).To(BeFalse(), "a repository was created in the renamed account")
		}
	})

	It("waits for its organizationRef (DependencyNotReady), is created as soon as the Organization is Ready, and follows its rename", func() {
		ns := readyProvider()
		r := newRepo(ns, "svc", "", "svc", func(r *giteav1alpha1.Repository) {
			r.Spec.Owner = nil
			r.Spec.OrganizationRef = &giteav1alpha1.LocalObjectReference{Name: "team"}
		})
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		Expect(conditionMessage(r, giteav1alpha1.ConditionReady)).To(ContainSubstring("Organization team"))
		o := newOrg(ns, "team", "repo-ref-org", nil)
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		_, ok := repoInGitea("repo-ref-org/svc")
		Expect(ok).To(BeTrue())

		update(o, func(got *giteav1alpha1.Organization) { got.Spec.Username = "repo-ref-org2" })
		Eventually(func() string { return fresh(r).Status.AtProvider.Owner }, eventually, poll).Should(Equal("repo-ref-org2"))
		Expect(conditionOf(r, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
	})

	It("adopts, and does not delete, another repository made under its name once its own is gone", func() {
		ns := readyProvider()
		ensureTestOrg()
		r := newRepo(ns, "app", testOrg, "replaced", nil)
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		created := fresh(r).Status
		Expect(created.Origin).To(Equal(giteav1alpha1.OriginCreated))

		// Someone deletes it in Gitea, and someone else makes a repository of that name.
		giteaCall(http.MethodDelete, "/repos/"+testOrg+"/replaced", nil)
		giteaCall(http.MethodPost, "/orgs/"+testOrg+"/repos", map[string]any{"name": "replaced", "description": "theirs"})
		theirs, ok := repoInGitea(testOrg + "/replaced")
		Expect(ok).To(BeTrue())
		Expect(theirs["id"]).NotTo(BeNumerically("==", created.ID))

		requestSync(r)
		got := fresh(r).Status
		Expect(got.ID).To(BeNumerically("==", theirs["id"]))
		Expect(got.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Eventually(eventNotesOf(r), eventually, poll).Should(ContainElement(ContainSubstring(fmt.Sprintf(
			"the repository this resource had (id %d) is no longer %s/replaced, another one is (id %d)",
			created.ID, testOrg, got.ID))))

		deleteCR(r)
		_, ok = repoInGitea(testOrg + "/replaced")
		Expect(ok).To(BeTrue(), "a repository someone else made was deleted with the resource")

		// The same, deleted before any sync has seen the new repository: the status still says Created.
		unseen := newRepo(ns, "unseen", testOrg, "replaced-unseen", nil)
		Eventually(conditionOf(unseen, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(unseen).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		giteaCall(http.MethodDelete, "/repos/"+testOrg+"/replaced-unseen", nil)
		giteaCall(http.MethodPost, "/orgs/"+testOrg+"/repos", map[string]any{"name": "replaced-unseen"})
		deleteCR(unseen)
		_, ok = repoInGitea(testOrg + "/replaced-unseen")
		Expect(ok).To(BeTrue(), "a repository someone else made was deleted with a resource that never saw it")
	})

	It("renames the repository when its name changes, keeping its id; a taken name is a Conflict", func() {
		ns := readyProvider()
		ensureTestOrg()
		ensureInGitea("/repos/"+testOrg+"/rename-taken", "/orgs/"+testOrg+"/repos", map[string]any{"name": "rename-taken"})
		r := newRepo(ns, "app", testOrg, "rename-old", nil)
		Eventually(conditionOf(r, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(r).Status.ID
		update(r, func(r *giteav1alpha1.Repository) { r.Spec.Name = "rename-new" })
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(r).Status.ID).To(Equal(id))
		repo, ok := repoInGitea(testOrg + "/rename-new")
		Expect(ok).To(BeTrue())
		Expect(repo).To(HaveKeyWithValue("id", BeNumerically("==", id)))

		update(r, func(r *giteav1alpha1.Repository) { r.Spec.Name = "rename-taken" })
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Conflict"))
		Expect(fresh(r).Status.AtProvider.Name).To(Equal("rename-new"))
	})

	It("unarchives before other changes and archives after them; a default branch that does not exist is refused", func() {
		ns := readyProvider()
		ensureTestOrg()
		r := newRepo(ns, "app", testOrg, "archive-me", func(r *giteav1alpha1.Repository) {
			r.Spec.AutoInit = ptr.To(true)
			r.Spec.Archived = ptr.To(true)
			r.Spec.Topics = &[]string{"old"}
		})
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		repo, _ := repoInGitea(testOrg + "/archive-me")
		Expect(repo).To(HaveKeyWithValue("archived", true))
		Expect(repo).To(HaveKeyWithValue("topics", ConsistOf("old")))

		update(r, func(r *giteav1alpha1.Repository) {
			r.Spec.Archived = ptr.To(false)
			r.Spec.Topics = &[]string{"new"}
			r.Spec.Description = ptr.To("back in use")
		})
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		repo, _ = repoInGitea(testOrg + "/archive-me")
		Expect(repo).To(HaveKeyWithValue("archived", false))
		Expect(repo).To(HaveKeyWithValue("topics", ConsistOf("new")))
		Expect(repo).To(HaveKeyWithValue("description", "back in use"))

		update(r, func(r *giteav1alpha1.Repository) { r.Spec.DefaultBranch = ptr.To("no-such-branch") })
		Eventually(conditionOf(r, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/InvalidSpec"))
		Expect(conditionMessage(r, giteav1alpha1.ConditionSynced)).To(ContainSubstring("no-such-branch"))
		Expect(meta.IsStatusConditionTrue(fresh(r).Status.Conditions, giteav1alpha1.ConditionReady)).To(BeTrue(),
			"the repository exists; only its sync failed")
	})
})
