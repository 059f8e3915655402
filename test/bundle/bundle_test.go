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

// Package bundle tests the packaging committed with the project: the OLM bundle (bundle/, bundle.Dockerfile)
// against config/, and dist/install.yaml against config/default.
package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/olmbundle"
	"kemper.buzz/nuop/test/utils/containeropts"
)

const stale = "bundle/ is stale: run `make bundle` and commit bundle/ and bundle.Dockerfile"

// TestBundleIsFresh: bundle/ and bundle.Dockerfile are what `make bundle` makes of config/manifests now,
// with the version and channels the committed bundle has. A bundle operator-sdk made passes too when it
// says the same: files are compared by meaning, without the stamps of the tool that made them.
func TestBundleIsFresh(t *testing.T) {
	csv := committedCSV(t)
	ann := annotations(t)
	opts := olmbundle.Options{
		Package:        ann["operators.operatorframework.io.bundle.package.v1"],
		Version:        csv.Spec.Version,
		Channels:       strings.Split(ann["operators.operatorframework.io.bundle.channels.v1"], ","),
		DefaultChannel: ann["operators.operatorframework.io.bundle.channel.default.v1"],
		Dir:            "bundle",
	}
	want, err := olmbundle.Build(objectsOf(t, kustomizeBuild(t, "config/manifests")), opts)
	if err != nil {
		t.Fatalf("hack/bundle refuses config/manifests: %v", err)
	}

	root := filepath.Join(repoRoot(t), "bundle")
	var committed []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			committed = append(committed, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatalf("%v: %s", err, stale)
	}
	var generated []string
	for _, f := range want.Files {
		generated = append(generated, f.Path)
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			continue // reported with the file lists below
		}
		if diff := cmp.Diff(normalize(t, f.Data), normalize(t, data)); diff != "" {
			t.Errorf("%s: %s (-generated +committed):\n%s", f.Path, stale, diff)
		}
	}
	sort.Strings(committed)
	if diff := cmp.Diff(generated, committed); diff != "" {
		t.Errorf("bundle files: %s (-generated +committed):\n%s", stale, diff)
	}

	wantLabels, wantCopies := parseDockerfile(t, want.Dockerfile)
	labels, copies := dockerfile(t)
	for _, m := range []map[string]string{wantLabels, labels} {
		for k := range m {
			if isStamp(k) {
				delete(m, k)
			}
		}
	}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("bundle.Dockerfile labels: %s (-generated +committed):\n%s", stale, diff)
	}
	if diff := cmp.Diff(wantCopies, copies); diff != "" {
		t.Errorf("bundle.Dockerfile COPY lines: %s (-generated +committed):\n%s", stale, diff)
	}
}

// TestAnnotationsHaveWhatOLMReads: metadata/annotations.yaml has the keys OLM unpacks a bundle by, and
// bundle.Dockerfile labels the image with the same and copies each directory where they point.
func TestAnnotationsHaveWhatOLMReads(t *testing.T) {
	ann := annotations(t)
	for key, want := range map[string]string{
		"operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
		"operators.operatorframework.io.bundle.manifests.v1": "manifests/",
		"operators.operatorframework.io.bundle.metadata.v1":  "metadata/",
		"operators.operatorframework.io.bundle.package.v1":   "nuop",
	} {
		if ann[key] != want {
			t.Errorf("annotations.yaml: %s is %q, want %q", key, ann[key], want)
		}
	}
	channels := strings.Split(ann["operators.operatorframework.io.bundle.channels.v1"], ",")
	if slices.Contains(channels, "") {
		t.Errorf("annotations.yaml: channels %q: want one or more channel names", channels)
	}
	if def := ann["operators.operatorframework.io.bundle.channel.default.v1"]; !slices.Contains(channels, def) {
		t.Errorf("annotations.yaml: default channel %q is not one of the channels %q", def, channels)
	}

	labels, copies := dockerfile(t)
	if diff := cmp.Diff(ann, labels); diff != "" {
		t.Errorf("bundle.Dockerfile's labels differ from annotations.yaml (-annotations +labels):\n%s", diff)
	}
	for key, dir := range map[string]string{
		"operators.operatorframework.io.bundle.manifests.v1": "manifests",
		"operators.operatorframework.io.bundle.metadata.v1":  "metadata",
		"operators.operatorframework.io.test.config.v1":      "tests/scorecard",
	} {
		dest := "/" + ann[key]
		if ann[key] == "" || copies[dest] != "bundle/"+dir {
			t.Errorf("bundle.Dockerfile copies %q to %s (the %s annotation): want bundle/%s", copies[dest], dest, key, dir)
		}
		if _, err := os.Stat(filepath.Join(repoRoot(t), "bundle", dir)); err != nil {
			t.Errorf("%s names %s: %v", key, dir, err)
		}
	}
	if ann["operators.operatorframework.io.test.mediatype.v1"] != "scorecard+v1" {
		t.Errorf("annotations.yaml: the scorecard's media type is %q, want scorecard+v1",
			ann["operators.operatorframework.io.test.mediatype.v1"])
	}
}

// managerDeployment is config/default's Deployment.
func managerDeployment(t *testing.T, objects []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	deployments := ofKind(objects, "Deployment")
	if len(deployments) != 1 {
		t.Fatalf("config/default has %d Deployments, want the manager's alone", len(deployments))
	}
	d := &appsv1.Deployment{}
	convert(t, deployments[0], d)
	return d
}

// olmTargetNamespaces is what config/manifests adds to the manager's container for OLM: its target
// namespaces from the pod annotation OLM sets, passed to --watch-namespaces.
var olmTargetNamespaces = corev1.EnvVar{Name: "OLM_TARGET_NAMESPACES", ValueFrom: &corev1.EnvVarSource{
	FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['olm.targetNamespaces']"}}}

const watchTargetNamespaces = "--watch-namespaces=$(OLM_TARGET_NAMESPACES)"

var quantities = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

// TestInstallStrategyIsConfigDefault: the CSV installs config/default's Deployment (plus the OLM target
// namespaces) with the rules config/default binds to its service account: the manager's and the metrics
// auth ClusterRoles cluster-wide, the leader election Role in its namespace.
func TestInstallStrategyIsConfigDefault(t *testing.T) {
	objects := objectsOf(t, kustomizeBuild(t, "config/default"))
	dep := managerDeployment(t, objects)
	install := committedCSV(t).Spec.Install
	if install.Strategy != "deployment" || len(install.Spec.Deployments) != 1 {
		t.Fatalf("install strategy %q with %d deployments: want deployment with the manager's", install.Strategy,
			len(install.Spec.Deployments))
	}
	got := install.Spec.Deployments[0]
	if got.Name != dep.Name {
		t.Errorf("the CSV's deployment is %s, config/default's %s", got.Name, dep.Name)
	}
	if diff := cmp.Diff(dep.Labels, got.Label); diff != "" {
		t.Errorf("deployment labels (-config/default +CSV):\n%s", diff)
	}
	want := dep.Spec.DeepCopy()
	i := slices.IndexFunc(want.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "manager" })
	if i < 0 {
		t.Fatal("config/default's Deployment has no container named manager")
	}
	want.Template.Spec.Containers[i].Env = append(want.Template.Spec.Containers[i].Env, olmTargetNamespaces)
	want.Template.Spec.Containers[i].Args = append(want.Template.Spec.Containers[i].Args, watchTargetNamespaces)
	if diff := cmp.Diff(*want, got.Spec, quantities); diff != "" {
		t.Errorf("deployment spec (-config/default with OLM's target namespaces +CSV):\n%s", diff)
	}

	sa := dep.Spec.Template.Spec.ServiceAccountName
	wantCluster, wantNamespaced := boundRules(t, objects, dep.Namespace, sa)
	if len(wantCluster) == 0 || len(wantNamespaced) == 0 {
		t.Fatalf("config/default binds %s to %d cluster-wide and %d namespaced rules: want both", sa, len(wantCluster),
			len(wantNamespaced))
	}
	for _, c := range []struct {
		name  string
		want  []rbacv1.PolicyRule
		perms []olmbundle.Permission
	}{
		{"clusterPermissions", wantCluster, install.Spec.ClusterPermissions},
		{"permissions", wantNamespaced, install.Spec.Permissions},
	} {
		if len(c.perms) != 1 || c.perms[0].ServiceAccountName != sa {
			t.Errorf("%s: want one entry, for %s; got %+v", c.name, sa, c.perms)
			continue
		}
		if diff := cmp.Diff(ruleSet(t, c.want), ruleSet(t, c.perms[0].Rules)); diff != "" {
			t.Errorf("%s (-config/default +CSV):\n%s", c.name, diff)
		}
	}
}

// boundRules are the rules of the roles config/default binds to a service account: cluster-wide through
// ClusterRoleBindings, in a namespace through RoleBindings.
func boundRules(t *testing.T, objects []*unstructured.Unstructured, namespace, sa string) (cluster, namespaced []rbacv1.PolicyRule) {
	t.Helper()
	rules := map[string][]rbacv1.PolicyRule{}
	for _, kind := range []string{"Role", "ClusterRole"} {
		for _, u := range ofKind(objects, kind) {
			role := &rbacv1.ClusterRole{} // a Role's fields are a subset
			convert(t, u, role)
			rules[kind+"/"+u.GetName()] = role.Rules
		}
	}
	for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
		for _, u := range ofKind(objects, kind) {
			b := &rbacv1.ClusterRoleBinding{}
			convert(t, u, b)
			if !slices.Contains(b.Subjects, rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: namespace}) {
				continue
			}
			r, ok := rules[b.RoleRef.Kind+"/"+b.RoleRef.Name]
			if !ok {
				t.Fatalf("%s %s binds %s %s, which config/default does not have", kind, b.Name, b.RoleRef.Kind, b.RoleRef.Name)
			}
			if kind == "ClusterRoleBinding" {
				cluster = append(cluster, r...)
			} else {
				namespaced = append(namespaced, r...)
			}
		}
	}
	return cluster, namespaced
}

// ruleSet is rules as a sorted list of their JSON, so that order does not matter.
func ruleSet(t *testing.T, rules []rbacv1.PolicyRule) []string {
	t.Helper()
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	sort.Strings(out)
	return out
}

// TestBundleObjectsAreConfigDefault: what OLM installs besides the CSV is config/default's other objects
// (the CRDs, the metrics Service, the metrics reader ClusterRole, ...) without their namespace; the
// namespace, the service account, and the roles and bindings folded into the CSV are not there.
func TestBundleObjectsAreConfigDefault(t *testing.T) {
	objects := objectsOf(t, kustomizeBuild(t, "config/default"))
	dep := managerDeployment(t, objects)
	sa := dep.Spec.Template.Spec.ServiceAccountName
	folded := map[string]bool{"Namespace": true, "Deployment": true}
	want := map[string]any{}
	for _, u := range objects {
		if folded[u.GetKind()] || u.GetKind() == "ServiceAccount" && u.GetName() == sa {
			continue
		}
		if bindsManager(t, u, sa) || isRoleBoundTo(t, objects, u, sa) {
			continue
		}
		u = u.DeepCopy()
		u.SetNamespace("")
		want[bundleFileName(t, u)] = normalizeObject(t, u)
	}
	got := map[string]any{}
	dir := filepath.Join(repoRoot(t), "bundle", "manifests")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "nuop.clusterserviceversion.yaml" {
			continue
		}
		got[e.Name()] = normalize(t, readFile(t, "bundle", "manifests", e.Name()))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundle/manifests (-config/default +bundle):\n%s", diff)
	}
}

// bundleFileName is operator-sdk's name for an object's file in bundle/manifests.
func bundleFileName(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	if u.GetKind() == "CustomResourceDefinition" {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		convert(t, u, crd)
		return crd.Spec.Group + "_" + crd.Spec.Names.Plural + ".yaml"
	}
	gvk := u.GroupVersionKind()
	if gvk.Group == "" {
		return fmt.Sprintf("%s_%s_%s.yaml", u.GetName(), gvk.Version, strings.ToLower(gvk.Kind))
	}
	return fmt.Sprintf("%s_%s_%s_%s.yaml", u.GetName(), gvk.Group, gvk.Version, strings.ToLower(gvk.Kind))
}

func normalizeObject(t *testing.T, u *unstructured.Unstructured) any {
	t.Helper()
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return normalize(t, data)
}

func bindsManager(t *testing.T, u *unstructured.Unstructured, sa string) bool {
	t.Helper()
	if u.GetKind() != "RoleBinding" && u.GetKind() != "ClusterRoleBinding" {
		return false
	}
	b := &rbacv1.ClusterRoleBinding{}
	convert(t, u, b)
	return slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Kind == "ServiceAccount" && s.Name == sa })
}

func isRoleBoundTo(t *testing.T, objects []*unstructured.Unstructured, role *unstructured.Unstructured, sa string) bool {
	t.Helper()
	if role.GetKind() != "Role" && role.GetKind() != "ClusterRole" {
		return false
	}
	return slices.ContainsFunc(objects, func(u *unstructured.Unstructured) bool {
		if !bindsManager(t, u, sa) {
			return false
		}
		b := &rbacv1.ClusterRoleBinding{}
		convert(t, u, b)
		return b.RoleRef.Kind == role.GetKind() && b.RoleRef.Name == role.GetName()
	})
}

// configCRDs are the CRDs config/crd installs.
func configCRDs(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	objects := objectsOf(t, kustomizeBuild(t, "config/crd"))
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(objects))
	for _, u := range objects {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		convert(t, u, crd)
		crds = append(crds, crd)
	}
	if len(crds) == 0 {
		t.Fatal("config/crd installs no CRD: run make manifests")
	}
	return crds
}

// TestOwnedCRDsMatchConfigCRD: the CSV owns exactly the CRDs config/crd installs, by name, version and kind,
// and every owned entry's descriptors name fields of its CRD's schema and fit them.
func TestOwnedCRDsMatchConfigCRD(t *testing.T) {
	crds := configCRDs(t)
	var want []string
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				want = append(want, crd.Name+" "+v.Name+" "+crd.Spec.Names.Kind)
			}
		}
	}
	csv := committedCSV(t)
	got := make([]string, 0, len(csv.Spec.CustomResourceDefinitions.Owned))
	for _, d := range csv.Spec.CustomResourceDefinitions.Owned {
		got = append(got, d.Name+" "+d.Version+" "+d.Kind)
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("owned CRDs (-config/crd +CSV):\n%s", diff)
	}
	if err := olmbundle.CheckOwnedCRDs(csv.Spec.CustomResourceDefinitions.Owned, crds); err != nil {
		t.Errorf("the CSV's owned CRDs (config/manifests/bases/nuop.clusterserviceversion.yaml):\n%v", err)
	}
}

// TestALMExamplesAreTheSamples: the console's examples are config/samples' custom resources, and each
// passes what the scorecard's OLM suite asks: a spec (basic-check-spec), only fields of the CRD's schema
// (olm-crds-have-validation) and a spec descriptor of each top-level field it sets (olm-spec-descriptors).
func TestALMExamplesAreTheSamples(t *testing.T) {
	csv := committedCSV(t)
	var examples []*unstructured.Unstructured
	if err := json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples); err != nil {
		t.Fatalf("alm-examples: %v", err)
	}
	want := map[string]any{}
	for _, u := range objectsOf(t, kustomizeBuild(t, "config/samples")) {
		if strings.HasSuffix(u.GroupVersionKind().Group, "kemper.buzz") {
			want[u.GetKind()+"/"+u.GetName()] = normalizeObject(t, u)
		}
	}
	got := map[string]any{}
	for _, e := range examples {
		got[e.GetKind()+"/"+e.GetName()] = normalizeObject(t, e)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alm-examples (-config/samples +CSV):\n%s", diff)
	}

	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, crd := range configCRDs(t) {
		crds[crd.Spec.Names.Kind] = crd
	}
	for _, e := range examples {
		owned, ok := csv.Owned(crds[e.GetKind()].Name)
		if !ok {
			t.Errorf("example %s: its kind is not owned", e.GetName())
			continue
		}
		spec, _, _ := unstructured.NestedMap(e.Object, "spec")
		if len(spec) == 0 {
			t.Errorf("example %s %s has no spec", e.GetKind(), e.GetName())
		}
		schema := crds[e.GetKind()].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		for field := range spec {
			if _, ok := schema.Properties[field]; !ok {
				t.Errorf("example %s %s: spec.%s is not in the CRD's schema", e.GetKind(), e.GetName(), field)
			}
			if !slices.ContainsFunc(owned.SpecDescriptors, func(d olmbundle.Descriptor) bool { return d.Path == field }) {
				t.Errorf("example %s %s sets spec.%s, which has no spec descriptor of path %q", e.GetKind(), e.GetName(),
					field, field)
			}
		}
	}
}

// TestInstallModesReachTheManager: every install mode the CSV supports works through one path: OLM puts
// the OperatorGroup's target namespaces in the pod annotation olm.targetNamespaces ("" for AllNamespaces,
// one namespace, or a comma-separated list), the downward API and $(OLM_TARGET_NAMESPACES) hand it to
// --watch-namespaces, and the manager's own flag parser reads it as the namespaces to watch.
func TestInstallModesReachTheManager(t *testing.T) {
	csv := committedCSV(t)
	dep := csv.Spec.Install.Spec.Deployments[0].Spec.Template.Spec
	i := slices.IndexFunc(dep.Containers, func(c corev1.Container) bool { return c.Name == "manager" })
	if i < 0 {
		t.Fatal("the CSV's deployment has no manager container")
	}
	manager := dep.Containers[i]
	if !slices.ContainsFunc(manager.Env, func(e corev1.EnvVar) bool { return cmp.Equal(e, olmTargetNamespaces) }) {
		t.Fatalf("the manager's env lacks %+v", olmTargetNamespaces)
	}
	modes := map[string]string{ // install mode: olm.targetNamespaces
		"AllNamespaces":   "",
		"OwnNamespace":    "nuop-system",
		"SingleNamespace": "team-a",
		"MultiNamespace":  "team-a,team-b",
	}
	for _, mode := range csv.Spec.InstallModes {
		target, known := modes[mode.Type]
		if !known {
			t.Errorf("unknown install mode %q", mode.Type)
			continue
		}
		if !mode.Supported {
			t.Errorf("install mode %s is not supported, but --watch-namespaces takes %q", mode.Type, target)
			continue
		}
		o, err := containeropts.Parse(&manager, containeropts.Run{
			Entrypoint: []string{containeropts.Program},
			ValueFrom: func(s *corev1.EnvVarSource) (string, bool) {
				switch {
				case cmp.Equal(s, olmTargetNamespaces.ValueFrom):
					return target, true
				case s.FieldRef != nil && s.FieldRef.FieldPath == "metadata.namespace":
					return "nuop-system", true // the operator's own: OwnNamespace's target
				}
				return "", false
			},
		}, io.Discard)
		if err != nil {
			t.Errorf("%s: %v", mode.Type, err)
			continue
		}
		var want []string
		if target != "" {
			want = strings.Split(target, ",")
		}
		if diff := cmp.Diff(want, o.WatchNamespaces); diff != "" {
			t.Errorf("%s: watched namespaces (-olm.targetNamespaces +manager):\n%s", mode.Type, diff)
		}
		delete(modes, mode.Type)
	}
	for mode := range modes {
		t.Errorf("the CSV does not say whether it supports install mode %s", mode)
	}
}

// TestRelatedImagesAreTheManagerImage: the images the CSV installs are listed for mirroring, and the
// containerImage annotation (OperatorHub) is the manager's.
func TestRelatedImagesAreTheManagerImage(t *testing.T) {
	csv := committedCSV(t)
	images := map[string]bool{}
	for _, r := range csv.Spec.RelatedImages {
		images[r.Image] = true
	}
	for _, d := range csv.Spec.Install.Spec.Deployments {
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			if !images[c.Image] {
				t.Errorf("%s's image %s is not in relatedImages %v", c.Name, c.Image, csv.Spec.RelatedImages)
			}
			if c.Name == "manager" && csv.Annotations["containerImage"] != c.Image {
				t.Errorf("containerImage is %q, the manager's image %q", csv.Annotations["containerImage"], c.Image)
			}
		}
	}
}

// TestInstallYAMLIsFresh: dist/install.yaml is what `make build-installer` makes now: config/default built
// (with the image config/manager names).
func TestInstallYAMLIsFresh(t *testing.T) {
	want := string(kustomizeBuild(t, "config/default"))
	got := string(readFile(t, "dist", "install.yaml"))
	if got != want {
		t.Errorf("dist/install.yaml is stale: run `make build-installer` and commit it (-config/default +dist):\n%s",
			cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")))
	}
}
