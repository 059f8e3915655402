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

import "testing"

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
