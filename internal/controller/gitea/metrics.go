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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// resourcesCollector is gitea_resources{kind,ready}: the managed resources, counted from the manager's cache
// at each scrape, so the gauge can never disagree with the resources' own Ready conditions.
type resourcesCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func newResourcesCollector(reader client.Reader) *resourcesCollector {
	return &resourcesCollector{reader: reader, desc: prometheus.NewDesc("gitea_resources",
		"Gitea managed resources by kind and whether they are Ready.", []string{"kind", "ready"}, nil)}
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
