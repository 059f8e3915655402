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
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// protectionInGitea reads a rule straight from Gitea's API.
func protectionInGitea(repo, name string) (map[string]any, bool) {
	return inGitea("/repos/" + repo + "/branch_protections/" + name)
}

// protectionNamesOf lists the names of a repository's rules (Gitea's list of them has no pages).
func protectionNamesOf(repo string) []string {
	var list []map[string]any
	_, err := gitea.Do(ctx, http.MethodGet, "/repos/"+repo+"/branch_protections", nil, &list)
	Expect(err).NotTo(HaveOccurred())
	names := make([]string, 0, len(list))
	for _, p := range list {
		names = append(names, p["rule_name"].(string))
	}
	return names
}

func createProtectionInGitea(repo, name string, extra map[string]any) {
	body := map[string]any{"rule_name": name}
	for k, v := range extra {
		body[k] = v
	}
	giteaCall(http.MethodPost, "/repos/"+repo+"/branch_protections", body)
}

func branchProtectionCR(ns, name, repository, rule string) *giteav1alpha1.BranchProtection {
	return &giteav1alpha1.BranchProtection{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.BranchProtectionSpec{
			ResourceSpec:     resourceSpec(),
			RepositoryParent: onRepository(repository),
			RuleName:         rule,
		},
	}
}

func newBranchProtection(ns, name, repository, rule string, edit func(*giteav1alpha1.BranchProtection)) *giteav1alpha1.BranchProtection {
	return created(branchProtectionCR(ns, name, repository, rule), edit)
}

// contractRules is the repository of the rules of the shared specs.
const contractRules = "contract-rules"

var branchProtectionFixture = kindFixture{
	prepare: func(string) { ensureAdminRepo(contractRules) },
	newCR: func(ns, key string) client.Object {
		b := branchProtectionCR(ns, key, gitea.AdminUser+"/"+contractRules, "rule-"+key)
		b.Spec.RequiredApprovals = ptr.To[int64](1)
		b.Spec.PushAllowlistUsers = &[]string{} // a rule made without users has none: no drift
		return b
	},
	drift:         []string{"requiredApprovals"},
	createInGitea: func(key string) { createProtectionInGitea(gitea.AdminUser+"/"+contractRules, "rule-"+key, nil) },
	deleteInGitea: func(key string) {
		giteaCall(http.MethodDelete, "/repos/"+gitea.AdminUser+"/"+contractRules+"/branch_protections/rule-"+key, nil)
	},
	count: func(key string) int {
		n := 0
		for _, name := range protectionNamesOf(gitea.AdminUser + "/" + contractRules) {
			if name == "rule-"+key {
				n++
			}
		}
		return n
	},
}

var _ = Describe("BranchProtection", func() {
	itBehavesAsAManagedKind(branchProtectionFixture)

	It("creates the rule, corrects drift at the next sync, applies a spec change at once, renames by create then delete, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("bp-create")
		admin := strings.ToUpper(gitea.AdminUser) // user names compare without case
		b := newBranchProtection(ns, "main", repo, "main", func(b *giteav1alpha1.BranchProtection) {
			r := &b.Spec.BranchProtectionRules
			r.EnablePush, r.EnablePushAllowlist, r.PushAllowlistUsers = ptr.To(true), ptr.To(true), &[]string{admin}
			r.EnableForcePush, r.EnableForcePushAllowlist = ptr.To(true), ptr.To(true)
			r.ForcePushAllowlistUsers = &[]string{admin}
			r.EnableStatusCheck, r.StatusCheckContexts = ptr.To(true), &[]string{"ci/build", "ci/lint"}
			r.RequiredApprovals, r.IgnoreStaleApprovals = ptr.To[int64](2), ptr.To(true)
			r.ProtectedFilePatterns, r.Priority = ptr.To("*.lock"), ptr.To[int64](3)
			r.MergeAllowlistTeams = &[]string{}
		})
		Eventually(conditionOf(b, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(b, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		Expect(fresh(b).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		p, ok := protectionInGitea(repo, "main")
		Expect(ok).To(BeTrue())
		Expect(p).To(HaveKeyWithValue("push_whitelist_usernames", ConsistOf(gitea.AdminUser)))
		Expect(p).To(HaveKeyWithValue("enable_force_push_allowlist", true))
		Expect(p).To(HaveKeyWithValue("force_push_allowlist_usernames", ConsistOf(gitea.AdminUser)))
		Expect(p).To(HaveKeyWithValue("required_approvals", BeNumerically("==", 2)))
		Expect(p).To(HaveKeyWithValue("ignore_stale_approvals", true))
		Expect(p).To(HaveKeyWithValue("priority", BeNumerically("==", 3)))

		// Drift made in Gitea is corrected at the next sync; what the spec leaves alone stays.
		giteaCall(http.MethodPatch, "/repos/"+repo+"/branch_protections/main", map[string]any{
			"required_approvals": 0, "ignore_stale_approvals": false, "enable_force_push": false,
			"status_check_contexts": []string{"ci/lint"}, "block_on_outdated_branch": true})
		requestSync(b)
		p, _ = protectionInGitea(repo, "main")
		Expect(p).To(HaveKeyWithValue("required_approvals", BeNumerically("==", 2)))
		Expect(p).To(HaveKeyWithValue("ignore_stale_approvals", true))
		Expect(p).To(HaveKeyWithValue("enable_force_push_allowlist", true))
		Expect(p).To(HaveKeyWithValue("force_push_allowlist_usernames", ConsistOf(gitea.AdminUser)))
		Expect(p).To(HaveKeyWithValue("status_check_contexts", ConsistOf("ci/build", "ci/lint")))
		Expect(p).To(HaveKeyWithValue("block_on_outdated_branch", true))

		// A spec change is applied at once.
		update(b, func(b *giteav1alpha1.BranchProtection) { b.Spec.RequiredApprovals = ptr.To[int64](1) })
		Eventually(func() any { p, _ := protectionInGitea(repo, "main"); return p["required_approvals"] }, eventually, poll).
			Should(BeNumerically("==", 1))

		// A rename creates the rule under its new name (unmanaged settings kept), then deletes the old one.
		update(b, func(b *giteav1alpha1.BranchProtection) { b.Spec.RuleName = "release/*" })
		Eventually(func() []string { return protectionNamesOf(repo) }, eventually, poll).Should(Equal([]string{"release/*"}))
		p, _ = protectionInGitea(repo, "release/*")
		Expect(p).To(HaveKeyWithValue("block_on_outdated_branch", true))
		Expect(p).To(HaveKeyWithValue("required_approvals", BeNumerically("==", 1)))
		Eventually(conditionOf(b, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(b).Status.AtProvider.RuleName).To(Equal("release/*"))

		expectQuietSyncs(b, ns)
	})

	It("gives Conflict to a rename onto a rule it did not create, and never edits or deletes that rule", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("bp-rename-taken")
		b := newBranchProtection(ns, "main", repo, "main", func(b *giteav1alpha1.BranchProtection) {
			b.Spec.RequiredApprovals = ptr.To[int64](1)
		})
		Eventually(conditionOf(b, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		createProtectionInGitea(repo, "release/*", map[string]any{"required_approvals": 3})

		update(b, func(b *giteav1alpha1.BranchProtection) { b.Spec.RuleName = "release/*" })
		Eventually(conditionOf(b, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(b, giteav1alpha1.ConditionSynced)).To(Equal("a rule release/* already exists in " + repo +
			" besides this resource's rule main; renaming onto it would take over a rule this resource did not create: " +
			"delete or rename that rule in Gitea, or set ruleName back to main"))
		Expect(protectionNamesOf(repo)).To(ConsistOf("main", "release/*"))
		p, _ := protectionInGitea(repo, "release/*")
		Expect(p).To(HaveKeyWithValue("required_approvals", BeNumerically("==", 3)))
		Expect(fresh(b).Status.AtProvider.RuleName).To(Equal("main"))

		// Deleted, the resource deletes its own rule only.
		deleteCR(b)
		Expect(protectionNamesOf(repo)).To(Equal([]string{"release/*"}))
	})

	It("names teams of the repository's organization without regard to case, and lets deploy keys push under the switches Gitea has", func() {
		ns := readyProvider()
		createOrgInGitea("bp-org")
		createRepoInGitea("bp-org", "website")
		giteaCall(http.MethodPost, "/orgs/bp-org/teams", map[string]any{"name": "Release", "permission": "write",
			"units": []string{"repo.code", "repo.pulls"}, "includes_all_repositories": true})
		// The push switches are Gitea's, not the spec's: the deploy-key switch only takes under them.
		createProtectionInGitea("bp-org/website", "main", map[string]any{"enable_push": true, "enable_push_whitelist": true})
		b := newBranchProtection(ns, "main", "bp-org/website", "main", func(b *giteav1alpha1.BranchProtection) {
			r := &b.Spec.BranchProtectionRules
			r.PushAllowlistDeployKeys = ptr.To(true)
			r.PushAllowlistTeams, r.ApprovalsAllowlistTeams = &[]string{"release"}, &[]string{"release"}
			r.EnableApprovalsAllowlist = ptr.To(true)
		})
		Eventually(conditionOf(b, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(b, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		p, _ := protectionInGitea("bp-org/website", "main")
		Expect(p).To(HaveKeyWithValue("push_whitelist_teams", ConsistOf("Release")))
		Expect(p).To(HaveKeyWithValue("approvals_whitelist_teams", ConsistOf("Release")))
		Expect(p).To(HaveKeyWithValue("push_whitelist_deploy_keys", true))
		Expect(fresh(b).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))

		// Someone turns the deploy keys off: corrected, the switches above sent as they are.
		giteaCall(http.MethodPatch, "/repos/bp-org/website/branch_protections/main", map[string]any{
			"enable_push": true, "enable_push_whitelist": true, "push_whitelist_deploy_keys": false})
		requestSync(b)
		p, _ = protectionInGitea("bp-org/website", "main")
		Expect(p).To(HaveKeyWithValue("push_whitelist_deploy_keys", true))
		before := writes(ns)
		requestSync(b)
		Expect(writes(ns)).To(Equal(before), "the team's name in another case is no drift")
	})

	It("names a missing repository, user or team in its condition", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("bp-missing")
		missing := newBranchProtection(ns, "missing", "nobody/nothing", "main", nil)
		Eventually(conditionOf(missing, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(missing, giteav1alpha1.ConditionReady)).To(Equal("the repository nobody/nothing does not exist in Gitea"))

		ghost := newBranchProtection(ns, "ghost", repo, "dev", func(b *giteav1alpha1.BranchProtection) {
			b.Spec.EnablePush, b.Spec.EnablePushAllowlist = ptr.To(true), ptr.To(true)
			b.Spec.PushAllowlistUsers = &[]string{"ghost-of-nobody"}
		})
		Eventually(conditionOf(ghost, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(ghost, giteav1alpha1.ConditionReady)).To(ContainSubstring("ghost-of-nobody"))

		// Teams are an organization's: the repository must be one.
		createOrgInGitea("bp-teamless")
		createRepoInGitea("bp-teamless", "site")
		noTeam := newBranchProtection(ns, "no-team", "bp-teamless/site", "main", func(b *giteav1alpha1.BranchProtection) {
			b.Spec.EnablePush, b.Spec.EnablePushAllowlist = ptr.To(true), ptr.To(true)
			b.Spec.PushAllowlistTeams = &[]string{"ghost-team"}
		})
		Eventually(conditionOf(noTeam, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(noTeam, giteav1alpha1.ConditionReady)).To(ContainSubstring("ghost-team"))
		Expect(protectionNamesOf(repo)).To(BeEmpty())
		Expect(protectionNamesOf("bp-teamless/site")).To(BeEmpty())
	})
})
