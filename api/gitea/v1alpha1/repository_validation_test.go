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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/test/utils"
)

var repoSeq int

func validRepository() obj {
	repoSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "Repository",
		"metadata":   obj{"name": fmt.Sprintf("repo-%d", repoSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef": obj{"name": "gitea"},
			"owner":       "platform",
			"name":        "app",
		},
	}
}

// expectUpdateRefused creates o, edits its spec and expects the update refused with exactly one cause, on
// field, saying message.
func expectUpdateRefused(o obj, edit func(spec obj), field, message string) {
	u, err := create(o)
	Expect(err).NotTo(HaveOccurred())
	edit(u.Object["spec"].(obj))
	err = k8sClient.Update(ctx, u, client.FieldValidation("Strict"))
	Expect(err).To(HaveOccurred(), "the API server admitted the update")
	GinkgoWriter.Printf("refused: %v\n", err)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
	Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
		"exactly one cause, on %s, saying %q", field, message)
}

// rejectsOnCreate is the table body of the rejected inputs of a kind.
func rejectsOnCreate(valid func() obj) func(edit func(spec obj), field, message string) {
	return func(edit func(spec obj), field, message string) {
		o := valid()
		edit(o["spec"].(obj))
		expectRejected(o, field, message)
	}
}

// refusesOnUpdate is the table body of the refused changes of a kind.
func refusesOnUpdate(valid func() obj) func(edit func(spec obj), field, message string) {
	return func(edit func(spec obj), field, message string) {
		expectUpdateRefused(valid(), edit, field, message)
	}
}

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
		Entry("a name with a slash", func(s obj) { s["name"] = "a/b" }, "spec.name", "only letters, digits"),
		Entry("a name with two dots", func(s obj) { s["name"] = "a..b" }, "spec.name", "never two dots in a row"),
		Entry("a reserved name", func(s obj) { s["name"] = "-" }, "spec.name", "reserved by Gitea"),
		Entry("a reserved suffix", func(s obj) { s["name"] = "app.Git" }, "spec.name", "reserved by Gitea"),
		Entry("101 characters", func(s obj) { s["name"] = strings.Repeat("a", 101) }, "spec.name", "may not be more than 100"),
		Entry("an owner Gitea refuses", func(s obj) { s["owner"] = "-team" }, "spec.owner", "must be a Gitea user or organization name"),
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
