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
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The roles each kind has for people, in Kubebuilder's naming, and the verbs each grants on the kind (all
// three may read the status; none may write it: only nuop writes status).
var userRoles = []struct {
	role  string
	verbs []string
}{
	{"viewer", []string{"get", "list", "watch"}},
	{"editor", []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
	{"admin", []string{"*"}},
}

// aggregation is the built-in role (view, edit, admin; "" for none) each kind's viewer, editor and admin
// roles aggregate into: the decision docs/operations.md explains in "Roles for users", which must say the
// same. A new kind fails the test until it is decided here and there.
var aggregation = map[string][3]string{
	"NuOperator":       {"view", "edit", "admin"},
	"GiteaProvider":    {"view", "", "admin"},
	"User":             {"view", "", ""},
	"Organization":     {"view", "edit", "admin"},
	"Repository":       {"view", "edit", "admin"},
	"Team":             {"view", "edit", "admin"},
	"Webhook":          {"view", "edit", "admin"},
	"DeployKey":        {"view", "edit", "admin"},
	"Label":            {"view", "edit", "admin"},
	"BranchProtection": {"view", "edit", "admin"},
	"Collaborator":     {"view", "edit", "admin"},
}

const aggregateLabelPrefix = "rbac.authorization.k8s.io/aggregate-to-"

// TestEveryKindHasItsUserRoles: config/default installs, for every CRD it installs, a viewer, an editor
// and an admin ClusterRole with exactly their rules, aggregated as decided.
func TestEveryKindHasItsUserRoles(t *testing.T) {
	b := kustomizeBuild(t, root, defaultConfig)
	kinds := map[string]bool{}
	for _, u := range b.all("CustomResourceDefinition") {
		crd := typed[apiextensionsv1.CustomResourceDefinition](t, u)
		kind, group, plural := crd.Spec.Names.Kind, crd.Spec.Group, crd.Spec.Names.Plural
		kinds[kind] = true
		decided, ok := aggregation[kind]
		if !ok {
			t.Errorf("kind %s has no decision on which built-in roles its user roles aggregate into: add it to "+
				"aggregation here and to docs/operations.md, \"Roles for users\"", kind)
			continue
		}
		// Kubebuilder's multigroup names: <group>-<kind>-<role>-role, without the group for the domain's own.
		prefix := "nuop-"
		if g := strings.TrimSuffix(group, ".kemper.buzz"); g != group {
			prefix += g + "-"
		}
		for i, r := range userRoles {
			name := prefix + strings.ToLower(kind) + "-" + r.role + "-role"
			role := typed[rbacv1.ClusterRole](t, b.one(t, "ClusterRole", name))
			want := []rbacv1.PolicyRule{
				{APIGroups: []string{group}, Resources: []string{plural}, Verbs: r.verbs},
				{APIGroups: []string{group}, Resources: []string{plural + "/status"}, Verbs: []string{"get"}},
			}
			if diff := cmp.Diff(want, role.Rules); diff != "" {
				t.Errorf("ClusterRole %s rules (-want +got):\n%s", name, diff)
			}
			var got []string
			for k, v := range role.Labels {
				if strings.HasPrefix(k, aggregateLabelPrefix) && v == "true" {
					got = append(got, strings.TrimPrefix(k, aggregateLabelPrefix))
				}
			}
			var wantAgg []string
			if decided[i] != "" {
				wantAgg = []string{decided[i]}
			}
			if !slices.Equal(got, wantAgg) {
				t.Errorf("ClusterRole %s aggregates into %v, want %v", name, got, wantAgg)
			}
		}
	}
	for kind := range aggregation {
		if !kinds[kind] {
			t.Errorf("aggregation decides for %s, which config/default installs no CRD for", kind)
		}
	}
}

// TestRolesForUsersAreDocumented: the table of docs/operations.md, "Roles for users", says what the roles do.
func TestRolesForUsersAreDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(data)
	start := strings.Index(section, "\n## Roles for users\n")
	if start < 0 {
		t.Fatal(`docs/operations.md has no section "## Roles for users"`)
	}
	section = section[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	// | `Kind`, `Kind2` | view | edit | admin | why |
	row := regexp.MustCompile("(?m)^\\| ((?:`\\w+`(?:, )?)+) \\| (\\w+) \\| (\\w+) \\| (\\w+) \\|")
	kind := regexp.MustCompile("`(\\w+)`")
	documented := map[string][3]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var roles [3]string
		for i, r := range m[2:5] {
			if r != "none" {
				roles[i] = r
			}
		}
		for _, k := range kind.FindAllStringSubmatch(m[1], -1) {
			documented[k[1]] = roles
		}
	}
	if !maps.Equal(documented, aggregation) {
		t.Errorf("docs/operations.md documents %v, the roles do %v", documented, aggregation)
	}
}
