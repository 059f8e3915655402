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

func validWebhook() obj {
	return object("Webhook", obj{"providerRef": obj{"name": "gitea"}, "repository": "platform/website", "url": "https://ci.example.com/hook"})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its repository and organization are in
// names_validation_test.go.
var _ = Describe("Webhook admission", func() {
	It("admits a valid webhook with the defaults filled in", func() {
		u, err := create(validWebhook())
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Object["spec"]).To(HaveKeyWithValue("type", "gitea"))
		Expect(u.Object["spec"]).NotTo(HaveKey("active"), "unset is unmanaged: no default may change an adopted hook")
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validWebhook),
		Entry("no target", func(s obj) { delete(s, "repository") }, "spec",
			"set exactly one of repository, repositoryRef, organization and organizationRef"),
		Entry("a repository and an organization", func(s obj) { s["organization"] = "platform" }, "spec",
			"set exactly one of repository, repositoryRef, organization and organizationRef"),
		Entry("no url", func(s obj) { delete(s, "url") }, "spec", "set exactly one of url and urlSecretRef"),
		Entry("a url and a urlSecretRef", func(s obj) { s["urlSecretRef"] = obj{"name": "chat", "key": "url"} }, "spec",
			"set exactly one of url and urlSecretRef"),
		Entry("a url that is no http URL", func(s obj) { s["url"] = "ftp://ci.example.com" }, "spec.url", "url must be an http:// or https:// URL"),
		Entry("a url with a user name and password", func(s obj) { s["url"] = "https://ci:hunter2@ci.example.com/hook" }, "spec.url",
			"url must not hold a user name or password: put the URL in a Secret and name it in urlSecretRef"),
		Entry("a url with a user name", func(s obj) { s["url"] = "http://token@ci.example.com" }, "spec.url",
			"url must not hold a user name or password"),
		Entry("a url secret reference without its key", func(s obj) { delete(s, "url"); s["urlSecretRef"] = obj{"name": "chat"} },
			"spec.urlSecretRef.key", "Required value"),
		Entry("an unknown type", func(s obj) { s["type"] = "jenkins" }, "spec.type", "Unsupported value"),
		Entry("an unknown content type", func(s obj) { s["contentType"] = "xml" }, "spec.contentType", "Unsupported value"),
		Entry("an unknown event", func(s obj) { s["events"] = []any{"push", "merge"} }, "spec.events[1]", "Unsupported value"),
		Entry("an event twice", func(s obj) { s["events"] = []any{"push", "push"} }, "spec.events[1]", "Duplicate value"),
		Entry("slack without its channel", func(s obj) { s["type"] = "slack" }, "spec", "slack is required for, and only for, type slack"),
		Entry("slack settings on a gitea hook", func(s obj) { s["slack"] = obj{"channel": "#ci"} }, "spec",
			"slack is required for, and only for, type slack"),
		Entry("a secret reference without its key", func(s obj) { s["secretRef"] = obj{"name": "ci"} }, "spec.secretRef.key", "Required value"),
		// Strict field validation, as kubectl does it: there is no field for a secret's value.
		Entry("a secret as a plain field", func(s obj) { s["secret"] = "hunter2" }, "", `unknown field "spec.secret"`),
	)

	It("admits a url from a Secret, and a plain url with an @ after its host", func() {
		hook := validWebhook()
		spec := specOf(hook)
		delete(spec, "url")
		spec["type"], spec["slack"], spec["urlSecretRef"] = "slack", obj{"channel": "#ci"}, obj{"name": "chat", "key": "url"}
		_, err := create(hook)
		Expect(err).NotTo(HaveOccurred())

		hook = validWebhook()
		specOf(hook)["url"] = "https://ci.example.com/notify/@team?to=a@example.com"
		_, err = create(hook)
		Expect(err).NotTo(HaveOccurred())
	})

	DescribeTable("refuses to move a webhook to another target", refusesOnUpdate(validWebhook),
		Entry("an organization instead of a repository", func(s obj) { delete(s, "repository"); s["organization"] = "platform" },
			"spec", "the webhook's repository or organization is immutable"),
	)

	It("admits a change of everything but the target", func() {
		u, err := create(validWebhook())
		Expect(err).NotTo(HaveOccurred())
		spec := specOf(u.Object)
		spec["url"], spec["type"], spec["slack"] = "https://chat.example.com/x", "slack", obj{"channel": "#ci"}
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})
})
