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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var collabSeq int

func validCollaborator() obj {
	collabSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "Collaborator",
		"metadata":   obj{"name": fmt.Sprintf("collab-%d", collabSeq), "namespace": testNamespace},
		"spec": obj{
			"providerRef":   obj{"name": "gitea"},
			"repositoryRef": obj{"name": "app"},
			"username":      "alice",
			"permission":    "write",
		},
	}
}

var _ = Describe("Collaborator admission", func() {
	It("admits a valid collaborator, and a permission change", func() {
		u, err := create(validCollaborator())
		Expect(err).NotTo(HaveOccurred())
		u.Object["spec"].(obj)["permission"] = "admin"
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validCollaborator),
		Entry("neither repository nor repositoryRef", func(s obj) { delete(s, "repositoryRef") }, "spec", "exactly one of repository and repositoryRef"),
		Entry("both repository and repositoryRef", func(s obj) { s["repository"] = "platform/app" }, "spec", "exactly one of repository and repositoryRef"),
		Entry("no username", func(s obj) { delete(s, "username") }, "spec.username", "Required value"),
		Entry("a username Gitea refuses", func(s obj) { s["username"] = "al ice" }, "spec.username", "must be a Gitea user name"),
		Entry("an unknown permission", func(s obj) { s["permission"] = "owner" }, "spec.permission", "Unsupported value"),
		Entry("a repository with two slashes", func(s obj) {
			delete(s, "repositoryRef")
			s["repository"] = "a/b/c"
		}, "spec.repository", `must be "owner/name"`),
	)

	DescribeTable("refuses changes it cannot make", refusesOnUpdate(validCollaborator),
		Entry("another user", func(s obj) { s["username"] = "bob" }, "spec.username", "username is immutable"),
		Entry("another repositoryRef", func(s obj) { s["repositoryRef"] = obj{"name": "other"} }, "spec", "repository and repositoryRef are immutable"),
	)
})
