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

package managed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kemper.buzz/nuop/internal/script"
)

func loadedScript(name, group, version, kind string) *script.Script {
	return &script.Script{Dir: "/scripts/" + name, Config: script.Config{
		Name: name, Group: group, Version: version, Kind: kind,
		LabelSelectors: map[string]string{"own": "yes"}, Finalizer: "example.com/" + name,
		OnUnmatch: script.OnUnmatchRelease, RequeueAfterChange: 10 * time.Second, RequeueAfterNoop: 300 * time.Second,
		Timeout: time.Minute, Concurrency: 2, BatchWindow: 100 * time.Millisecond,
	}}
}

func ptr(v int64) *int64 { return &v }

func TestSelect(t *testing.T) {
	replicator := loadedScript("config-replicator", "", "v1", "ConfigMap")
	cloner := loadedScript("secret-cloner", "", "v1", "Secret")
	loaded := []*script.Script{replicator, cloner}

	type got struct {
		Selected []script.Config
		Problems []string
	}
	tests := []struct {
		name     string
		mappings []Mapping
		want     got
	}{
		{
			name:     "a mapping without overrides runs the script as it is",
			mappings: []Mapping{{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"}},
			want:     got{Selected: []script.Config{replicator.Config}},
		},
		{
			name: "selectors and requeues are replaced, the finalizer is kept",
			mappings: []Mapping{{Name: "config-replicator", Version: "v1", Kind: "ConfigMap",
				LabelSelectors:     map[string]string{"app.kubernetes.io/replicate": "yes"},
				FieldSelectors:     map[string]string{"metadata.namespace": "default"},
				RequeueAfterChange: ptr(5), RequeueAfterNoop: ptr(60)}},
			want: got{Selected: []script.Config{func() script.Config {
				c := replicator.Config
				c.LabelSelectors = map[string]string{"app.kubernetes.io/replicate": "yes"}
				c.FieldSelectors = map[string]string{"metadata.namespace": "default"}
				c.RequeueAfterChange, c.RequeueAfterNoop = 5*time.Second, time.Minute
				return c
			}()}},
		},
		{
			name:     "an empty selector map does not clear the script's",
			mappings: []Mapping{{Name: "config-replicator", Version: "v1", Kind: "ConfigMap", LabelSelectors: map[string]string{}}},
			want:     got{Selected: []script.Config{replicator.Config}},
		},
		{
			name:     "a mapping naming no loaded script is reported with what is loaded",
			mappings: []Mapping{{Name: "missing", Version: "v1", Kind: "ConfigMap"}},
			want: got{Problems: []string{
				`mapping "missing" names no loaded script (loaded: config-replicator, secret-cloner)`}},
		},
		{
			name:     "a mapping with the wrong kind is reported",
			mappings: []Mapping{{Name: "secret-cloner", Version: "v1", Kind: "ConfigMap"}},
			want: got{Problems: []string{
				`mapping "secret-cloner" is for /v1, Kind=ConfigMap, but the script watches /v1, Kind=Secret`}},
		},
		{
			name: "a script mapped twice runs once",
			mappings: []Mapping{{Name: "secret-cloner", Version: "v1", Kind: "Secret"},
				{Name: "secret-cloner", Version: "v1", Kind: "Secret", RequeueAfterNoop: ptr(1)}},
			want: got{Selected: []script.Config{cloner.Config},
				Problems: []string{`mapping "secret-cloner" is given twice; the first one is used`}},
		},
		{
			name:     "an override the script's own config would refuse is reported",
			mappings: []Mapping{{Name: "secret-cloner", Version: "v1", Kind: "Secret", RequeueAfterNoop: ptr(0)}},
			want:     got{Problems: []string{`mapping "secret-cloner": `}},
		},
		{
			name: "unmapped scripts simply do not run",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			selected, problems := Select(loaded, tt.mappings)
			var g got
			for _, s := range selected {
				g.Selected = append(g.Selected, s.Config)
			}
			for i, p := range problems {
				msg := p.Message
				// A want ending in ": " is followed by the config validation's own words: compare the prefix.
				if i < len(tt.want.Problems) && strings.HasSuffix(tt.want.Problems[i], ": ") &&
					strings.HasPrefix(msg, tt.want.Problems[i]) {
					msg = tt.want.Problems[i]
				}
				g.Problems = append(g.Problems, msg)
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if replicator.Config.LabelSelectors["own"] != "yes" {
				t.Error("Select changed a loaded script")
			}
		})
	}
}

func TestLoadMappingFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// As nuop's manager wrote them, and as a ConfigMap volume lays them out (keys again under ..data).
	write("config-replicator.yaml", "name: config-replicator\nversion: v1\nkind: ConfigMap\nlabelSelectors:\n  replicate: yes\nrequeue_after_noop: 60\n")
	write("..data/config-replicator.yaml", "name: shadow\nversion: v1\nkind: ConfigMap\n")
	write("nested/secret-cloner.yml", "name: secret-cloner\nversion: v1\nkind: Secret\n")
	write("notes.txt", "not a mapping")
	// nuop ignored keys a mapping does not have: such a file loads, the key named in a warning.
	write("typo.yaml", "name: x\nversion: v1\nkind: Pod\nlabelSelector: {a: b}\n")
	write("broken.yaml", "name: [\n")
	write("empty.yml", "")

	mappings, warnings, errs := LoadMappingFiles(dir)
	want := []Mapping{
		{Name: "config-replicator", Version: "v1", Kind: "ConfigMap", LabelSelectors: map[string]string{"replicate": "yes"},
			RequeueAfterNoop: ptr(60)},
		{Name: "secret-cloner", Version: "v1", Kind: "Secret"},
		{Name: "x", Version: "v1", Kind: "Pod"},
	}
	if diff := cmp.Diff(want, mappings); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	wantWarnings := []string{"mapping file " + filepath.Join(dir, "typo.yaml") + ": unknown key `labelSelector` ignored"}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "broken.yaml") ||
		!strings.Contains(errs[1].Error(), "empty.yml: the file is empty") {
		t.Errorf("want errors naming broken.yaml and empty.yml, got %v", errs)
	}

	if m, w, errs := LoadMappingFiles(filepath.Join(dir, "missing")); len(m) != 0 || len(w) != 0 || len(errs) != 0 {
		t.Errorf("a missing directory is no mappings: %v %v %v", m, w, errs)
	}
}
