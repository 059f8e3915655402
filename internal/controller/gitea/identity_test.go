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

	"github.com/google/go-cmp/cmp"
)

func TestInstanceURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://gitea.example.com", "https://gitea.example.com"},
		{"https://gitea.example.com/", "https://gitea.example.com"},
		{"https://Gitea.Example.COM", "https://gitea.example.com"},
		{"https://gitea.example.com:443/", "https://gitea.example.com"},
		{"https://gitea.example.com.", "https://gitea.example.com"},
		{"http://gitea.gitea.svc:80", "http://gitea.gitea.svc"},
		{"http://gitea.gitea.svc:3000/", "http://gitea.gitea.svc:3000"},
		{"https://gitea.example.com:80", "https://gitea.example.com:80"},
		{"http://gitea.example.com:443", "http://gitea.example.com:443"},
		{"https://example.com/Gitea/", "https://example.com/Gitea"},
		{"https://EXAMPLE.com:443/git/ea//", "https://example.com/git/ea"},
		{"https://example.com/my%20gitea/", "https://example.com/my%20gitea"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"https://[FD00::1]:443/", "https://[fd00::1]"},
		{"https://[fd00::1]:3000", "https://[fd00::1]:3000"},
		{"https://Gitea.example.com:port/", "https://Gitea.example.com:port"}, // no url: as written
	} {
		if diff := cmp.Diff(tc.want, instanceURL(tc.url)); diff != "" {
			t.Errorf("instanceURL(%q) (-want +got):\n%s", tc.url, diff)
		}
	}
}
