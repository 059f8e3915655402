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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func validUser() obj {
	return object("User", obj{
		"providerRef":       obj{"name": "gitea"},
		"username":          "alice",
		"email":             "alice@example.com",
		"passwordSecretRef": obj{"name": "alice", "key": "password"},
	})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its username are in names_validation_test.go.
var _ = Describe("User admission", func() {
	It("admits a valid user with the defaults filled in", func() {
		u, err := create(validUser())
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("managementPolicy", "Full"))
		Expect(u.Object["spec"]).NotTo(HaveKey("mustChangePassword"), "unset: created without, never changed")
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validUser),
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("an email without @", func(s obj) { s["email"] = "alice.example.com" }, "spec.email", "someone@example.com"),
		Entry("a password reference without key", func(s obj) { s["passwordSecretRef"] = obj{"name": "alice"} },
			"spec.passwordSecretRef.key", "Required value"),
		Entry("a max repo creation below -1", func(s obj) { s["maxRepoCreation"] = -2 }, "spec.maxRepoCreation", "greater than or equal to -1"),
		Entry("a website that is no URL", func(s obj) { s["website"] = "alice.example.com" }, "spec.website", "http:// or https:// URL"),
		Entry("an unknown visibility", func(s obj) { s["visibility"] = "hidden" }, "spec.visibility", "Unsupported value"),
		// Strict field validation, as kubectl does it: there is no place for a plain password, nor for a
		// Secret in another namespace.
		Entry("a password as a plain field", func(s obj) { s["password"] = "hunter2" }, "", `unknown field "spec.password"`),
		Entry("a password reference to another namespace", func(s obj) {
			s["passwordSecretRef"] = obj{"name": "alice", "key": "password", "namespace": "other"}
		}, "", `unknown field "spec.passwordSecretRef.namespace"`),
	)
})
