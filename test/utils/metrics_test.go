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

package utils

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// exposition is a small reading in the text format, as client_golang writes it.
const exposition = `# HELP nuop_script_runs_total Script runs.
# TYPE nuop_script_runs_total counter
nuop_script_runs_total{operation="reconcile",result="changed",script="bench"} 7
nuop_script_runs_total{operation="reconcile",result="unchanged",script="bench"} 3
nuop_script_runs_total{operation="finalize",result="changed",script="bench"} 2
nuop_script_runs_total{operation="reconcile",result="changed",script="other \"quoted\"\n"} 5
# HELP nuop_script_processes_max Live processes, high-water mark.
# TYPE nuop_script_processes_max gauge
nuop_script_processes_max 4
# HELP nuop_script_run_duration_seconds Wall time of script runs.
# TYPE nuop_script_run_duration_seconds histogram
nuop_script_run_duration_seconds_bucket{operation="reconcile",script="bench",le="0.1"} 6
nuop_script_run_duration_seconds_bucket{operation="reconcile",script="bench",le="+Inf"} 10
nuop_script_run_duration_seconds_sum{operation="reconcile",script="bench"} 1.25
nuop_script_run_duration_seconds_count{operation="reconcile",script="bench"} 10
nuop_script_run_duration_seconds_bucket{operation="finalize",script="bench",le="0.1"} 2
nuop_script_run_duration_seconds_bucket{operation="finalize",script="bench",le="+Inf"} 2
nuop_script_run_duration_seconds_sum{operation="finalize",script="bench"} 0.5
nuop_script_run_duration_seconds_count{operation="finalize",script="bench"} 2
`

func parsed(t *testing.T) Metrics {
	t.Helper()
	metrics, err := ParseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatalf("ParseMetrics: %v", err)
	}
	return metrics
}

func TestSeriesAndValue(t *testing.T) {
	metrics := parsed(t)
	bench := map[string]string{"script": "bench", "operation": "reconcile"}

	series, err := metrics.Series("nuop_script_runs_total", bench)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(series, func(a, b Series) int { return strings.Compare(a.Labels["result"], b.Labels["result"]) })
	want := []Series{
		{Labels: map[string]string{"operation": "reconcile", "result": "changed", "script": "bench"}, Value: 7},
		{Labels: map[string]string{"operation": "reconcile", "result": "unchanged", "script": "bench"}, Value: 3},
	}
	if diff := cmp.Diff(want, series); diff != "" {
		t.Errorf("Series (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"one series, all its labels named", "nuop_script_runs_total",
			map[string]string{"script": "bench", "operation": "reconcile", "result": "changed"}, 7},
		{"the sum over a label left out", "nuop_script_runs_total", bench, 10},
		{"every series of the metric", "nuop_script_runs_total", nil, 17},
		{"an escaped label value", "nuop_script_runs_total", map[string]string{"script": "other \"quoted\"\n"}, 5},
		{"a gauge without labels", "nuop_script_processes_max", nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := metrics.Value(tc.metric, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Value(%s, %v) = %g, want %g", tc.metric, tc.labels, got, tc.want)
			}
		})
	}
}

func TestHistogram(t *testing.T) {
	metrics := parsed(t)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   Histogram
	}{
		{"one series", map[string]string{"script": "bench", "operation": "reconcile"}, Histogram{Count: 10, Sum: 1.25}},
		{"added up over operations", map[string]string{"script": "bench"}, Histogram{Count: 12, Sum: 1.75}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := metrics.Histogram("nuop_script_run_duration_seconds", tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Histogram(%v) = %+v, want %+v", tc.labels, got, tc.want)
			}
		})
	}
}

func TestMissingSeries(t *testing.T) {
	metrics := parsed(t)
	for _, tc := range []struct {
		name string
		read func() error
		want string
	}{
		{"no metric of the name", func() error {
			_, err := metrics.Value("nuop_script_batch_size", map[string]string{"script": "bench"})
			return err
		}, `no series nuop_script_batch_size{script="bench"}: the metrics have no nuop_script_batch_size`},
		{"no series with the labels", func() error {
			_, err := metrics.Series("nuop_script_runs_total", map[string]string{"script": "bench", "result": "error"})
			return err
		}, `no series nuop_script_runs_total{result="error", script="bench"}: none of the 4 series of nuop_script_runs_total has these labels`},
		{"a histogram's labels", func() error {
			_, err := metrics.Histogram("nuop_script_run_duration_seconds", map[string]string{"script": "other"})
			return err
		}, `no series nuop_script_run_duration_seconds{script="other"}: none of the 2 series of nuop_script_run_duration_seconds has these labels`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read()
			if !errors.Is(err, ErrNoSeries) {
				t.Fatalf("error %v, want one wrapping ErrNoSeries", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if _, err := OrZero(0.0, err); err != nil {
				t.Errorf("OrZero kept %v", err)
			}
		})
	}
}

func TestWrongTypeAndBadText(t *testing.T) {
	metrics := parsed(t)
	_, err := metrics.Value("nuop_script_run_duration_seconds", nil)
	if err == nil || errors.Is(err, ErrNoSeries) || !strings.Contains(err.Error(), "is a HISTOGRAM") {
		t.Errorf("Value of a histogram: error %v, want one saying it is a histogram", err)
	}
	if _, err := OrZero(metrics.Histogram("nuop_script_runs_total", nil)); err == nil {
		t.Error("Histogram of a counter: no error, and OrZero must not hide it")
	}
	if _, err := ParseMetrics(strings.NewReader("nuop_x{a=\"b\" 1\n")); err == nil {
		t.Error("ParseMetrics of a broken line: no error")
	}
}

// TestGatherMetrics reads a registry the way the envtest suites read the manager's.
func TestGatherMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ready := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nuop_nuoperators", Help: "NuOperators."}, []string{"ready"})
	reg.MustRegister(ready)
	ready.WithLabelValues("True").Set(2)
	metrics, err := GatherMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := metrics.Value("nuop_nuoperators", map[string]string{"ready": "True"}); err != nil || got != 2 {
		t.Errorf("ready NuOperators: %g, %v; want 2", got, err)
	}
	if _, err := metrics.Value("nuop_nuoperators", map[string]string{"ready": "False"}); !errors.Is(err, ErrNoSeries) {
		t.Errorf("a series never set: error %v, want ErrNoSeries", err)
	}
}
