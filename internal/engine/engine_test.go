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
	"context"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/script"
)

const finalizer = "engine-test.kemper.buzz/fin"

var ctx = context.Background()

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "engine-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func newConfigMap(ns, name string, labels map[string]string, finalizers ...string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Finalizers: finalizers},
		Data: map[string]string{"k": "v"}}
	Expect(k8s.Create(ctx, cm)).To(Succeed())
	return cm
}

func getConfigMap(ns, name string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
	return cm
}

func runs(name string, op script.Operation, result string) float64 {
	return testutil.ToFloat64(eng.metrics.runs.WithLabelValues(name, string(op), result))
}

// eventNotes returns the notes of the events with reason in ns.
func eventNotes(ns, reason string) []string {
	list := &eventsv1.EventList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func stateOf(name string) State {
	for _, s := range eng.Statuses() {
		if s.Name == name {
			return s.State
		}
	}
	return ""
}

// removeFinalizersOf lets a test's leftover objects go (envtest has no namespace controller).
func removeFinalizersOf(ns, name string) {
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return
	}
	cm.Finalizers = nil
	_ = k8s.Update(ctx, cm)
}

var _ = Describe("the engine", func() {
	It("runs reconcile for a matching object and, on exit 0, not again before requeue_after_noop", func() {
		eng.SetScripts([]*script.Script{load("noop")}, nil)
		Eventually(func() State { return stateOf("noop") }).Should(Equal(StateReady))
		before := runs("noop", script.OpReconcile, resultUnchanged)
		ns := newNamespace()
		newConfigMap(ns, "seen", map[string]string{"engine-test/noop": "yes"})
		newConfigMap(ns, "ignored", map[string]string{"engine-test/noop": "no"})
		Eventually(func() float64 { return runs("noop", script.OpReconcile, resultUnchanged) }).Should(Equal(before + 1))
		Consistently(func() float64 { return runs("noop", script.OpReconcile, resultUnchanged) }, "2s").Should(Equal(before + 1))
	})

	It("writes back the object a script prints on exit 2, once, without running again for its own write", func() {
		eng.SetScripts([]*script.Script{load("change")}, nil)
		Eventually(func() State { return stateOf("change") }).Should(Equal(StateReady))
		ns := newNamespace()
		newConfigMap(ns, "target", map[string]string{"engine-test/change": "yes"})
		Eventually(func() map[string]string { return getConfigMap(ns, "target").Labels }).Should(HaveKeyWithValue("touched", "yes"))
		Expect(getConfigMap(ns, "target").Data).To(HaveKeyWithValue("written", "by-script"))
		Expect(getConfigMap(ns, "target").Labels).To(HaveKeyWithValue("engine-test/change", "yes"),
			"the label value yes stays the string yes (YAML 1.2)")
		changed := func() float64 { return runs("change", script.OpReconcile, resultChanged) }
		unchanged := func() float64 { return runs("change", script.OpReconcile, resultUnchanged) }
		Eventually(changed).Should(BeNumerically(">=", 1))
		c, u := changed(), unchanged()
		Consistently(func() []float64 { return []float64{changed(), unchanged()} }, "2s").Should(Equal([]float64{c, u}),
			"no run for the engine's own write")
		Expect(c).To(Equal(float64(1)))
	})

	It("writes nothing back when stdout was longer than the output cap, and says so", func() {
		eng.SetScripts([]*script.Script{load("oversize")}, nil)
		Eventually(func() State { return stateOf("oversize") }).Should(Equal(StateReady))
		ns := newNamespace()
		newConfigMap(ns, "big-output", map[string]string{"engine-test/oversize": "yes"})
		Eventually(func() []string { return eventNotes(ns, ReasonScriptFailed) }).Should(
			ContainElement(ContainSubstring("longer than the output cap of 1048576 bytes")))
		Expect(getConfigMap(ns, "big-output").Labels).NotTo(HaveKey("touched"), "what was kept parses, but it may be cut short")
	})

	It("records a Warning event with the exit code and retries a failing script with backoff", func() {
		eng.SetScripts([]*script.Script{load("fail")}, nil)
		Eventually(func() State { return stateOf("fail") }).Should(Equal(StateReady))
		ns := newNamespace()
		before := runs("fail", script.OpReconcile, resultError)
		newConfigMap(ns, "broken", map[string]string{"engine-test/fail": "yes"})
		Eventually(func() float64 { return runs("fail", script.OpReconcile, resultError) }).Should(BeNumerically(">=", before+2))
		Eventually(func() []string { return eventNotes(ns, ReasonScriptFailed) }).Should(
			ContainElement(ContainSubstring("exit code 42")))
		for _, note := range eventNotes(ns, ReasonScriptFailed) {
			Expect(note).NotTo(ContainSubstring("something went wrong"), "events never carry script output")
		}
	})

	It("kills a script at its time-out and records ScriptTimeout", func() {
		eng.SetScripts([]*script.Script{load("hang")}, nil)
		Eventually(func() State { return stateOf("hang") }).Should(Equal(StateReady))
		ns := newNamespace()
		newConfigMap(ns, "slow", map[string]string{"engine-test/hang": "yes"})
		Eventually(func() float64 { return runs("hang", script.OpReconcile, resultTimeout) }).Should(BeNumerically(">=", 1))
		Eventually(func() []string { return eventNotes(ns, ReasonScriptTimeout) }).ShouldNot(BeEmpty())
	})

	Context("with a finalizer", func() {
		var ns string
		BeforeEach(func() {
			eng.SetScripts([]*script.Script{load("fin")}, nil)
			Eventually(func() State { return stateOf("fin") }).Should(Equal(StateReady))
			ns = newNamespace()
		})

		It("adds it with the owner annotation, keeps other finalizers, and removes it after finalize succeeds", func() {
			newConfigMap(ns, "guarded", map[string]string{"engine-test/fin": "yes", "fail-finalize": "yes"}, "other.example.com/keep")
			DeferCleanup(removeFinalizersOf, ns, "guarded")
			Eventually(func() []string { return getConfigMap(ns, "guarded").Finalizers }).Should(
				ConsistOf("other.example.com/keep", finalizer))
			Expect(getConfigMap(ns, "guarded").Annotations).To(HaveKeyWithValue(OwnersAnnotation,
				`{"engine-test.kemper.buzz/fin":"engine-test"}`))

			Expect(k8s.Delete(ctx, getConfigMap(ns, "guarded"))).To(Succeed())
			Eventually(func() []string { return eventNotes(ns, ReasonScriptFailed) }).ShouldNot(BeEmpty(),
				"a failing finalize is reported")
			Expect(getConfigMap(ns, "guarded").Finalizers).To(ContainElement(finalizer), "and keeps the finalizer")

			cm := getConfigMap(ns, "guarded")
			delete(cm.Labels, "fail-finalize")
			Expect(k8s.Update(ctx, cm)).To(Succeed())
			Eventually(func() []string { return getConfigMap(ns, "guarded").Finalizers }).Should(
				ConsistOf("other.example.com/keep"), "ours is removed, the other controller's stays")
			Expect(eventNotes(ns, ReasonFinalized)).NotTo(BeEmpty())
		})

		It("adopts its finalizer found with no owner entry (as the Rust nuop left it) and finalizes on deletion", func() {
			newConfigMap(ns, "from-nuop", map[string]string{"engine-test/fin": "yes"}, finalizer)
			DeferCleanup(removeFinalizersOf, ns, "from-nuop")
			Eventually(func() map[string]string { return getConfigMap(ns, "from-nuop").Annotations }).Should(
				HaveKeyWithValue(OwnersAnnotation, `{"engine-test.kemper.buzz/fin":"engine-test"}`))
			Expect(getConfigMap(ns, "from-nuop").Finalizers).To(ConsistOf(finalizer), "the finalizer is not added twice")

			finalizes := runs("fin", script.OpFinalize, resultUnchanged)
			Expect(k8s.Delete(ctx, getConfigMap(ns, "from-nuop"))).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "from-nuop"}, &corev1.ConfigMap{}))
			}).Should(BeTrue(), "finalize ran and the finalizer went")
			Expect(runs("fin", script.OpFinalize, resultUnchanged)).To(Equal(finalizes + 1))
		})

		It("leaves an object whose owner annotation it cannot read", func() {
			reconciles := func() float64 { return runs("fin", script.OpReconcile, resultUnchanged) }
			before := reconciles()
			Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Namespace: ns, Name: "unreadable", Labels: map[string]string{"engine-test/fin": "yes"},
				Finalizers: []string{finalizer}, Annotations: map[string]string{OwnersAnnotation: "not json"},
			}})).To(Succeed())
			DeferCleanup(removeFinalizersOf, ns, "unreadable")
			Eventually(reconciles).Should(BeNumerically(">", before))
			Consistently(func() map[string]string { return getConfigMap(ns, "unreadable").Annotations }, "2s").Should(
				HaveKeyWithValue(OwnersAnnotation, "not json"), "never claimed: it cannot be proved unowned")
		})

		It("releases it without finalize when the object stops matching (onUnmatch: release)", func() {
			newConfigMap(ns, "unlabelled", map[string]string{"engine-test/fin": "yes"})
			DeferCleanup(removeFinalizersOf, ns, "unlabelled")
			Eventually(func() []string { return getConfigMap(ns, "unlabelled").Finalizers }).Should(ContainElement(finalizer))
			finalizes := runs("fin", script.OpFinalize, resultUnchanged)

			cm := getConfigMap(ns, "unlabelled")
			delete(cm.Labels, "engine-test/fin")
			Expect(k8s.Update(ctx, cm)).To(Succeed())
			Eventually(func() []string { return getConfigMap(ns, "unlabelled").Finalizers }).ShouldNot(ContainElement(finalizer))
			Expect(getConfigMap(ns, "unlabelled").Annotations).NotTo(HaveKey(OwnersAnnotation))
			Expect(runs("fin", script.OpFinalize, resultUnchanged)).To(Equal(finalizes), "release runs no finalize")
			Expect(eventNotes(ns, ReasonFinalizerReleased)).NotTo(BeEmpty())
		})

		It("runs finalize first when the object stops matching with onUnmatch: finalize", func() {
			s := load("fin")
			s.Config.OnUnmatch = script.OnUnmatchFinalize
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(func() bool {
				eng.mu.Lock()
				defer eng.mu.Unlock()
				sc := eng.running["fin"]
				return sc != nil && sc.script.Config.OnUnmatch == script.OnUnmatchFinalize
			}).Should(BeTrue())
			newConfigMap(ns, "finalize-on-unmatch", map[string]string{"engine-test/fin": "yes"})
			DeferCleanup(removeFinalizersOf, ns, "finalize-on-unmatch")
			Eventually(func() []string { return getConfigMap(ns, "finalize-on-unmatch").Finalizers }).Should(ContainElement(finalizer))
			finalizes := runs("fin", script.OpFinalize, resultUnchanged)

			cm := getConfigMap(ns, "finalize-on-unmatch")
			delete(cm.Labels, "engine-test/fin")
			Expect(k8s.Update(ctx, cm)).To(Succeed())
			Eventually(func() []string { return getConfigMap(ns, "finalize-on-unmatch").Finalizers }).ShouldNot(ContainElement(finalizer))
			Expect(runs("fin", script.OpFinalize, resultUnchanged)).To(Equal(finalizes + 1))
		})

		It("sweeps objects that stopped matching while nothing watched, and only this instance's", func() {
			ours := newConfigMap(ns, "missed", map[string]string{}, finalizer)
			ours.Annotations = map[string]string{OwnersAnnotation: `{"engine-test.kemper.buzz/fin":"engine-test"}`}
			Expect(k8s.Update(ctx, ours)).To(Succeed())
			theirs := newConfigMap(ns, "other-instance", map[string]string{}, finalizer)
			theirs.Annotations = map[string]string{OwnersAnnotation: `{"engine-test.kemper.buzz/fin":"someone-else"}`}
			Expect(k8s.Update(ctx, theirs)).To(Succeed())
			DeferCleanup(removeFinalizersOf, ns, "other-instance")

			// A changed configuration restarts the controller, which sweeps as it starts.
			s := load("fin")
			s.Config.RequeueAfterNoop = time.Hour + time.Second
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(func() []string { return getConfigMap(ns, "missed").Finalizers }).Should(BeEmpty())
			Consistently(func() []string { return getConfigMap(ns, "other-instance").Finalizers }, "2s").Should(
				ConsistOf(finalizer), "another instance's object is never released")
		})

		It("tries a failed sweep again at the next pass", func() {
			logs := captureLogs()
			missed := newConfigMap(ns, "missed-twice", map[string]string{}, finalizer)
			missed.Annotations = map[string]string{OwnersAnnotation: `{"engine-test.kemper.buzz/fin":"engine-test"}`}
			Expect(k8s.Update(ctx, missed)).To(Succeed())

			faults.lists.Store(1)
			DeferCleanup(func() { faults.lists.Store(0) })
			s := load("fin")
			s.Config.RequeueAfterNoop = time.Hour + 2*time.Second // a changed configuration: a new controller sweeps
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(logs.String).Should(ContainSubstring("sweep for finalizers left behind failed"))
			Eventually(func() []string { return getConfigMap(ns, "missed-twice").Finalizers }).Should(BeEmpty(),
				"the next pass sweeps again")
		})

		It("releases the old finalizer when the script's finalizer changes, and when it is dropped", func() {
			newConfigMap(ns, "renamed", map[string]string{"engine-test/fin": "yes"})
			DeferCleanup(removeFinalizersOf, ns, "renamed")
			Eventually(func() []string { return getConfigMap(ns, "renamed").Finalizers }).Should(ConsistOf(finalizer))

			const second = "engine-test.kemper.buzz/fin-second"
			s := load("fin")
			s.Config.Finalizer = second
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(func() []string { return getConfigMap(ns, "renamed").Finalizers }).Should(ConsistOf(second))
			Expect(getConfigMap(ns, "renamed").Annotations).To(HaveKeyWithValue(OwnersAnnotation, `{"`+second+`":"engine-test"}`))

			s = load("fin")
			s.Config.Finalizer = ""
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(func() []string { return getConfigMap(ns, "renamed").Finalizers }).Should(BeEmpty())
			Expect(getConfigMap(ns, "renamed").Annotations).NotTo(HaveKey(OwnersAnnotation))
			Eventually(eng.Statuses).Should(ContainElement(HaveField("State", StateReady)))
			eng.SetScripts(nil, nil)
			Eventually(eng.Released).Should(BeTrue())
		})

		It("releases what it held outside the namespace the script is narrowed to, and keeps what is inside", func() {
			labels := map[string]string{"engine-test/fin": "yes"}
			outside := newNamespace()
			newConfigMap(ns, "inside", labels)
			newConfigMap(outside, "outside", labels)
			DeferCleanup(removeFinalizersOf, ns, "inside")
			DeferCleanup(removeFinalizersOf, outside, "outside")
			Eventually(func() []string { return getConfigMap(outside, "outside").Finalizers }).Should(ConsistOf(finalizer))
			Eventually(func() []string { return getConfigMap(ns, "inside").Finalizers }).Should(ConsistOf(finalizer))

			s := load("fin")
			s.Config.Namespace = ns
			eng.SetScripts([]*script.Script{s}, nil)
			Eventually(func() []string { return getConfigMap(outside, "outside").Finalizers }).Should(BeEmpty())
			Eventually(func() []string { return getConfigMap(ns, "inside").Finalizers }).Should(ConsistOf(finalizer))
			Expect(stateOf("fin")).To(Equal(StateReady))
		})

		It("keeps running through a failed discovery of its kind, without starting over", func() {
			// The BeforeEach's configuration may replace the previous spec's a pass after it reports Ready.
			current := load("fin")
			Eventually(func() bool { sc := eng.runningController("fin"); return sc != nil && sc.runs(current) }).Should(BeTrue())
			logs := captureLogs()
			faults.discovery.Store(1)
			DeferCleanup(func() { faults.discovery.Store(0) })
			Eventually(faults.discovery.Load).WithTimeout(2*recheckInterval).Should(BeZero(), "a pass looked the kind up")
			// A controller stopped by that pass would start again at the next one.
			Consistently(logs.String, recheckInterval+time.Second).ShouldNot(ContainSubstring("script started"))
			Expect(stateOf("fin")).To(Equal(StateReady))
		})

		It("releases a removed script's finalizers without running finalize", func() {
			newConfigMap(ns, "orphaned", map[string]string{"engine-test/fin": "yes"})
			Eventually(func() []string { return getConfigMap(ns, "orphaned").Finalizers }).Should(ContainElement(finalizer))
			eng.SetScripts(nil, nil)
			Eventually(func() []string { return getConfigMap(ns, "orphaned").Finalizers }).Should(BeEmpty())
			Expect(eventNotes(ns, ReasonFinalizerReleased)).To(ContainElement(ContainSubstring("released without finalize")))
			Expect(scriptsWithRunSeries()).NotTo(ContainElement("fin"), "the removed script's series are gone")
			Expect(eventNotes(ns, ReasonFinalized)).To(BeEmpty(), "finalize never ran for this object")
		})
	})

	It("waits for a CRD installed after the script loaded, resolves its irregular plural, and writes status", func() {
		eng.SetScripts([]*script.Script{load("widget")}, nil)
		Eventually(func() State { return stateOf("widget") }).Should(Equal(StatePending))

		crdPath, err := filepath.Abs(filepath.Join("testdata", "crds"))
		Expect(err).NotTo(HaveOccurred())
		_, err = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{crdPath}})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() State { return stateOf("widget") }).Should(Equal(StateReady))

		ns := newNamespace()
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(schema.GroupVersionKind{Group: "engine-test.kemper.buzz", Version: "v1", Kind: "Widget"})
		w.SetNamespace(ns)
		w.SetName("w")
		Expect(unstructured.SetNestedField(w.Object, "nuop", "spec", "name")).To(Succeed())
		Expect(k8s.Create(ctx, w)).To(Succeed())
		Eventually(func() string {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(w), w)).To(Succeed())
			msg, _, _ := unstructured.NestedString(w.Object, "status", "message")
			return msg
		}).Should(Equal("Hello, nuop"))

		// Removing the CRD stops the script cleanly and it waits for the kind again.
		crd := &apiextensionsv1.CustomResourceDefinition{}
		data, err := os.ReadFile(filepath.Join(crdPath, "widgets.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(data, crd)).To(Succeed())
		Expect(client.IgnoreNotFound(deleteCRD(crd))).To(Succeed())
		Eventually(func() State { return stateOf("widget") }).WithTimeout(time.Minute).Should(Equal(StatePending))

		// Removed while it waits, its series go as a running script's do.
		Expect(scriptsWithRunSeries()).To(ContainElement("widget"))
		eng.SetScripts(nil, nil)
		Eventually(scriptsWithRunSeries).ShouldNot(ContainElement("widget"))
	})

	It("refuses a second script with the same kind and finalizer", func() {
		a := load("fin")
		b := load("fin")
		b.Config.Name = "fin-twin"
		eng.SetScripts([]*script.Script{a, b}, nil)
		Eventually(func() State { return stateOf("fin-twin") }).Should(Equal(StateFailed))
		Expect(stateOf("fin")).To(Equal(StateReady))
	})
})

// scriptsWithRunSeries lists the scripts nuop_script_runs_total has series for.
func scriptsWithRunSeries() []string {
	ch := make(chan prometheus.Metric, 1000)
	eng.metrics.runs.Collect(ch)
	close(ch)
	var names []string
	for m := range ch {
		var d dto.Metric
		Expect(m.Write(&d)).To(Succeed())
		for _, l := range d.GetLabel() {
			if l.GetName() == "script" {
				names = append(names, l.GetValue())
			}
		}
	}
	return names
}

func deleteCRD(crd *apiextensionsv1.CustomResourceDefinition) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	Expect(apiextensionsv1.AddToScheme(c.Scheme())).To(Succeed())
	err = c.Delete(ctx, crd)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
