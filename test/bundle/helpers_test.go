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

package bundle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/manifest"
	"kemper.buzz/nuop/internal/olmbundle"
	"kemper.buzz/nuop/test/utils"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readFile(t *testing.T, elem ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{repoRoot(t)}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var (
	builtMu sync.Mutex
	built   = map[string][]byte{}
)

// kustomizeBuild is `kustomize build <dir>` with the provisioned kustomize, once per directory and test run.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if out, ok := built[dir]; ok {
		return out
	}
	out, _, err := utils.KustomizeBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	built[dir] = out
	return out
}

func objectsOf(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	objects, err := manifest.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return objects
}

// ofKind returns the objects of a kind.
func ofKind(objects []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objects {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// convert turns an object into a typed one.
func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// committedCSV is bundle/manifests/nuop.clusterserviceversion.yaml.
func committedCSV(t *testing.T) *olmbundle.CSV {
	t.Helper()
	csv, err := olmbundle.ReadCSV(readFile(t, "bundle", "manifests", "nuop.clusterserviceversion.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return csv
}

// annotations is the map of bundle/metadata/annotations.yaml.
func annotations(t *testing.T) map[string]string {
	t.Helper()
	var file struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, "bundle", "metadata", "annotations.yaml"), &file); err != nil {
		t.Fatalf("bundle/metadata/annotations.yaml: %v", err)
	}
	return file.Annotations
}

// dockerfile reads bundle.Dockerfile's LABELs and COPY lines.
func dockerfile(t *testing.T) (labels map[string]string, copies map[string]string) {
	t.Helper()
	return parseDockerfile(t, readFile(t, "bundle.Dockerfile"))
}

// parseDockerfile reads a Dockerfile's LABELs (key: value) and COPY lines (destination: source).
func parseDockerfile(t *testing.T, data []byte) (labels map[string]string, copies map[string]string) {
	t.Helper()
	labels, copies = map[string]string{}, map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		switch {
		case len(fields) == 2 && fields[0] == "LABEL":
			key, value, ok := strings.Cut(fields[1], "=")
			if !ok {
				t.Fatalf("bundle.Dockerfile: LABEL without a value: %s", scanner.Text())
			}
			labels[key] = value
		case len(fields) == 3 && fields[0] == "COPY":
			copies[fields[2]] = fields[1]
		}
	}
	return labels, copies
}

// toolStamps are what a bundle generator stamps on its output beside the content: operator-sdk's build
// time, version and project layout. A bundle that operator-sdk made differs from hack/bundle's in these.
var toolStamps = []string{"createdAt", "operators.operatorframework.io/builder", "operators.operatorframework.io/project_layout"}

const metricsAnnotationPrefix = "operators.operatorframework.io.metrics."

// normalize makes two YAML files comparable by meaning: empty values go (an operator-sdk bundle has
// `strategy: {}`, `creationTimestamp: null`, `name: ""`, a CRD's empty status), the tool stamps go, and
// alm-examples is compared as JSON, not as text.
func normalize(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return prune(t, v)
}

func prune(t *testing.T, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if isStamp(k) {
				continue
			}
			if s, ok := e.(string); ok && k == "alm-examples" {
				var examples any
				if err := json.Unmarshal([]byte(s), &examples); err != nil {
					t.Fatalf("alm-examples: %v", err)
				}
				e = examples
			}
			if e = prune(t, e); !empty(e) {
				out[k] = e
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			out = append(out, prune(t, e))
		}
		return out
	default:
		return v
	}
}

func isStamp(key string) bool {
	for _, s := range toolStamps {
		if key == s {
			return true
		}
	}
	return strings.HasPrefix(key, metricsAnnotationPrefix)
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
