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
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"kemper.buzz/nuop/internal/script"
)

var gadgetGVK = schema.GroupVersionKind{Group: "engine-test.kemper.buzz", Version: "v1", Kind: "Gadget"}

const (
	gadgetFinalizer = "engine-test.kemper.buzz/gadget"
	sharedFinalizer = "engine-test.kemper.buzz/shared"
)

// startScripts makes scripts the engine's whole set and waits until each of them runs.
func startScripts(scripts ...*script.Script) {
	eng.SetScripts(scripts, nil)
	for _, s := range scripts {
		Eventually(func() State { return stateOf(s.Config.Name) }).Should(Equal(StateReady), "script %s", s.Config.Name)
	}
}

// scriptStatus returns what the engine reports about a script, and whether it reports it at all.
func scriptStatus(name string) (ScriptStatus, bool) {
	for _, s := range eng.Statuses() {
		if s.Name == name {
			return s, true
		}
	}
	return ScriptStatus{}, false
}

// eventsAbout returns the events in ns regarding the object named name with reason.
func eventsAbout(ns, name, reason string) []eventsv1.Event {
	list := &eventsv1.EventList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines and the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLogs copies everything logged from now until the end of the spec into a buffer. The suite's
// logger (zap, development mode: debug enabled) writes to GinkgoWriter, so teeing it sees every line the
// engine logs, at every level, without touching the engine.
func captureLogs() *syncBuffer {
	buf := &syncBuffer{}
	GinkgoWriter.TeeTo(buf)
	DeferCleanup(GinkgoWriter.ClearTeeWriters)
	return buf
}

// linesAbove returns the log lines that are not at debug verbosity (zap's console encoder writes the
// level as the second tab-separated field: DEBUG for V(1), Level(-n) beyond). Lines without a level (a
// stack trace) count as above debug.
func linesAbove(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) >= 2 && (fields[1] == "DEBUG" || strings.HasPrefix(fields[1], "Level(")) {
			continue
		}
		out = append(out, line)
	}
	return out
}

// installCRDs installs the CRDs of a directory under testdata and waits until they are served.
func installCRDs(dir string) {
	path, err := filepath.Abs(filepath.Join("testdata", dir))
	Expect(err).NotTo(HaveOccurred())
	_, err = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{path}})
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("engine scenarios", func() {
	It("adds, runs and removes a finalizer on a cluster-scoped kind", func() {
		installCRDs("crds-cluster")
		startScripts(load("gadget"))
		finalizes := runs("gadget", script.OpFinalize, resultUnchanged)

		g := &unstructured.Unstructured{}
		g.SetGroupVersionKind(gadgetGVK)
		g.SetGenerateName("gadget-")
		Expect(unstructured.SetNestedField(g.Object, "small", "spec", "size")).To(Succeed())
		Expect(k8s.Create(ctx, g)).To(Succeed())
		key := client.ObjectKeyFromObject(g)
		DeferCleanup(func() {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gadgetGVK)
			if err := k8s.Get(ctx, key, obj); err == nil {
				obj.SetFinalizers(nil)
				_ = k8s.Update(ctx, obj)
				_ = k8s.Delete(ctx, obj)
			}
		})

		get := func() *unstructured.Unstructured {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gadgetGVK)
			Expect(k8s.Get(ctx, key, obj)).To(Succeed())
			return obj
		}
		Eventually(func() []string { return get().GetFinalizers() }).Should(ConsistOf(gadgetFinalizer))
		Expect(get().GetAnnotations()).To(HaveKeyWithValue(OwnersAnnotation, `{"engine-test.kemper.buzz/gadget":"engine-test"}`))

		Expect(k8s.Delete(ctx, get())).To(Succeed())
		Eventually(func() error {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gadgetGVK)
			return k8s.Get(ctx, key, obj)
		}).Should(Satisfy(apierrors.IsNotFound), "finalize succeeded, the finalizer was removed and the object is gone")
		Expect(runs("gadget", script.OpFinalize, resultUnchanged)).To(Equal(finalizes+1), "finalize ran once")
		Expect(runs("gadget", script.OpFinalize, resultError)).To(BeZero(), "finalize saw no namespace")
		// Events about cluster-scoped objects go to the default namespace.
		Eventually(func() []eventsv1.Event { return eventsAbout(metav1.NamespaceDefault, key.Name, ReasonFinalized) }).
			ShouldNot(BeEmpty())
	})

	It("refuses a field selector the API server does not support for the kind", func() {
		eng.SetScripts([]*script.Script{load("fieldsel-bad")}, nil)
		Eventually(func() State { return stateOf("fieldsel-bad") }).Should(Equal(StateFailed))
		st, _ := scriptStatus("fieldsel-bad")
		Expect(st.Message).To(ContainSubstring("field selector"))
		Expect(st.Message).To(ContainSubstring("data.foo"))
	})

	It("reconciles only the objects a supported field selector selects", func() {
		startScripts(load("fieldsel"))
		changed := func() float64 { return runs("fieldsel", script.OpReconcile, resultChanged) }
		before := changed()
		ns := newNamespace()
		labels := map[string]string{"engine-test/fieldsel": "yes"}
		newConfigMap(ns, "fieldsel-other", labels)
		newConfigMap(ns, "fieldsel-picked", labels)
		Eventually(func() map[string]string { return getConfigMap(ns, "fieldsel-picked").Data }).Should(HaveKeyWithValue("seen", "yes"))
		Consistently(func() map[string]string { return getConfigMap(ns, "fieldsel-other").Data }, "2s").ShouldNot(HaveKey("seen"))
		Expect(changed()).To(Equal(before + 1))
	})

	It("never logs a Secret's data above debug verbosity and never puts it in events", func() {
		logs := captureLogs()
		startScripts(load("secret"))
		count := func(result string) float64 { return runs("secret", script.OpReconcile, result) }
		unchanged, failed, changed := count(resultUnchanged), count(resultError), count(resultChanged)

		ns := newNamespace()
		token := "tok3n-" + ns
		encoded := base64.StdEncoding.EncodeToString([]byte(token))
		for _, code := range []string{"0", "1", "2"} {
			Expect(k8s.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exit-" + code,
					Labels: map[string]string{"engine-test/secret": "yes", "engine-test/exit": code}},
				Data: map[string][]byte{"token": []byte(token)},
			})).To(Succeed())
		}
		Eventually(func() float64 { return count(resultUnchanged) }).Should(BeNumerically(">=", unchanged+1))
		Eventually(func() float64 { return count(resultError) }).Should(BeNumerically(">=", failed+1))
		Eventually(func() float64 { return count(resultChanged) }).Should(BeNumerically(">=", changed+1))
		Eventually(func() map[string]string {
			s := &corev1.Secret{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "exit-2"}, s)).To(Succeed())
			return s.Labels
		}).Should(HaveKeyWithValue("written", "yes"), "the printed Secret was written back")
		Eventually(func() []string { return eventNotes(ns, ReasonScriptFailed) }).ShouldNot(BeEmpty())

		// The output reached the log at debug (the suite logs at debug): the capture works, and the
		// scripts did print the secret.
		Eventually(logs.String).Should(ContainSubstring("token " + token))
		Expect(logs.String()).To(ContainSubstring(encoded))
		for _, line := range linesAbove(logs.String()) {
			Expect(line).NotTo(ContainSubstring(token))
			Expect(line).NotTo(ContainSubstring(encoded))
		}
		Expect(logs.String()).To(MatchRegexp(`\tINFO\t.*script run.*"object": "%s/exit-1"`, ns),
			"the run itself is logged at info")
		Expect(logs.String()).To(MatchRegexp(`\tDEBUG\t.*"stream": "stdout", "object": "%s/exit-0"`, ns),
			"stdout of exit 0 is logged too, at debug")
		Expect(logs.String()).NotTo(MatchRegexp(`"stream": "stdout", "object": "%s/exit-2"`, ns),
			"a written-back object is never logged, at any level")

		list := &eventsv1.EventList{}
		Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		for _, e := range list.Items {
			Expect(e.Note).NotTo(ContainSubstring(token))
			Expect(e.Note).NotTo(ContainSubstring(encoded))
		}
	})

	It("logs what a script prints at info for kinds other than Secret, on exit 0 too", func() {
		logs := captureLogs()
		startScripts(load("printer"))
		ns := newNamespace()
		newConfigMap(ns, "printed", map[string]string{"engine-test/printer": "yes"})
		Eventually(logs.String).Should(MatchRegexp(
			`\tINFO\t.*\tprinter saw printed as ConfigMap\t.*"stream": "stdout", "object": "%s/printed"`, ns))
	})

	It("never overwrites a change made while the script ran, and runs the script again on it", func() {
		startScripts(load("conflict"))
		changed := func() float64 { return runs("conflict", script.OpReconcile, resultChanged) }
		before := changed()
		ns := newNamespace()
		marker := filepath.Join(GinkgoT().TempDir(), "started")
		Expect(k8s.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "contested",
				Labels:      map[string]string{"engine-test/conflict": "yes"},
				Annotations: map[string]string{"engine-test/marker": marker}},
			Data: map[string]string{"k": "v"},
		})).To(Succeed())

		// The script has read the object and sleeps a second before printing it: change it meanwhile.
		Eventually(marker).Should(BeAnExistingFile())
		cm := getConfigMap(ns, "contested")
		Expect(cm.Data).NotTo(HaveKey("script"), "the script's write must come after the test's")
		cm.Data["test"] = "mine"
		Expect(k8s.Update(ctx, cm)).To(Succeed())

		Eventually(func() map[string]string { return getConfigMap(ns, "contested").Data }).Should(
			HaveKeyWithValue("script", "done"))
		Expect(getConfigMap(ns, "contested").Data).To(Equal(map[string]string{"k": "v", "test": "mine", "script": "done"}))
		Eventually(changed).Should(BeNumerically(">=", before+2),
			"the first write-back conflicted; the script ran again on the test's version")
		Consistently(func() map[string]string { return getConfigMap(ns, "contested").Data }, "2s").Should(
			Equal(map[string]string{"k": "v", "test": "mine", "script": "done"}))
		Expect(eventNotes(ns, ReasonScriptFailed)).To(BeEmpty(), "a conflict is not an error")
	})

	It("does not run for an update that changes only resourceVersion and managedFields", func() {
		startScripts(load("applied"))
		unchanged := func() float64 { return runs("applied", script.OpReconcile, resultUnchanged) }
		before := unchanged()
		ns := newNamespace()
		labels := map[string]string{"engine-test/applied": "yes"}
		newConfigMap(ns, "applied", labels)
		Eventually(unchanged).Should(Equal(before + 1))
		rv := getConfigMap(ns, "applied").ResourceVersion

		// Another field manager applies identical content: the API server records the new manager in
		// managedFields, a write with a new resourceVersion, and nothing else changes.
		Expect(k8s.Apply(ctx, corev1ac.ConfigMap("applied", ns).WithLabels(labels).WithData(map[string]string{"k": "v"}),
			client.FieldOwner("engine-test-other"))).To(Succeed())
		cm := getConfigMap(ns, "applied")
		Expect(cm.ResourceVersion).NotTo(Equal(rv), "the apply was a write the watch delivers")
		managers := make([]string, 0, len(cm.ManagedFields))
		for _, m := range cm.ManagedFields {
			managers = append(managers, m.Manager)
		}
		Expect(managers).To(ContainElement("engine-test-other"))
		Consistently(unchanged, "2s").Should(Equal(before + 1))

		// A real change still runs the script: the watch was live all along.
		cm.Data["k"] = "changed"
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(unchanged).Should(Equal(before + 2))
	})

	It("lets a run in flight finish before a removed script is reported gone", func() {
		logs := captureLogs()
		startScripts(load("inflight"))
		ns := newNamespace()
		dir := GinkgoT().TempDir()
		started, done := filepath.Join(dir, "started"), filepath.Join(dir, "done")
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inflight",
			Labels:      map[string]string{"engine-test/inflight": "yes"},
			Annotations: map[string]string{"engine-test/started": started, "engine-test/done": done}}})).To(Succeed())

		Eventually(started).Should(BeAnExistingFile())
		Expect(done).NotTo(BeAnExistingFile(), "the run is still sleeping")
		eng.SetScripts(nil, nil)
		Eventually(func() bool { _, ok := scriptStatus("inflight"); return ok }).Should(BeFalse())
		Expect(done).To(BeAnExistingFile(), "the script is reported gone only after its run finished")
		// Its series are deleted with it, so the run's own log line tells how it ended.
		Expect(logs.String()).To(MatchRegexp(`script run.*"object": "%s/inflight".*"exitCode": 0, "result": "unchanged"`, ns))
	})

	It("never releases another instance's objects when a script is removed", func() {
		startScripts(load("shared"))
		ns := newNamespace()
		labels := map[string]string{"engine-test/shared": "yes"}
		newConfigMap(ns, "ours", labels)
		DeferCleanup(removeFinalizersOf, ns, "ours")
		theirsOwners := `{"engine-test.kemper.buzz/shared":"someone-else"}`
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "theirs",
			Labels: labels, Finalizers: []string{sharedFinalizer},
			Annotations: map[string]string{OwnersAnnotation: theirsOwners}}})).To(Succeed())
		DeferCleanup(removeFinalizersOf, ns, "theirs")

		Eventually(func() []string { return getConfigMap(ns, "ours").Finalizers }).Should(ConsistOf(sharedFinalizer))
		Expect(getConfigMap(ns, "theirs").Annotations).To(HaveKeyWithValue(OwnersAnnotation, theirsOwners),
			"the engine does not take over another instance's finalizer")

		eng.SetScripts(nil, nil)
		Eventually(func() []string { return getConfigMap(ns, "ours").Finalizers }).Should(BeEmpty())
		Consistently(func() []string { return getConfigMap(ns, "theirs").Finalizers }, "2s").Should(ConsistOf(sharedFinalizer))
		Expect(getConfigMap(ns, "theirs").Annotations).To(HaveKeyWithValue(OwnersAnnotation, theirsOwners))
		Expect(eventsAbout(ns, "theirs", ReasonFinalizerReleased)).To(BeEmpty())
		Expect(eventsAbout(ns, "ours", ReasonFinalizerReleased)).NotTo(BeEmpty())
	})

	It("says it has released everything only once a removed script's finalizers are gone, trying a failed release again", func() {
		logs := captureLogs()
		startScripts(load("fin"))
		ns := newNamespace()
		lockConfigMaps(ns)
		newConfigMap(ns, "held", map[string]string{"engine-test/fin": "yes"})
		DeferCleanup(removeFinalizersOf, ns, "held")
		Eventually(func() []string { return getConfigMap(ns, "held").Finalizers }).Should(ContainElement(finalizer))
		Expect(eng.Released()).To(BeFalse(), "a script is given")

		cm := getConfigMap(ns, "held")
		cm.Labels[lockedLabel] = "yes"
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		eng.SetScripts(nil, nil)
		Eventually(logs.String).Should(ContainSubstring("releasing the finalizers of a removed or changed script; tried again at the next pass"))
		Expect(getConfigMap(ns, "held").Finalizers).To(ContainElement(finalizer))
		Expect(eng.Released()).To(BeFalse(), "the release failed: it is not done")

		cm = getConfigMap(ns, "held")
		delete(cm.Labels, lockedLabel)
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(eng.Released).Should(BeTrue())
		Expect(getConfigMap(ns, "held").Finalizers).NotTo(ContainElement(finalizer), "released before the engine says so")
	})

	It("never runs more nu processes at once than the runner allows", func() {
		startScripts(load("many"))
		unchanged := func() float64 { return runs("many", script.OpReconcile, resultUnchanged) }
		before := unchanged()
		ns := newNamespace()

		// Sample the live processes too: Peak is a high-water mark over the whole suite, which every other
		// spec's runs are bounded by as well.
		mostLive := sampleLive()

		const objects = 60
		for i := range objects {
			newConfigMap(ns, fmt.Sprintf("many-%02d", i), map[string]string{"engine-test/many": "yes"})
		}
		Eventually(unchanged).WithTimeout(time.Minute).Should(BeNumerically(">=", before+objects))
		Expect(mostLive()).To(BeNumerically("<=", runner.MaxProcesses))
		Expect(runner.Supervisor.Peak()).To(BeNumerically("<=", runner.MaxProcesses))
		Expect(runner.MaxProcesses).To(Equal(4), "the cap the suite configures, below the script's concurrency of 10")
	})
})

// TestChangedBeyondVersion pins the watch predicate: updates that change only resourceVersion or
// managedFields are dropped, every other change passes, and neither object is modified.
func TestChangedBeyondVersion(t *testing.T) {
	base := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "ConfigMap",
			"metadata": map[string]any{
				"name":            "cm",
				"namespace":       "ns",
				"resourceVersion": "1",
				"labels":          map[string]any{"a": "b"},
				"managedFields": []any{map[string]any{
					"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
				}},
			},
			"data": map[string]any{"k": "v"},
		}}
	}
	set := func(value any, path ...string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(path ...string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) { unstructured.RemoveNestedField(u.Object, path...) }
	}
	otherManager := []any{
		map[string]any{"manager": "kubectl", "operation": "Update", "apiVersion": "v1"},
		map[string]any{"manager": "other", "operation": "Apply", "apiVersion": "v1"},
	}

	for _, tc := range []struct {
		name   string
		change []func(*unstructured.Unstructured)
		want   bool
	}{
		{name: "nothing", want: false},
		{name: "resourceVersion only", change: []func(*unstructured.Unstructured){set("2", "metadata", "resourceVersion")}, want: false},
		{name: "managedFields only", change: []func(*unstructured.Unstructured){set(otherManager, "metadata", "managedFields")}, want: false},
		{name: "managedFields removed (the cache strips them)", change: []func(*unstructured.Unstructured){remove("metadata", "managedFields")}, want: false},
		{name: "resourceVersion and managedFields", change: []func(*unstructured.Unstructured){
			set("2", "metadata", "resourceVersion"), set(otherManager, "metadata", "managedFields")}, want: false},
		{name: "data", change: []func(*unstructured.Unstructured){
			set("2", "metadata", "resourceVersion"), set("w", "data", "k")}, want: true},
		{name: "a label", change: []func(*unstructured.Unstructured){
			set("2", "metadata", "resourceVersion"), set("c", "metadata", "labels", "a")}, want: true},
		{name: "an annotation", change: []func(*unstructured.Unstructured){
			set("x", "metadata", "annotations", "y")}, want: true},
		{name: "finalizers", change: []func(*unstructured.Unstructured){
			set([]any{"example.com/f"}, "metadata", "finalizers")}, want: true},
		{name: "deletionTimestamp", change: []func(*unstructured.Unstructured){
			set("2026-01-01T00:00:00Z", "metadata", "deletionTimestamp")}, want: true},
		{name: "generation", change: []func(*unstructured.Unstructured){set(int64(2), "metadata", "generation")}, want: true},
		{name: "status", change: []func(*unstructured.Unstructured){set("ok", "status", "message")}, want: true},
		{name: "the labels removed", change: []func(*unstructured.Unstructured){remove("metadata", "labels")}, want: true},
		{name: "data removed", change: []func(*unstructured.Unstructured){remove("data")}, want: true},
		{name: "data set to null", change: []func(*unstructured.Unstructured){set(nil, "data")}, want: true},
		{name: "metadata removed", change: []func(*unstructured.Unstructured){remove("metadata")}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldObj, newObj := base(), base()
			for _, c := range tc.change {
				c(newObj)
			}
			oldCopy, newCopy := oldObj.DeepCopy(), newObj.DeepCopy()
			if got := changedBeyondVersion(event.UpdateEvent{ObjectOld: oldObj, ObjectNew: newObj}); got != tc.want {
				t.Errorf("changedBeyondVersion = %v, want %v", got, tc.want)
			}
			if diff := cmp.Diff(oldCopy.Object, oldObj.Object); diff != "" {
				t.Errorf("the old object was modified (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(newCopy.Object, newObj.Object); diff != "" {
				t.Errorf("the new object was modified (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("objects that are not unstructured always pass", func(t *testing.T) {
		a := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", ResourceVersion: "1"}}
		b := a.DeepCopy()
		b.ResourceVersion = "2"
		if !changedBeyondVersion(event.UpdateEvent{ObjectOld: a, ObjectNew: b}) {
			t.Error("changedBeyondVersion dropped an update of an object that is not unstructured")
		}
	})
}

// BenchmarkChangedBeyondVersion measures the watch predicate on the update event of the engine's own
// write-back: a ConfigMap whose resourceVersion and one label changed.
func BenchmarkChangedBeyondVersion(b *testing.B) {
	object := func(version, label string) *unstructured.Unstructured {
		data := map[string]any{}
		for i := range 8 {
			data[fmt.Sprintf("key-%d", i)] = strings.Repeat("v", 100)
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "ConfigMap",
			"metadata": map[string]any{
				"name": "cm", "namespace": "ns", "uid": "0b6d3c3e-8f2a-4a57-9a39-3f0c0f6f7d1e",
				"resourceVersion": version, "creationTimestamp": "2026-11-24T00:00:00Z",
				"labels": map[string]any{"bench": "yes", "benched": label},
			},
			"data": data,
		}}
	}
	e := event.UpdateEvent{ObjectOld: object("1", "no"), ObjectNew: object("2", "yes")}
	for b.Loop() {
		if !changedBeyondVersion(e) {
			b.Fatal("a changed label was dropped")
		}
	}
}

// sampleLive samples the live nu processes until the function it returns is called, which returns the
// most it saw.
func sampleLive() func() int {
	sampleCtx, stop := context.WithCancel(ctx)
	sampled := make(chan int)
	go func() {
		defer GinkgoRecover()
		most := 0
		for sampleCtx.Err() == nil {
			most = max(most, runner.Supervisor.Live())
			time.Sleep(5 * time.Millisecond)
		}
		sampled <- most
	}()
	return func() int {
		stop()
		return <-sampled
	}
}

// lockedLabel marks a ConfigMap lockConfigMaps refuses to update.
const lockedLabel = "engine-test/locked"

// lockConfigMaps makes the API server refuse every update of a ConfigMap in ns that keeps the locked label
// (an update that removes it passes), as a stand-in for any failure of a write the engine makes.
func lockConfigMaps(ns string) {
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "lock-" + ns},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
						Resources: []string{"configmaps"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("!(has(oldObject.metadata.labels) && '%[1]s' in oldObject.metadata.labels && "+
					"has(object.metadata.labels) && '%[1]s' in object.metadata.labels)", lockedLabel),
				Message: "locked by the test",
			}},
		},
	}
	Expect(k8s.Create(ctx, policy)).To(Succeed())
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func() {
		Expect(k8s.Delete(ctx, binding)).To(Succeed())
		Expect(k8s.Delete(ctx, policy)).To(Succeed())
	})
	// Policies take effect asynchronously: wait until a locked probe is refused.
	probe := newConfigMap(ns, "lock-probe", map[string]string{lockedLabel: "yes"})
	Eventually(func() error {
		probe.Data["k"] += "v"
		return k8s.Update(ctx, probe)
	}).Should(MatchError(ContainSubstring("locked by the test")))
}
