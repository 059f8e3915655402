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
	"fmt"
	"os"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/options"
)

// goldenPath is the golden list of the manager's rules, each with its reason; goldenName names it in
// messages.
const (
	goldenPath = "testdata/manager-rules.yaml"
	goldenName = "test/rbac/" + goldenPath
)

// goldenRole is the golden list's entry for one role bound to the manager's service account.
type goldenRole struct {
	// Role is the role as roleName names it.
	Role  string       `json:"role"`
	Rules []goldenRule `json:"rules"`
}

// goldenRule is a policy rule and why the manager needs it.
type goldenRule struct {
	rbacv1.PolicyRule
	Reason string `json:"reason"`
}

// permission is one verb on one resource (resource/subresource, with a resource name when the rule
// names some) of one API group, or on one non-resource URL: the unit rules are compared in, whatever
// way they are grouped into rules.
type permission struct {
	Group, Resource, Name, URL, Verb string
}

func (p permission) String() string {
	if p.URL != "" {
		return p.Verb + " " + p.URL
	}
	s := p.Verb + " " + p.Resource
	if p.Group != "" {
		s += "." + p.Group
	}
	if p.Name != "" {
		s += " named " + p.Name
	}
	return s
}

// permissions expands rules into the permissions they grant.
func permissions(rules []rbacv1.PolicyRule) []permission {
	var out []permission
	for _, r := range rules {
		for _, verb := range r.Verbs {
			for _, url := range r.NonResourceURLs {
				out = append(out, permission{URL: url, Verb: verb})
			}
			for _, group := range r.APIGroups {
				for _, resource := range r.Resources {
					names := r.ResourceNames
					if len(names) == 0 {
						names = []string{""}
					}
					for _, name := range names {
						out = append(out, permission{Group: group, Resource: resource, Name: name, Verb: verb})
					}
				}
			}
		}
	}
	return out
}

// roleName names a rendered Role or ClusterRole: "ClusterRole <name>" or "Role <namespace>/<name>".
func roleName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + " " + u.GetName()
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// managerRoles renders config/default and returns the roles bound to the manager's service account.
func managerRoles() (map[string][]rbacv1.PolicyRule, error) {
	rendered, err := render("config/default")
	if err != nil {
		return nil, err
	}
	dep, _, err := deploymentRunning(rendered, options.ModeManager)
	if err != nil {
		return nil, err
	}
	namespace, sa := serviceAccountOf(dep)
	_, roles, err := rbacFor(rendered, namespace, sa)
	if err != nil {
		return nil, err
	}
	out := map[string][]rbacv1.PolicyRule{}
	for _, u := range roles {
		role, err := convertTo[rbacv1.ClusterRole](u) // a Role has the same rules
		if err != nil {
			return nil, err
		}
		out[roleName(u)] = role.Rules
	}
	return out, nil
}

// readGolden reads the golden list, refusing unknown fields.
func readGolden() ([]goldenRole, error) {
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		return nil, err
	}
	var golden []goldenRole
	if err := yaml.UnmarshalStrict(data, &golden); err != nil {
		return nil, fmt.Errorf("%s: %w", goldenName, err)
	}
	return golden, nil
}

// compareGolden lists every difference between the roles bound to the manager and the golden list: a
// permission granted but not listed (with how to list it), a listed one no longer granted (stale), a
// rule without a reason, a permission listed twice.
func compareGolden(roles map[string][]rbacv1.PolicyRule, golden []goldenRole) []string {
	var problems []string
	listed := map[string]bool{}
	for _, g := range golden {
		listed[g.Role] = true
		granted, ok := roles[g.Role]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is listed, but config/default binds no such role to the "+
				"manager: remove its entry (stale)", g.Role))
			continue
		}
		have := permissions(granted)
		seen := map[permission]bool{}
		for i, r := range g.Rules {
			if strings.TrimSpace(r.Reason) == "" {
				problems = append(problems, fmt.Sprintf("%s, rule %d (%v): give its reason", g.Role, i+1, permissions([]rbacv1.PolicyRule{r.PolicyRule})))
			}
			for _, p := range permissions([]rbacv1.PolicyRule{r.PolicyRule}) {
				if seen[p] {
					problems = append(problems, fmt.Sprintf("%s: %s is listed twice", g.Role, p))
				}
				seen[p] = true
				if !slices.Contains(have, p) {
					problems = append(problems, fmt.Sprintf("%s no longer grants %s: remove it from %s (stale)", g.Role, p, goldenName))
				}
			}
		}
		for _, p := range have {
			if !seen[p] {
				problems = append(problems, fmt.Sprintf("%s grants %s, which %s does not list: add it there with the "+
					"reason the manager needs it, or remove the +kubebuilder:rbac marker (or the config/rbac rule) that "+
					"grants it", g.Role, p, goldenName))
				seen[p] = true
			}
		}
	}
	for name := range roles {
		if !listed[name] {
			problems = append(problems, fmt.Sprintf("config/default binds %s to the manager, and %s has no entry for it: "+
				"add one, with a reason for each rule", name, goldenName))
		}
	}
	slices.Sort(problems)
	return problems
}

// unexercised lists the granted permissions no request in used needed: a report for whoever reviews the
// golden list (some are needed only to grant them to managed operators, which needs holding them).
func unexercised(granted []permission, used []request) []string {
	var out []string
	for _, p := range granted {
		if !slices.ContainsFunc(used, func(r request) bool {
			if p.URL != "" {
				path, _, _ := strings.Cut(r.URI, "?")
				return r.Resource == "" && r.Verb == p.Verb && path == p.URL
			}
			return r.Verb == p.Verb && r.Group == p.Group && r.Resource == p.Resource && (p.Name == "" || p.Name == r.Name)
		}) {
			out = append(out, p.String())
		}
	}
	return out
}
