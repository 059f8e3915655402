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

package rbac

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestManagerRulesGolden bounds the manager's permissions from above: every permission config/default
// grants the manager's service account (config/rbac/role.yaml, generated from the +kubebuilder:rbac
// markers, and the other roles config/rbac binds to it) must be in testdata/manager-rules.yaml with its
// reason, and every permission listed there must still be granted.
func TestManagerRulesGolden(t *testing.T) {
	roles, err := managerRoles()
	if err != nil {
		t.Fatal(err)
	}
	golden, err := readGolden()
	if err != nil {
		t.Fatal(err)
	}
	if problems := compareGolden(roles, golden); len(problems) > 0 {
		t.Errorf("the manager's RBAC and %s differ:\n%s", goldenName, strings.Join(problems, "\n"))
	}
}

// TestCompareGolden holds the comparison to what it must catch.
func TestCompareGolden(t *testing.T) {
	rule := func(group, resource string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
	}
	listed := func(reason string, rules ...rbacv1.PolicyRule) []goldenRule {
		out := make([]goldenRule, 0, len(rules))
		for _, r := range rules {
			out = append(out, goldenRule{PolicyRule: r, Reason: reason})
		}
		return out
	}
	roles := map[string][]rbacv1.PolicyRule{"ClusterRole m": {rule("", "secrets", "get", "list")}}
	for _, tc := range []struct {
		name   string
		golden []goldenRole
		want   []string
	}{
		{"the same permissions grouped otherwise", []goldenRole{{Role: "ClusterRole m",
			Rules: listed("why", rule("", "secrets", "list"), rule("", "secrets", "get"))}}, nil},
		{"a permission not listed", []goldenRole{{Role: "ClusterRole m", Rules: listed("why", rule("", "secrets", "get"))}},
			[]string{"ClusterRole m grants list secrets, which"}},
		{"a stale permission", []goldenRole{{Role: "ClusterRole m", Rules: listed("why", rule("", "secrets", "get", "list", "delete"))}},
			[]string{"ClusterRole m no longer grants delete secrets"}},
		{"a rule without a reason", []goldenRole{{Role: "ClusterRole m", Rules: listed(" ", rule("", "secrets", "get", "list"))}},
			[]string{"ClusterRole m, rule 1"}},
		{"a permission listed twice", []goldenRole{{Role: "ClusterRole m",
			Rules: listed("why", rule("", "secrets", "get", "list"), rule("", "secrets", "get"))}},
			[]string{"ClusterRole m: get secrets is listed twice"}},
		{"a role not listed, a stale role", []goldenRole{{Role: "ClusterRole gone", Rules: listed("why", rule("", "secrets", "get"))}},
			[]string{"ClusterRole gone is listed, but", "config/default binds ClusterRole m to the manager"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compareGolden(roles, tc.golden)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d is %q, want it to start with %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
