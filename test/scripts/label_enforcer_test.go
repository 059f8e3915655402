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

package scripts_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	enforcer       = "label-enforcer"
	enforceLabel   = "nuop.kemper.buzz/enforce-labels"
	requiredLabels = "nuop.kemper.buzz/required-labels"
)

// writeBack does what the engine does with an object a script printed: an update carrying the
// resourceVersion the script was given.
func writeBack(obj *unstructured.Unstructured) {
	_, err := dyn.Resource(configMaps).Namespace(obj.GetNamespace()).Update(context.Background(), obj, metav1.UpdateOptions{})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
}

var _ = Describe("label-enforcer", func() {
	var ns string

	BeforeEach(func() {
		ns = newNamespace("enforce")
	})

	create := func(name, required string, labels map[string]string) *unstructured.Unstructured {
		all := map[string]string{enforceLabel: "yes"}
		for k, v := range labels {
			all[k] = v
		}
		createConfigMap(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:   ns,
				Name:        name,
				Labels:      all,
				Annotations: map[string]string{requiredLabels: required},
			},
			// Values a careless YAML round trip would turn into booleans, numbers or nulls.
			Data: map[string]string{
				"yes": "yes", "bool": "true", "octal": "0123", "float": "1e3", "null": "null", "empty": "",
				"multi": "line one\nline two\n", "time": "2024-01-01T00:00:00Z",
			},
		})
		return fetch(configMaps, ns, name)
	}

	It("prints the whole object with the required labels set and exits 2, then exits 0", func() {
		in := create("app", " team=blue, example.com/tier=backend,,empty-ok=", map[string]string{"team": "red"})
		res := runScript(enforcer, "reconcile", in)
		Expect(res.code).To(Equal(2), "%s", res)

		out := parseObject(res.stdout)
		Expect(out.GetAPIVersion()).To(Equal("v1"))
		Expect(out.GetKind()).To(Equal("ConfigMap"))
		Expect(out.GetNamespace()).To(Equal(ns))
		Expect(out.GetName()).To(Equal("app"))
		Expect(out.GetResourceVersion()).To(Equal(in.GetResourceVersion()))
		Expect(out.GetLabels()).To(Equal(map[string]string{
			enforceLabel: "yes", "team": "blue", "example.com/tier": "backend", "empty-ok": "",
		}))
		Expect(out.GetAnnotations()).To(Equal(in.GetAnnotations()))
		Expect(out.Object["data"]).To(Equal(in.Object["data"]), "the rest of the object is unchanged")

		writeBack(out)
		res = runScript(enforcer, "reconcile", fetch(configMaps, ns, "app"))
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stdout).To(BeEmpty())
		Expect(getConfigMap(ns, "app").Data).To(HaveKeyWithValue("yes", "yes"))
	})

	It("exits 0 without output when the labels are already set or none are required", func() {
		res := runScript(enforcer, "reconcile", create("fine", "team=blue", map[string]string{"team": "blue"}))
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stdout).To(BeEmpty())

		res = runScript(enforcer, "reconcile", create("none", "", nil))
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stdout).To(BeEmpty())
	})

	DescribeTable("exits 1 and prints nothing to stdout on a malformed annotation",
		func(required, complaint string) {
			res := runScript(enforcer, "reconcile", create("bad", required, nil))
			Expect(res.code).To(Equal(1), "%s", res)
			Expect(res.stdout).To(BeEmpty())
			Expect(res.stderr).To(ContainSubstring(complaint))
		},
		Entry("no =", "team=blue,oops", "'oops' is not key=value"),
		Entry("bad value", "team=blue team", "'blue team' is not a valid label value"),
		Entry("bad key", "Not.A.Prefix/x=1", "'Not.A.Prefix/x' is not a valid label key"),
	)
})
