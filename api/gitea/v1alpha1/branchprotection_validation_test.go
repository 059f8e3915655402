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

func validBranchProtection() obj {
	return object("BranchProtection", obj{"providerRef": obj{"name": "gitea"}, "repository": "platform/website", "ruleName": "release/*"})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its repository are in
// names_validation_test.go.
var _ = Describe("BranchProtection admission", func() {
	It("admits a rule with every list empty (nobody) and no setting defaulted", func() {
		u, err := create(withSpec(validBranchProtection(), func(s obj) { s["pushAllowlistUsers"] = []any{} }))
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("pushAllowlistUsers", BeEmpty()))
		Expect(u.Object["spec"]).NotTo(HaveKey("enablePush"), "unset is unmanaged: no default may change an adopted rule")
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validBranchProtection),
		Entry("no rule name", func(s obj) { delete(s, "ruleName") }, "spec.ruleName", "Required value"),
		Entry("a rule name with a trailing space", func(s obj) { s["ruleName"] = "main " }, "spec.ruleName", "must not start or end with a space"),
		Entry("a 256-character rule name", func(s obj) { s["ruleName"] = strings.Repeat("r", 256) }, "spec.ruleName", "may not be more than 255"),
		Entry("negative approvals", func(s obj) { s["requiredApprovals"] = -1 }, "spec.requiredApprovals", "should be greater than or equal to 0"),
		Entry("a negative priority", func(s obj) { s["priority"] = -1 }, "spec.priority", "should be greater than or equal to 0"),
		Entry("a user twice", func(s obj) { s["pushAllowlistUsers"] = []any{"alice", "alice"} }, "spec.pushAllowlistUsers[1]", "Duplicate value"),
	)
})
