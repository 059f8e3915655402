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

package source

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-cmp/cmp"
)

func TestParseLocation(t *testing.T) {
	cases := []struct {
		in      string
		want    Location
		wantErr string
	}{
		// nuop's examples
		{in: "https://github.com/ck3mp3r/nuop.git?dir=operator/scripts",
			want: Location{URL: "https://github.com/ck3mp3r/nuop.git", Scheme: "https", Dir: "operator/scripts"}},
		{in: "https://github.com/org/repo.git?ref=v1.0&dir=operator/scripts",
			want: Location{URL: "https://github.com/org/repo.git", Scheme: "https", Ref: "v1.0", Dir: "operator/scripts"}},
		{in: "https://github.com/org/repo.git?dir=/operator/scripts/&ref=main",
			want: Location{URL: "https://github.com/org/repo.git", Scheme: "https", Ref: "main", Dir: "operator/scripts"}},
		{in: "  https://github.com/org/repo  \n", want: Location{URL: "https://github.com/org/repo", Scheme: "https"}},
		{in: "HTTPS://Git.Example.com/org/repo.git", want: Location{URL: "https://Git.Example.com/org/repo.git", Scheme: "https"}},
		// ports kept
		{in: "https://git.example.com:8443/org/repo.git?ref=main",
			want: Location{URL: "https://git.example.com:8443/org/repo.git", Scheme: "https", Ref: "main"}},
		{in: "http://gitea.gitea.svc:3000/org/repo.git",
			want: Location{URL: "http://gitea.gitea.svc:3000/org/repo.git", Scheme: "http"}},
		{in: "http://[::1]:3000/org/repo.git", want: Location{URL: "http://[::1]:3000/org/repo.git", Scheme: "http"}},
		// ssh
		{in: "ssh://git@git.example.com:2222/org/repo.git?ref=v1.0&dir=operator/scripts",
			want: Location{URL: "ssh://git@git.example.com:2222/org/repo.git", Scheme: "ssh", Ref: "v1.0", Dir: "operator/scripts"}},
		{in: "ssh://git.example.com/org/repo.git", want: Location{URL: "ssh://git.example.com/org/repo.git", Scheme: "ssh"}},
		// scp-style
		{in: "git@github.com:org/repo.git", want: Location{URL: "git@github.com:org/repo.git", Scheme: "ssh"}},
		{in: "git@github.com:org/repo.git?ref=v1.0&dir=operator/scripts",
			want: Location{URL: "git@github.com:org/repo.git", Scheme: "ssh", Ref: "v1.0", Dir: "operator/scripts"}},
		{in: "deploy@git.example.com:/srv/git/repo.git",
			want: Location{URL: "deploy@git.example.com:/srv/git/repo.git", Scheme: "ssh"}},
		{in: "github.com:org/repo.git", want: Location{URL: "github.com:org/repo.git", Scheme: "ssh"}},
		{in: "git@[::1]:org/repo.git", want: Location{URL: "git@[::1]:org/repo.git", Scheme: "ssh"}},
		// refs
		{in: "https://h/r.git?ref=0123456789abcdef0123456789abcdef01234567",
			want: Location{URL: "https://h/r.git", Scheme: "https", Ref: "0123456789abcdef0123456789abcdef01234567"}},
		{in: "https://h/r.git?ref=refs/tags/v1.0", want: Location{URL: "https://h/r.git", Scheme: "https", Ref: "refs/tags/v1.0"}},
		{in: "https://h/r.git?ref=feature/x", want: Location{URL: "https://h/r.git", Scheme: "https", Ref: "feature/x"}},
		{in: "https://h/r.git?ref=&dir=.", want: Location{URL: "https://h/r.git", Scheme: "https"}},
		{in: "https://h/r.git?ref=a%2Fb", want: Location{URL: "https://h/r.git", Scheme: "https", Ref: "a/b"}},

		// credentials
		{in: "https://user:hunter2@github.com/org/repo.git", wantErr: "carries credentials"},
		{in: "https://ghp_token@github.com/org/repo.git", wantErr: "carries credentials"},
		{in: "http://oauth2:tok@gitea:3000/org/repo.git", wantErr: "carries credentials"},
		{in: "ssh://git:hunter2@github.com/org/repo.git", wantErr: "carries credentials"},
		{in: "git:hunter2@github.com:org/repo.git", wantErr: "carries credentials"},
		{in: "https:/git:hunter2@github.com/org/repo.git", wantErr: "carries credentials"},
		{in: "hunter2@github.com", wantErr: "neither a URL"},
		{in: "ssh://@github.com/org/repo.git", wantErr: "empty user name"},
		{in: "@github.com:org/repo.git", wantErr: "neither a URL"},
		// not a supported location
		{in: "", wantErr: "empty"},
		{in: "   ", wantErr: "empty"},
		{in: "/opt/dev-scripts", wantErr: "local path"},
		{in: "./scripts", wantErr: "local path"},
		{in: "~/scripts", wantErr: "local path"},
		{in: "file:///opt/scripts", wantErr: "file:// URL"},
		{in: "git://github.com/org/repo.git", wantErr: "unsupported scheme"},
		{in: "ftp://github.com/org/repo.git", wantErr: "unsupported scheme"},
		{in: "https:/github.com/org/repo.git", wantErr: "malformed URL"},
		{in: "github.com/org/repo.git", wantErr: "neither a URL"},
		{in: "https:///org/repo.git", wantErr: "no host"},
		{in: "https://github.com", wantErr: "no repository path"},
		{in: "https://github.com/", wantErr: "no repository path"},
		{in: "git@github.com:", wantErr: "neither a URL"},
		{in: "git@github.com:/", wantErr: "no repository path"},
		{in: "https://github.com:port/org/repo.git", wantErr: "not a valid URL"},
		{in: "https://github.com/org/repo.git#main", wantErr: "fragment"},
		{in: "git@github.com:org/repo.git#main", wantErr: "fragment"},
		{in: "https://github.com/org/repo .git", wantErr: "white space"},
		// query
		{in: "https://h/r.git?branch=main", wantErr: `unknown parameter "branch"`},
		{in: "https://h/r.git?ref=a&ref=b", wantErr: "ref more than once"},
		{in: "https://h/r.git?ref=a%zz", wantErr: "invalid query"},
		{in: "https://h/r.git?ref=a..b", wantErr: "invalid ref"},
		{in: "https://h/r.git?ref=-x", wantErr: "invalid ref"},
		{in: "https://h/r.git?ref=a:b", wantErr: "invalid ref"},
		{in: "https://h/r.git?ref=a.lock", wantErr: "invalid ref"},
		{in: "https://h/r.git?dir=../x", wantErr: "leaves the repository"},
		{in: "https://h/r.git?dir=a/../../x", wantErr: "leaves the repository"},
		{in: "git@h:r.git?dir=..", wantErr: "leaves the repository"},
		{in: "https://h/r.git?dir=.git", wantErr: "git's own directory"},
	}
	for _, c := range cases {
		got, err := ParseLocation(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseLocation(%q) = %+v, %v; want an error with %q", c.in, got, err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseLocation(%q): the error repeats the password: %v", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLocation(%q): %v", c.in, err)
			continue
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("ParseLocation(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct{ in, want, wantErr string }{
		{in: "scripts", want: "scripts"},
		{in: "/scripts", want: "scripts"},
		{in: "//scripts/", want: "scripts"},
		{in: "path/to/scripts", want: "path/to/scripts"},
		{in: "./a//b/./c", want: "a/b/c"},
		{in: "a..b", want: "a..b"},
		{in: "", wantErr: "empty"},
		{in: "/", wantErr: "empty"},
		{in: ".", wantErr: "empty"},
		{in: "./", wantErr: "empty"},
		{in: "..", wantErr: "leaves the sources root"},
		{in: "/../etc", wantErr: "leaves the sources root"},
		{in: "a/../b", wantErr: "leaves the sources root"},
		{in: "a/..", wantErr: "leaves the sources root"},
		{in: ".trees", wantErr: "hidden"},
		{in: "a/.hidden/b", wantErr: "hidden"},
		{in: `a\b`, wantErr: "backslash"},
		{in: "a\x00b", wantErr: "NUL"},
	}
	for _, c := range cases {
		got, err := CleanPath(c.in)
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("CleanPath(%q) = %q, %v; want an error with %q", c.in, got, err, c.wantErr)
		case c.wantErr == "" && (err != nil || got != c.want):
			t.Errorf("CleanPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://tok@h/r.git", "https://redacted@h/r.git"},
		{"clone https://u:p@h/r.git failed", "clone https://redacted@h/r.git failed"},
		{"ssh://git:pw@h/r.git", "ssh://git:redacted@h/r.git"},
		{"ssh://git@h/r.git", "ssh://git@h/r.git"},
		{"git:pw@h:r.git", "git:redacted@h:r.git"},
		{"git@h:r.git", "git@h:r.git"},
		{"https://h/r.git?ref=a@b", "https://h/r.git?ref=a@b"},
	}
	for _, c := range cases {
		if got := redact(c.in); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := scrub("server said: bad token s3cr3t", &Credentials{Token: []byte("s3cr3t\n")}); strings.Contains(got, "s3cr3t") {
		t.Errorf("scrub kept the token: %q", got)
	}
}

func TestTransportFor(t *testing.T) {
	https, _ := ParseLocation("https://h/r.git")
	plain, _ := ParseLocation("http://h/r.git")
	cases := []struct {
		name    string
		loc     Location
		creds   *Credentials
		user    string // the basic auth user wanted, "" for no auth
		pass    string
		wantErr string
	}{
		{name: "none", loc: https},
		{name: "token", loc: https, creds: &Credentials{Token: []byte(" tok\n")}, user: "git", pass: "tok"},
		{name: "token and user", loc: https, creds: &Credentials{Token: []byte("tok"), Username: []byte("x-access-token")},
			user: "x-access-token", pass: "tok"},
		{name: "username and password", loc: https, creds: &Credentials{Username: []byte("alice\n"), Password: []byte(" pw \n")},
			user: "alice", pass: " pw "},
		{name: "password wins over token", loc: https,
			creds: &Credentials{Username: []byte("alice"), Password: []byte("pw"), Token: []byte("tok")}, user: "alice", pass: "pw"},
		{name: "password without user", loc: https, creds: &Credentials{Password: []byte("pw")}, wantErr: "no username"},
		{name: "user alone", loc: https, creds: &Credentials{Username: []byte("alice")}, wantErr: "no password or token"},
		{name: "ssh key with https", loc: https, creds: &Credentials{SSHPrivateKey: []byte("k")}, wantErr: "SSH key"},
		{name: "CA bundle with http", loc: plain, creds: &Credentials{CABundle: []byte("x")}, wantErr: "not https"},
		{name: "CA bundle without a certificate", loc: https, creds: &Credentials{CABundle: []byte("x")}, wantErr: "no PEM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := transportFor(c.loc, c.creds, t.TempDir())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var user, pass string
			if o.auth != nil {
				ba, ok := o.auth.(*githttp.BasicAuth)
				if !ok {
					t.Fatalf("auth is a %T, want basic authentication", o.auth)
				}
				user, pass = ba.Username, ba.Password
			}
			if user != c.user || pass != c.pass {
				t.Errorf("basic auth = %q/%q, want %q/%q", user, pass, c.user, c.pass)
			}
		})
	}
}

func TestResolveRef(t *testing.T) {
	a := plumbing.NewHash(strings.Repeat("a", 40))
	b := plumbing.NewHash(strings.Repeat("b", 40))
	c := plumbing.NewHash(strings.Repeat("c", 40))
	refs := []*plumbing.Reference{
		plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main"),
		plumbing.NewHashReference("refs/heads/main", a),
		plumbing.NewHashReference("refs/heads/same", a),
		plumbing.NewHashReference("refs/tags/same", a),
		plumbing.NewHashReference("refs/heads/both", a),
		plumbing.NewHashReference("refs/tags/both", b),
		plumbing.NewHashReference("refs/tags/v1", c),
		plumbing.NewHashReference("refs/tags/v1^{}", b),
	}
	cases := []struct {
		ref     string
		want    target
		wantErr string
	}{
		{ref: "", want: target{name: "refs/heads/main", commit: a}},
		{ref: "main", want: target{name: "refs/heads/main", commit: a}},
		{ref: "same", want: target{name: "refs/heads/same", commit: a}},
		{ref: "both", wantErr: "both a branch and a tag"},
		{ref: "refs/tags/both", want: target{name: "refs/tags/both", commit: b}},
		{ref: "v1", want: target{name: "refs/tags/v1", commit: b}},
		{ref: b.String(), want: target{name: "refs/tags/both", commit: b, pinned: true}},
		{ref: strings.Repeat("d", 40), want: target{commit: plumbing.NewHash(strings.Repeat("d", 40)), pinned: true}},
		{ref: "nope", wantErr: `ref "nope" not found`},
		{ref: "refs/heads/nope", wantErr: "not found"},
	}
	for _, tc := range cases {
		got, err := resolveRef(refs, tc.ref)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("resolveRef(%q) = %+v, %v; want an error with %q", tc.ref, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolveRef(%q) = %+v, %v; want %+v", tc.ref, got, err, tc.want)
		}
	}
	if _, err := resolveRef(nil, ""); err == nil || !strings.Contains(err.Error(), "no default branch") {
		t.Errorf("no HEAD: %v", err)
	}
}
