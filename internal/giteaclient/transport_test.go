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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{"seconds", func(time.Time) string { return "3" }, 3 * time.Second},
		{"an HTTP date", func(now time.Time) string { return now.Add(20 * time.Second).Format(http.TimeFormat) }, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var env *testEnv
			srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter(env.clock.Now()))
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
			})
			env = newEnv(t, srv.URL)
			ch := make(chan error, 1)
			go func() {
				_, err := env.c.ServerInfo(t.Context())
				ch <- err
			}()
			waitForTimer(t, env.clock)
			env.clock.Step(tt.want - time.Nanosecond)
			if env.clock.Waiters() != 1 || calls.Load() != 1 {
				t.Fatalf("retried before the Retry-After (%d calls)", calls.Load())
			}
			env.clock.Step(time.Nanosecond)
			if err := await(t, ch); err != nil {
				t.Fatal(err)
			}
			if calls.Load() != 2 {
				t.Errorf("%d calls, want 2", calls.Load())
			}
		})
	}
}

func TestNonIdempotentCallsAreNeverRetried(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPatch} {
		var calls atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		env := newEnv(t, srv.URL)
		_, err := env.c.Do(t.Context(), method, "/orgs", nil, map[string]string{"username": "o"}, nil)
		if !IsUnavailable(err) || calls.Load() != 1 || env.clock.Waiters() != 0 {
			t.Errorf("%s answered 503: %v after %d calls, want Unavailable after 1", method, err, calls.Load())
		}
	}
	addr := closedPort(t)
	env := newEnv(t, "http://"+addr)
	_, err := env.c.Do(t.Context(), http.MethodPost, "/orgs", nil, nil, nil)
	if !IsUnreachable(err) || env.clock.Waiters() != 0 {
		t.Errorf("POST to a closed port: %v, want Unreachable at once", err)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = fmt.Fprint(w, `{"message":"upstream down"}`)
	})
	env := newEnv(t, srv.URL)
	autoStep(t, env.clock)
	_, err := env.c.Do(t.Context(), http.MethodGet, "/repos/o/r", nil, nil, nil)
	want := &Error{Kind: KindUnavailable, Method: "GET", Path: "/api/v1/repos/o/r", StatusCode: 502, Message: "upstream down"}
	if diff := cmp.Diff(want, err); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if calls.Load() != maxAttempts {
		t.Errorf("%d calls, want %d", calls.Load(), maxAttempts)
	}
}

func TestRetriedBodiesAreReplayed(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		if len(bodies) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	env := newEnv(t, srv.URL)
	autoStep(t, env.clock)
	if _, err := env.c.Do(t.Context(), http.MethodPut, "/teams/1/members/bob", nil, map[string]int{"a": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"a":1}`, `{"a":1}`, `{"a":1}`}, bodies); diff != "" {
		t.Errorf("bodies received (-want +got):\n%s", diff)
	}
}

func TestLongRetryAfterIsLeftToTheCaller(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		deadline   time.Duration
	}{
		{"beyond the cap", "3600", 0},
		{"beyond the call's deadline", "5", 2 * time.Second},
	}
	for _, tt := range tests {
		var calls atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", tt.retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
		})
		env := newEnv(t, srv.URL)
		ctx := t.Context()
		if tt.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tt.deadline)
			defer cancel()
		}
		_, err := env.c.Do(ctx, http.MethodGet, "/user", nil, nil, nil)
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindRateLimited || calls.Load() != 1 || env.clock.Waiters() != 0 {
			t.Errorf("%s: %v after %d calls, want RateLimited at once", tt.name, err, calls.Load())
			continue
		}
		if want, _ := parseRetryAfter(tt.retryAfter, t0); e.RetryAfter != want {
			t.Errorf("%s: RetryAfter = %s, want %s", tt.name, e.RetryAfter, want)
		}
	}
}

func TestUnreachableIsRetried(t *testing.T) {
	env := newEnv(t, "http://"+closedPort(t))
	autoStep(t, env.clock)
	_, err := env.c.ServerInfo(t.Context())
	if !IsUnreachable(err) || !IsUnavailable(err) {
		t.Fatalf("a closed port: %v, want Unreachable", err)
	}
	if got := requestCount(t, env, "GET", codeError); got != maxAttempts {
		t.Errorf("%v attempts, want %d", got, maxAttempts)
	}
}

func TestTheTransportIsRateLimited(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
	})
	env := newEnv(t, srv.URL, func(c *Config) { c.QPS, c.Burst = 1, 2 })
	for range 2 {
		if _, err := env.c.ServerInfo(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ch := make(chan error, 1)
	go func() {
		_, err := env.c.ServerInfo(t.Context())
		ch <- err
	}()
	waitForTimer(t, env.clock)
	env.clock.Step(time.Second - time.Nanosecond)
	if env.clock.Waiters() != 1 || calls.Load() != 2 {
		t.Fatalf("the third call went out before a second passed (%d calls)", calls.Load())
	}
	env.clock.Step(time.Nanosecond)
	if err := await(t, ch); err != nil || calls.Load() != 3 {
		t.Fatalf("the third call: %v, %d calls", err, calls.Load())
	}
}

func TestCredentialsGoOnlyToTheConfiguredOrigin(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[r.URL.Path] = r.Header.Get("Authorization")
	}
	other := serve(t, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		_, _ = fmt.Fprint(w, `{}`)
	})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/api/v1/elsewhere":
			http.Redirect(w, r, other.URL+"/other/user", http.StatusFound)
		case "/api/v1/moved":
			http.Redirect(w, r, "/api/v1/user", http.StatusMovedPermanently)
		default:
			_, _ = fmt.Fprint(w, `{}`)
		}
	})
	basic := "Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==" // alice:correct horse battery staple
	tests := []struct {
		name   string
		config func(*Config)
		path   string
		want   map[string]string
	}{
		{"token", nil, "/user", map[string]string{"/api/v1/user": "token " + testToken}},
		{"token with a trailing newline", func(c *Config) { c.Token = testToken + "\n" }, "/user",
			map[string]string{"/api/v1/user": "token " + testToken}},
		{"basic auth", func(c *Config) { c.Token, c.Username, c.Password = "", testUser, testPassword }, "/user",
			map[string]string{"/api/v1/user": basic}},
		{"the token wins", func(c *Config) { c.Username, c.Password = testUser, testPassword }, "/user",
			map[string]string{"/api/v1/user": "token " + testToken}},
		{"anonymous", func(c *Config) { c.Token = "" }, "/user", map[string]string{"/api/v1/user": ""}},
		{"a redirect on the same origin", nil, "/moved",
			map[string]string{"/api/v1/moved": "token " + testToken, "/api/v1/user": "token " + testToken}},
		{"a redirect to another host", nil, "/elsewhere",
			map[string]string{"/api/v1/elsewhere": "token " + testToken, "/other/user": ""}},
	}
	for _, tt := range tests {
		seen = map[string]string{}
		var mutate []func(*Config)
		if tt.config != nil {
			mutate = append(mutate, tt.config)
		}
		env := newEnv(t, srv.URL, mutate...)
		if _, err := env.c.Do(t.Context(), http.MethodGet, tt.path, nil, nil, nil); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, seen); diff != "" {
			t.Errorf("%s: Authorization received (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRedirectsAreBounded(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	})
	env := newEnv(t, srv.URL)
	_, err := env.c.Do(t.Context(), http.MethodGet, "/loop", url.Values{"token": {"secret"}}, nil, nil)
	if KindOf(err) != KindOther || !strings.Contains(err.Error(), "redirects") || strings.Contains(err.Error(), "secret") {
		t.Errorf("a redirect loop: %v", err)
	}
	if calls.Load() != maxRedirects {
		t.Errorf("%d requests, want %d", calls.Load(), maxRedirects)
	}
}

func TestTimeoutIsUnreachable(t *testing.T) {
	srv := serve(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	env := newEnv(t, srv.URL, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := env.c.ServerInfo(t.Context())
	if !IsUnreachable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a server that does not answer: %v, want Unreachable", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the timeout took %s", time.Since(start))
	}
}

func TestCancelledCall(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	env := newEnv(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() {
		_, err := env.c.ServerInfo(ctx)
		ch <- err
	}()
	waitForTimer(t, env.clock) // backing off after the 503
	cancel()
	err := await(t, ch)
	if KindOf(err) != KindOther || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v (kind %q), want Other wrapping context.Canceled", err, KindOf(err))
	}
}

func TestBodyOutlivesRoundTrip(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, `{"version":%q}`, big)
	})
	env := newEnv(t, srv.URL, func(c *Config) { c.Timeout = 5 * time.Second })
	info, err := env.c.ServerInfo(t.Context())
	if err != nil || len(info.Version) != len(big) {
		t.Fatalf("reading a large body after RoundTrip: %v (%d bytes)", err, len(info.Version))
	}
}
