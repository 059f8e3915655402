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
	"k8s.io/utils/ptr"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// Gitea answers 423 Locked to a write to the branch protections of an archived repository (the only
// objects of the managed kinds it locks so).
var _ = Describe("an object of an archived repository", func() {
	archive := func(repo string, archived bool) {
		giteaCall(http.MethodPatch, "/repos/"+repo, map[string]any{"archived": archived})
	}

	It("is Locked, not Unreachable, for a change or a create, and its deletion waits for an unarchive or Orphan", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("bp-archived")
		withApprovals := func(b *giteav1alpha1.BranchProtection) { b.Spec.RequiredApprovals = ptr.To[int64](1) }
		kept := newBranchProtection(ns, "kept", repo, "kept", withApprovals)
		orphaned := newBranchProtection(ns, "orphaned", repo, "orphaned", withApprovals)
		for _, b := range []*giteav1alpha1.BranchProtection{kept, orphaned} {
			Eventually(conditionOf(b, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		archive(repo, true)

		// A change: the rule is still there and usable (Ready), the spec is not applied (Synced), and why.
		update(kept, func(b *giteav1alpha1.BranchProtection) { b.Spec.RequiredApprovals = ptr.To[int64](2) })
		Eventually(conditionOf(kept, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Locked"))
		Expect(conditionOf(kept, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"),
			"Ready, of this generation too")
		Expect(conditionMessage(kept, giteav1alpha1.ConditionSynced)).To(And(
			ContainSubstring("while its repository is archived"), ContainSubstring(repo+" is archived")))
		Expect(eventReasonsOf(kept)).To(ContainElement(giteav1alpha1.ReasonLocked))

		// A create: nothing to be Ready with.
		later := newBranchProtection(ns, "later", repo, "later", nil)
		Eventually(conditionOf(later, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Locked"))
		Expect(protectionNamesOf(repo)).NotTo(ContainElement("later"))

		// A deletion: deletionPolicy says delete, Gitea says not now; the condition says both ways out.
		for _, b := range []*giteav1alpha1.BranchProtection{kept, orphaned} {
			Expect(k8sClient.Delete(ctx, b)).To(Succeed())
			Eventually(func() string { return readyReason(b) }, eventually, poll).Should(And(
				HavePrefix(giteav1alpha1.ReasonDeleteRefused+": "), ContainSubstring("archived"),
				ContainSubstring("deletionPolicy: Orphan")))
		}
		Expect(protectionNamesOf(repo)).To(ContainElements("kept", "orphaned"))

		update(orphaned, func(b *giteav1alpha1.BranchProtection) { b.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan })
		Eventually(gone(orphaned), eventually, poll).Should(BeTrue())
		Expect(protectionNamesOf(repo)).To(ContainElement("orphaned"), "an orphaned rule stays in Gitea")

		archive(repo, false)
		Eventually(gone(kept), eventually, poll).Should(BeTrue())
		Expect(protectionNamesOf(repo)).NotTo(ContainElement("kept"))
		requestSync(later)
		Expect(conditionOf(later, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(statusOfCR(later).Origin).To(Equal(giteav1alpha1.OriginCreated))
	})
})
