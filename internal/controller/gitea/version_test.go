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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// The real Gitea of the suite is 1.26.0; older ones (UnsupportedVersion) cannot be had here, so the rule
// itself is pinned on the version strings Gitea reports.
func TestSupported(t *testing.T) {
	for version, want := range map[string]bool{
		"1.26.0":              true,
		"1.22.0":              true,
		"1.22.3+dev-12-g1234": true,
		"1.27.0-rc1":          true,
		"2.0.0":               true,
		"1.21.11":             false,
		"1.9.0":               false,
		"development":         false, // a build without its version stamped
		"":                    false,
	} {
		if got := supported(version); got != want {
			t.Errorf("supported(%q) = %v, want %v", version, got, want)
		}
	}
}

// Two resources claiming one Gitea object: which one keeps it.
func TestEarlier(t *testing.T) {
	org := func(ns string, created int64, origin giteav1alpha1.Origin) *giteav1alpha1.Organization {
		o := &giteav1alpha1.Organization{}
		o.Namespace, o.Name = ns, "acme"
		o.CreationTimestamp = metav1.Unix(created, 0)
		o.Status.Origin = origin
		return o
	}
	for _, tt := range []struct {
		name string
		a, b *giteav1alpha1.Organization
		want bool
	}{
		{"created a second earlier", org("b", 1, ""), org("a", 2, giteav1alpha1.OriginCreated), true},
		{"created a second later", org("a", 2, giteav1alpha1.OriginCreated), org("b", 1, ""), false},
		{"same second, a holds the object", org("gitea-9", 1, giteav1alpha1.OriginAdopted), org("gitea-10", 1, ""), true},
		{"same second, b holds the object", org("gitea-10", 1, ""), org("gitea-9", 1, giteav1alpha1.OriginCreated), false},
		{"same second, neither holds it: by namespace", org("a", 1, ""), org("b", 1, ""), true},
	} {
		if got := earlier(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: earlier = %v, want %v", tt.name, got, tt.want)
		}
	}
}
