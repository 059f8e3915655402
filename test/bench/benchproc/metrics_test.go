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

package benchproc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kemper.buzz/nuop/test/utils"
)

// TestScrape reads what client_golang's handler serves, as the manager's endpoint does.
func TestScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gitea_client_requests_total", Help: "Requests."},
		[]string{"method", "code"})
	batchSize := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nuop_script_batch_size", Help: "Objects."},
		[]string{"script"})
	reg.MustRegister(requests, batchSize)
	requests.WithLabelValues("GET", "200").Add(3)
	requests.WithLabelValues("PATCH", "500").Inc()
	batchSize.WithLabelValues("bench").Observe(4)
	batchSize.WithLabelValues("bench").Observe(6)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	metrics, err := Scrape(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := metrics.Value("gitea_client_requests_total", map[string]string{"method": "GET"}); err != nil || got != 3 {
		t.Errorf("GET requests: %g, %v; want 3", got, err)
	}
	if got, err := metrics.Histogram("nuop_script_batch_size", map[string]string{"script": "bench"}); err != nil ||
		got != (utils.Histogram{Count: 2, Sum: 10}) {
		t.Errorf("batch sizes: %+v, %v; want count 2, sum 10", got, err)
	}

	if _, err := Scrape(srv.URL + "/nothing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Scrape of a missing path: error %v, want a 404", err)
	}
}
