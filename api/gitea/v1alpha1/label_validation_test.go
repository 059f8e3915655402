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

func validLabel() obj {
	return object("Label", obj{
		"providerRef": obj{"name": "gitea"},
		"repository":  "platform/app",
		"name":        "kind/bug",
		"color":       "#e11",
	})
}

// The corpus of bad input (docs/gitea.md lists it); the rules on its repository are in
// names_validation_test.go.
var _ = Describe("Label admission", func() {
	It("admits a valid label", func() {
		_, err := create(validLabel())
		Expect(err).NotTo(HaveOccurred())
	})

	DescribeTable("rejects, with a message that says why", rejectsOnCreate(validLabel),
		Entry("no name", func(s obj) { delete(s, "name") }, "spec.name", "Required value"),
		Entry("a name with surrounding blanks", func(s obj) { s["name"] = " bug" }, "spec.name", "white space"),
		Entry("256 characters", func(s obj) { s["name"] = strings.Repeat("a", 256) }, "spec.name", "may not be more than 255"),
		Entry("a color that is no hex color", func(s obj) { s["color"] = "red" }, "spec.color", "hex color"),
		Entry("a color of four digits", func(s obj) { s["color"] = "#abcd" }, "spec.color", "hex color"),
	)
})
