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
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	replicator     = "config-replicator"
	replicateLabel = "nuop.kemper.buzz/replicate"
	replicateTo    = "nuop.kemper.buzz/replicate-to"
	replicaOf      = "nuop.kemper.buzz/replica-of"
	managedBy      = "app.kubernetes.io/managed-by"
)

// source returns a ConfigMap the replicator selects, copying into targets.
func source(namespace, name, targets string, data map[string]string, binaryData map[string][]byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   namespace,
			Name:        name,
			Labels:      map[string]string{replicateLabel: "yes"},
			Annotations: map[string]string{replicateTo: targets},
		},
		Data:       data,
		BinaryData: binaryData,
	}
}

func reconcileSource(namespace, name string) runResult {
	return runScript(replicator, "reconcile", fetch(configMaps, namespace, name))
}

func finalizeSource(namespace, name string) runResult {
	return runScript(replicator, "finalize", fetch(configMaps, namespace, name))
}

// expectCopy checks that namespace/name is this source's copy with exactly the source's content.
func expectCopy(namespace string, src *corev1.ConfigMap) {
	cm := getConfigMap(namespace, src.Name)
	ref := src.Namespace + "." + src.Name
	ExpectWithOffset(1, cm.Labels).To(HaveKeyWithValue(managedBy, "nuop"))
	ExpectWithOffset(1, cm.Labels).To(HaveKeyWithValue(replicaOf, ref))
	ExpectWithOffset(1, cm.Labels).NotTo(HaveKey(replicateLabel), "a copy must not be selected itself")
	ExpectWithOffset(1, cm.Annotations).To(HaveKeyWithValue(replicaOf, ref))
	ExpectWithOffset(1, cm.Data).To(Equal(src.Data))
	ExpectWithOffset(1, cm.BinaryData).To(Equal(src.BinaryData))
}

var _ = Describe("config-replicator", Ordered, func() {
	const name = "settings"
	var (
		srcNS, nsA, nsB, nsC, otherNS string
		foreign                       *corev1.ConfigMap
		copies                        map[string]string // namespace -> resourceVersion of the copy
	)

	BeforeAll(func() {
		srcNS = newNamespace("src")
		nsA = newNamespace("a")
		nsB = newNamespace("b")
		nsC = newNamespace("c")
		otherNS = newNamespace("other")
		// Same name in a target namespace, not made by the replicator. It even carries the replica-of
		// label (someone copied labels around), but not the annotation: it is still not a copy.
		foreign = createConfigMap(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: nsC,
				Name:      name,
				Labels:    map[string]string{replicaOf: srcNS + "." + name},
			},
			Data: map[string]string{"owner": "someone else"},
		})
		createConfigMap(source(srcNS, name, " "+nsA+" , "+nsB+",,"+nsC+", missing-ns, "+srcNS,
			map[string]string{"greeting": "hello", "flag": "yes", "port": "0123"},
			map[string][]byte{"blob": {0, 1, 2, 255}}))
	})

	// update changes the ConfigMap called name in namespace.
	update := func(namespace string, mutate func(*corev1.ConfigMap)) {
		cm := getConfigMap(namespace, name)
		mutate(cm)
		_, err := clientset.CoreV1().ConfigMaps(namespace).Update(context.Background(), cm, metav1.UpdateOptions{})
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
	}

	// expectForeignUntouched checks the foreign ConfigMap still is exactly what its owner made.
	expectForeignUntouched := func() {
		cm := getConfigMap(nsC, name)
		ExpectWithOffset(1, cm.ResourceVersion).To(Equal(foreign.ResourceVersion))
		ExpectWithOffset(1, cm.Data).To(Equal(foreign.Data))
	}

	It("creates copies in the annotated namespaces and exits 2", func() {
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		Expect(res.stdout).To(BeEmpty(), "nothing to write back")
		src := getConfigMap(srcNS, name)
		copies = map[string]string{}
		for _, ns := range []string{nsA, nsB} {
			expectCopy(ns, src)
			copies[ns] = getConfigMap(ns, name).ResourceVersion
		}
		Expect(configMapExists("missing-ns", name)).To(BeFalse())
		Expect(res.stderr).To(ContainSubstring("missing-ns"))
		Expect(res.stderr).To(ContainSubstring(nsC))
		expectForeignUntouched()
		Expect(getConfigMap(srcNS, name).ResourceVersion).To(Equal(src.ResourceVersion), "the source is not written")
	})

	It("changes nothing on a second run and exits 0", func() {
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
		for ns, rv := range copies {
			Expect(getConfigMap(ns, name).ResourceVersion).To(Equal(rv))
		}
		expectForeignUntouched()
	})

	It("propagates a data change, including removed keys", func() {
		update(srcNS, func(cm *corev1.ConfigMap) {
			cm.Data = map[string]string{"greeting": "hi", "new": "true"}
			cm.BinaryData = nil
		})
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		src := getConfigMap(srcNS, name)
		expectCopy(nsA, src)
		expectCopy(nsB, src)
		expectForeignUntouched()

		res = reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
	})

	It("restores a copy edited by hand, keeping labels others added", func() {
		update(nsA, func(cm *corev1.ConfigMap) {
			cm.Data["extra"] = "drift"
			cm.Labels["team"] = "blue"
		})
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		expectCopy(nsA, getConfigMap(srcNS, name))
		Expect(getConfigMap(nsA, name).Labels).To(HaveKeyWithValue("team", "blue"))
	})

	It("deletes its copy in a namespace removed from the annotation", func() {
		update(srcNS, func(cm *corev1.ConfigMap) { cm.Annotations[replicateTo] = nsB + "," + nsC })
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		Expect(configMapExists(nsA, name)).To(BeFalse())
		expectCopy(nsB, getConfigMap(srcNS, name))
		expectForeignUntouched()

		res = reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
	})

	It("skips a namespace being deleted without failing", func() {
		dying := newNamespace("dying")
		// envtest runs no namespace controller: the namespace stays Terminating.
		Expect(clientset.CoreV1().Namespaces().Delete(context.Background(), dying, metav1.DeleteOptions{})).To(Succeed())
		update(srcNS, func(cm *corev1.ConfigMap) { cm.Annotations[replicateTo] = nsB + "," + nsC + "," + dying })
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stderr).To(ContainSubstring(dying))
		Expect(configMapExists(dying, name)).To(BeFalse())
	})

	It("leaves another source's copy alone, and that source leaves its own copies' rivals alone", func() {
		// A second source with the same name in another namespace, targeting nsA (free) and nsB (taken).
		createConfigMap(source(otherNS, name, nsA+","+nsB, map[string]string{"from": "other"}, nil))
		before := getConfigMap(nsB, name)
		res := reconcileSource(otherNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		Expect(res.stderr).To(ContainSubstring(nsB))
		expectCopy(nsA, getConfigMap(otherNS, name))
		Expect(getConfigMap(nsB, name).ResourceVersion).To(Equal(before.ResourceVersion))

		// The first source sees nsA's ConfigMap as foreign too and does not target it anyway.
		res = reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
		expectCopy(nsA, getConfigMap(otherNS, name))
	})

	It("finalize deletes only the copies this source made", func() {
		res := finalizeSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stdout).To(BeEmpty())
		Expect(configMapExists(nsB, name)).To(BeFalse())
		expectForeignUntouched()
		Expect(configMapExists(srcNS, name)).To(BeTrue(), "the source itself is the engine's business")
		expectCopy(nsA, getConfigMap(otherNS, name))

		res = finalizeSource(otherNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(configMapExists(nsA, name)).To(BeFalse())
		expectForeignUntouched()

		// Nothing left to delete is not an error.
		res = finalizeSource(srcNS, name)
		Expect(res.code).To(Equal(0), "%s", res)
	})

	It("hashes a source reference too long for a label value, keeping it whole in the annotation", func() {
		long := "a-configmap-name-long-enough-that-namespace-dot-name-exceeds-63-characters"
		createConfigMap(source(srcNS, long, nsA, map[string]string{"k": "v"}, nil))
		res := reconcileSource(srcNS, long)
		Expect(res.code).To(Equal(2), "%s", res)
		cm := getConfigMap(nsA, long)
		ref := srcNS + "." + long
		Expect(cm.Annotations).To(HaveKeyWithValue(replicaOf, ref))
		Expect(len(cm.Labels[replicaOf])).To(BeNumerically("<=", 63))
		Expect(cm.Labels[replicaOf]).NotTo(Equal(ref))
		Expect(cm.Data).To(Equal(map[string]string{"k": "v"}))

		res = reconcileSource(srcNS, long)
		Expect(res.code).To(Equal(0), "%s", res)
		res = finalizeSource(srcNS, long)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(configMapExists(nsA, long)).To(BeFalse())
	})

	It("deletes its copies when the annotation is removed", func() {
		res := reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		Expect(configMapExists(nsB, name)).To(BeTrue())
		update(srcNS, func(cm *corev1.ConfigMap) { delete(cm.Annotations, replicateTo) })
		res = reconcileSource(srcNS, name)
		Expect(res.code).To(Equal(2), "%s", res)
		Expect(configMapExists(nsB, name)).To(BeFalse())
		expectForeignUntouched()
	})

	It("exits 1, never kubectl's own code, when kubectl fails", func() {
		// A kubectl that fails with exit 2, which the engine would read as "changed" if it leaked.
		stub := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(stub, "kubectl"),
			[]byte("#!/bin/sh\necho 'stub kubectl: failing on purpose' >&2\nexit 2\n"), 0o755)).To(Succeed())
		obj := fetch(configMaps, srcNS, name)
		for _, op := range []string{"reconcile", "finalize"} {
			res := runScriptWithPath(replicator, op, obj, stub)
			Expect(res.code).To(Equal(1), "%s", res)
			Expect(strings.Contains(res.stderr, "failing on purpose")).To(BeTrue(), "%s", res)
		}
	})
})
