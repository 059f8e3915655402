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
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/test/utils"
)

// repoPath is a path under the repository root.
func repoPath(elem ...string) string {
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Join(append([]string{root}, elem...)...)
}

// createAsIs creates every object of a manifest as it is, the way `kubectl create -f` would: a namespaced
// object without a namespace goes to namespace. It returns the NuOperators as stored.
func createAsIs(path, namespace string) []*unstructured.Unstructured {
	var created []*unstructured.Unstructured
	objects, err := utils.ReadObjects(path)
	Expect(err).NotTo(HaveOccurred())
	for _, u := range objects {
		sent := u.DeepCopy()
		namespaced, err := k8sClient.IsObjectNamespaced(u)
		Expect(err).NotTo(HaveOccurred(), "%s: %s", path, u.GetKind())
		if namespaced && u.GetNamespace() == "" {
			u.SetNamespace(namespace)
		}
		Expect(k8sClient.Create(ctx, u, client.FieldValidation("Strict"))).To(Succeed(),
			"%s: %s %s", path, u.GetKind(), u.GetName())
		if u.GetKind() != "NuOperator" {
			continue
		}
		// Nothing the manifest says was dropped or changed: the stored spec holds the sent one.
		Expect(u.Object["spec"]).To(includeJSON(sent.Object["spec"]), "%s: %s", path, u.GetName())
		created = append(created, u)
	}
	return created
}

var _ = Describe("Manifests", func() {
	It("admits every sample (NuOperators unchanged), and the samples kustomization lists them all", func() {
		files, err := filepath.Glob(repoPath("config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())

		var kustomization struct {
			Resources []string `json:"resources"`
		}
		data, err := os.ReadFile(repoPath("config", "samples", "kustomization.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, &kustomization)).To(Succeed())

		var samples []string
		for _, f := range files {
			if filepath.Base(f) != "kustomization.yaml" {
				samples = append(samples, filepath.Base(f))
			}
		}
		Expect(samples).NotTo(BeEmpty())
		Expect(kustomization.Resources).To(ConsistOf(samples))

		// Every sample is admitted (the Gitea ones too: the suite installs every CRD); a NuOperator sample
		// is named after the group as Kubebuilder names samples.
		for _, f := range samples {
			nuops := createAsIs(repoPath("config", "samples", f), testNamespace)
			if strings.HasPrefix(f, "kemper.buzz_") {
				Expect(nuops).NotTo(BeEmpty(), "%s holds no NuOperator", f)
			}
		}
	})

	It("admits nuop's own example manifests unchanged", func() {
		files, err := filepath.Glob(repoPath("config", "samples", "nuop-compat", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(3))
		for _, f := range files {
			nuops := createAsIs(f, "default")
			Expect(nuops).To(HaveLen(1), "%s", f)
			spec := nuops[0].Object["spec"].(obj)
			// Defaults fill only the fields nuop never had.
			Expect(spec).To(HaveKeyWithValue("imagePullPolicy", "IfNotPresent"))
			Expect(spec["sources"].([]any)[0]).To(HaveKeyWithValue("interval", "5m"))
		}
	})
})

// includeJSON matches a decoded JSON value holding everything expected holds (objects may have more keys,
// as defaults add them, and lack those expected null; lists must match element for element).
func includeJSON(expected any) OmegaMatcher {
	switch e := expected.(type) {
	case map[string]any:
		var matchers []OmegaMatcher
		for k, v := range e {
			if v == nil {
				// null where nuop's schema was nullable means unset, and the API server drops it.
				matchers = append(matchers, Or(Not(HaveKey(k)), HaveKeyWithValue(k, BeNil())))
				continue
			}
			matchers = append(matchers, HaveKeyWithValue(k, includeJSON(v)))
		}
		return SatisfyAll(append(matchers, BeAssignableToTypeOf(map[string]any{}))...)
	case []any:
		elems := make([]any, 0, len(e))
		for _, v := range e {
			elems = append(elems, includeJSON(v))
		}
		return HaveExactElements(elems...)
	case int64, float64, int:
		return BeNumerically("==", e)
	default:
		return Equal(e)
	}
}
