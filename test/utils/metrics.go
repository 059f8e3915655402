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
	"fmt"
	"io"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrNoSeries says a reading has no series of the name and labels asked for. A vector's series appear with
// their first observation, so for them absence can mean zero: see OrZero.
var ErrNoSeries = errors.New("no series")

// Metrics is one reading of Prometheus metrics (an endpoint's text, or a registry): the metric families by name.
type Metrics map[string]*dto.MetricFamily

// Series is one counter, gauge or untyped series: its labels and value.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Histogram is the count and sum of the observations of one or more histogram series.
type Histogram struct {
	Count, Sum float64
}

// ParseMetrics reads the Prometheus text format.
func ParseMetrics(r io.Reader) (Metrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	return Metrics(families), nil
}

// GatherMetrics reads what g (a registry) holds.
func GatherMetrics(g prometheus.Gatherer) (Metrics, error) {
	families, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := make(Metrics, len(families))
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out, nil
}

// Series returns the series of the counter, gauge or untyped metric name whose labels include labels
// (nil: all of them). None is an error wrapping ErrNoSeries.
func (ms Metrics) Series(name string, labels map[string]string) ([]Series, error) {
	matched, err := ms.match(name, labels, dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED)
	if err != nil {
		return nil, err
	}
	out := make([]Series, 0, len(matched))
	for _, s := range matched {
		value := s.GetUntyped().GetValue()
		switch ms[name].GetType() {
		case dto.MetricType_COUNTER:
			value = s.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			value = s.GetGauge().GetValue()
		}
		out = append(out, Series{Labels: labelMap(s), Value: value})
	}
	return out, nil
}

// Value is the sum of the values of Series(name, labels): the one series' value when labels name all of
// its labels.
func (ms Metrics) Value(name string, labels map[string]string) (float64, error) {
	series, err := ms.Series(name, labels)
	total := 0.0
	for _, s := range series {
		total += s.Value
	}
	return total, err
}

// Histogram adds up the counts and sums of the series of the histogram name whose labels include labels
// (nil: all of them). None is an error wrapping ErrNoSeries.
func (ms Metrics) Histogram(name string, labels map[string]string) (Histogram, error) {
	matched, err := ms.match(name, labels, dto.MetricType_HISTOGRAM)
	var out Histogram
	for _, s := range matched {
		h := s.GetHistogram()
		out.Count += float64(h.GetSampleCount())
		out.Sum += h.GetSampleSum()
	}
	return out, err
}

// OrZero turns an ErrNoSeries from Series, Value or Histogram into a zero value: for the series of a
// vector, which appear with their first observation, none means nothing observed yet.
func OrZero[T any](v T, err error) (T, error) {
	if errors.Is(err, ErrNoSeries) {
		var zero T
		return zero, nil
	}
	return v, err
}

// match returns name's series whose labels include labels, after checking the metric is of one of types.
func (ms Metrics) match(name string, labels map[string]string, types ...dto.MetricType) ([]*dto.Metric, error) {
	family := ms[name]
	if family == nil {
		return nil, fmt.Errorf("%w %s: the metrics have no %s", ErrNoSeries, selector(name, labels), name)
	}
	if !slices.Contains(types, family.GetType()) {
		return nil, fmt.Errorf("%s is a %s, not a %v", name, family.GetType(), types)
	}
	var out []*dto.Metric
	for _, s := range family.GetMetric() {
		have := labelMap(s)
		ok := true
		for k, v := range labels {
			if got, found := have[k]; !found || got != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %s: none of the %d series of %s has these labels", ErrNoSeries,
			selector(name, labels), len(family.GetMetric()), name)
	}
	return out, nil
}

func labelMap(s *dto.Metric) map[string]string {
	out := make(map[string]string, len(s.GetLabel()))
	for _, l := range s.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// selector formats a series' name and labels as PromQL does, for messages.
func selector(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	set := model.LabelSet{}
	for k, v := range labels {
		set[model.LabelName(k)] = model.LabelValue(v)
	}
	return name + set.String()
}
