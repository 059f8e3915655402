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

func validOrganization() obj {
	return object("Organization", obj{"providerRef": obj{"name": "gitea"}, "username": "platform-team"})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its username are in names_validation_test.go.
var _ = Describe("Organization admission", func() {
	It("admits a valid organization with the defaults filled in", func() {
		u, err := create(validOrganization())
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("managementPolicy", "Full"))
		Expect(u.Object["spec"]).NotTo(HaveKey("deletionPolicy"), "unset means: by origin")
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validOrganization),
		Entry("no providerRef", func(s obj) { delete(s, "providerRef") }, "spec.providerRef", "Required value"),
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("a website that is no URL", func(s obj) { s["website"] = "example.com" }, "spec.website", "http:// or https:// URL"),
		Entry("an unknown visibility", func(s obj) { s["visibility"] = "secret" }, "spec.visibility", "Unsupported value"),
		Entry("an unknown management policy", func(s obj) { s["managementPolicy"] = "Sometimes" }, "spec.managementPolicy", "Unsupported value"),
		Entry("an unknown deletion policy", func(s obj) { s["deletionPolicy"] = "Archive" }, "spec.deletionPolicy", "Unsupported value"),
	)
})
