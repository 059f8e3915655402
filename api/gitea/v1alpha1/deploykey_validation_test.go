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

const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci@example.com"

func validDeployKey() obj {
	return object("DeployKey", obj{"providerRef": obj{"name": "gitea"}, "repository": "platform/website", "key": testPublicKey})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its repository are in
// names_validation_test.go.
var _ = Describe("DeployKey admission", func() {
	DescribeTable("admits the keys Gitea admits",
		func(key string) {
			_, err := create(withSpec(validDeployKey(), func(s obj) { s["key"] = key }))
			Expect(err).NotTo(HaveOccurred())
		},
		Entry("with a comment", testPublicKey),
		Entry("without a comment", strings.Join(strings.Fields(testPublicKey)[:2], " ")),
		Entry("with a final newline", testPublicKey+"\n"),
	)

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validDeployKey),
		Entry("no key", func(s obj) { delete(s, "key") }, "spec.key", "Required value"),
		Entry("a private key", func(s obj) { s["key"] = "-----BEGIN OPENSSH PRIVATE KEY-----" }, "spec.key",
			"key must be one SSH public key in authorized_keys format"),
		Entry("two keys", func(s obj) { s["key"] = testPublicKey + "\n" + testPublicKey }, "spec.key",
			"key must be one SSH public key in authorized_keys format"),
		Entry("an unknown key type", func(s obj) { s["key"] = "ssh-foo AAAA" }, "spec.key",
			"key must be one SSH public key in authorized_keys format"),
		Entry("an empty title", func(s obj) { s["title"] = "" }, "spec.title", "at least 1 chars long"),
		Entry("a 51-character title", func(s obj) { s["title"] = strings.Repeat("t", 51) }, "spec.title", "may not be more than 50"),
	)
})
