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

package olmbundle

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/manifest"
)

// operatorInput is what `kustomize build config/manifests` gives for a small operator: the CSV base, a CRD,
// a namespace, a Deployment, its account bound to a Role and a ClusterRole, a ClusterRole bound to nobody,
// a Service, a sample and the scorecard configuration.
func operatorInput(t *testing.T) string {
	t.Helper()
	owned, err := json.Marshal(goodWidget())
	if err != nil {
		t.Fatal(err)
	}
	return `
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: widgets.v0.0.0
  namespace: placeholder
  annotations: {alm-examples: '[]', capabilities: Basic Install}
spec:
  displayName: Widgets
  customresourcedefinitions:
    owned: [` + string(owned) + `]
  install: {spec: {deployments: null}, strategy: ""}
  relatedImages: [{name: manager, image: example.com/widgets:v1}]
  version: 0.0.0
---
` + widgetCRD + `
---
apiVersion: v1
kind: Namespace
metadata: {name: widgets-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: widgets-manager, namespace: widgets-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: widgets-manager, namespace: widgets-system, labels: {app: widgets}}
spec:
  selector: {matchLabels: {app: widgets}}
  template:
    metadata: {labels: {app: widgets}}
    spec:
      serviceAccountName: widgets-manager
      containers: [{name: manager, image: example.com/widgets:v1}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: widgets-leader, namespace: widgets-system}
rules: [{apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widgets-leader, namespace: widgets-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widgets-leader}
subjects: [{kind: ServiceAccount, name: widgets-manager, namespace: widgets-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widgets-manager}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: widgets-manager}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widgets-manager}
subjects: [{kind: ServiceAccount, name: widgets-manager, namespace: widgets-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widgets-viewer}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get]}]
---
apiVersion: v1
kind: Service
metadata: {name: widgets-metrics, namespace: widgets-system}
spec: {ports: [{port: 8443}]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: sample}
spec: {size: 2}
---
apiVersion: scorecard.operatorframework.io/v1alpha3
kind: Configuration
metadata: {name: config}
stages: [{tests: [{image: example.com/scorecard-test, entrypoint: [scorecard-test, basic-check-spec]}]}]
`
}

var widgetOptions = Options{Package: "widgets", Version: "1.2.3", Channels: []string{"alpha", "stable"},
	DefaultChannel: "stable", Dir: "bundle"}

func decode(t *testing.T, input string) []*unstructured.Unstructured {
	t.Helper()
	objects, err := manifest.Decode(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	return objects
}

func file(t *testing.T, b *Bundle, path string) []byte {
	t.Helper()
	for _, f := range b.Files {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("the bundle has no %s", path)
	return nil
}

func TestBuildLaysTheBundleOut(t *testing.T) {
	b, err := Build(decode(t, operatorInput(t)), widgetOptions)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(b.Files))
	for _, f := range b.Files {
		paths = append(paths, f.Path)
	}
	want := []string{
		"manifests/example.com_widgets.yaml",
		"manifests/widgets-metrics_v1_service.yaml",
		"manifests/widgets-viewer_rbac.authorization.k8s.io_v1_clusterrole.yaml",
		"manifests/widgets.clusterserviceversion.yaml",
		"metadata/annotations.yaml",
		"tests/scorecard/config.yaml",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	csv, err := ReadCSV(file(t, b, "manifests/widgets.clusterserviceversion.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if csv.Name != "widgets.v1.2.3" || csv.Spec.Version != "1.2.3" {
		t.Errorf("name %s, version %s: want widgets.v1.2.3 and 1.2.3", csv.Name, csv.Spec.Version)
	}
	install := csv.Spec.Install
	if install.Strategy != "deployment" || len(install.Spec.Deployments) != 1 {
		t.Fatalf("install strategy %q with %d deployments: want deployment, 1", install.Strategy, len(install.Spec.Deployments))
	}
	d := install.Spec.Deployments[0]
	if d.Name != "widgets-manager" || d.Label["app"] != "widgets" || d.Spec.Template.Spec.ServiceAccountName != "widgets-manager" {
		t.Errorf("deployment %s, labels %v, account %s", d.Name, d.Label, d.Spec.Template.Spec.ServiceAccountName)
	}
	rules := func(p []Permission) string {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got, want := rules(install.Spec.Permissions),
		`[{"serviceAccountName":"widgets-manager","rules":[{"verbs":["get","update"],"apiGroups":["coordination.k8s.io"],`+
			`"resources":["leases"]}]}]`; got != want {
		t.Errorf("permissions:\n got %s\nwant %s", got, want)
	}
	if got, want := rules(install.Spec.ClusterPermissions),
		`[{"serviceAccountName":"widgets-manager","rules":[{"verbs":["get","list","watch"],"apiGroups":["example.com"],`+
			`"resources":["widgets"]}]}]`; got != want {
		t.Errorf("clusterPermissions:\n got %s\nwant %s", got, want)
	}
	var examples []map[string]any
	if err := json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples); err != nil {
		t.Fatalf("alm-examples: %v", err)
	}
	if len(examples) != 1 || examples[0]["kind"] != "Widget" {
		t.Errorf("alm-examples %v: want the Widget sample", examples)
	}
	if csv.Annotations["capabilities"] != "Basic Install" {
		t.Errorf("the base's annotations were not kept: %v", csv.Annotations)
	}

	service := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(file(t, b, "manifests/widgets-metrics_v1_service.yaml"), &service.Object); err != nil {
		t.Fatal(err)
	}
	if service.GetNamespace() != "" {
		t.Errorf("the Service keeps namespace %q: OLM installs into the operator's namespace", service.GetNamespace())
	}

	annotations := string(file(t, b, "metadata/annotations.yaml"))
	for _, line := range []string{
		"operators.operatorframework.io.bundle.package.v1: widgets",
		"operators.operatorframework.io.bundle.channels.v1: alpha,stable",
		"operators.operatorframework.io.bundle.channel.default.v1: stable",
		"operators.operatorframework.io.test.config.v1: tests/scorecard/",
	} {
		if !strings.Contains(annotations, "  "+line+"\n") {
			t.Errorf("annotations.yaml lacks %q:\n%s", line, annotations)
		}
	}
	if !strings.Contains(string(b.Dockerfile), "COPY bundle/manifests /manifests/\n") {
		t.Errorf("Dockerfile:\n%s", b.Dockerfile)
	}
}

func TestBuildRefusesWhatItCannotBundle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(input string) string
		opts   func(o *Options)
		want   string
	}{
		{name: "a kind OLM does not install", change: func(in string) string {
			return in + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n"
		}, want: "Ingress web: OLM does not install this kind"},
		{name: "an image missing from relatedImages", change: func(in string) string {
			return strings.Replace(in, "image: example.com/widgets:v1}", "image: example.com/widgets:v2}", 1)
		}, want: `image "example.com/widgets:v1" of Deployment widgets-manager, container manager, is not in the CSV's ` +
			"spec.relatedImages"},
		{name: "a binding to a role that is not there", change: func(in string) string {
			return strings.Replace(in, "kind: Role, name: widgets-leader", "kind: Role, name: gone", 1)
		}, want: "RoleBinding widgets-leader binds widgets-manager to Role gone, which is not in the input"},
		{name: "owned CRDs that disagree with the CRDs", change: func(in string) string {
			return strings.Replace(in, "size: {type: integer}", "count: {type: integer}", 1)
		}, want: `the CSV base disagrees with the CRDs:` + "\n" + `owned CRD widgets.example.com (Widget v1):` + "\n" +
			`spec descriptor "size": no field "size"`},
		{name: "two CSVs", change: func(in string) string {
			return in + "---\napiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: other}\n"
		}, want: "two ClusterServiceVersions"},
		{name: "no Deployment", change: func(in string) string {
			return strings.Replace(in, "kind: Deployment", "kind: StatefulSet", 1)
		}, want: "no Deployment in the input"},
		{name: "a version that is not semantic", opts: func(o *Options) { o.Version = "v1" }, want: `version "v1"`},
		{name: "a default channel outside the channels", opts: func(o *Options) { o.DefaultChannel = "beta" },
			want: `default channel "beta" is not one of the channels`},
		{name: "no package", opts: func(o *Options) { o.Package = "" }, want: `package ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input, opts := operatorInput(t), widgetOptions
			if tc.change != nil {
				input = tc.change(input)
			}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Build(decode(t, input), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestBuildKeepsAccountsAndRolesNotBoundToTheOperator(t *testing.T) {
	input := operatorInput(t) + `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: scraper, namespace: widgets-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: scraper-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widgets-viewer}
subjects: [{kind: ServiceAccount, name: scraper, namespace: widgets-system}]
`
	b, err := Build(decode(t, input), widgetOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"manifests/scraper_v1_serviceaccount.yaml",
		"manifests/scraper-reads_rbac.authorization.k8s.io_v1_clusterrolebinding.yaml",
		"manifests/widgets-viewer_rbac.authorization.k8s.io_v1_clusterrole.yaml",
	} {
		file(t, b, path)
	}
	for _, f := range b.Files {
		if strings.Contains(f.Path, "widgets-manager") || strings.Contains(f.Path, "widgets-leader") {
			t.Errorf("%s is in the bundle: OLM makes the operator's account, roles and bindings from the CSV", f.Path)
		}
	}
}
