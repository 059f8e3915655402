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
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

const (
	csvKind        = "ClusterServiceVersion"
	csvGroup       = "operators.coreos.com"
	scorecardGroup = "scorecard.operatorframework.io"
	clusterRole    = "ClusterRole"
	clusterBinding = "ClusterRoleBinding"
)

// supportedKinds are the kinds OLM installs from a registry+v1 bundle besides the CSV and the CRDs
// (operator-registry's pkg/lib/bundle/supported_resources.go).
var supportedKinds = []string{
	"Secret", "ConfigMap", "Service", rbacv1.ServiceAccountKind, clusterRole, clusterBinding, "Role",
	"RoleBinding", "PrometheusRule", "ServiceMonitor", "PodDisruptionBudget", "PriorityClass",
	"VerticalPodAutoscaler", "ConsoleYAMLSample",
}

// Options are the bundle's package, version and channels, as `operator-sdk generate bundle` takes them.
type Options struct {
	Package        string
	Version        string
	Channels       []string
	DefaultChannel string
	// Dir is the bundle directory relative to where bundle.Dockerfile is (its COPY lines name it).
	Dir string
}

// File is a file of the bundle, its path relative to the bundle directory.
type File struct {
	Path string
	Data []byte
}

// Bundle is the generated bundle: its files and its Dockerfile.
type Bundle struct {
	Files      []File
	Dockerfile []byte
}

// input is kustomize's output, sorted by what the bundle does with each object.
type input struct {
	csv         *unstructured.Unstructured
	crds        []*unstructured.Unstructured
	deployments []*unstructured.Unstructured
	roles       map[string]*unstructured.Unstructured // by roleKey
	bindings    []*unstructured.Unstructured
	accounts    []*unstructured.Unstructured
	scorecard   *unstructured.Unstructured
	examples    []*unstructured.Unstructured
	others      []*unstructured.Unstructured
}

// Build makes the bundle out of the objects of `kustomize build config/manifests`:
//
//   - the ClusterServiceVersion base gets the name <package>.v<version>, the version, the samples (custom
//     resources of the CRDs) as alm-examples, and the install strategy: the Deployments, with the rules of
//     the Roles and ClusterRoles bound to their service accounts as permissions and clusterPermissions
//     (OLM creates those accounts, roles and bindings itself);
//   - the CRDs and the other objects OLM installs go to manifests/, without their namespace (OLM installs
//     them into the operator's); Namespaces are dropped; the scorecard Configuration goes to
//     tests/scorecard/config.yaml;
//   - metadata/annotations.yaml and the Dockerfile carry the package and channels.
//
// It refuses input it cannot make a correct bundle of: owned CRDs that disagree with the CRDs, a container
// image missing from relatedImages, a kind OLM does not install, a binding to a role that is not there.
func Build(objects []*unstructured.Unstructured, opts Options) (*Bundle, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	in, err := sortInput(objects)
	if err != nil {
		return nil, err
	}
	csv := in.csv.DeepCopy()
	typed, err := toCSV(csv)
	if err != nil {
		return nil, err
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(in.crds))
	for _, u := range in.crds { // in.crds[i] is crds[i]
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
			return nil, fmt.Errorf("CRD %s: %w", u.GetName(), err)
		}
		crds = append(crds, crd)
	}
	if err := CheckOwnedCRDs(typed.Spec.CustomResourceDefinitions.Owned, crds); err != nil {
		return nil, fmt.Errorf("the CSV base disagrees with the CRDs:\n%w", err)
	}
	install, extra, err := installStrategy(in)
	if err != nil {
		return nil, err
	}
	if err := checkRelatedImages(typed, in.deployments); err != nil {
		return nil, err
	}
	examples, err := almExamples(in.examples)
	if err != nil {
		return nil, err
	}

	csv.SetName(opts.Package + ".v" + opts.Version)
	annotations := csv.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["alm-examples"] = examples
	csv.SetAnnotations(annotations)
	if err := unstructured.SetNestedField(csv.Object, opts.Version, "spec", "version"); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedField(csv.Object, install, "spec", "install"); err != nil {
		return nil, err
	}

	b := &Bundle{}
	add := func(path string, obj map[string]any) error {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if slices.ContainsFunc(b.Files, func(f File) bool { return f.Path == path }) {
			return fmt.Errorf("two objects would be written to %s", path)
		}
		b.Files = append(b.Files, File{Path: path, Data: data})
		return nil
	}
	if err := add("manifests/"+opts.Package+".clusterserviceversion.yaml", csv.Object); err != nil {
		return nil, err
	}
	for i, crd := range crds {
		if err := add("manifests/"+crd.Spec.Group+"_"+crd.Spec.Names.Plural+".yaml", in.crds[i].Object); err != nil {
			return nil, err
		}
	}
	for _, u := range append(in.others, extra...) {
		u = u.DeepCopy()
		u.SetNamespace("")
		if err := add("manifests/"+manifestName(u), u.Object); err != nil {
			return nil, err
		}
	}
	if in.scorecard != nil {
		if err := add("tests/scorecard/config.yaml", in.scorecard.Object); err != nil {
			return nil, err
		}
	}
	core, tests := opts.labels(in.scorecard != nil)
	b.Files = append(b.Files, File{Path: "metadata/annotations.yaml", Data: renderAnnotations(core, tests)})
	b.Dockerfile = renderDockerfile(core, tests, opts.Dir)
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Path < b.Files[j].Path })
	return b, nil
}

func (o Options) validate() error {
	var errs []error
	if o.Package == "" || len(validation.IsDNS1123Label(o.Package)) > 0 {
		errs = append(errs, fmt.Errorf("package %q: want a lower-case name such as nuop", o.Package))
	}
	if _, err := version.ParseSemantic(o.Version); err != nil {
		errs = append(errs, fmt.Errorf("version %q: want a semantic version such as 0.1.0 (%v)", o.Version, err))
	}
	if len(o.Channels) == 0 || slices.Contains(o.Channels, "") {
		errs = append(errs, fmt.Errorf("channels %q: want one or more channel names, comma-separated", o.Channels))
	}
	if o.DefaultChannel != "" && !slices.Contains(o.Channels, o.DefaultChannel) {
		errs = append(errs, fmt.Errorf("default channel %q is not one of the channels %q", o.DefaultChannel, o.Channels))
	}
	return errors.Join(errs...)
}

func sortInput(objects []*unstructured.Unstructured) (*input, error) {
	in := &input{roles: map[string]*unstructured.Unstructured{}}
	owned := map[schema.GroupKind]bool{}
	for _, u := range objects {
		if u.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			owned[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	var errs []error
	for _, u := range objects {
		gk := u.GroupVersionKind().GroupKind()
		switch {
		case gk == schema.GroupKind{Group: csvGroup, Kind: csvKind}:
			if in.csv != nil {
				errs = append(errs, fmt.Errorf("two ClusterServiceVersions: %s and %s", in.csv.GetName(), u.GetName()))
			}
			in.csv = u
		case gk.Kind == "CustomResourceDefinition":
			in.crds = append(in.crds, u)
		case gk == schema.GroupKind{Group: "apps", Kind: "Deployment"}:
			in.deployments = append(in.deployments, u)
		case gk.Group == rbacv1.GroupName && (gk.Kind == "Role" || gk.Kind == clusterRole):
			in.roles[roleKey(gk.Kind, u.GetNamespace(), u.GetName())] = u
		case gk.Group == rbacv1.GroupName && (gk.Kind == "RoleBinding" || gk.Kind == clusterBinding):
			in.bindings = append(in.bindings, u)
		case gk == schema.GroupKind{Kind: rbacv1.ServiceAccountKind}:
			in.accounts = append(in.accounts, u)
		case gk == schema.GroupKind{Kind: "Namespace"}:
			// OLM installs into the namespace of the OperatorGroup.
		case gk == schema.GroupKind{Group: scorecardGroup, Kind: "Configuration"}:
			in.scorecard = u
		case owned[gk]:
			in.examples = append(in.examples, u)
		case slices.Contains(supportedKinds, gk.Kind):
			in.others = append(in.others, u)
		default:
			errs = append(errs, fmt.Errorf("%s %s: OLM does not install this kind from a bundle (it installs %s)",
				u.GroupVersionKind().Kind, u.GetName(), strings.Join(supportedKinds, ", ")))
		}
	}
	if in.csv == nil {
		errs = append(errs, errors.New("no ClusterServiceVersion in the input (config/manifests/bases)"))
	}
	if len(in.deployments) == 0 {
		errs = append(errs, errors.New("no Deployment in the input: the CSV would install nothing"))
	}
	return in, errors.Join(errs...)
}

func roleKey(kind, namespace, name string) string {
	if kind == clusterRole {
		namespace = ""
	}
	return kind + "/" + namespace + "/" + name
}

// installStrategy makes the CSV's deployment install strategy. A binding to a Deployment's service account
// becomes permissions (RoleBinding) or clusterPermissions (ClusterRoleBinding) holding its role's rules;
// OLM then creates the account, the roles and the bindings, so those objects are left out of the bundle.
// extra is the roles, bindings and accounts that stay objects of their own.
func installStrategy(in *input) (map[string]any, []*unstructured.Unstructured, error) {
	accounts := map[string]bool{} // namespace/name of the Deployments' service accounts
	deployments := make([]any, 0, len(in.deployments))
	for _, d := range in.deployments {
		sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
		accounts[d.GetNamespace()+"/"+cmp.Or(sa, "default")] = true
		entry := map[string]any{"name": d.GetName(), "spec": d.Object["spec"]}
		if labels := d.GetLabels(); len(labels) > 0 {
			entry["label"] = toAny(labels)
		}
		deployments = append(deployments, entry)
	}

	permissions := map[string][]any{}
	clusterPermissions := map[string][]any{}
	folded := map[string]bool{} // roles whose rules went into the CSV
	var extra []*unstructured.Unstructured
	var errs []error
	for _, b := range in.bindings {
		sa := boundAccount(b, accounts)
		if sa == "" {
			extra = append(extra, b)
			continue
		}
		refKind, _, _ := unstructured.NestedString(b.Object, "roleRef", "kind")
		refName, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
		key := roleKey(refKind, b.GetNamespace(), refName)
		role, ok := in.roles[key]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s binds %s to %s %s, which is not in the input", b.GetKind(), b.GetName(),
				sa, refKind, refName))
			continue
		}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		if b.GetKind() == clusterBinding {
			clusterPermissions[sa] = append(clusterPermissions[sa], rules...)
		} else {
			permissions[sa] = append(permissions[sa], rules...)
		}
		folded[key] = true
	}
	keys := make([]string, 0, len(in.roles))
	for key := range in.roles {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !folded[key] {
			extra = append(extra, in.roles[key])
		}
	}
	for _, a := range in.accounts {
		if _, ok := permissions[a.GetName()]; ok {
			continue
		}
		if _, ok := clusterPermissions[a.GetName()]; ok {
			continue
		}
		extra = append(extra, a)
	}

	spec := map[string]any{"deployments": deployments}
	if len(permissions) > 0 {
		spec["permissions"] = permissionList(permissions)
	}
	if len(clusterPermissions) > 0 {
		spec["clusterPermissions"] = permissionList(clusterPermissions)
	}
	return map[string]any{"strategy": "deployment", "spec": spec}, extra, errors.Join(errs...)
}

// boundAccount is the Deployment service account a binding binds (its name), or "".
func boundAccount(b *unstructured.Unstructured, accounts map[string]bool) string {
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	for _, s := range subjects {
		m, _ := s.(map[string]any)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		namespace, _ := m["namespace"].(string)
		if kind == rbacv1.ServiceAccountKind && accounts[namespace+"/"+name] {
			return name
		}
	}
	return ""
}

func permissionList(bySA map[string][]any) []any {
	names := make([]string, 0, len(bySA))
	for sa := range bySA {
		names = append(names, sa)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, sa := range names {
		out = append(out, map[string]any{"serviceAccountName": sa, "rules": bySA[sa]})
	}
	return out
}

// checkRelatedImages: every image the Deployments run is listed in spec.relatedImages, which disconnected
// installs mirror (config/manifests copies the manager's image there).
func checkRelatedImages(csv *CSV, deployments []*unstructured.Unstructured) error {
	var errs []error
	for _, d := range deployments {
		for _, field := range []string{"initContainers", "containers"} {
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", field)
			for _, c := range containers {
				m, _ := c.(map[string]any)
				image, _ := m["image"].(string)
				if !slices.ContainsFunc(csv.Spec.RelatedImages, func(r RelatedImage) bool { return r.Image == image }) {
					errs = append(errs, fmt.Errorf("image %q of Deployment %s, container %v, is not in the CSV's "+
						"spec.relatedImages", image, d.GetName(), m["name"]))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// almExamples is the JSON list of the samples, as the console offers them when creating a resource.
func almExamples(examples []*unstructured.Unstructured) (string, error) {
	list := make([]map[string]any, 0, len(examples))
	for _, e := range examples {
		list = append(list, e.Object)
	}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return "", fmt.Errorf("alm-examples: %w", err)
	}
	return string(data), nil
}

// manifestName is operator-sdk's file name of a bundle object: <name>_<group>_<version>_<kind>.yaml, the
// group left out for the core API.
func manifestName(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	parts := []string{u.GetName()}
	if gvk.Group != "" {
		parts = append(parts, gvk.Group)
	}
	parts = append(parts, gvk.Version, strings.ToLower(gvk.Kind))
	return strings.Join(parts, "_") + ".yaml"
}

func toCSV(u *unstructured.Unstructured) (*CSV, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	return ReadCSV(data)
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
