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
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
)

// requestCount is gitea_client_requests_total for the test provider, method and code.
func requestCount(t *testing.T, env *testEnv, method, code string) float64 {
	t.Helper()
	return testutil.ToFloat64(env.metrics.requests.WithLabelValues(testProvider, method, code))
}

func TestMetricsCountEveryAttempt(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
	})
	env := newEnv(t, srv.URL)
	autoStep(t, env.clock)
	if _, err := env.c.ServerInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.Do(t.Context(), http.MethodPost, "/orgs", nil, nil, nil); err != nil {
		t.Fatal(err)
	}

	requests := `
# HELP gitea_client_requests_total HTTP requests to Gitea, each attempt of a retried call counted, by provider, method and status code ("error" when there was no response).
# TYPE gitea_client_requests_total counter
gitea_client_requests_total{code="200",method="GET",provider="team-a/gitea"} 1
gitea_client_requests_total{code="200",method="POST",provider="team-a/gitea"} 1
gitea_client_requests_total{code="503",method="GET",provider="team-a/gitea"} 2
`
	if err := testutil.GatherAndCompare(env.reg, strings.NewReader(requests), "gitea_client_requests_total"); err != nil {
		t.Error(err)
	}
	// The fake clock does not move during an attempt: every observation is 0 s.
	duration := `
# HELP gitea_client_request_duration_seconds Time to the response headers of each HTTP request to Gitea, by provider and method.
# TYPE gitea_client_request_duration_seconds histogram
` + histogramAtZero("GET", 3) + histogramAtZero("POST", 1)
	if err := testutil.GatherAndCompare(env.reg, strings.NewReader(duration), "gitea_client_request_duration_seconds"); err != nil {
		t.Error(err)
	}
	count := testutil.CollectAndCount(env.metrics.requests, "gitea_client_requests_total")
	if count != 3 {
		t.Errorf("%d request series, want 3", count)
	}
}

// histogramAtZero is the text form of a duration series holding n observations of 0 s.
func histogramAtZero(method string, n int) string {
	var b strings.Builder
	labels := fmt.Sprintf(`method=%q,provider=%q`, method, testProvider)
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"} {
		fmt.Fprintf(&b, "gitea_client_request_duration_seconds_bucket{%s,le=%q} %d\n", labels, le, n)
	}
	fmt.Fprintf(&b, "gitea_client_request_duration_seconds_sum{%s} 0\n", labels)
	fmt.Fprintf(&b, "gitea_client_request_duration_seconds_count{%s} %d\n", labels, n)
	return b.String()
}

func TestMetricsOnARegistryThatHasThemAreShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("a second NewMetrics on the registry: %v", err)
	}
	if first.requests != second.requests || first.duration != second.duration {
		t.Error("the second Metrics has series of its own, which the registry does not export")
	}
}

func TestDeletingAProviderForgetsItsSeries(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, `{"version":"1.26.0"}`) })
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache()
	for _, name := range []string{"a", "b"} {
		c, err := cache.Put(types.NamespacedName{Namespace: "ns", Name: name},
			Config{URL: srv.URL, Provider: "ns/" + name, Metrics: m, Proxy: noProxy})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ServerInfo(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	cache.Delete(types.NamespacedName{Namespace: "ns", Name: "a"})
	want := `
# HELP gitea_client_requests_total HTTP requests to Gitea, each attempt of a retried call counted, by provider, method and status code ("error" when there was no response).
# TYPE gitea_client_requests_total counter
gitea_client_requests_total{code="200",method="GET",provider="ns/b"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gitea_client_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("%d duration series after the delete, want 1", n)
	}
}
