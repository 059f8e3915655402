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
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/google/go-cmp/cmp"
)

func TestKindForStatus(t *testing.T) {
	type preds struct {
		Kind                                                                 Kind
		NotFound, Conflict, Unauthorized, Forbidden, Validation, RateLimited bool
		Locked, Unavailable, Unreachable, TLS, NotAllowed                    bool
	}
	eval := func(err error) preds {
		return preds{KindOf(err), IsNotFound(err), IsConflict(err), IsUnauthorized(err), IsForbidden(err),
			IsValidation(err), IsRateLimited(err), IsLocked(err), IsUnavailable(err), IsUnreachable(err), IsTLS(err), IsNotAllowed(err)}
	}
	tests := []struct {
		status int
		want   preds
	}{
		{400, preds{Kind: KindValidation, Validation: true}},
		{401, preds{Kind: KindUnauthorized, Unauthorized: true}},
		{403, preds{Kind: KindForbidden, Forbidden: true}},
		{404, preds{Kind: KindNotFound, NotFound: true}},
		{405, preds{Kind: KindOther}},
		{409, preds{Kind: KindConflict, Conflict: true}},
		{410, preds{Kind: KindOther}},
		{422, preds{Kind: KindValidation, Validation: true}},
		{423, preds{Kind: KindLocked, Locked: true}},
		{429, preds{Kind: KindRateLimited, RateLimited: true}},
		{500, preds{Kind: KindUnavailable, Unavailable: true}},
		{502, preds{Kind: KindUnavailable, Unavailable: true}},
		{503, preds{Kind: KindUnavailable, Unavailable: true}},
		{504, preds{Kind: KindUnavailable, Unavailable: true}},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &Error{Kind: kindForStatus(tt.status), StatusCode: tt.status})
		if diff := cmp.Diff(tt.want, eval(err)); diff != "" {
			t.Errorf("status %d (-want +got):\n%s", tt.status, diff)
		}
	}
	transport := []struct {
		kind Kind
		want preds
	}{
		{KindUnreachable, preds{Kind: KindUnreachable, Unavailable: true, Unreachable: true}},
		{KindTLS, preds{Kind: KindTLS, TLS: true}},
		{KindNotAllowed, preds{Kind: KindNotAllowed, NotAllowed: true}},
	}
	for _, tt := range transport {
		if diff := cmp.Diff(tt.want, eval(&Error{Kind: tt.kind})); diff != "" {
			t.Errorf("kind %s (-want +got):\n%s", tt.kind, diff)
		}
	}
	if diff := cmp.Diff(preds{}, eval(errors.New("plain"))); diff != "" {
		t.Errorf("a foreign error (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(preds{}, eval(nil)); diff != "" {
		t.Errorf("nil (-want +got):\n%s", diff)
	}
}

func TestGiteaMessage(t *testing.T) {
	long := strings.Repeat("é", maxMessage)
	// maxMessage bytes at most, "..." included, cut before the two-byte é that would straddle the limit.
	cut := long[:maxMessage-4] + "..."
	tests := []struct {
		name, body, want string
	}{
		{"gitea json", `{"message":"repository already exists","url":"https://gitea/api/swagger"}`, "repository already exists"},
		{"json without message", `{"errors":["x"]}`, ""},
		{"plain text", "404 page not found\n", "404 page not found"},
		{"first line only", "  bad gateway\nupstream said no\n", "bad gateway"},
		{"html page", "<html><body>502 Bad Gateway</body></html>", ""},
		{"empty", "", ""},
		{"long text cut on a rune", long, cut},
		{"long json", `{"message":"` + long + `"}`, cut},
	}
	for _, tt := range tests {
		if got := giteaMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("%s: giteaMessage = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindValidation, Method: "POST", Path: "/api/v1/orgs", StatusCode: 422, Message: "name is invalid"},
			"gitea: POST /api/v1/orgs: 422 Unprocessable Entity: name is invalid"},
		{&Error{Kind: KindNotFound, Method: "GET", Path: "/api/v1/repos/a/b", StatusCode: 404},
			"gitea: GET /api/v1/repos/a/b: 404 Not Found"},
		{&Error{Kind: KindUnreachable, Method: "GET", Path: "/api/v1/version", Err: errors.New("connection refused")},
			"gitea: GET /api/v1/version: Unreachable: connection refused"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	req := func(method, target string) *http.Request {
		r, err := http.NewRequest(method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	response := func(status int, body string, r *http.Request) *gitea.Response {
		data := []byte(body)
		return &gitea.Response{Response: &http.Response{StatusCode: status, Request: r,
			Body: &errorBody{Reader: bytes.NewReader(data), data: data, retryAfter: 7 * time.Second, hasRetryAfter: true}}}
	}
	typed := &Error{Kind: KindUnreachable, Method: "GET", Path: "/api/v1/user", Err: errors.New("refused")}
	tests := []struct {
		name string
		resp *gitea.Response
		err  error
		want error
	}{
		{"no error whatever the response", response(404, "", req("GET", "http://g/api/v1/x")), nil, nil},
		{"a transport error inside a url.Error",
			nil, &url.Error{Op: "Get", URL: "http://g/api/v1/user?token=secret", Err: typed}, typed},
		{"an error status, the SDK's text replaced by Gitea's message",
			response(429, `{"message":"slow down"}`, req("GET", "http://g/api/v1/repos/a/b?page=2")),
			errors.New("slow down"),
			&Error{Kind: KindRateLimited, Method: "GET", Path: "/api/v1/repos/a/b", StatusCode: 429,
				Message: "slow down", RetryAfter: 7 * time.Second}},
		{"an undecodable 2xx",
			&gitea.Response{Response: &http.Response{StatusCode: 200, Request: req("GET", "http://g/api/v1/user")}},
			errors.New("invalid character"),
			&Error{Kind: KindOther, Method: "GET", Path: "/api/v1/user", Err: errors.New("invalid character")}},
		{"a url.Error of the client, without the query",
			nil, &url.Error{Op: "Get", URL: "http://g/api/v1/user?token=secret", Err: errors.New("stopped after 3 redirects")},
			&Error{Kind: KindOther, Method: "GET", Path: "/api/v1/user", Err: errors.New("stopped after 3 redirects")}},
		{"the SDK's own argument check", nil, errors.New("invalid user id -1"), errors.New("invalid user id -1")},
	}
	for _, tt := range tests {
		got := Wrap(tt.resp, tt.err)
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool {
			return a == nil && b == nil || a != nil && b != nil && a.Error() == b.Error()
		})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestTransportErrorKind(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://g/api/v1/version?q=1", nil)
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"refused by the allow-list", &notAllowedError{host: "x"}, KindNotAllowed},
		{"own rate limit", fmt.Errorf("%w: too long", errClientRateLimit), KindRateLimited},
		{"cancelled", context.Canceled, KindOther},
		{"deadline", context.DeadlineExceeded, KindUnreachable},
		{"anything else", errors.New("connection reset by peer"), KindUnreachable},
	}
	for _, tt := range tests {
		e := transportError(r, tt.err)
		if e.Kind != tt.want || e.Path != "/api/v1/version" || e.Method != "GET" {
			t.Errorf("%s: transportError = %+v, want kind %s on GET /api/v1/version", tt.name, e, tt.want)
		}
	}
}
