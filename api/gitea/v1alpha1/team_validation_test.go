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
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func validTeam() obj {
	return object("Team", obj{"providerRef": obj{"name": "gitea"}, "organization": "acme", "name": "developers"})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its organization, members and repositories
// are in names_validation_test.go.
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
		Expect(specOf(u.Object)["members"]).To(Equal([]any{"alice"}))
	})

	It("admits a rename and other changes", func() {
		u, err := create(validTeam())
		Expect(err).NotTo(HaveOccurred())
		specOf(u.Object)["name"] = "devs"
		specOf(u.Object)["description"] = "renamed"
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validTeam),
		Entry("a name with a space", func(s obj) { s["name"] = "dev team" }, "spec.name", "only letters, digits"),
		Entry("a name of 256 characters", func(s obj) { s["name"] = strings.Repeat("a", 256) }, "spec.name", "may not be more than 255"),
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
		Entry("a member twice", func(s obj) { s["members"] = []any{"alice", "alice"} }, "spec.members[1]", "Duplicate value"),
		Entry("a permission on Owners", func(s obj) { s["name"] = "Owners"; s["permission"] = "read" }, "spec", "the Owners team always has every permission"),
		Entry("canCreateOrgRepo false on Owners", func(s obj) { s["name"] = "Owners"; s["canCreateOrgRepo"] = false }, "spec", "can always create repositories"),
		Entry("deletionPolicy Delete on Owners", func(s obj) { s["name"] = "Owners"; s["deletionPolicy"] = "Delete" }, "spec", "the Owners team cannot be deleted"),
	)

	DescribeTable("refuses changes it cannot make", refusesOnUpdate(validTeam),
		Entry("a rename to Owners", func(s obj) { s["name"] = "Owners" }, "spec.name", "cannot be renamed to or from Owners"),
	)
})
