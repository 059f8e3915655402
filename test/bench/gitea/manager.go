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

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kemper.buzz/nuop/test/bench/benchproc"
)

// startManager runs the manager binary in manager mode on the cluster of kubeconfig.
func startManager(ctx context.Context, manager, kubeconfig, tmp string) (*benchproc.Manager, error) {
	return benchproc.Start(ctx, benchproc.Options{Bench: "bench-gitea", Binary: manager,
		Args:    []string{"--mode", "manager", "--kubeconfig", kubeconfig, "--gitea-allowed-hosts", "127.0.0.1"},
		LogPath: filepath.Join(tmp, "manager.log"), Dir: tmp, Grace: time.Minute})
}

// requests counts Gitea requests by HTTP method, and those that failed (no response, or a 5xx).
type requests struct {
	byMethod map[string]float64
	failed   float64
}

func (r requests) sub(o requests) requests {
	out := requests{byMethod: map[string]float64{}, failed: r.failed - o.failed}
	for k, v := range r.byMethod {
		if d := v - o.byMethod[k]; d != 0 {
			out.byMethod[k] = d
		}
	}
	return out
}

// reads are GET (and HEAD) requests, writes all others.
func (r requests) reads() float64 { return r.byMethod[http.MethodGet] + r.byMethod[http.MethodHead] }

func (r requests) total() float64 {
	t := 0.0
	for _, v := range r.byMethod {
		t += v
	}
	return t
}

func (r requests) writes() float64 { return r.total() - r.reads() }

// managerRequests reads gitea_client_requests_total from the manager's metrics (retries counted: the
// counter counts attempts).
func managerRequests(m *benchproc.Manager) (requests, error) {
	out := requests{byMethod: map[string]float64{}}
	client := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	var err error
	// The metrics endpoint comes up with the manager: give it a little time.
	for range 100 {
		if resp, err = client.Get(m.MetricsURL); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return out, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s: %s", m.MetricsURL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return out, fmt.Errorf("%s: %w", m.MetricsURL, err)
	}
	fam := families["gitea_client_requests_total"]
	if fam == nil {
		return out, nil
	}
	for _, s := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		v := s.GetCounter().GetValue()
		out.byMethod[labels["method"]] += v
		if code := labels["code"]; code == "error" || strings.HasPrefix(code, "5") {
			out.failed += v
		}
	}
	return out, nil
}
