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
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	loader := &Loader{Runner: newRunner(t, 0)}
	tests := []struct {
		dir          string
		want         Config
		wantWarnings []string
	}{
		{
			dir: "testdata/load/full",
			want: Config{
				Name: "full", Group: "apps", Version: "v1", Kind: "Deployment",
				// nu's `to yaml` writes these unquoted; a YAML 1.1 parser would have made `yes` "true".
				LabelSelectors: map[string]string{"app.kubernetes.io/replicate": "yes", "enabled": "true", "tier": "123", "empty": ""},
				LabelSelector:  "env in (a,b),!legacy",
				FieldSelectors: map[string]string{"metadata.namespace": "default"},
				Namespace:      "default", Finalizer: "example.com/cleanup", OnUnmatch: OnUnmatchFinalize,
				RequeueAfterChange: 5 * time.Second, RequeueAfterNoop: 600 * time.Second,
				Timeout: 20 * time.Second, Concurrency: 4, Batch: 50, BatchWindow: 250 * time.Millisecond,
			},
		},
		{
			dir: "testdata/load/json",
			want: with(defaults("json", "v1", "ConfigMap"), func(c *Config) {
				c.RequeueAfterChange, c.RequeueAfterNoop = 7*time.Second, 70*time.Second
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			s, err := loader.Load(context.Background(), tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(tt.dir)
			if diff := cmp.Diff(&Script{Dir: abs, Config: tt.want, Warnings: tt.wantWarnings}, s, cmp.AllowUnexported(Script{})); diff != "" {
				t.Errorf("script (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	loader := &Loader{Runner: newRunner(t, 0)}
	tests := []struct {
		dir string
		// want are substrings of the error, in order; the error always starts by naming the directory.
		want []string
	}{
		{"testdata/load/failing", []string{"`config` exited with code 1; stderr:\n", "config is broken on purpose"}},
		{"testdata/nomain", []string{"`config` printed nothing: does mod.nu define `def main`? Without it nu dispatches nothing and exits 0"}},
		{"testdata/load/empty", []string{"`config` printed nothing"}},
		{"testdata/load/table", []string{"config output is not a YAML or JSON mapping", "it looks like a nu table: end config with `| to yaml`"}},
		{"testdata/load/invalid", []string{
			"invalid config: missing required key `version`",
			"requeue_after_noop must be at least 1 second",
			"unknown keys (ignored): apiVersion",
		}},
		{"testdata/load/nofinalize", []string{"finalizer is set but mod.nu has no `main finalize` command"}},
		{"testdata/load/nobatch", []string{"batch is set but mod.nu has no `main reconcile-batch` command"}},
		{"testdata/no-such-script", []string{"mod.nu: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			_, err := loader.Load(context.Background(), tt.dir)
			if err == nil {
				t.Fatal("loaded")
			}
			abs, _ := filepath.Abs(tt.dir)
			assertContainsInOrder(t, err.Error(), append([]string{"script " + abs + ": "}, tt.want...))
		})
	}
}

func TestLoadTimeout(t *testing.T) {
	t.Parallel()
	loader := &Loader{Runner: newRunner(t, 0), ConfigTimeout: 300 * time.Millisecond}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, EntryPoint), "def main [] {}\ndef \"main config\" [] { sleep 10sec }\n")
	_, err := loader.Load(context.Background(), dir)
	if err == nil {
		t.Fatal("loaded")
	}
	assertContainsInOrder(t, err.Error(), []string{"script " + dir + ": `config` did not finish within 300ms"})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
