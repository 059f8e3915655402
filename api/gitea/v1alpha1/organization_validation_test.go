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

	"kemper.buzz/nuop/test/utils"
)

var orgSeq int

func validOrganization() obj {
	orgSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "Organization",
		"metadata":   obj{"name": fmt.Sprintf("org-%d", orgSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef": obj{"name": "gitea"},
			"username":    "platform-team",
		},
	}
}

// expectRejected creates o and expects exactly one cause, on field, saying message.
func expectRejected(o obj, field, message string) {
	_, err := create(o)
	Expect(err).To(HaveOccurred(), "the API server admitted it")
	GinkgoWriter.Printf("rejected: %v\n", err)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
	Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
		"exactly one cause, on %s, saying %q", field, message)
}

var _ = Describe("Organization admission", func() {
	It("admits a valid organization with the defaults filled in", func() {
		u, err := create(validOrganization())
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("managementPolicy", "Full"))
		Expect(u.Object["spec"]).NotTo(HaveKey("deletionPolicy"), "unset means: by origin")
	})

	DescribeTable("admits the names Gitea admits",
		func(name string) {
			o := validOrganization()
			o["spec"].(obj)["username"] = name
			_, err := create(o)
			Expect(err).NotTo(HaveOccurred())
		},
		Entry("letters and digits", "Acme2"), Entry("inner dots, dashes, underscores", "a.b-c_d"),
		Entry("40 characters", strings.Repeat("a", 40)), Entry("a name only reserved in another case pattern", "apis"),
	)

	DescribeTable("rejects, with a message that says why",
		func(edit func(spec obj), field, message string) {
			o := validOrganization()
			edit(o["spec"].(obj))
			expectRejected(o, field, message)
		},
		Entry("no providerRef", func(s obj) { delete(s, "providerRef") }, "spec.providerRef", "Required value"),
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("a reserved name", func(s obj) { s["username"] = "API" }, "spec.username", "reserved by Gitea"),
		Entry("a reserved pattern", func(s obj) { s["username"] = "team.keys" }, "spec.username", "reserved by Gitea"),
		Entry("a leading dash", func(s obj) { s["username"] = "-team" }, "spec.username", "must start with a letter or digit"),
		Entry("a trailing dot", func(s obj) { s["username"] = "team." }, "spec.username", "never two of those in a row nor one at the end"),
		Entry("two separators in a row", func(s obj) { s["username"] = "a--b" }, "spec.username", "never two of those in a row"),
		Entry("a space", func(s obj) { s["username"] = "a b" }, "spec.username", "must start with a letter or digit"),
		Entry("41 characters", func(s obj) { s["username"] = strings.Repeat("a", 41) }, "spec.username", "may not be more than 40"),
		Entry("a website that is no URL", func(s obj) { s["website"] = "example.com" }, "spec.website", "http:// or https:// URL"),
		Entry("an unknown visibility", func(s obj) { s["visibility"] = "secret" }, "spec.visibility", "Unsupported value"),
		Entry("an unknown management policy", func(s obj) { s["managementPolicy"] = "Sometimes" }, "spec.managementPolicy", "Unsupported value"),
		Entry("an unknown deletion policy", func(s obj) { s["deletionPolicy"] = "Archive" }, "spec.deletionPolicy", "Unsupported value"),
	)
})
