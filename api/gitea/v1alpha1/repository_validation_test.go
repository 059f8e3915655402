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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func validRepository() obj {
	return object("Repository", obj{"providerRef": obj{"name": "gitea"}, "owner": "platform", "name": "app"})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its owner and name are in
// names_validation_test.go.
var _ = Describe("Repository admission", func() {
	It("admits a valid repository, and a rename", func() {
		u, err := create(validRepository())
		Expect(err).NotTo(HaveOccurred())
		Expect(unstructured.SetNestedField(u.Object, "app2", "spec", "name")).To(Succeed())
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validRepository),
		Entry("neither owner nor organizationRef", func(s obj) { delete(s, "owner") }, "spec", "exactly one of owner and organizationRef"),
		Entry("both owner and organizationRef", func(s obj) { s["organizationRef"] = obj{"name": "platform"} }, "spec", "exactly one of owner and organizationRef"),
		Entry("no name", func(s obj) { delete(s, "name") }, "spec.name", "Required value"),
		Entry("an upper-case topic", func(s obj) { s["topics"] = []any{"Go"} }, "spec.topics[0]", "should match"),
		Entry("a topic too long", func(s obj) { s["topics"] = []any{strings.Repeat("a", 36)} }, "spec.topics[0]", "may not be more than 35"),
		Entry("a repeated topic", func(s obj) { s["topics"] = []any{"go", "go"} }, "spec.topics[1]", "Duplicate value"),
		Entry("an unknown merge style", func(s obj) { s["defaultMergeStyle"] = "octopus" }, "spec.defaultMergeStyle", "Unsupported value"),
		Entry("a website that is no URL", func(s obj) { s["website"] = "example.com" }, "spec.website", "http:// or https:// URL"),
		Entry("a license without autoInit", func(s obj) { s["license"] = "MIT" }, "spec", "need autoInit: true"),
	)

	DescribeTable("refuses changes it cannot make", refusesOnUpdate(validRepository),
		Entry("another owner", func(s obj) { s["owner"] = "other" }, "spec", "owner and organizationRef are immutable"),
		Entry("an organizationRef instead of the owner", func(s obj) {
			delete(s, "owner")
			s["organizationRef"] = obj{"name": "platform"}
		}, "spec", "are immutable"),
		Entry("autoInit added after the create", func(s obj) { s["autoInit"] = true }, "spec", "used only when the repository is created"),
	)
})
