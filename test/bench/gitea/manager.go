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
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"kemper.buzz/nuop/test/bench/benchproc"
	"kemper.buzz/nuop/test/utils"
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
	metrics, err := m.Metrics()
	if err != nil {
		return out, err
	}
	// Before its first request the counter has no series.
	series, err := utils.OrZero(metrics.Series("gitea_client_requests_total", nil))
	if err != nil {
		return out, err
	}
	for _, s := range series {
		out.byMethod[s.Labels["method"]] += s.Value
		if code := s.Labels["code"]; code == "error" || strings.HasPrefix(code, "5") {
			out.failed += s.Value
		}
	}
	return out, nil
}
