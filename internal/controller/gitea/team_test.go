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
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// teamCR is a Team of the organization org ("": of the organizationRef an edit sets).
func teamCR(ns, name, org, teamName string) *giteav1alpha1.Team {
	t := &giteav1alpha1.Team{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.TeamSpec{
			ResourceSpec: resourceSpec(),
			Name:         teamName,
		},
	}
	if org != "" {
		t.Spec.Organization = ptr.To(giteav1alpha1.Username(org))
	}
	return t
}

func newTeam(ns, name, org, teamName string, edit func(*giteav1alpha1.Team)) *giteav1alpha1.Team {
	return created(teamCR(ns, name, org, teamName), edit)
}

// usernames is a member list.
func usernames(names ...string) *[]giteav1alpha1.Username {
	out := make([]giteav1alpha1.Username, 0, len(names))
	for _, n := range names {
		out = append(out, giteav1alpha1.Username(n))
	}
	return &out
}

// teamInGitea finds a team of org by name straight in Gitea's API.
func teamInGitea(org, name string) (map[string]any, bool) {
	found := namedIn(listInGitea[map[string]any]("/orgs/"+org+"/teams"), name)
	if len(found) == 0 {
		return nil, false
	}
	return found[0], true
}

// teamListInGitea lists the names of a team's members ("members") or repositories ("repos"), sorted.
func teamListInGitea(org, name, what string) []string {
	team, ok := teamInGitea(org, name)
	Expect(ok).To(BeTrue())
	key := "name"
	if what == "members" {
		key = "login"
	}
	items := listInGitea[map[string]any](fmt.Sprintf("/teams/%v/%s", team["id"], what))
	out := make([]string, 0, len(items))
	for _, item := range items {
		out = append(out, item[key].(string))
	}
	sort.Strings(out)
	return out
}

func createTeamInGitea(org, name string) {
	giteaCall(http.MethodPost, "/orgs/"+org+"/teams", map[string]any{"name": name, "description": "made by hand",
		"permission": "read", "units": []string{"repo.code"}})
}

// giteaUsersNamed creates n users named prefix-1 to prefix-n in Gitea.
func giteaUsersNamed(prefix string, n int) []string {
	names := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		Expect(gitea.CreateUser(ctx, name, userPassword(name), false)).To(Succeed())
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func createRepoInGitea(org, name string) {
	giteaCall(http.MethodPost, "/orgs/"+org+"/repos", map[string]any{"name": name})
}

// contractTeams is the organization of the teams of the shared specs.
const contractTeams = "contract-teams"

var teamFixture = kindFixture{
	prepare: func(string) {
		ensureInGitea("/orgs/"+contractTeams, "/orgs", map[string]any{"username": contractTeams})
	},
	newCR: func(ns, key string) client.Object {
		t := teamCR(ns, key, contractTeams, "team-"+key)
		t.Spec.Description = ptr.To("managed")
		t.Spec.Members = usernames()
		return t
	},
	drift: []string{"description", "members"},
	createInGitea: func(key string) {
		createTeamInGitea(contractTeams, "team-"+key)
		team, _ := teamInGitea(contractTeams, "team-"+key)
		giteaCall(http.MethodPut, fmt.Sprintf("/teams/%v/members/%s", team["id"], gitea.AdminUser), nil)
	},
	deleteInGitea: func(key string) {
		team, _ := teamInGitea(contractTeams, "team-"+key)
		giteaCall(http.MethodDelete, fmt.Sprintf("/teams/%v", team["id"]), nil)
	},
	count: func(key string) int {
		return len(namedIn(listInGitea[map[string]any]("/orgs/"+contractTeams+"/teams"), "team-"+key))
	},
}

var _ = Describe("Team", func() {
	itBehavesAsAManagedKind(teamFixture)

	It("creates the team with its exact members and repositories, corrects drift, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		createOrgInGitea("tcreate")
		createRepoInGitea("tcreate", "api")
		createRepoInGitea("tcreate", "web")
		// More members than the test Gitea's page size (5): pagination is exercised.
		members := giteaUsersNamed("tcreate-m", 7)
		t := newTeam(ns, "devs", "tcreate", "devs", func(t *giteav1alpha1.Team) {
			t.Spec.Description = ptr.To("developers")
			t.Spec.Permission = ptr.To("write")
			t.Spec.Units = map[string]string{"repo.code": "write", "repo.issues": "read", "repo.wiki": "none"}
			t.Spec.CanCreateOrgRepo = ptr.To(true)
			t.Spec.Members = usernames(members...)
			t.Spec.Repositories = &[]giteav1alpha1.RepositoryName{"api"}
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(t, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(t)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.AtProvider.Organization).To(Equal("tcreate"))
		team, ok := teamInGitea("tcreate", "devs")
		Expect(ok).To(BeTrue())
		Expect(team).To(HaveKeyWithValue("permission", "none"), "Gitea 1.26 keeps only admin as a team's own permission")
		Expect(team).To(HaveKeyWithValue("can_create_org_repo", true))
		Expect(team["units_map"]).To(Equal(map[string]any{"repo.code": "write", "repo.issues": "read", "repo.wiki": "none"}))
		Expect(teamListInGitea("tcreate", "devs", "members")).To(Equal(members))
		Expect(teamListInGitea("tcreate", "devs", "repos")).To(Equal([]string{"api"}))

		// Drift made in Gitea is corrected at the next sync.
		id := got.Status.ID
		giteaCall(http.MethodPatch, fmt.Sprintf("/teams/%d", id), map[string]any{"name": "devs", "description": "hacked"})
		giteaCall(http.MethodDelete, fmt.Sprintf("/teams/%d/members/%s", id, members[0]), nil)
		giteaCall(http.MethodPut, fmt.Sprintf("/teams/%d/repos/tcreate/web", id), nil)
		requestSync(t)
		team, _ = teamInGitea("tcreate", "devs")
		Expect(team).To(HaveKeyWithValue("description", "developers"))
		Expect(teamListInGitea("tcreate", "devs", "members")).To(Equal(members))
		Expect(teamListInGitea("tcreate", "devs", "repos")).To(Equal([]string{"api"}))

		// A spec change is applied at once: an empty list means none.
		update(t, func(t *giteav1alpha1.Team) {
			t.Spec.Members = usernames(members[:2]...)
			t.Spec.Repositories = &[]giteav1alpha1.RepositoryName{}
		})
		Eventually(func() []string { return teamListInGitea("tcreate", "devs", "members") }, eventually, poll).Should(Equal(members[:2]))
		Eventually(func() []string { return teamListInGitea("tcreate", "devs", "repos") }, eventually, poll).Should(BeEmpty())

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(t, ns)
	})

	It("renames the team when its name changes, keeping its id, and gives Conflict to a second resource claiming it", func() {
		ns := readyProvider()
		createOrgInGitea("trename")
		t := newTeam(ns, "ops", "trename", "ops-old", nil)
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(t).Status.ID
		update(t, func(t *giteav1alpha1.Team) { t.Spec.Name = "ops-new" })
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(t).Status.ID).To(Equal(id))
		team, ok := teamInGitea("trename", "ops-new")
		Expect(ok).To(BeTrue())
		Expect(team).To(HaveKeyWithValue("id", BeNumerically("==", id)))

		second := newTeam(readyProvider(), "ops", "trename", "OPS-new", nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(ns + "/ops"))
	})

	It("never deletes a team someone else made at its name once its own is gone", func() {
		ns := readyProvider()
		createOrgInGitea("treplaced")
		t := newTeam(ns, "ops", "treplaced", "ops", nil)
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		mine := fresh(t).Status
		Expect(mine.Origin).To(Equal(giteav1alpha1.OriginCreated))

		// Deleted in Gitea, and another team of that name made there, before any sync has seen either.
		giteaCall(http.MethodDelete, fmt.Sprintf("/teams/%d", mine.ID), nil)
		createTeamInGitea("treplaced", "ops")
		theirs, ok := teamInGitea("treplaced", "ops")
		Expect(ok).To(BeTrue())
		deleteCR(t)
		got, ok := teamInGitea("treplaced", "ops")
		Expect(ok).To(BeTrue(), "a team someone else made was deleted with the resource")
		Expect(got["id"]).To(Equal(theirs["id"]))
		Eventually(eventNotesOf(t), eventually, poll).Should(ContainElement(fmt.Sprintf("left the team treplaced/ops in place: the one "+
			"this resource had (id %d) is gone, and this one (id %v) was not made by it", mine.ID, theirs["id"])))
	})

	It("takes an organization name Gitea only redirects as missing: never creates a team in the organization renamed from it, nor adopts one there", func() {
		ns := readyProvider()
		createOrgInGitea("team-org-was")
		giteaCall(http.MethodPost, "/orgs/team-org-was/rename", map[string]any{"new_name": "team-org-is"})
		createTeamInGitea("team-org-is", "theirs")
		for _, name := range []string{"theirs", "mine"} {
			t := newTeam(ns, name, "team-org-was", name, nil)
			Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
			Expect(conditionMessage(t, giteav1alpha1.ConditionReady)).To(Equal("the organization team-org-was does not exist in Gitea"))
			Expect(statusOfCR(t).Origin).To(BeEmpty())
			deleteCR(t)
		}
		_, ok := teamInGitea("team-org-is", "theirs")
		Expect(ok).To(BeTrue(), "the team of the renamed organization is gone")
		_, ok = teamInGitea("team-org-is", "mine")
		Expect(ok).To(BeFalse(), "a team was created in the renamed organization")
	})

	It("names a missing organization, member or repository in its condition", func() {
		ns := readyProvider()
		noOrg := newTeam(ns, "no-org", "tmissing-nowhere", "devs", nil)
		Eventually(conditionOf(noOrg, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(noOrg, giteav1alpha1.ConditionReady)).To(Equal("the organization tmissing-nowhere does not exist in Gitea"))

		createOrgInGitea("tmissing")
		t := newTeam(ns, "devs", "tmissing", "devs", func(t *giteav1alpha1.Team) {
			t.Spec.Members = usernames(gitea.AdminUser, "nobody-here")
			t.Spec.Repositories = &[]giteav1alpha1.RepositoryName{"no-such-repo"}
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(t, giteav1alpha1.ConditionSynced)).To(Equal(
			"users nobody-here do not exist in Gitea; repositories no-such-repo do not exist in organization tmissing"))
		Expect(teamListInGitea("tmissing", "devs", "members")).To(Equal([]string{gitea.AdminUser}), "the members that exist are added")
	})

	It("waits for its organizationRef (DependencyNotReady) and acts as soon as the Organization is Ready, following its renames", func() {
		ns := readyProvider()
		t := newTeam(ns, "devs", "", "devs", func(t *giteav1alpha1.Team) {
			t.Spec.OrganizationRef = &giteav1alpha1.LocalObjectReference{Name: "acme"}
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		Expect(conditionMessage(t, giteav1alpha1.ConditionReady)).To(Equal("Organization acme does not exist"))

		o := newOrg(ns, "acme", "tref-old", nil)
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		_, ok := teamInGitea("tref-old", "devs")
		Expect(ok).To(BeTrue())

		update(o, func(o *giteav1alpha1.Organization) { o.Spec.Username = "tref-new" })
		Eventually(func() string { return fresh(t).Status.AtProvider.Organization }, eventually, poll).Should(Equal("tref-new"))
		Expect(fresh(t).Status.Identity).To(HaveSuffix(" Team tref-new/devs"))
	})

	It("manages the Owners team's members within its limits, never removing the provider's own user", func() {
		ns := readyProvider()
		createOrgInGitea("towners")
		owner := giteaUsersNamed("towners-o", 1)
		t := newTeam(ns, "owners", "towners", "Owners", func(t *giteav1alpha1.Team) {
			t.Spec.Description = ptr.To("the owners")
			t.Spec.Members = usernames(owner...)
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(t).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(teamListInGitea("towners", "Owners", "members")).To(ConsistOf(gitea.AdminUser, owner[0]))
		team, _ := teamInGitea("towners", "Owners")
		Expect(team).To(HaveKeyWithValue("description", "the owners"))
		Expect(strings.ToLower(fresh(t).Status.AtProvider.Permission)).To(Equal("owner"))
	})

	It("never adds the provider's own user to the Owners of an organization it does not own", func() {
		ns := readyProvider()
		owner := giteaUsersNamed("tforeign-o", 2)
		// A site admin's token sees the organization; its owner is someone else.
		giteaCall(http.MethodPost, "/admin/users/"+owner[0]+"/orgs", map[string]any{"username": "tforeign"})
		Expect(teamListInGitea("tforeign", "Owners", "members")).To(ConsistOf(owner[0]))
		t := newTeam(ns, "owners", "tforeign", "Owners", func(t *giteav1alpha1.Team) {
			t.Spec.Members = usernames(owner...)
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(teamListInGitea("tforeign", "Owners", "members")).To(ConsistOf(owner[0], owner[1]))
	})
})
