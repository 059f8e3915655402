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
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

// TestCredentialsNeverShow makes every kind of failure with a token and with a password, and looks for them,
// raw or base64-encoded, in every error and in every metric label.
func TestCredentialsNeverShow(t *testing.T) {
	secrets := []string{
		testToken,
		base64.StdEncoding.EncodeToString([]byte(testToken)),
		base64.URLEncoding.EncodeToString([]byte(testToken)),
		testPassword,
		base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword)),
		base64.StdEncoding.EncodeToString([]byte(testPassword)),
	}

	other := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/version":
			_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
		case "/api/v1/redirect":
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
		case "/api/v1/slow":
			// The server notices the client gone only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/api/v1/garbage":
			_, _ = fmt.Fprint(w, "{")
		default:
			code := map[string]int{"/api/v1/user": 401, "/api/v1/orgs": 422, "/api/v1/repos/o/r": 404,
				"/api/v1/busy": 503, "/api/v1/limited": 429}[r.URL.Path]
			if code == 0 {
				code = http.StatusTeapot
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(code)
			_, _ = fmt.Fprint(w, `{"message":"no"}`)
		}
	})
	tlsSrv := serve(t, nil)
	tlsURL := strings.Replace(tlsSrv.URL, "http:", "https:", 1)
	down := "http://" + closedPort(t)
	metadata := "http://169.254.169.254"

	credentials := map[string]func(*Config){
		"token": func(c *Config) { c.Timeout = 500 * time.Millisecond },
		"password": func(c *Config) {
			c.Token, c.Username, c.Password, c.Timeout = "", testUser, testPassword, 500*time.Millisecond
		},
	}
	for name, creds := range credentials {
		var errs []error
		for _, base := range []string{srv.URL, tlsURL, down, metadata} {
			env := newEnv(t, base, creds)
			autoStep(t, env.clock)
			for _, call := range []struct{ method, path string }{
				{"GET", "/user?token=" + testToken}, {"POST", "/orgs"}, {"GET", "/repos/o/r"}, {"GET", "/busy"},
				{"DELETE", "/limited"}, {"GET", "/redirect"}, {"GET", "/slow"}, {"GET", "/garbage"}, {"PATCH", "/teapot"},
			} {
				var out map[string]any
				_, err := env.c.Do(t.Context(), call.method, call.path, nil, map[string]string{"x": "y"}, &out)
				errs = append(errs, err)
			}
			if sdk, err := env.c.SDK(t.Context()); err != nil {
				errs = append(errs, err)
			} else {
				_, resp, err := sdk.GetRepo("o", "r")
				errs = append(errs, Wrap(resp, err))
				_, resp, err = sdk.CreateOrg(gitea.CreateOrgOption{Name: "o"})
				errs = append(errs, Wrap(resp, err))
			}
			_, err := env.c.Self(t.Context())
			errs = append(errs, err)

			families, err := env.reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range families {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						for _, s := range secrets {
							if strings.Contains(l.GetValue(), s) {
								t.Errorf("%s: %s{%s=%q} holds a credential", name, f.GetName(), l.GetName(), l.GetValue())
							}
						}
					}
				}
			}
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		env := newEnv(t, srv.URL, creds)
		_, err := env.c.Self(ctx)
		errs = append(errs, err)

		for _, err := range errs {
			if err == nil {
				continue
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s: the error %q holds a credential", name, text)
					}
				}
			}
		}
		if n := countNonNil(errs); n < 40 {
			t.Errorf("%s: only %d failures made", name, n)
		}
	}
}

func countNonNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}
