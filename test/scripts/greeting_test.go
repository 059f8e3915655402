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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var greetings = schema.GroupVersionResource{Group: "examples.kemper.buzz", Version: "v1alpha1", Resource: "greetings"}

var _ = Describe("greeting", func() {
	It("prints the Greeting with its status set and exits 2, then exits 0 until spec changes", func() {
		ns := newNamespace("greet")
		g := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "examples.kemper.buzz/v1alpha1",
			"kind":       "Greeting",
			"metadata":   map[string]any{"name": "hello", "namespace": ns},
			"spec":       map[string]any{"name": "World"},
		}}
		client := dyn.Resource(greetings).Namespace(ns)
		_, err := client.Create(context.Background(), g, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		// reconcile runs the script, checks the printed object, and writes its status back as the engine
		// does (through the status subresource).
		reconcile := func(wantMessage string, wantGeneration int64) {
			in := fetch(greetings, ns, "hello")
			res := runScript("greeting", "reconcile", in)
			ExpectWithOffset(1, res.code).To(Equal(2), "%s", res)
			out := parseObject(res.stdout)
			ExpectWithOffset(1, out.GetAPIVersion()).To(Equal(in.GetAPIVersion()))
			ExpectWithOffset(1, out.GetKind()).To(Equal("Greeting"))
			ExpectWithOffset(1, out.GetNamespace()).To(Equal(ns))
			ExpectWithOffset(1, out.GetName()).To(Equal("hello"))
			ExpectWithOffset(1, out.Object["spec"]).To(Equal(in.Object["spec"]))
			message, _, _ := unstructured.NestedString(out.Object, "status", "message")
			ExpectWithOffset(1, message).To(Equal(wantMessage))
			generation, _, _ := unstructured.NestedInt64(out.Object, "status", "observedGeneration")
			ExpectWithOffset(1, generation).To(Equal(wantGeneration))
			_, err := client.UpdateStatus(context.Background(), out, metav1.UpdateOptions{})
			ExpectWithOffset(1, err).NotTo(HaveOccurred())

			res = runScript("greeting", "reconcile", fetch(greetings, ns, "hello"))
			ExpectWithOffset(1, res.code).To(Equal(0), "%s", res)
			ExpectWithOffset(1, res.stdout).To(BeEmpty())
		}

		reconcile("Hello, World", 1)

		current := fetch(greetings, ns, "hello")
		Expect(unstructured.SetNestedField(current.Object, "nuop", "spec", "name")).To(Succeed())
		_, err = client.Update(context.Background(), current, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		reconcile("Hello, nuop", 2)
	})
})
