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

package script

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// defaults is the config of a script that gives only the required keys.
func defaults(name, version, kind string) Config {
	return Config{
		Name: name, Version: version, Kind: kind,
		OnUnmatch:          OnUnmatchRelease,
		RequeueAfterChange: 10 * time.Second,
		RequeueAfterNoop:   300 * time.Second,
		Timeout:            60 * time.Second,
		Concurrency:        2,
		BatchWindow:        100 * time.Millisecond,
	}
}

func with(c Config, change func(*Config)) Config {
	change(&c)
	return c
}

func TestParseConfig(t *testing.T) {
	base := defaults("demo", "v1", "ConfigMap")
	tests := []struct {
		name         string
		out          string
		want         Config
		wantWarnings []string
	}{
		{
			name: "required keys only: defaults",
			out:  "name: demo\nversion: v1\nkind: ConfigMap\n",
			want: base,
		},
		{
			name: "json",
			out:  `{"name": "demo", "group": "", "version": "v1", "kind": "ConfigMap", "labelSelectors": {"a": "b"}}`,
			want: with(base, func(c *Config) { c.LabelSelectors = map[string]string{"a": "b"} }),
		},
		{
			name: "selector values YAML reads as booleans or numbers keep their literal text",
			out: "name: demo\nversion: v1\nkind: ConfigMap\nlabelSelectors:\n  replicate: yes\n  x: no\n  t: true\n" +
				"  n: 123\n  f: 1.50\n  o: 0x1F\n  e: \"\"\n  z:\nfieldSelectors:\n  status.phase: Running\n  spec.replicas: 3\n",
			want: with(base, func(c *Config) {
				c.LabelSelectors = map[string]string{
					"replicate": "yes", "x": "no", "t": "true", "n": "123", "f": "1.50", "o": "0x1F", "e": "", "z": "",
				}
				c.FieldSelectors = map[string]string{"status.phase": "Running", "spec.replicas": "3"}
			}),
		},
		{
			name: "selector values in JSON keep their literal text",
			out:  `{"name": "demo", "version": "v1", "kind": "ConfigMap", "labelSelectors": {"t": true, "n": 123}}`,
			want: with(base, func(c *Config) { c.LabelSelectors = map[string]string{"t": "true", "n": "123"} }),
		},
		{
			name: "every key, snake_case requeues",
			out: `name: demo
group: apps
version: v1
kind: Deployment
labelSelectors: {app: web}
labelSelector: env in (a,b),!legacy
fieldSelectors: {metadata.namespace: default}
namespace: default
finalizer: example.com/cleanup
onUnmatch: finalize
requeue_after_change: 5
requeue_after_noop: 600
timeout: 20
concurrency: 4
batch: 50
batchWindow: 0
`,
			want: Config{
				Name: "demo", Group: "apps", Version: "v1", Kind: "Deployment",
				LabelSelectors: map[string]string{"app": "web"}, LabelSelector: "env in (a,b),!legacy",
				FieldSelectors: map[string]string{"metadata.namespace": "default"},
				Namespace:      "default", Finalizer: "example.com/cleanup", OnUnmatch: OnUnmatchFinalize,
				RequeueAfterChange: 5 * time.Second, RequeueAfterNoop: 600 * time.Second,
				Timeout: 20 * time.Second, Concurrency: 4, Batch: 50, BatchWindow: 0,
			},
		},
		{
			name: "camelCase requeues",
			out:  "name: demo\nversion: v1\nkind: ConfigMap\nrequeueAfterChange: 7\nrequeueAfterNoop: 70\n",
			want: with(base, func(c *Config) { c.RequeueAfterChange, c.RequeueAfterNoop = 7*time.Second, 70*time.Second }),
		},
		{
			name: "null is not set, as nuop's optional keys",
			out:  "name: demo\nversion: v1\nkind: ConfigMap\nfinalizer: null\nnamespace: ~\nlabelSelectors:\ntimeout: null\n",
			want: base,
		},
		{
			name: "unknown keys are warned about by name, with a hint where one helps",
			out: "name: demo\nversion: v1\nkind: ConfigMap\napiVersion: v1\nrequeueAfterSeconds: 5\nlabel_selectors: {}\n" +
				"RequeueAfterNoop: 9\nfoo: bar\n",
			want: base,
			wantWarnings: []string{
				"unknown config key `apiVersion` ignored: give the group in `group` and the version in `version`",
				"unknown config key `requeueAfterSeconds` ignored: use `requeue_after_change` and `requeue_after_noop`",
				"unknown config key `label_selectors` ignored: did you mean `labelSelectors`?",
				"unknown config key `RequeueAfterNoop` ignored: did you mean `requeue_after_noop`?",
				"unknown config key `foo` ignored",
			},
		},
		{
			name: "keys that change nothing are warned about",
			out:  "name: demo\nversion: v1\nkind: ConfigMap\nonUnmatch: release\nbatchWindow: 50\n",
			want: with(base, func(c *Config) { c.BatchWindow = 50 * time.Millisecond }),
			wantWarnings: []string{
				"onUnmatch has no effect without `finalizer`",
				"batchWindow has no effect without `batch`",
			},
		},
		{
			name: "a core kind of another version",
			out:  "name: '123'\ngroup: ''\nversion: v1beta1\nkind: Event\n",
			want: defaults("123", "v1beta1", "Event"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := parseConfig([]byte(tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	const ok = "name: demo\nversion: v1\nkind: ConfigMap\n"
	tests := []struct {
		name string
		out  string
		// want are substrings of the error, in order.
		want []string
	}{
		{"missing name", "version: v1\nkind: ConfigMap\n", []string{"missing required key `name`"}},
		{"missing version and kind", "name: demo\n", []string{"missing required key `version`", "missing required key `kind`"}},
		{"null required key", "name: demo\nversion: v1\nkind: null\n", []string{"missing required key `kind`"}},
		{"apiVersion instead of version", "name: demo\napiVersion: v1\nkind: ConfigMap\n",
			[]string{"missing required key `version`", "unknown keys (ignored): apiVersion"}},
		{"group in version", "name: demo\nversion: apps/v1\nkind: Deployment\n", []string{"must not contain `/`"}},
		{"requeue of 0", ok + "requeue_after_noop: 0\n", []string{"requeue_after_noop must be at least 1 second", "hot loop"}},
		{"camelCase requeue of 0", ok + "requeueAfterChange: 0\n", []string{"requeue_after_change must be at least 1 second"}},
		{"negative requeue", ok + "requeue_after_change: -5\n", []string{"requeue_after_change must be at least 1 second"}},
		{"requeue as text", ok + "requeue_after_change: 10s\n", []string{"requeue_after_change: must be a whole number of seconds, got \"10s\""}},
		{"requeue as nu duration", ok + "requeue_after_change: !duration 10000000000\n",
			[]string{"requeue_after_change: must be a whole number of seconds"}},
		{"requeue out of range", ok + "requeue_after_noop: 99999999999999\n", []string{"out of range"}},
		{"both requeue spellings", ok + "requeue_after_change: 5\nrequeueAfterChange: 6\n",
			[]string{"`requeue_after_change` is given twice (as `requeue_after_change` and `requeueAfterChange`)"}},
		{"duplicate key", ok + "name: again\n", []string{"`name` is given twice"}},
		{"timeout of 0", ok + "timeout: 0\n", []string{"timeout must be more than 0 seconds"}},
		{"fractional timeout", ok + "timeout: 1.5\n", []string{"timeout: must be a whole number of seconds"}},
		{"bad onUnmatch", ok + "finalizer: example.com/f\nonUnmatch: delete\n", []string{`onUnmatch "delete": must be "release" or "finalize"`}},
		{"concurrency 0", ok + "concurrency: 0\n", []string{"concurrency must be at least 1, got 0"}},
		{"concurrency as text", ok + "concurrency: two\n", []string{"concurrency: must be a whole number"}},
		{"negative batch", ok + "batch: -1\n", []string{"batch must be 0 (off) to 1000, got -1"}},
		{"batch above its bound", ok + "batch: 1001\n", []string{"batch must be 0 (off) to 1000, got 1001"}},
		{"negative batchWindow", ok + "batchWindow: -1\n", []string{"batchWindow must not be negative"}},
		{"invalid label key", ok + "labelSelectors: {'bad key': x}\n", []string{"labelSelectors:", "bad key"}},
		{"invalid label value", ok + "labelSelectors: {a: 'not valid!'}\n", []string{"labelSelectors:", "not valid!"}},
		{"invalid label selector", ok + "labelSelector: 'env in (a'\n", []string{"labelSelector:"}},
		{"empty field name", ok + "fieldSelectors: {'': x}\n", []string{"fieldSelectors: empty field name"}},
		{"field name holding a separator", ok + "fieldSelectors: {'a,b': x}\n", []string{"fieldSelectors:"}},
		{"nested selector value", ok + "labelSelectors: {a: {b: c}}\n", []string{"labelSelectors: entry at line 4"}},
		{"selectors as a list", ok + "labelSelectors: [a, b]\n", []string{"labelSelectors: must be a map of strings"}},
		{"duplicate selector key", ok + "labelSelectors: {a: x, a: y}\n", []string{`labelSelectors: "a" is given twice`}},
		{"name as a map", "name: {a: b}\nversion: v1\nkind: ConfigMap\n", []string{"name: must be a string"}},
		{"invalid namespace", ok + "namespace: Not_A_Namespace\n", []string{`namespace "Not_A_Namespace"`}},
		{"invalid finalizer", ok + "finalizer: 'a/b/c'\n", []string{`finalizer "a/b/c"`}},
		{"not YAML", "name: [unclosed\n", []string{"config output is not YAML or JSON", `output starts with "name: [unclosed"`}},
		{"a list", "- name: demo\n", []string{"config output is not a YAML or JSON mapping"}},
		{"a plain string", "done\n", []string{"config output is not a YAML or JSON mapping", `"done"`}},
		{"two documents", ok + "---\n" + ok, []string{"more than one YAML document"}},
		{"a nu table", "╭──────┬──────╮\n│ name │ demo │\n╰──────┴──────╯\n",
			[]string{"not a YAML or JSON mapping", "it looks like a nu table: end config with `| to yaml`"}},
		{"a log line before the YAML", "loading...\n" + ok, []string{`output starts with "loading..."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseConfig([]byte(tt.out))
			if err == nil {
				t.Fatal("no error")
			}
			assertContainsInOrder(t, err.Error(), tt.want)
		})
	}
}

func assertContainsInOrder(t *testing.T, s string, parts []string) {
	t.Helper()
	rest := s
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Fatalf("%q is missing (or out of order) in:\n%s", p, s)
		}
		rest = rest[i+len(p):]
	}
}

func TestSelectorsParsed(t *testing.T) {
	c := defaults("demo", "v1", "ConfigMap")
	c.LabelSelectors = map[string]string{"replicate": "yes", "tier": "123"}
	c.LabelSelector = "env in (a,b),!legacy"
	c.FieldSelectors = map[string]string{"metadata.namespace": "default", "status.phase": "Running"}
	labelSel, err := c.LabelSelectorParsed()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("env in (a,b),!legacy,replicate=yes,tier=123", labelSel.String()); diff != "" {
		t.Errorf("label selector (-want +got):\n%s", diff)
	}
	fieldSel, err := c.FieldSelectorParsed()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("metadata.namespace=default,status.phase=Running", fieldSel.String()); diff != "" {
		t.Errorf("field selector (-want +got):\n%s", diff)
	}
	want := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	if diff := cmp.Diff(want, c.GVK()); diff != "" {
		t.Errorf("GVK (-want +got):\n%s", diff)
	}

	none := defaults("demo", "v1", "ConfigMap")
	labelSel, err = none.LabelSelectorParsed()
	if err != nil || !labelSel.Empty() {
		t.Errorf("no label selectors: got %v, %v; want an empty selector", labelSel, err)
	}
	fieldSel, err = none.FieldSelectorParsed()
	if err != nil || !fieldSel.Empty() {
		t.Errorf("no field selectors: got %v, %v; want an empty selector", fieldSel, err)
	}
}
