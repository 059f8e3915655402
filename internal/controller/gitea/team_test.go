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
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

func newTeam(ns, name, org, teamName string, edit func(*giteav1alpha1.Team)) *giteav1alpha1.Team {
	t := &giteav1alpha1.Team{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.TeamSpec{
			ResourceSpec: giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
			Organization: ptr.To(org),
			Name:         teamName,
		},
	}
	if edit != nil {
		edit(t)
	}
	Expect(k8sClient.Create(ctx, t)).To(Succeed())
	return t
}

// teamInGitea finds a team of org by name straight in Gitea's API.
func teamInGitea(org, name string) (map[string]any, bool) {
	var teams []map[string]any
	_, err := gitea.Do(ctx, "GET", "/orgs/"+org+"/teams?limit=50", nil, &teams)
	Expect(err).NotTo(HaveOccurred())
	for _, t := range teams {
		if t["name"] == name {
			return t, true
		}
	}
	return nil, false
}

// teamListInGitea lists the names of a team's members ("members") or repositories ("repos"), sorted, page
// by page (the test Gitea's pages hold 5).
func teamListInGitea(org, name, what string) []string {
	team, ok := teamInGitea(org, name)
	Expect(ok).To(BeTrue())
	var out []string
	for page := 1; ; page++ {
		var items []map[string]any
		_, err := gitea.Do(ctx, "GET", fmt.Sprintf("/teams/%v/%s?page=%d", team["id"], what, page), nil, &items)
		Expect(err).NotTo(HaveOccurred())
		if len(items) == 0 {
			break
		}
		for _, item := range items {
			if what == "members" {
				out = append(out, item["login"].(string))
			} else {
				out = append(out, item["name"].(string))
			}
		}
	}
	sort.Strings(out)
	return out
}

func createTeamInGitea(org, name string) {
	_, err := gitea.Do(ctx, "POST", "/orgs/"+org+"/teams", map[string]any{"name": name, "description": "made by hand",
		"permission": "read", "units": []string{"repo.code"}}, nil)
	Expect(err).NotTo(HaveOccurred())
}

// giteaUsers creates n users named prefix-1 to prefix-n in Gitea.
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
	_, err := gitea.Do(ctx, "POST", "/orgs/"+org+"/repos", map[string]any{"name": name}, nil)
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("Team", func() {
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
			t.Spec.Members = ptr.To(members)
			t.Spec.Repositories = ptr.To([]string{"api"})
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
		_, err := gitea.Do(ctx, "PATCH", fmt.Sprintf("/teams/%d", id), map[string]any{"name": "devs", "description": "hacked"}, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = gitea.Do(ctx, "DELETE", fmt.Sprintf("/teams/%d/members/%s", id, members[0]), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = gitea.Do(ctx, "PUT", fmt.Sprintf("/teams/%d/repos/tcreate/web", id), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		requestSync(t)
		team, _ = teamInGitea("tcreate", "devs")
		Expect(team).To(HaveKeyWithValue("description", "developers"))
		Expect(teamListInGitea("tcreate", "devs", "members")).To(Equal(members))
		Expect(teamListInGitea("tcreate", "devs", "repos")).To(Equal([]string{"api"}))

		// A spec change is applied at once: an empty list means none.
		update(t, func(t *giteav1alpha1.Team) {
			t.Spec.Members = ptr.To(members[:2])
			t.Spec.Repositories = ptr.To([]string{})
		})
		Eventually(func() []string { return teamListInGitea("tcreate", "devs", "members") }, eventually, poll).Should(Equal(members[:2]))
		Eventually(func() []string { return teamListInGitea("tcreate", "devs", "repos") }, eventually, poll).Should(BeEmpty())

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(t, ns)
	})

	It("adopts an existing team and leaves it when deleted; counts one whose status write was lost as created, and deletes it", func() {
		ns := readyProvider()
		createOrgInGitea("tadopt")
		createTeamInGitea("tadopt", "found")
		createTeamInGitea("tadopt", "crashed")
		adopted := newTeam(ns, "found", "tadopt", "found", nil)
		crashed := newTeam(ns, "crashed", "tadopt", "crashed", func(t *giteav1alpha1.Team) {
			t.Annotations = map[string]string{giteav1alpha1.CreatePendingAnnotation: "2026-11-24T00:00:00Z"}
		})
		for _, t := range []*giteav1alpha1.Team{adopted, crashed} {
			Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		Expect(fresh(adopted).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(eventReasonsOf(adopted)).To(ContainElement("Adopted"))
		Expect(fresh(crashed).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		var teams []map[string]any
		_, err := gitea.Do(ctx, "GET", "/orgs/tadopt/teams?limit=50", nil, &teams)
		Expect(err).NotTo(HaveOccurred())
		Expect(teams).To(HaveLen(3), "Owners, found and crashed: nothing duplicated")

		for _, t := range []*giteav1alpha1.Team{adopted, crashed} {
			Expect(k8sClient.Delete(ctx, t)).To(Succeed())
			Eventually(gone(t), eventually, poll).Should(BeTrue())
		}
		_, ok := teamInGitea("tadopt", "found")
		Expect(ok).To(BeTrue(), "an adopted team is orphaned by default")
		_, ok = teamInGitea("tadopt", "crashed")
		Expect(ok).To(BeFalse(), "what the resource created is deleted with it")
	})

	It("with ObserveOnly reports an absent team NotFound without creating it, and drift without correcting it", func() {
		ns := readyProvider()
		createOrgInGitea("tobserve")
		t := newTeam(ns, "watch", "tobserve", "watched", func(t *giteav1alpha1.Team) {
			t.Spec.ManagementPolicy = giteav1alpha1.ManagementObserveOnly
			t.Spec.Description = ptr.To("wanted")
			t.Spec.Members = ptr.To([]string{})
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		_, ok := teamInGitea("tobserve", "watched")
		Expect(ok).To(BeFalse())

		createTeamInGitea("tobserve", "watched")
		team, _ := teamInGitea("tobserve", "watched")
		_, err := gitea.Do(ctx, "PUT", fmt.Sprintf("/teams/%v/members/%s", team["id"], gitea.AdminUser), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		before := writes(ns)
		requestSync(t)
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Drifted"))
		Expect(conditionOf(t, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(fresh(t).Status.Drift).To(Equal([]string{"description", "members"}))
		Expect(writes(ns)).To(Equal(before))
		Expect(teamListInGitea("tobserve", "watched", "members")).To(Equal([]string{gitea.AdminUser}))
	})

	It("honours deletionPolicy and never hangs on a team already gone", func() {
		ns := readyProvider()
		createOrgInGitea("tdelete")
		createTeamInGitea("tdelete", "del")
		del := newTeam(ns, "del", "tdelete", "del", func(t *giteav1alpha1.Team) { t.Spec.DeletionPolicy = giteav1alpha1.DeletionDelete })
		orphan := newTeam(ns, "orphan", "tdelete", "orphan", func(t *giteav1alpha1.Team) { t.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan })
		vanished := newTeam(ns, "vanished", "tdelete", "vanished", nil)
		for _, t := range []*giteav1alpha1.Team{del, orphan, vanished} {
			Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		_, err := gitea.Do(ctx, "DELETE", fmt.Sprintf("/teams/%d", fresh(vanished).Status.ID), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		for _, t := range []*giteav1alpha1.Team{del, orphan, vanished} {
			Expect(k8sClient.Delete(ctx, t)).To(Succeed())
			Eventually(gone(t), eventually, poll).Should(BeTrue())
		}
		_, ok := teamInGitea("tdelete", "del")
		Expect(ok).To(BeFalse())
		_, ok = teamInGitea("tdelete", "orphan")
		Expect(ok).To(BeTrue())
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

	It("names a missing organization, member or repository in its condition", func() {
		ns := readyProvider()
		noOrg := newTeam(ns, "no-org", "tmissing-nowhere", "devs", nil)
		Eventually(conditionOf(noOrg, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(noOrg, giteav1alpha1.ConditionReady)).To(Equal("organization tmissing-nowhere does not exist in Gitea"))

		createOrgInGitea("tmissing")
		t := newTeam(ns, "devs", "tmissing", "devs", func(t *giteav1alpha1.Team) {
			t.Spec.Members = ptr.To([]string{gitea.AdminUser, "nobody-here"})
			t.Spec.Repositories = ptr.To([]string{"no-such-repo"})
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(t, giteav1alpha1.ConditionSynced)).To(Equal(
			"users nobody-here do not exist in Gitea; repositories no-such-repo do not exist in organization tmissing"))
		Expect(teamListInGitea("tmissing", "devs", "members")).To(Equal([]string{gitea.AdminUser}), "the members that exist are added")
	})

	It("waits for its organizationRef (DependencyNotReady) and acts as soon as the Organization is Ready, following its renames", func() {
		ns := readyProvider()
		t := &giteav1alpha1.Team{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
			Spec: giteav1alpha1.TeamSpec{
				ResourceSpec:    giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
				OrganizationRef: &giteav1alpha1.LocalObjectReference{Name: "acme"},
				Name:            "devs",
			},
		}
		Expect(k8sClient.Create(ctx, t)).To(Succeed())
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		Expect(conditionMessage(t, giteav1alpha1.ConditionReady)).To(Equal("Organization acme does not exist"))

		o := newOrg(ns, "acme", "tref-old", nil)
		Eventually(conditionOf(t, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		_, ok := teamInGitea("tref-old", "devs")
		Expect(ok).To(BeTrue())

		got := fresh(o)
		got.Spec.Username = "tref-new"
		Expect(k8sClient.Update(ctx, got)).To(Succeed())
		Eventually(func() string { return fresh(t).Status.AtProvider.Organization }, eventually, poll).Should(Equal("tref-new"))
		Expect(fresh(t).Status.Identity).To(HaveSuffix(" Team tref-new/devs"))
	})

	It("manages the Owners team's members within its limits, never removing the provider's own user", func() {
		ns := readyProvider()
		createOrgInGitea("towners")
		owner := giteaUsersNamed("towners-o", 1)
		t := newTeam(ns, "owners", "towners", "Owners", func(t *giteav1alpha1.Team) {
			t.Spec.Description = ptr.To("the owners")
			t.Spec.Members = ptr.To(owner)
		})
		Eventually(conditionOf(t, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(t).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(teamListInGitea("towners", "Owners", "members")).To(ConsistOf(gitea.AdminUser, owner[0]))
		team, _ := teamInGitea("towners", "Owners")
		Expect(team).To(HaveKeyWithValue("description", "the owners"))
		Expect(strings.ToLower(fresh(t).Status.AtProvider.Permission)).To(Equal("owner"))
	})
})
