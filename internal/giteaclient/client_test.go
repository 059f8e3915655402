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

package giteaclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/google/go-cmp/cmp"
)

func TestNewChecksTheConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"https", Config{URL: "https://gitea.example.com"}, ""},
		{"a sub-path", Config{URL: "http://example.com/gitea/"}, ""},
		{"credentials in the URL", Config{URL: "https://alice:hunter2@gitea.example.com"}, "must not hold credentials"},
		{"a token in the URL", Config{URL: "https://tok3n@gitea.example.com"}, "must not hold credentials"},
		{"unparsable", Config{URL: "https://alice:hunter2@gitea example.com/%zz"}, "does not parse"},
		{"ftp", Config{URL: "ftp://gitea.example.com"}, "scheme must be http or https"},
		{"no host", Config{URL: "https:///path"}, "has no host"},
		{"relative", Config{URL: "gitea.example.com"}, "scheme must be http or https"},
		{"a query", Config{URL: "https://gitea.example.com/?token=x"}, "must not have a query"},
		{"negative qps", Config{URL: "https://gitea.example.com", QPS: -1}, "must not be negative"},
		{"negative timeout", Config{URL: "https://gitea.example.com", Timeout: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.err)
		case err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok3n")):
			t.Errorf("%s: the error %q shows the credentials", tt.name, err)
		}
	}
}

// statusServer answers every request with the status in its path, /api/v1/status/<code>, and Gitea's JSON
// error.
func statusServer(t *testing.T) *testEnv {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		var code int
		if _, err := fmt.Sscanf(r.URL.Path, "/api/v1/status/%d", &code); err != nil {
			code = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"message":"gitea says %d","url":"http://gitea/api/swagger"}`, code)
	})
	return newEnv(t, srv.URL)
}

func TestEveryStatusIsTyped(t *testing.T) {
	env := statusServer(t)
	tests := []struct {
		status int
		want   Kind
	}{
		{400, KindValidation}, {401, KindUnauthorized}, {403, KindForbidden}, {404, KindNotFound},
		{405, KindOther}, {409, KindConflict}, {422, KindValidation}, {429, KindRateLimited},
		{500, KindUnavailable}, {502, KindUnavailable}, {503, KindUnavailable}, {504, KindUnavailable},
	}
	for _, tt := range tests {
		path := fmt.Sprintf("/status/%d", tt.status)
		want := &Error{Kind: tt.want, Method: "POST", Path: "/api/v1" + path, StatusCode: tt.status,
			Message: fmt.Sprintf("gitea says %d", tt.status)}
		// POST: answered once, whatever the status.
		_, err := env.c.Do(t.Context(), http.MethodPost, path, nil, nil, nil)
		if diff := cmp.Diff(want, err); diff != "" {
			t.Errorf("Do, status %d (-want +got):\n%s", tt.status, diff)
		}

	}
}

func TestSDKErrorsAreTyped(t *testing.T) {
	var status atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/version" {
			_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
			return
		}
		w.WriteHeader(int(status.Load()))
		_, _ = fmt.Fprintf(w, `{"message":"gitea says %d"}`, status.Load())
	})
	env := newEnv(t, srv.URL)
	sdk, err := env.c.SDK(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []int{400, 401, 403, 404, 409, 422, 429, 500, 503} {
		status.Store(int32(code))
		// A POST, answered once whatever the status.
		_, resp, err := sdk.CreateOrg(gitea.CreateOrgOption{Name: "o"})
		want := &Error{Kind: kindForStatus(code), Method: "POST", Path: "/api/v1/orgs", StatusCode: code,
			Message: fmt.Sprintf("gitea says %d", code)}
		if diff := cmp.Diff(want, Wrap(resp, err)); diff != "" {
			t.Errorf("status %d (-want +got):\n%s", code, diff)
		}
	}
}

func TestDo(t *testing.T) {
	type seen struct {
		Method, Path, Query, ContentType, Accept, Body string
	}
	var got seen
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"),
			string(body)}
		switch r.URL.Path {
		case "/gitea/api/v1/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/gitea/api/v1/garbage":
			_, _ = fmt.Fprint(w, "not json")
		default:
			w.Header().Set("X-Total-Count", "7")
			_, _ = fmt.Fprint(w, `{"id":42,"name":"release/*"}`)
		}
	})
	// Gitea served under a sub-path.
	env := newEnv(t, srv.URL+"/gitea/")

	var out struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	resp, err := env.c.Do(t.Context(), http.MethodPatch, "/repos/o/r/branch_protections/"+url.PathEscape("release/*"),
		url.Values{"page": {"2"}, "limit": {"50"}}, map[string]any{"priority": 3}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := seen{"PATCH", "/gitea/api/v1/repos/o/r/branch_protections/release%2F%2A", "limit=50&page=2", "application/json",
		"application/json", `{"priority":3}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if out.ID != 42 || out.Name != "release/*" || resp.Header.Get("X-Total-Count") != "7" {
		t.Errorf("decoded %+v, X-Total-Count %q", out, resp.Header.Get("X-Total-Count"))
	}

	if _, err := env.c.Do(t.Context(), http.MethodDelete, "/empty", nil, nil, &out); err != nil {
		t.Errorf("204: %v", err)
	}
	if got.ContentType != "" || got.Body != "" {
		t.Errorf("a call without a body sent %+v", got)
	}
	_, err = env.c.Do(t.Context(), http.MethodGet, "/garbage", nil, nil, &out)
	if KindOf(err) != KindOther || !strings.Contains(err.Error(), "GET /gitea/api/v1/garbage: Other: decoding the response") {
		t.Errorf("an undecodable answer: %v", err)
	}
	if _, err := env.c.Do(t.Context(), http.MethodPost, "/x", nil, func() {}, nil); KindOf(err) != KindOther {
		t.Errorf("an unencodable body: %v", err)
	}
}

// fakeGitea answers the calls the client makes itself and counts the version requests.
type fakeGitea struct {
	version      string
	versionCalls atomic.Int32
}

func (f *fakeGitea) serve(t *testing.T) string {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/version":
			f.versionCalls.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]string{"version": f.version})
		case "GET /api/v1/user":
			if r.Header.Get("Authorization") != "token "+testToken {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = fmt.Fprint(w, `{"message":"invalid username, password or token"}`)
				return
			}
			_, _ = fmt.Fprint(w, `{"id":1,"login":"root","is_admin":true}`)
		case "POST /api/v1/users/alice/tokens":
			if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPassword {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprint(w, `{"id":3,"name":"nuop","sha1":"minted","token_last_eight":"minted"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}).URL
}

func TestServerInfoAndSelf(t *testing.T) {
	f := &fakeGitea{version: "1.26.0"}
	env := newEnv(t, f.serve(t))
	info, err := env.c.ServerInfo(t.Context())
	if err != nil || info.Version != "1.26.0" {
		t.Fatalf("ServerInfo = %+v, %v", info, err)
	}
	me, err := env.c.Self(t.Context())
	if err != nil || me.UserName != "root" || !me.IsAdmin {
		t.Fatalf("Self = %+v, %v", me, err)
	}
	wrong := newEnv(t, env.c.root, func(c *Config) { c.Token = "wrong" })
	if _, err := wrong.c.Self(t.Context()); !IsUnauthorized(err) || !strings.Contains(err.Error(), "invalid username") {
		t.Errorf("a wrong token: %v, want Unauthorized with Gitea's message", err)
	}
}

func TestSDKAsksTheVersionOnce(t *testing.T) {
	f := &fakeGitea{version: "1.26.0"}
	env := newEnv(t, f.serve(t))
	for range 3 {
		sdk, err := env.c.SDK(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		me, resp, err := sdk.GetMyUserInfo()
		if err := Wrap(resp, err); err != nil || me.UserName != "root" {
			t.Fatalf("GetMyUserInfo through the SDK = %+v, %v", me, err)
		}
		if err := sdk.CheckServerVersionConstraint(">= 1.22"); err != nil {
			t.Errorf("the SDK does not know the version: %v", err)
		}
	}
	if n := f.versionCalls.Load(); n != 1 {
		t.Errorf("%d version requests for 3 SDK clients, want 1", n)
	}

	// ServerInfo (the provider's health check) tells the version to the SDK clients made afterwards.
	g := &fakeGitea{version: "1.22.3"}
	env = newEnv(t, g.serve(t))
	if _, err := env.c.ServerInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	sdk, err := env.c.SDK(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := sdk.CheckServerVersionConstraint("< 1.23"); err != nil || g.versionCalls.Load() != 1 {
		t.Errorf("the SDK's version: %v, %d requests", err, g.versionCalls.Load())
	}
}

func TestSDKWithAnUnusableVersion(t *testing.T) {
	f := &fakeGitea{version: "development"}
	env := newEnv(t, f.serve(t))
	if _, err := env.c.SDK(t.Context()); err == nil || !strings.Contains(err.Error(), `server version "development"`) {
		t.Errorf("a version the SDK cannot read: %v", err)
	}
	down := newEnv(t, "http://"+closedPort(t))
	autoStep(t, down.clock)
	if _, err := down.c.SDK(t.Context()); !IsUnreachable(err) {
		t.Errorf("no server to ask the version: %v", err)
	}
}

func TestSDKUsesTheCallsContext(t *testing.T) {
	f := &fakeGitea{version: "1.26.0"}
	env := newEnv(t, f.serve(t))
	if _, err := env.c.ServerInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	sdk, err := env.c.SDK(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, resp, err := sdk.GetMyUserInfo()
	if err := Wrap(resp, err); !errors.Is(err, context.Canceled) {
		t.Errorf("a call on a cancelled reconcile's SDK client: %v", err)
	}
	// Another reconcile's client is not affected.
	other, err := env.c.SDK(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := other.GetMyUserInfo(); Wrap(resp, err) != nil {
		t.Errorf("another reconcile's call: %v", err)
	}
}

func TestSDKMintsATokenWithBasicAuth(t *testing.T) {
	f := &fakeGitea{version: "1.26.0"}
	env := newEnv(t, f.serve(t), func(c *Config) { c.Token, c.Username, c.Password = "", testUser, testPassword })
	sdk, err := env.c.SDK(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, resp, err := sdk.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "nuop", Scopes: []gitea.AccessTokenScope{"all"}})
	if err := Wrap(resp, err); err != nil || tok.Token != "minted" {
		t.Fatalf("CreateAccessToken = %+v, %v", tok, err)
	}
}
