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
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"

	"kemper.buzz/nuop/internal/script"
)

// batchRuns is how many reconcile-batch runs the script has made.
func batchRuns() uint64 {
	var m dto.Metric
	h := eng.metrics.duration.WithLabelValues("batch", string(script.OpReconcileBatch))
	Expect(h.(interface{ Write(*dto.Metric) error }).Write(&m)).To(Succeed())
	return m.GetHistogram().GetSampleCount()
}

var _ = Describe("batched runs", func() {
	It("hands many objects to one reconcile-batch run and keeps write-back, results and events per object", func() {
		eng.SetScripts([]*script.Script{load("batch")}, nil)
		Eventually(func() State { return stateOf("batch") }).Should(Equal(StateReady))
		ns := newNamespace()
		changedBefore := runs("batch", script.OpReconcile, resultChanged)
		runsBefore := batchRuns()
		const n = 12
		for i := range n {
			newConfigMap(ns, fmt.Sprintf("b%02d", i), map[string]string{"engine-test/batch": "yes"})
		}
		newConfigMap(ns, "refused", map[string]string{"engine-test/batch": "yes", "fail": "yes"})

		for i := range n {
			name := fmt.Sprintf("b%02d", i)
			Eventually(func() map[string]string { return getConfigMap(ns, name).Labels }).Should(
				HaveKeyWithValue("batched", "yes"))
		}
		Eventually(func() float64 { return runs("batch", script.OpReconcile, resultChanged) }).Should(Equal(changedBefore + n))
		Expect(batchRuns()-runsBefore).To(BeNumerically("<", n), "objects shared runs")
		Eventually(func() []string { return eventNotes(ns, ReasonScriptFailed) }).Should(ContainElement(
			ContainSubstring("exit code 1")), "the object the answer marked as an error gets its own event")
		Expect(getConfigMap(ns, "refused").Labels).NotTo(HaveKey("batched"))
	})
})
