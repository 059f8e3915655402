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

package deploy

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// notForTheCluster are kinds config/manifests holds for operator-sdk's bundle, not for an API server: the
// ClusterServiceVersion (OLM's, whose CRD cannot be had here; the bundle's own test checks it) and the
// scorecard's Configuration (operator-sdk moves it to the bundle's tests/scorecard).
var notForTheCluster = map[string]bool{
	"operators.coreos.com/ClusterServiceVersion":   true,
	"scorecard.operatorframework.io/Configuration": true,
}

// TestBuildsAreAcceptedByTheAPIServer: each kustomization users build builds, and a real API server accepts
// every object of it: the Namespaces and CRDs are applied (what follows needs them), everything else is
// applied with a server-side dry run, which runs validation and admission without storing anything.
func TestBuildsAreAcceptedByTheAPIServer(t *testing.T) {
	for _, dir := range []string{defaultConfig, productionConfig, standardConfig, manifestsConfig} {
		t.Run(dir, func(t *testing.T) {
			b := kustomizeBuild(t, root, dir)
			var first, rest []*unstructured.Unstructured
			for _, o := range b.objects {
				switch {
				case notForTheCluster[o.GroupVersionKind().Group+"/"+o.GetKind()]:
				case o.GetKind() == "Namespace" || o.GetKind() == "CustomResourceDefinition":
					first = append(first, o)
				default:
					rest = append(rest, o)
				}
			}
			if len(first) > 0 {
				applyObjects(t, first)
			}
			out := run1(t, kubectl, encode(t, rest), "apply", "--server-side", "--dry-run=server", "-f", "-")
			// kubectl prints one line per object it applied.
			if got := strings.Count(string(out), "\n"); got != len(rest) {
				t.Errorf("kubectl applied %d objects, want %d:\n%s", got, len(rest), out)
			}
		})
	}
}

// applyObjects applies objects for real (server-side) and waits for CRDs among them to be served.
func applyObjects(t *testing.T, objects []*unstructured.Unstructured) {
	t.Helper()
	data := encode(t, objects)
	run1(t, kubectl, data, "apply", "--server-side", "--force-conflicts", "-f", "-")
	for _, o := range objects {
		if o.GetKind() == "CustomResourceDefinition" {
			run1(t, kubectl, nil, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+o.GetName())
		}
	}
}

// encode writes objects as one multi-document YAML stream.
func encode(t *testing.T, objects []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objects {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes()
}
