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

// The names and parent references every kind shares (names_types.go): checked in each kind that has one, so
// a kind that stopped using the shared type fails here.

// nameField is a field of a kind that holds a Gitea name.
type nameField struct {
	// kind and path (as the API server names the field) of the field.
	kind, path string
	valid      func() obj
	set        func(spec obj, name string)
}

func (f nameField) with(name string) obj {
	return withSpec(f.valid(), func(s obj) { f.set(s, name) })
}

func setKey(key string) func(obj, string) { return func(s obj, name string) { s[key] = name } }

// usernameFields hold the name of a user or an organization.
var usernameFields = []nameField{
	{"Organization", "spec.username", validOrganization, setKey("username")},
	{"User", "spec.username", validUser, setKey("username")},
	{"Repository", "spec.owner", validRepository, setKey("owner")},
	{"Team", "spec.organization", validTeam, setKey("organization")},
	{"Team", "spec.members[0]", validTeam, func(s obj, name string) { s["members"] = []any{name} }},
	{"Collaborator", "spec.username", validCollaborator, setKey("username")},
	{"Webhook", "spec.organization", validWebhook, func(s obj, name string) { delete(s, "repository"); s["organization"] = name }},
}

// accountFields hold the name of a user or an organization the operator creates.
var accountFields = usernameFields[:2]

// repositoryNameFields hold the name of a repository.
var repositoryNameFields = []nameField{
	{"Repository", "spec.name", validRepository, setKey("name")},
	{"Team", "spec.repositories[0]", validTeam, func(s obj, name string) { s["repositories"] = []any{name} }},
}

// repositoryChildren are the kinds that belong to a repository (RepositoryParent), each valid with repository
// set; the Webhook may belong to one (RepositoryReference).
var repositoryChildren = []struct {
	kind  string
	valid func() obj
}{
	{"Label", validLabel}, {"DeployKey", validDeployKey}, {"BranchProtection", validBranchProtection},
	{"Collaborator", validCollaborator},
}

var _ = Describe("Gitea names, in every kind that holds one", func() {
	const usernameRule = "must be a Gitea user or organization name"
	for _, f := range usernameFields {
		Context(f.kind+" "+f.path, func() {
			It("admits the names Gitea admits", func() {
				for _, name := range []string{"Acme2", "a.b-c_d", strings.Repeat("a", 40)} {
					_, err := create(f.with(name))
					Expect(err).NotTo(HaveOccurred(), name)
				}
			})
			DescribeTable("rejects the names Gitea refuses", func(name, message string) { expectRejected(f.with(name), f.path, message) },
				Entry("a leading dash", "-team", usernameRule),
				Entry("a leading dot", ".team", usernameRule),
				Entry("a trailing dot", "team.", "nor one at the end"),
				Entry("two separators in a row", "a__b", "never two of those in a row"),
				Entry("a space", "a b", usernameRule),
				Entry("a slash", "a/b", usernameRule),
				Entry("41 characters", strings.Repeat("a", 41), "may not be more than 40"),
			)
		})
	}

	for _, f := range accountFields {
		DescribeTable(f.kind+" "+f.path+" rejects the names Gitea reserves", func(name string) {
			expectRejected(f.with(name), f.path, "username is reserved by Gitea")
		},
			Entry("a reserved name", "API"), Entry("another", "Ghost"),
			Entry("a reserved pattern", "team.keys"), Entry("another", "alice.gpg"),
		)
		It(f.kind+" "+f.path+" admits a reserved name inside a longer one", func() {
			_, err := create(f.with("ghosts"))
			Expect(err).NotTo(HaveOccurred())
		})
	}

	for _, f := range repositoryNameFields {
		DescribeTable(f.kind+" "+f.path+" rejects the repository names Gitea refuses",
			func(name, message string) { expectRejected(f.with(name), f.path, message) },
			Entry("a slash", "a/b", "must be a repository name"),
			Entry("two dots in a row", "a..b", "never two dots in a row"),
			Entry("a reserved name", "-", "reserved by Gitea"),
			Entry("a reserved suffix", "app.Git", "reserved by Gitea"),
			Entry("101 characters", strings.Repeat("a", 101), "may not be more than 100"),
		)
	}
})

var _ = Describe("a repository named by repository or repositoryRef", func() {
	swap := func(s obj) { delete(s, "repository"); s["repositoryRef"] = obj{"name": "app"} }
	for _, k := range repositoryChildren {
		Context("in a "+k.kind, func() {
			DescribeTable("is rejected", rejectsOnCreate(k.valid),
				Entry("neither repository nor repositoryRef", func(s obj) { delete(s, "repository") }, "spec",
					"set exactly one of repository and repositoryRef"),
				Entry("both", func(s obj) { s["repositoryRef"] = obj{"name": "app"} }, "spec",
					"set exactly one of repository and repositoryRef"),
			)
			DescribeTable("refuses a move to another repository", refusesOnUpdate(k.valid),
				Entry("a repositoryRef instead of the repository", swap, "spec", "repository and repositoryRef cannot be swapped"),
			)
			It("refuses another repositoryRef", func() {
				expectUpdateRejected(withSpec(k.valid(), swap), func(s obj) { s["repositoryRef"] = obj{"name": "other"} },
					"spec.repositoryRef", "repositoryRef is immutable")
			})
		})
	}
	for _, k := range append(repositoryChildren, struct {
		kind  string
		valid func() obj
	}{"Webhook", validWebhook}) {
		Context("in a "+k.kind, func() {
			DescribeTable("is rejected", rejectsOnCreate(k.valid),
				Entry("a repository without its owner", func(s obj) { s["repository"] = "app" }, "spec.repository", "repository must be owner/name"),
				Entry("a repository with two slashes", func(s obj) { s["repository"] = "a/b/c" }, "spec.repository", "repository must be owner/name"),
			)
			DescribeTable("refuses a move to another repository", refusesOnUpdate(k.valid),
				Entry("another repository", func(s obj) { s["repository"] = "platform/other" }, "spec.repository", "repository is immutable"),
			)
		})
	}
})

var _ = Describe("an organization named by organization or organizationRef", func() {
	byRef := func(valid func() obj) func() obj {
		return func() obj {
			return withSpec(valid(), func(s obj) {
				delete(s, "organization")
				delete(s, "repository")
				s["organizationRef"] = obj{"name": "acme"}
			})
		}
	}
	byName := func() obj {
		return withSpec(validWebhook(), func(s obj) { delete(s, "repository"); s["organization"] = "acme" })
	}
	for _, k := range []struct {
		kind          string
		byName, byRef func() obj
	}{{"Team", validTeam, byRef(validTeam)}, {"Webhook", byName, byRef(validWebhook)}} {
		Context("in a "+k.kind, func() {
			It("refuses another organization", func() {
				expectUpdateRejected(k.byName(), func(s obj) { s["organization"] = "other" }, "spec.organization", "organization is immutable")
			})
			It("refuses another organizationRef", func() {
				expectUpdateRejected(k.byRef(), func(s obj) { s["organizationRef"] = obj{"name": "other"} },
					"spec.organizationRef", "organizationRef is immutable")
			})
		})
	}

	DescribeTable("in a Team", rejectsOnCreate(validTeam),
		Entry("neither organization nor organizationRef", func(s obj) { delete(s, "organization") }, "spec",
			"set exactly one of organization and organizationRef"),
		Entry("both", func(s obj) { s["organizationRef"] = obj{"name": "acme"} }, "spec", "set exactly one of organization and organizationRef"),
	)
	It("in a Team, refuses an organizationRef instead of the organization", func() {
		expectUpdateRejected(validTeam(), func(s obj) { delete(s, "organization"); s["organizationRef"] = obj{"name": "acme"} },
			"spec", "organization and organizationRef cannot be swapped")
	})
})
