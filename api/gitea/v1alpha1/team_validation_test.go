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

package v1alpha1_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/test/utils"
)

var teamSeq int

func validTeam() obj {
	teamSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "Team",
		"metadata":   obj{"name": fmt.Sprintf("team-%d", teamSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef":  obj{"name": "gitea"},
			"organization": "acme",
			"name":         "developers",
		},
	}
}

// expectUpdateRejected creates o, applies edit to its spec, and expects the update refused with exactly one
// cause, on field, saying message.
// expectUpdateRejected creates o, then updates it with edit and expects the update rejected with message:
// as the only cause, on field, when field is given; among the causes otherwise.
func expectUpdateRejected(o obj, edit func(spec obj), field, message string) {
	u, err := create(o)
	Expect(err).NotTo(HaveOccurred())
	edit(u.Object["spec"].(obj))
	err = k8sClient.Update(ctx, u, client.FieldValidation("Strict"))
	Expect(err).To(HaveOccurred(), "the API server admitted the update")
	GinkgoWriter.Printf("rejected: %v\n", err)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
	if field == "" {
		Expect(utils.InvalidCauses(err)).To(ContainElement(ContainSubstring(message)))
		return
	}
	Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
		"exactly one cause, on %s, saying %q", field, message)
}

func withSpec(o obj, edit func(spec obj)) obj {
	edit(o["spec"].(obj))
	return o
}

var _ = Describe("Team admission", func() {
	It("admits a valid team, an empty member list and the Owners team with its members", func() {
		_, err := create(withSpec(validTeam(), func(s obj) {
			s["members"] = []any{}
			s["repositories"] = []any{"api"}
			s["units"] = obj{"repo.code": "write", "repo.wiki": "none"}
			s["permission"] = "write"
		}))
		Expect(err).NotTo(HaveOccurred())
		u, err := create(withSpec(validTeam(), func(s obj) { s["name"] = "Owners"; s["members"] = []any{"alice"} }))
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"].(obj)["members"]).To(Equal([]any{"alice"}))
	})

	It("admits a rename and other changes", func() {
		u, err := create(validTeam())
		Expect(err).NotTo(HaveOccurred())
		u.Object["spec"].(obj)["name"] = "devs"
		u.Object["spec"].(obj)["description"] = "renamed"
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})

	// The corpus of bad input (docs/gitea.md lists it).
	DescribeTable("rejects, with a message that says why",
		func(edit func(spec obj), field, message string) {
			expectRejected(withSpec(validTeam(), edit), field, message)
		},
		Entry("no organization", func(s obj) { delete(s, "organization") }, "spec", "exactly one of organization and organizationRef"),
		Entry("both organization and organizationRef", func(s obj) { s["organizationRef"] = obj{"name": "acme"} },
			"spec", "exactly one of organization and organizationRef"),
		Entry("an organization name Gitea refuses", func(s obj) { s["organization"] = "-acme" }, "spec.organization", "must start with a letter or digit"),
		Entry("a name with a space", func(s obj) { s["name"] = "dev team" }, "spec.name", "only letters, digits"),
		Entry("owners in another case", func(s obj) { s["name"] = "owners" }, "spec.name", "called Owners, capitalised"),
		Entry("an unknown permission", func(s obj) { s["permission"] = "owner" }, "spec.permission", "Unsupported value"),
		Entry("an unknown unit", func(s obj) { s["units"] = obj{"repo.chat": "read"} }, "spec.units", "units must be among"),
		Entry("an unknown unit access", func(s obj) { s["units"] = obj{"repo.code": "owner"} }, "spec.units", "none, read, write or admin"),
		Entry("units with permission admin", func(s obj) { s["units"] = obj{"repo.code": "read"}; s["permission"] = "admin" },
			"spec", "units cannot be set with permission admin"),
		Entry("repositories with includesAllRepositories", func(s obj) {
			s["includesAllRepositories"] = true
			s["repositories"] = []any{"api"}
		}, "spec", "repositories cannot be listed when includesAllRepositories is true"),
		Entry("a member name Gitea refuses", func(s obj) { s["members"] = []any{"alice", "bad..name"} }, "spec.members", "members must be user names"),
		Entry("a member twice", func(s obj) { s["members"] = []any{"alice", "alice"} }, "spec.members[1]", "Duplicate value"),
		Entry("a permission on Owners", func(s obj) { s["name"] = "Owners"; s["permission"] = "read" }, "spec", "the Owners team always has every permission"),
		Entry("canCreateOrgRepo false on Owners", func(s obj) { s["name"] = "Owners"; s["canCreateOrgRepo"] = false }, "spec", "can always create repositories"),
		Entry("deletionPolicy Delete on Owners", func(s obj) { s["name"] = "Owners"; s["deletionPolicy"] = "Delete" }, "spec", "the Owners team cannot be deleted"),
	)

	DescribeTable("refuses to change what identifies the organization, and renames to or from Owners",
		func(edit func(spec obj), field, message string) {
			expectUpdateRejected(validTeam(), edit, field, message)
		},
		Entry("another organization", func(s obj) { s["organization"] = "other" }, "spec.organization", "organization is immutable"),
		Entry("organizationRef instead of organization", func(s obj) {
			delete(s, "organization")
			s["organizationRef"] = obj{"name": "acme"}
		}, "spec", "the organization is immutable"),
		Entry("a rename to Owners", func(s obj) { s["name"] = "Owners" }, "spec.name", "cannot be renamed to or from Owners"),
	)

	It("refuses another organizationRef", func() {
		o := withSpec(validTeam(), func(s obj) { delete(s, "organization"); s["organizationRef"] = obj{"name": "acme"} })
		expectUpdateRejected(o, func(s obj) { s["organizationRef"] = obj{"name": "other"} }, "spec.organizationRef", "organizationRef is immutable")
	})

	It("caps a team name at 255 characters", func() {
		expectRejected(withSpec(validTeam(), func(s obj) { s["name"] = strings.Repeat("a", 256) }), "spec.name", "may not be more than 255")
	})
})
