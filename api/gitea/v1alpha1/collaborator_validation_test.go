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

func validCollaborator() obj {
	return object("Collaborator", obj{
		"providerRef": obj{"name": "gitea"},
		"repository":  "platform/app",
		"username":    "alice",
		"permission":  "write",
	})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its repository and username are in
// names_validation_test.go.
var _ = Describe("Collaborator admission", func() {
	It("admits a valid collaborator, and a permission change", func() {
		u, err := create(validCollaborator())
		Expect(err).NotTo(HaveOccurred())
		specOf(u.Object)["permission"] = "admin"
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validCollaborator),
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("an unknown permission", func(s obj) { s["permission"] = "owner" }, "spec.permission", "Unsupported value"),
	)

	DescribeTable("refuses changes it cannot make", refusesOnUpdate(validCollaborator),
		Entry("another user", func(s obj) { s["username"] = "bob" }, "spec.username", "username is immutable"),
	)
})
