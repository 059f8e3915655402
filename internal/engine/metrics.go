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

package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"kemper.buzz/nuop/internal/promreg"
)

// Results of a run as the protocol names them in nuop_script_runs_total{result}.
const (
	resultUnchanged = "unchanged"
	resultChanged   = "changed"
	resultError     = "error"
	resultTimeout   = "timeout"
)

// Script load states in nuop_scripts_loaded{state}.
const (
	stateReady  = "ready"
	stateFailed = "failed"
)

// Label names of the engine's series.
const (
	labelScript    = "script"
	labelOperation = "operation"
	labelResult    = "result"
	labelState     = "state"
)

// metrics are the engine's series (SCRIPT-PROTOCOL section 6). The process gauges belong to the runner.
type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// batchSize is the number of objects of each reconcile-batch run.
	batchSize *prometheus.HistogramVec
	loaded    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuop_script_runs_total",
			Help: "Script runs by script, operation (reconcile, finalize) and result (unchanged, changed, error, timeout); " +
				"with batches, each object's share of a reconcile-batch run counts as its reconcile.",
		}, []string{labelScript, labelOperation, labelResult}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuop_script_run_duration_seconds",
			Help: "Wall time of script runs, from process start to exit.",
			// nu starts in ~40 ms; kubectl calls add hundreds of ms each; runs are capped at minutes.
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{labelScript, labelOperation}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nuop_script_batch_size",
			Help:    "Objects given to each reconcile-batch run, by script.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}, []string{labelScript}),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nuop_scripts_loaded",
			Help: "Scripts by load state: ready (running) or failed (not loaded, or degraded to its last good version).",
		}, []string{labelState}),
	}
	// A process runs one engine; a test process may build several, which then share the series.
	var err error
	if m.runs, err = promreg.Register(reg, m.runs); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.batchSize, err = promreg.Register(reg, m.batchSize); err != nil {
		return nil, err
	}
	if m.loaded, err = promreg.Register(reg, m.loaded); err != nil {
		return nil, err
	}
	return m, nil
}

// forget deletes the series of a script that is no longer loaded, so dashboards do not show ghosts.
func (m *metrics) forget(script string) {
	m.runs.DeletePartialMatch(prometheus.Labels{labelScript: script})
	m.duration.DeletePartialMatch(prometheus.Labels{labelScript: script})
	m.batchSize.DeletePartialMatch(prometheus.Labels{labelScript: script})
}
