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

package gitea

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/promreg"
)

// Label names of the series here.
const (
	labelKind  = "kind"
	labelReady = "ready"
)

// resourcesCollector is gitea_resources{kind,ready}: the managed resources, counted from the manager's cache
// at each scrape, so the gauge can never disagree with the resources' own Ready conditions.
type resourcesCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func newResourcesCollector(reader client.Reader) *resourcesCollector {
	return &resourcesCollector{reader: reader, desc: prometheus.NewDesc("gitea_resources",
		"Gitea managed resources by kind and whether they are Ready.", []string{labelKind, labelReady}, nil)}
}

func (c *resourcesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *resourcesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, k := range kinds {
		list := k.NewList()
		if err := c.reader.List(ctx, list); err != nil {
			// Before the caches have synced there is nothing true to report.
			logf.FromContext(ctx).V(1).Info("not counting resources", "kind", k.Kind, "error", err.Error())
			continue
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			continue
		}
		var ready float64
		for _, item := range items {
			if m, ok := item.(giteav1alpha1.Managed); ok &&
				meta.IsStatusConditionTrue(m.ManagedStatus().Conditions, giteav1alpha1.ConditionReady) {
				ready++
			}
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, ready, k.Kind, "true")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(len(items))-ready, k.Kind, "false")
	}
}

// providersCollector is gitea_providers{provider,ready,reason}: one series (value 1) per GiteaProvider, its
// Ready condition's status and reason, read from the manager's cache at each scrape like gitea_resources. A
// deleted provider's series goes with it, and a provider that makes no request at all (a missing Secret, a
// host not allowed) shows too. provider is "namespace/name", as in gitea_client_requests_total: as many
// series as providers, which is what finding the broken one takes; ready and reason are bounded.
type providersCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func newProvidersCollector(reader client.Reader) *providersCollector {
	return &providersCollector{reader: reader, desc: prometheus.NewDesc("gitea_providers",
		"GiteaProviders (1 each) by provider (namespace/name) and their Ready condition's status (true, false, "+
			"unknown: not checked yet) and reason.", []string{"provider", labelReady, "reason"}, nil)}
}

func (c *providersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *providersCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var list giteav1alpha1.GiteaProviderList
	if err := c.reader.List(ctx, &list); err != nil {
		logf.FromContext(ctx).V(1).Info("not counting providers", "error", err.Error())
		return
	}
	for i := range list.Items {
		p := &list.Items[i]
		ready, reason := "unknown", ""
		if cond := meta.FindStatusCondition(p.Status.Conditions, giteav1alpha1.ConditionReady); cond != nil {
			ready, reason = strings.ToLower(string(cond.Status)), cond.Reason
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, p.Namespace+"/"+p.Name, ready, reason)
	}
}

// The operations of gitea_resource_operations_*.
const (
	operationCreate = "create"
	operationUpdate = "update"
	operationDelete = "delete"
)

// operationMetrics are gitea_resource_operations_total{kind,operation,result} and
// gitea_resource_operation_duration_seconds{kind,operation}: the adapters' creates, updates and deletes,
// each one call of the adapter (which may make several requests, retries included).
type operationMetrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newOperationMetrics(reg prometheus.Registerer) (*operationMetrics, error) {
	m := &operationMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitea_resource_operations_total",
			Help: "Creates, updates and deletes of Gitea objects by the managed resources, by kind, operation " +
				"(create, update, delete) and result (success, error).",
		}, []string{labelKind, "operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gitea_resource_operation_duration_seconds",
			Help: "Time of each create, update and delete of a Gitea object, its requests and retries included, " +
				"by kind and operation.",
			// An operation is one to a few API calls, and retries with backoff on a busy server.
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{labelKind, "operation"}),
	}
	// A second manager in one process (tests) shares the series.
	var err error
	if m.total, err = promreg.Register(reg, m.total); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// record runs one operation of kind and counts it; a nil *operationMetrics only runs it.
func (m *operationMetrics) record(kind, operation string, do func() error) error {
	start := time.Now()
	err := do()
	if m == nil {
		return err
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	m.total.WithLabelValues(kind, operation, result).Inc()
	m.duration.WithLabelValues(kind, operation).Observe(time.Since(start).Seconds())
	return err
}
