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
)

var branchProtectionSeq int

func validBranchProtection() obj {
	branchProtectionSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "BranchProtection",
		"metadata":   obj{"name": fmt.Sprintf("bp-%d", branchProtectionSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef": obj{"name": "gitea"},
			"repository":  "platform/website",
			"ruleName":    "release/*",
		},
	}
}

var _ = Describe("BranchProtection admission", func() {
	It("admits a rule with every list empty (nobody) and no setting defaulted", func() {
		o := validBranchProtection()
		o["spec"].(obj)["pushAllowlistUsers"] = []any{}
		u, err := create(o)
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("pushAllowlistUsers", BeEmpty()))
		Expect(u.Object["spec"]).NotTo(HaveKey("enablePush"), "unset is unmanaged: no default may change an adopted rule")
	})

	DescribeTable("rejects, with a message that says why",
		func(edit func(spec obj), field, message string) {
			o := validBranchProtection()
			edit(o["spec"].(obj))
			expectRejected(o, field, message)
		},
		Entry("no repository", func(s obj) { delete(s, "repository") }, "spec", "set exactly one of repository and repositoryRef"),
		Entry("a repository and a repositoryRef", func(s obj) { s["repositoryRef"] = obj{"name": "website"} }, "spec",
			"set exactly one of repository and repositoryRef"),
		Entry("a repository without its owner", func(s obj) { s["repository"] = "website" }, "spec.repository", "repository must be owner/name"),
		Entry("no rule name", func(s obj) { delete(s, "ruleName") }, "spec.ruleName", "Required value"),
		Entry("a rule name with a trailing space", func(s obj) { s["ruleName"] = "main " }, "spec.ruleName", "must not start or end with a space"),
		Entry("a 256-character rule name", func(s obj) { s["ruleName"] = strings.Repeat("r", 256) }, "spec.ruleName", "may not be more than 255"),
		Entry("negative approvals", func(s obj) { s["requiredApprovals"] = -1 }, "spec.requiredApprovals", "should be greater than or equal to 0"),
		Entry("a negative priority", func(s obj) { s["priority"] = -1 }, "spec.priority", "should be greater than or equal to 0"),
		Entry("a user twice", func(s obj) { s["pushAllowlistUsers"] = []any{"alice", "alice"} }, "spec.pushAllowlistUsers[1]", "Duplicate value"),
	)

	DescribeTable("refuses to move a rule to another repository",
		func(edit func(spec obj), message string) {
			expectUpdateRejected(validBranchProtection(), edit, "", message)
		},
		Entry("another repository", func(s obj) { s["repository"] = "platform/other" },
			"repository is immutable: create another BranchProtection instead"),
		Entry("a repositoryRef instead", func(s obj) { delete(s, "repository"); s["repositoryRef"] = obj{"name": "website"} },
			"the rule's repository is immutable"),
	)
})
