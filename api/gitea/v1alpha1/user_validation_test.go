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
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/test/utils"
)

var userSeq int

func validUser() obj {
	userSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "User",
		"metadata":   obj{"name": fmt.Sprintf("user-%d", userSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef":       obj{"name": "gitea"},
			"username":          "alice",
			"email":             "alice@example.com",
			"passwordSecretRef": obj{"name": "alice", "key": "password"},
		},
	}
}

// usernameRules are the CEL rules of spec.username in the generated CRD of a kind.
func usernameRules(plural string) apiextensionsv1.ValidationRules {
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "config/crd/bases", "gitea.kemper.buzz_"+plural+".yaml"))
	Expect(err).NotTo(HaveOccurred())
	var crd apiextensionsv1.CustomResourceDefinition
	Expect(yaml.Unmarshal(data, &crd)).To(Succeed())
	rules := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["username"].XValidations
	Expect(rules).NotTo(BeEmpty())
	return rules
}

var _ = Describe("User admission", func() {
	It("checks a username exactly as Organization does: Gitea has one rule for both", func() {
		Expect(usernameRules("users")).To(Equal(usernameRules("organizations")))
	})

	It("admits a valid user with the defaults filled in", func() {
		u, err := create(validUser())
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("managementPolicy", "Full"))
		Expect(u.Object["spec"]).NotTo(HaveKey("mustChangePassword"), "unset: created without, never changed")
	})

	DescribeTable("admits the names Gitea admits",
		func(name string) {
			o := validUser()
			o["spec"].(obj)["username"] = name
			_, err := create(o)
			Expect(err).NotTo(HaveOccurred())
		},
		Entry("letters and digits", "Alice2"), Entry("inner dots, dashes, underscores", "a.b-c_d"),
		Entry("40 characters", strings.Repeat("a", 40)), Entry("a reserved name inside a longer one", "ghosts"),
	)

	DescribeTable("has no place for a plain password nor for a Secret in another namespace",
		func(edit func(spec obj), field string) {
			o := validUser()
			edit(o["spec"].(obj))
			_, err := create(o)
			Expect(err).To(MatchError(ContainSubstring(`unknown field "` + field + `"`)))
		},
		Entry("a password as a plain field", func(s obj) { s["password"] = "hunter2" }, "spec.password"),
		Entry("a password reference to another namespace", func(s obj) {
			s["passwordSecretRef"] = obj{"name": "alice", "key": "password", "namespace": "other"}
		}, "spec.passwordSecretRef.namespace"),
	)

	// The corpus of bad input (docs/gitea.md lists it).
	DescribeTable("rejects, with a message that says why",
		func(edit func(spec obj), field, message string) {
			o := validUser()
			edit(o["spec"].(obj))
			expectRejected(o, field, message)
		},
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("a reserved name", func(s obj) { s["username"] = "Ghost" }, "spec.username", "reserved by Gitea"),
		Entry("a reserved pattern", func(s obj) { s["username"] = "alice.gpg" }, "spec.username", "reserved by Gitea"),
		Entry("a leading dot", func(s obj) { s["username"] = ".alice" }, "spec.username", "must start with a letter or digit"),
		Entry("two separators in a row", func(s obj) { s["username"] = "a__b" }, "spec.username", "never two of those in a row"),
		Entry("41 characters", func(s obj) { s["username"] = strings.Repeat("a", 41) }, "spec.username", "may not be more than 40"),
		Entry("an email without @", func(s obj) { s["email"] = "alice.example.com" }, "spec.email", "someone@example.com"),
		Entry("a password reference without key", func(s obj) { s["passwordSecretRef"] = obj{"name": "alice"} },
			"spec.passwordSecretRef.key", "Required value"),
		Entry("a max repo creation below -1", func(s obj) { s["maxRepoCreation"] = -2 }, "spec.maxRepoCreation", "greater than or equal to -1"),
		Entry("a website that is no URL", func(s obj) { s["website"] = "alice.example.com" }, "spec.website", "http:// or https:// URL"),
		Entry("an unknown visibility", func(s obj) { s["visibility"] = "hidden" }, "spec.visibility", "Unsupported value"),
	)
})
