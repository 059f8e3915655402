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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// collabRepo is the repository of the tests that name theirs by string.
const collabRepo = testOrg + "/collabs"

func ensureCollabRepo() {
	ensureTestOrg()
	ensureInGitea("/repos/"+collabRepo, "/orgs/"+testOrg+"/repos", map[string]any{"name": "collabs"})
}

func ensureUser(name string, admin bool) {
	if giteaStatus("/users/"+name, nil) == http.StatusNotFound {
		Expect(gitea.CreateUser(ctx, name, userPassword(name), admin)).To(Succeed())
	}
}

func collaboratorCR(ns, name, username string) *giteav1alpha1.Collaborator {
	return &giteav1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.CollaboratorSpec{
			ResourceSpec:     resourceSpec(),
			RepositoryParent: onRepository(collabRepo),
			Username:         giteav1alpha1.Username(username),
			Permission:       ptr.To("write"),
		},
	}
}

func newCollaborator(ns, name, username string, edit func(*giteav1alpha1.Collaborator)) *giteav1alpha1.Collaborator {
	return created(collaboratorCR(ns, name, username), edit)
}

func isCollaboratorInGitea(repo, user string) bool {
	return giteaStatus("/repos/"+repo+"/collaborators/"+user, nil) == http.StatusOK
}

func addCollaboratorInGitea(repo, user, permission string) {
	giteaCall(http.MethodPut, "/repos/"+repo+"/collaborators/"+user, map[string]any{"permission": permission})
}

// collaborationInGitea is collab-dev's permission on repo as Gitea reports it: the effective one, which
// for a user with no team and no site admin is the collaboration's.
func collaborationInGitea(repo string) string {
	var perm struct{ Permission string }
	_, err := gitea.Do(ctx, http.MethodGet, "/repos/"+repo+"/collaborators/collab-dev/permission", nil, &perm)
	Expect(err).NotTo(HaveOccurred())
	return perm.Permission
}

var collaboratorFixture = kindFixture{
	prepare: func(key string) {
		ensureCollabRepo()
		ensureUser("collab-"+key, false)
	},
	newCR:         func(ns, key string) client.Object { return collaboratorCR(ns, key, "collab-"+key) },
	drift:         []string{"permission"},
	createInGitea: func(key string) { addCollaboratorInGitea(collabRepo, "collab-"+key, "read") },
	deleteInGitea: func(key string) { giteaCall(http.MethodDelete, "/repos/"+collabRepo+"/collaborators/collab-"+key, nil) },
	count: func(key string) int {
		if isCollaboratorInGitea(collabRepo, "collab-"+key) {
			return 1
		}
		return 0
	},
}

var _ = Describe("Collaborator", func() {
	itBehavesAsAManagedKind(collaboratorFixture)

	It("waits for its repositoryRef, adds the collaborator, raises a permission below the spec's at the next sync, applies a lowered spec, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		ensureTestOrg()
		ensureUser("collab-dev", false)
		c := newCollaborator(ns, "dev", "collab-dev", func(c *giteav1alpha1.Collaborator) {
			c.Spec.RepositoryParent = onRepositoryRef("app")
		})
		Eventually(conditionOf(c, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		newRepo(ns, "app", testOrg, "collab-ref", nil)
		Eventually(conditionOf(c, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		repo := testOrg + "/collab-ref"
		Expect(fresh(c).Status.AtProvider.Permission).To(Equal("write"))
		Expect(collaborationInGitea(repo)).To(Equal("write"))

		// Lowered in Gitea: raised again at the next sync.
		addCollaboratorInGitea(repo, "collab-dev", "read")
		requestSync(c)
		Expect(collaborationInGitea(repo)).To(Equal("write"))

		// A spec change is applied at once.
		update(c, func(c *giteav1alpha1.Collaborator) { c.Spec.Permission = ptr.To("admin") })
		Eventually(func() string { return collaborationInGitea(repo) }, eventually, poll).Should(Equal("admin"))

		// Lowering the spec lowers the collaboration: the operator knows what it granted last.
		update(c, func(c *giteav1alpha1.Collaborator) { c.Spec.Permission = ptr.To("read") })
		Eventually(func() string { return collaborationInGitea(repo) }, eventually, poll).Should(Equal("read"))
		Eventually(conditionOf(c, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(c).Status.Applied.Permission).To(Equal("read"))

		// Raised elsewhere (by hand, as a team would): left alone, the effective permission is reported.
		addCollaboratorInGitea(repo, "collab-dev", "admin")
		requestSync(c)
		Expect(collaborationInGitea(repo)).To(Equal("admin"))
		Expect(fresh(c).Status.AtProvider.Permission).To(Equal("admin"))

		expectQuietSyncs(c, ns)
	})

	It("is in sync when a site admin's effective permission is above the spec's, and never writes for it", func() {
		ns := readyProvider()
		ensureCollabRepo()
		ensureUser("collab-admin", true)
		addCollaboratorInGitea(collabRepo, "collab-admin", "read")
		c := newCollaborator(ns, "boss", "collab-admin", nil)
		Eventually(conditionOf(c, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		// Gitea reports a site admin's permission as the owner's.
		Expect(fresh(c).Status.AtProvider.Permission).To(Equal("owner"))
		expectQuietSyncs(c, ns)
	})

	It("names a missing user and a missing repository in its condition", func() {
		ns := readyProvider()
		ensureCollabRepo()
		nobody := newCollaborator(ns, "nobody", "no-such-user", nil)
		Eventually(conditionOf(nobody, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(nobody, giteav1alpha1.ConditionReady)).To(ContainSubstring("no-such-user"))

		ensureUser("collab-lost", false)
		lost := newCollaborator(ns, "lost", "collab-lost", func(c *giteav1alpha1.Collaborator) {
			c.Spec.Repository = ptr.To(testOrg + "/no-such-repo")
		})
		Eventually(conditionOf(lost, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(lost, giteav1alpha1.ConditionReady)).To(ContainSubstring(testOrg + "/no-such-repo"))
		deleteCR(nobody)
		deleteCR(lost)
	})
})
