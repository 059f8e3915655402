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

package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kemper.buzz/nuop/internal/script"
)

// TestReadBatchAnswer pins how an answer maps to the objects of its batch (SCRIPT-PROTOCOL section 8).
func TestReadBatchAnswer(t *testing.T) {
	obj := func(ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	batch := []*unstructured.Unstructured{obj("a", "one"), obj("a", "two"), obj("b", "one")}
	const notAList = "the answer is not a YAML list of {namespace, name, result} entries (the log says why)"
	all := func(problem string) []BatchEntry {
		return []BatchEntry{{Problem: problem}, {Problem: problem}, {Problem: problem}}
	}

	for _, tc := range []struct {
		name    string
		stdout  string
		dropped int64
		want    BatchAnswer
		// detail is a substring of the reason an unreadable answer gives the log.
		detail string
	}{
		{
			name: "one entry each, in another order, JSON or YAML",
			stdout: `- {namespace: b, name: one, result: error, message: "no good: yes"}
- namespace: a
  name: two
  result: unchanged
- {"namespace": "a", "name": "one", "result": "changed", "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "a", "name": "one", "labels": {"x": yes}}}}
`,
			want: BatchAnswer{Entries: []BatchEntry{
				{Result: "changed", Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
					"metadata": map[string]any{"namespace": "a", "name": "one", "labels": map[string]any{"x": "yes"}}}},
				{Result: "unchanged"},
				{Result: "error", Message: "no good: yes"},
			}},
		},
		{
			name:   "changed without an object: the script wrote it itself",
			stdout: "[{namespace: a, name: one, result: changed}, {namespace: a, name: two, result: unchanged}, {namespace: b, name: one, result: unchanged}]",
			want:   BatchAnswer{Entries: []BatchEntry{{Result: "changed"}, {Result: "unchanged"}, {Result: "unchanged"}}},
		},
		{
			name:   "changed with an object that is not a mapping",
			stdout: "[{namespace: a, name: one, result: changed, object: one}, {namespace: a, name: two, result: unchanged}, {namespace: b, name: one, result: unchanged}]",
			want: BatchAnswer{Entries: []BatchEntry{
				{Problem: "its entry's object is not a mapping"}, {Result: "unchanged"}, {Result: "unchanged"},
			}},
		},
		{
			name:   "a missing entry, two entries, an unknown result, an entry for an object not in the batch",
			stdout: "[{namespace: a, name: two, result: unchanged}, {namespace: a, name: two, result: changed}, {namespace: b, name: one, result: Changed}, {namespace: c, name: one, result: changed}, {name: one, result: changed}]",
			want: BatchAnswer{
				Entries: []BatchEntry{
					{Problem: "the answer has no entry for it"},
					{Problem: "the answer has more than one entry for it"},
					{Problem: "its entry's result is not unchanged, changed or error"},
				},
				Unknown: []string{"c/one", "/one"},
			},
		},
		{
			name:   "a message or a result of the wrong type fails its object alone",
			stdout: "[{namespace: a, name: one, result: error, message: {msg: boom}}, {namespace: a, name: two, result: [changed]}, {namespace: b, name: one, result: unchanged}]",
			want: BatchAnswer{Entries: []BatchEntry{
				{Problem: "its entry's message is a mapping, not a string"},
				{Problem: "its entry's result is not unchanged, changed or error"},
				{Result: "unchanged"},
			}},
		},
		{name: "empty", stdout: "\n", want: BatchAnswer{Entries: all(notAList)}, detail: "stdout is empty"},
		{name: "not YAML", stdout: "this: [is not", want: BatchAnswer{Entries: all(notAList)}, detail: "yaml"},
		{name: "a mapping", stdout: "namespace: a\nname: one\nresult: changed\n", want: BatchAnswer{Entries: all(notAList)},
			detail: "stdout is a mapping, not a list"},
		{name: "a nu table", stdout: "╭───┬──────╮\n│ 0 │ one  │\n╰───┴──────╯\n", want: BatchAnswer{Entries: all(notAList)},
			detail: "stdout is a string, not a list: print the list with `to yaml`"},
		{name: "two documents", stdout: "- {name: one, result: changed}\n---\n- {name: two}\n", want: BatchAnswer{Entries: all(notAList)},
			detail: "more than one YAML document"},
		{name: "an entry that is not a mapping", stdout: "[{namespace: a, name: one, result: changed}, one]",
			want: BatchAnswer{Entries: all(notAList)}, detail: "entry 2: a string, not a mapping"},
		{name: "a name that is not a string", stdout: "[{namespace: a, name: [one], result: changed}]",
			want: BatchAnswer{Entries: all(notAList)}, detail: "entry 1: name is a list, not a string"},
		{name: "no name", stdout: "[{namespace: a, result: changed}]", want: BatchAnswer{Entries: all(notAList)},
			detail: "entry 1: no name"},
		{name: "cut at the output cap", stdout: "- {namespace: a, name: one, result: unchanged}\n", dropped: 10,
			want: BatchAnswer{Entries: all("the answer is longer than the output cap of 47 bytes: lower `batch`")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ReadBatchAnswer(batch, script.Result{Stdout: []byte(tc.stdout), StdoutDropped: tc.dropped})
			detail := got.Detail
			got.Detail = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			switch {
			case tc.detail == "" && detail != nil:
				t.Errorf("detail %q, want none", detail)
			case tc.detail != "" && (detail == nil || !strings.Contains(detail.Error(), tc.detail)):
				t.Errorf("detail %v, want one containing %q", detail, tc.detail)
			}
		})
	}

	t.Run("a cluster-scoped object: a missing, null or empty namespace", func(t *testing.T) {
		nodes := []*unstructured.Unstructured{obj("", "n1"), obj("", "n2"), obj("", "n3")}
		got := ReadBatchAnswer(nodes, script.Result{Stdout: []byte(
			"[{name: n1, result: unchanged}, {namespace: null, name: n2, result: unchanged}, {namespace: '', name: n3, result: unchanged}]")})
		want := BatchAnswer{Entries: []BatchEntry{{Result: "unchanged"}, {Result: "unchanged"}, {Result: "unchanged"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
}
