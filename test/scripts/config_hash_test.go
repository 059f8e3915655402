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
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/script"
)

const (
	configHash   = "config-hash"
	hashLabel    = "nuop.kemper.buzz/hash"
	hashAnn      = "nuop.kemper.buzz/content-hash"
	algorithmAnn = "nuop.kemper.buzz/hash-algorithm"
)

// runBatch runs `nu --stdin <dir>/mod.nu reconcile-batch` of config-hash as the engine does: the objects
// as a YAML list on stdin, managed fields removed, the NUOP_SCRIPT and NUOP_OPERATION environment. It
// reads the answer with the engine's own reader.
func runBatch(objs []*unstructured.Unstructured) (runResult, engine.BatchAnswer) {
	const name = configHash
	list := make([]any, 0, len(objs))
	for _, obj := range objs {
		in := obj.DeepCopy()
		unstructured.RemoveNestedField(in.Object, "metadata", "managedFields")
		list = append(list, in.Object)
	}
	stdin, err := yaml.Marshal(list)
	Expect(err).NotTo(HaveOccurred())
	env := append(scriptEnv(name, "", nil, ""), "NUOP_OPERATION=reconcile-batch")
	res := runNu(name, stdin, env, "--stdin", filepath.Join(scriptsDir, name, "mod.nu"), "reconcile-batch")
	return res, engine.ReadBatchAnswer(objs, script.Result{ExitCode: res.code, Stdout: []byte(res.stdout)})
}

// contentDigest is the digest the script documents: of `{"data": ..., "binaryData": ...}` as compact JSON
// with sorted keys.
func contentDigest(cm *unstructured.Unstructured, algorithm string) string {
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	binary, _, _ := unstructured.NestedStringMap(cm.Object, "binaryData")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteString(`{"data":`)
	Expect(enc.Encode(orEmpty(data))).To(Succeed())
	buf.Truncate(buf.Len() - 1) // Encode's newline
	buf.WriteString(`,"binaryData":`)
	Expect(enc.Encode(orEmpty(binary))).To(Succeed())
	buf.Truncate(buf.Len() - 1)
	buf.WriteString("}")
	if algorithm == "md5" {
		sum := md5.Sum(buf.Bytes())
		return "md5:" + hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(buf.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

var _ = Describe("config-hash", func() {
	var ns string

	BeforeEach(func() {
		ns = newNamespace("hash")
	})

	create := func(name string, annotations map[string]string, data map[string]string) *unstructured.Unstructured {
		createConfigMap(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{hashLabel: "yes"},
				Annotations: annotations},
			Data: data,
		})
		return fetch(configMaps, ns, name)
	}
	// Values a careless YAML round trip would turn into booleans, numbers or nulls.
	tricky := map[string]string{
		"yes": "yes", "bool": "true", "octal": "0123", "float": "1e3", "null": "null", "empty": "",
		"multi": "line one\nline two\n", "time": "2024-01-01T00:00:00Z", "html": "<a href='x'>&</a>",
	}

	It("answers a batch per ConfigMap: changed with the digest, unchanged once it is there, an error for a bad algorithm", func() {
		objs := []*unstructured.Unstructured{
			create("plain", nil, tricky),
			create("md5", map[string]string{algorithmAnn: "md5"}, map[string]string{"b": "2", "a": "1"}),
			create("empty", nil, nil),
			create("bad", map[string]string{algorithmAnn: "crc32"}, map[string]string{"k": "v"}),
		}
		res, answer := runBatch(objs)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(answer.Detail).NotTo(HaveOccurred())
		Expect(answer.Unknown).To(BeEmpty())
		Expect(answer.Entries[3]).To(Equal(engine.BatchEntry{Result: "error",
			Message: "nuop.kemper.buzz/hash-algorithm: 'crc32' is not sha256 or md5"}))

		for i, algorithm := range []string{"sha256", "md5", "sha256"} {
			e := answer.Entries[i]
			Expect(e.Result).To(Equal("changed"), "%s", objs[i].GetName())
			out, ok := engine.WrittenBackObject(objs[i], e.Object)
			Expect(ok).To(BeTrue(), "the entry's object is the ConfigMap itself: %s", e.Object)
			Expect(out.GetAnnotations()).To(HaveKeyWithValue(hashAnn, contentDigest(objs[i], algorithm)))
			Expect(out.GetResourceVersion()).To(Equal(objs[i].GetResourceVersion()))
			Expect(out.GetLabels()).To(Equal(objs[i].GetLabels()))
			if data, ok := objs[i].Object["data"]; ok {
				Expect(out.Object["data"]).To(Equal(data), "the rest of the object is unchanged")
			} else {
				Expect(out.Object).NotTo(HaveKey("data"))
			}
			writeBack(out)
		}
		Expect(getConfigMap(ns, "plain").Data).To(Equal(tricky))

		again := []*unstructured.Unstructured{
			fetch(configMaps, ns, "plain"), fetch(configMaps, ns, "md5"), fetch(configMaps, ns, "empty"),
		}
		res, answer = runBatch(again)
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(answer.Entries).To(HaveEach(Equal(engine.BatchEntry{Result: "unchanged"})))
	})

	It("gives a new digest when the content changes, and the same one whatever the order of the keys", func() {
		first := create("first", nil, map[string]string{"a": "1", "b": "2"})
		second := create("second", nil, map[string]string{"b": "2", "a": "1"})
		_, answer := runBatch([]*unstructured.Unstructured{first, second})
		a, _ := engine.WrittenBackObject(first, answer.Entries[0].Object)
		b, _ := engine.WrittenBackObject(second, answer.Entries[1].Object)
		Expect(a.GetAnnotations()[hashAnn]).To(Equal(b.GetAnnotations()[hashAnn]))
		writeBack(a)

		changed := fetch(configMaps, ns, "first")
		Expect(unstructured.SetNestedField(changed.Object, "3", "data", "b")).To(Succeed())
		writeBack(changed)
		changed = fetch(configMaps, ns, "first")
		_, answer = runBatch([]*unstructured.Unstructured{changed})
		Expect(answer.Entries[0].Result).To(Equal("changed"))
		out, _ := engine.WrittenBackObject(changed, answer.Entries[0].Object)
		Expect(out.GetAnnotations()[hashAnn]).NotTo(Equal(a.GetAnnotations()[hashAnn]))
		Expect(out.GetAnnotations()[hashAnn]).To(Equal(contentDigest(changed, "sha256")))
	})

	It("answers for one ConfigMap with reconcile: exit 2 with it, 0 once right, 1 with the message", func() {
		res := runScript(configHash, "reconcile", create("one", nil, map[string]string{"k": "v"}))
		Expect(res.code).To(Equal(2), "%s", res)
		out := parseObject(res.stdout)
		Expect(out.GetAnnotations()).To(HaveKeyWithValue(hashAnn, contentDigest(out, "sha256")))
		writeBack(out)

		res = runScript(configHash, "reconcile", fetch(configMaps, ns, "one"))
		Expect(res.code).To(Equal(0), "%s", res)
		Expect(res.stdout).To(BeEmpty())

		res = runScript(configHash, "reconcile", create("bad", map[string]string{algorithmAnn: "sha1"}, nil))
		Expect(res.code).To(Equal(1), "%s", res)
		Expect(res.stdout).To(BeEmpty())
		Expect(res.stderr).To(ContainSubstring("'sha1' is not sha256 or md5"))
	})
})
