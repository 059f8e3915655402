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

package utils

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kemper.buzz/nuop/internal/manifest"
)

// ReadObjects decodes every object of a (multi-document) YAML file, as `kubectl create -f` reads it.
func ReadObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	objects, err := manifest.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return objects, nil
}

// KustomizeBuild is `kustomize build dir` with the provisioned kustomize, as `make deploy` renders it:
// the manifests it writes and their objects. A relative dir is taken from the repository's root.
func KustomizeBuild(dir string) ([]byte, []*unstructured.Unstructured, error) {
	kustomize, err := Tool("kustomize")
	if err != nil {
		return nil, nil, err
	}
	if !filepath.IsAbs(dir) {
		root, err := RepoRoot()
		if err != nil {
			return nil, nil, err
		}
		dir = filepath.Join(root, dir)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kustomize, "build", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w\n%s", dir, err, stderr.String())
	}
	objects, err := manifest.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, nil, fmt.Errorf("decoding kustomize build %s: %w", dir, err)
	}
	return out, objects, nil
}
