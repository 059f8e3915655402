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
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"
)

// The credentials of the tests, which must never show in an error or a metric.
const (
	testToken    = "0123456789abcdef-test-token"
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	testProvider = "team-a/gitea"
)

// testEnv is a Client on a fake clock, with its own metrics registry.
type testEnv struct {
	c       *Client
	clock   *clocktesting.FakeClock
	reg     *prometheus.Registry
	metrics *Metrics
}

// noProxy keeps a proxy set in the test's environment out of the way.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

func newEnv(t *testing.T, rawURL string, mutate ...func(*Config)) *testEnv {
	t.Helper()
	env := &testEnv{clock: clocktesting.NewFakeClock(t0), reg: prometheus.NewRegistry()}
	var err error
	if env.metrics, err = NewMetrics(env.reg); err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: rawURL, Token: testToken, Provider: testProvider, Metrics: env.metrics, Clock: env.clock,
		Proxy: noProxy}
	for _, f := range mutate {
		f(&cfg)
	}
	if env.c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return env
}

// autoStep fires every timer on the fake clock as soon as it is set, for tests about what is retried rather
// than when.
func autoStep(t *testing.T, fc *clocktesting.FakeClock) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if fc.HasWaiters() {
				fc.Step(retryCap)
			} else {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped })
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// await waits, in real time, for a call running in the background.
func await(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return")
		return nil
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
