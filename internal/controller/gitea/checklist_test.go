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

package gitea

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/olmbundle"
	"kemper.buzz/nuop/test/utils"
)

// TestKindChecklist holds every registered managed kind to what makes it usable: a CRD installed by
// config/crd, the manager's RBAC on it and its status, a sample listed in config/samples, an entry in
// PROJECT, a section in docs/gitea.md and an owned-CRD entry, with spec and status descriptors that fit its
// schema, in the OLM bundle's CSV base. A kind missing one of them fails here, not in a
// user's cluster.
func TestKindChecklist(t *testing.T) {
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(elem ...string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(append([]string{root}, elem...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	crds := giteaCRDs(t, root)
	crdKustomization := read("config", "crd", "kustomization.yaml")
	sampleKustomization := read("config", "samples", "kustomization.yaml")
	project := read("PROJECT")
	docs := read("docs", "gitea.md")
	rules := managerRules(t, read("config", "rbac", "role.yaml"))
	csv, err := olmbundle.ReadCSV([]byte(read("config", "manifests", "bases", "nuop.clusterserviceversion.yaml")))
	if err != nil {
		t.Fatal(err)
	}

	if len(kinds) == 0 {
		t.Fatal("no managed kind is registered")
	}
	for _, k := range kinds {
		t.Run(k.Kind, func(t *testing.T) {
			crd, ok := crds[k.Kind]
			if !ok {
				t.Fatalf("no CRD for %s in config/crd/bases: run make manifests", k.Kind)
			}
			plural := crd.Spec.Names.Plural
			crdFile := "bases/gitea.kemper.buzz_" + plural + ".yaml"
			if !strings.Contains(crdKustomization, "- "+crdFile) {
				t.Errorf("config/crd/kustomization.yaml does not list %s", crdFile)
			}
			// No finalizers subresource: nothing the manager makes is owned by a managed resource.
			for resource, verbs := range map[string][]string{
				plural:             {"get", "list", "watch", "update", "patch"},
				plural + "/status": {"patch"},
			} {
				if missing := missingVerbs(rules, resource, verbs); len(missing) > 0 {
					t.Errorf("the manager's role lacks %v on %s: add +kubebuilder:rbac markers", missing, resource)
				}
			}
			sample := "gitea_v1alpha1_" + strings.ToLower(k.Kind) + ".yaml"
			if _, err := os.Stat(filepath.Join(root, "config", "samples", sample)); err != nil {
				t.Errorf("no sample config/samples/%s", sample)
			}
			if !strings.Contains(sampleKustomization, "- "+sample) {
				t.Errorf("config/samples/kustomization.yaml does not list %s", sample)
			}
			if !regexp.MustCompile(`(?m)^  kind: ` + k.Kind + `$`).MatchString(project) {
				t.Errorf("PROJECT has no resource of kind %s", k.Kind)
			}
			if !regexp.MustCompile(`(?m)^### ` + k.Kind + `$`).MatchString(docs) {
				t.Errorf("docs/gitea.md has no section \"### %s\"", k.Kind)
			}
			if owned, ok := csv.Owned(crd.Name); !ok {
				t.Errorf("config/manifests/bases/nuop.clusterserviceversion.yaml owns no CRD %s: add its entry with "+
					"displayName, description and spec and status descriptors", crd.Name)
			} else if err := olmbundle.CheckOwnedCRD(owned, crd); err != nil {
				t.Errorf("config/manifests/bases/nuop.clusterserviceversion.yaml: %v", err)
			}
		})
	}
}

// giteaCRDs maps the kinds of config/crd/bases of the gitea group to their CRDs.
func giteaCRDs(t *testing.T, root string) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", giteav1alpha1.GroupVersion.Group+"_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[crd.Spec.Names.Kind] = crd
	}
	return out
}

func managerRules(t *testing.T, roleYAML string) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(roleYAML), &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// missingVerbs lists the verbs of want that no rule grants on the gitea.kemper.buzz resource.
func missingVerbs(rules []rbacv1.PolicyRule, resource string, want []string) []string {
	var missing []string
	for _, verb := range want {
		granted := slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, giteav1alpha1.GroupVersion.Group) &&
				slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
		})
		if !granted {
			missing = append(missing, verb)
		}
	}
	return missing
}
