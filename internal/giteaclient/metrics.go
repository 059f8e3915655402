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
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kemper.buzz/nuop/internal/promreg"
)

// Label names of the client's series.
const (
	labelProvider = "provider"
	labelMethod   = "method"
	labelCode     = "code"
)

// codeError is the code label of an attempt that got no response.
const codeError = "error"

// Metrics are the series of every Client of a process, labelled by provider. NewMetrics on a registry that
// has them already returns them.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers gitea_client_requests_total{provider,method,code} and
// gitea_client_request_duration_seconds{provider,method} on reg (controller-runtime's metrics.Registry in
// the manager). Both count attempts, so retries show.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitea_client_requests_total",
			Help: "HTTP requests to Gitea, each attempt of a retried call counted, by provider, method and status " +
				"code (\"error\" when there was no response).",
		}, []string{labelProvider, labelMethod, labelCode}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gitea_client_request_duration_seconds",
			Help: "Time to the response headers of each HTTP request to Gitea, by provider and method.",
			// API calls take milliseconds on a healthy server; the tail is a slow or overloaded one.
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{labelProvider, labelMethod}),
	}
	// A second manager in one process (tests, a restart after losing the lease) shares the series.
	var err error
	if m.requests, err = promreg.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// observe records one attempt; resp is nil when it got no response. A nil *Metrics records nothing.
func (m *Metrics) observe(provider, method string, resp *http.Response, d time.Duration) {
	if m == nil {
		return
	}
	code := codeError
	if resp != nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	m.requests.WithLabelValues(provider, method, code).Inc()
	m.duration.WithLabelValues(provider, method).Observe(d.Seconds())
}

// forget drops the series of a provider that is gone, so dashboards do not show ghosts.
func (m *Metrics) forget(provider string) {
	if m == nil {
		return
	}
	m.requests.DeletePartialMatch(prometheus.Labels{labelProvider: provider})
	m.duration.DeletePartialMatch(prometheus.Labels{labelProvider: provider})
}
