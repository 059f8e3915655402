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

package nuop

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"kemper.buzz/nuop/internal/promreg"
)

// metrics counts the NuOperators this controller has seen by readiness: nuop_nuoperators{ready}.
type metrics struct {
	gauge *prometheus.GaugeVec

	mu    sync.Mutex
	ready map[types.NamespacedName]bool
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nuop_nuoperators",
		Help: "NuOperators by their Ready condition (ready=\"true\" or \"false\").",
	}, []string{"ready"})
	gauge, err := promreg.Register(reg, gauge)
	if err != nil {
		return nil, err
	}
	m := &metrics{gauge: gauge, ready: map[types.NamespacedName]bool{}}
	m.publishLocked()
	return m, nil
}

// set records whether a NuOperator is ready.
func (m *metrics) set(key types.NamespacedName, ready bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ready[key] = ready
	m.publishLocked()
}

// forget drops a NuOperator that is gone.
func (m *metrics) forget(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ready, key)
	m.publishLocked()
}

func (m *metrics) publishLocked() {
	counts := map[bool]int{}
	for _, ready := range m.ready {
		counts[ready]++
	}
	for _, ready := range []bool{true, false} {
		m.gauge.WithLabelValues(strconv.FormatBool(ready)).Set(float64(counts[ready]))
	}
}
