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

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kemper.buzz/nuop/test/utils"
)

// manifests is `kustomize build config/manifests` of this repository.
func manifests(t *testing.T) []byte {
	t.Helper()
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kustomize, err := utils.Tool("kustomize")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kustomize, "build", filepath.Join(root, "config", "manifests")).Output()
	if err != nil {
		t.Fatalf("kustomize build config/manifests: %v", err)
	}
	return out
}

func TestRunWritesTheBundleAndReplacesStaleManifests(t *testing.T) {
	input := manifests(t)
	t.Chdir(t.TempDir())
	if err := os.WriteFile("PROJECT", []byte("projectName: nuop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--version", "0.1.0", "--channels", "alpha,stable", "--default-channel", "stable"}
	var out bytes.Buffer
	if err := run(flags, bytes.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bundle nuop.v0.1.0: ") {
		t.Errorf("output %q: want a summary naming nuop.v0.1.0", out.String())
	}
	for _, path := range []string{"bundle/manifests/nuop.clusterserviceversion.yaml", "bundle/metadata/annotations.yaml",
		"bundle/tests/scorecard/config.yaml", "bundle.Dockerfile"} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}

	// A manifest of an object that is gone must go; metadata edited by hand stays with --overwrite=false.
	if err := os.WriteFile("bundle/manifests/gone_v1_configmap.yaml", []byte("kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := []byte("annotations: {}\n")
	if err := os.WriteFile("bundle/metadata/annotations.yaml", edited, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(append([]string{"-q", "--overwrite=false"}, flags...), bytes.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() > 0 {
		t.Errorf("-q printed %q", out.String())
	}
	if _, err := os.Stat("bundle/manifests/gone_v1_configmap.yaml"); err == nil {
		t.Error("a stale manifest is still in bundle/manifests")
	}
	if data, _ := os.ReadFile("bundle/metadata/annotations.yaml"); !bytes.Equal(data, edited) {
		t.Errorf("--overwrite=false replaced the metadata:\n%s", data)
	}
	if err := run(append([]string{"-q"}, flags...), bytes.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile("bundle/metadata/annotations.yaml"); !bytes.Contains(data,
		[]byte("operators.operatorframework.io.bundle.channel.default.v1: stable\n")) {
		t.Errorf("--overwrite (the default) kept the old metadata:\n%s", data)
	}
}

func TestRunRefusesBadInvocations(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no PROJECT and no --package", []string{"--version", "0.1.0"}, "", "no --package and open PROJECT"},
		{"an argument", []string{"--package", "nuop", "config/manifests"}, "", `unexpected argument "config/manifests"`},
		{"input that is not YAML", []string{"--package", "nuop", "--version", "0.1.0"}, "{", "reading the manifests on stdin"},
		{"no version", []string{"--package", "nuop"}, "", `version ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, strings.NewReader(tc.stdin), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}
