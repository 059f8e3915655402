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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/utils"
)

// Labels and annotations the batch fixture script reads (testdata/scripts/batch/mod.nu).
const (
	batchLabel   = "engine-test/batch"
	answerLabel  = "engine-test/answer"
	runLabel     = "engine-test/run"
	batchedLabel = "batched"
	recordAnn    = "engine-test/record"
)

// batchSettings are what a test sets of the batch script's config.
type batchSettings struct {
	batch, concurrency int
	window, timeout    time.Duration
	finalizer          string
}

// startBatchScript runs the batch fixture on ns alone, so that objects of other tests (failing ones
// retried with backoff) never join its batches; a new namespace restarts it.
func startBatchScript(ns string, set batchSettings) {
	s := load("batch")
	s.Config.Namespace = ns
	s.Config.Batch = set.batch
	s.Config.Concurrency = max(1, set.concurrency)
	s.Config.BatchWindow = set.window
	if set.timeout > 0 {
		s.Config.Timeout = set.timeout
	}
	s.Config.Finalizer = set.finalizer
	startScripts(s)
}

// batchObject creates a ConfigMap the batch script selects, with extra labels and annotations.
func batchObject(ns, name string, labels, annotations map[string]string) {
	all := map[string]string{batchLabel: "yes"}
	for k, v := range labels {
		all[k] = v
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: all, Annotations: annotations},
		Data: map[string]string{"k": "v"}}
	Expect(k8s.Create(ctx, cm)).To(Succeed())
}

func batched(ns, name string) bool {
	return getConfigMap(ns, name).Labels[batchedLabel] == "yes"
}

// countBatched counts the ConfigMaps of ns the script has written back.
func countBatched(ns string) int {
	list := &corev1.ConfigMapList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{batchedLabel: "yes"})).To(Succeed())
	return len(list.Items)
}

// sizes is a snapshot of nuop_script_batch_size for the batch script.
type sizes struct {
	runs    uint64
	objects float64
	buckets map[float64]uint64 // upper bound -> cumulative count
}

func batchSizes() sizes {
	var m dto.Metric
	Expect(eng.metrics.batchSize.WithLabelValues("batch").(prometheus.Metric).Write(&m)).To(Succeed())
	h := m.GetHistogram()
	s := sizes{runs: h.GetSampleCount(), objects: h.GetSampleSum(), buckets: map[float64]uint64{}}
	for _, b := range h.GetBucket() {
		s.buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	return s
}

// runRecord is what the fixture writes for each of its runs.
type runRecord struct {
	Start int64    `json:"start"`
	End   int64    `json:"end"`
	Names []string `json:"names"`
}

// records reads the runs the fixture recorded in dir. A record being written (nu's save is not atomic)
// reads as a run that has not ended.
func records(dir string) []runRecord {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	Expect(err).NotTo(HaveOccurred())
	out := make([]runRecord, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		var r runRecord
		if json.Unmarshal(data, &r) != nil {
			r = runRecord{}
		}
		out = append(out, r)
	}
	return out
}

// finished reads the records once there are more than before, every run has ended, and no new one has
// come for quiet.
func finished(dir string, before int, quiet time.Duration) []runRecord {
	done := func() int {
		rs := records(dir)
		for _, r := range rs {
			if r.End == 0 {
				return -1
			}
		}
		return len(rs)
	}
	last, since := -1, time.Now()
	Eventually(func() bool {
		if n := done(); n != last {
			last, since = n, time.Now()
		}
		return last > before && time.Since(since) >= quiet
	}).Should(BeTrue(), "runs recorded in %s: more than %d, all ended, none new for %s", dir, before, quiet)
	return records(dir)
}

// first is the record of the run that started first.
func first(rs []runRecord) runRecord {
	Expect(rs).NotTo(BeEmpty())
	return slices.MinFunc(rs, func(a, b runRecord) int { return int(a.Start - b.Start) })
}

// mostAtOnce is the most runs that were running at one moment.
func mostAtOnce(rs []runRecord) int {
	type edge struct {
		at    int64
		delta int
	}
	edges := make([]edge, 0, 2*len(rs))
	for _, r := range rs {
		edges = append(edges, edge{r.Start, 1}, edge{r.End, -1})
	}
	// At the same instant an end comes before a start: touching runs did not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	return most
}

// overlapsOfOneObject lists the objects that were in two runs at once.
func overlapsOfOneObject(rs []runRecord) []string {
	byName := map[string][]runRecord{}
	for _, r := range rs {
		for _, n := range r.Names {
			byName[n] = append(byName[n], r)
		}
	}
	var out []string
	for name, runs := range byName {
		slices.SortFunc(runs, func(a, b runRecord) int { return int(a.Start - b.Start) })
		for i := 1; i < len(runs); i++ {
			if runs[i].Start < runs[i-1].End {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// activeWorkers is how many reconciles of the batch script's controller are under way
// (controller-runtime's controller_runtime_active_workers): with batches, the objects waiting for a run
// or in one.
func activeWorkers() float64 {
	metrics, err := utils.GatherMetrics(crmetrics.Registry)
	Expect(err).NotTo(HaveOccurred())
	v, err := metrics.Value("controller_runtime_active_workers", map[string]string{"controller": "script-batch"})
	Expect(err).NotTo(HaveOccurred(), "controller-runtime reports no active workers for the controller script-batch")
	return v
}

// notesAbout returns the notes of the events about the object name with reason.
func notesAbout(ns, name, reason string) []string {
	events := eventsAbout(ns, name, reason)
	notes := make([]string, 0, len(events))
	for _, e := range events {
		notes = append(notes, e.Note)
	}
	return notes
}

var _ = Describe("batched runs", func() {
	var ns, recordDir string
	var record map[string]string

	BeforeEach(func() {
		ns = newNamespace()
		var err error
		recordDir, err = os.MkdirTemp("", "batch-records-")
		Expect(err).NotTo(HaveOccurred())
		record = map[string]string{recordAnn: recordDir}
		// Runs last: the spec's own clean-ups update its objects, and a batch run they cause may still be
		// writing its record. No script runs once the engine has let go of everything.
		DeferCleanup(func() {
			eng.SetScripts(nil, nil)
			Eventually(eng.Released).Should(BeTrue())
			Expect(os.RemoveAll(recordDir)).To(Succeed())
		})
	})

	It("runs a start-up with 500 existing objects in batches no larger than batch, each object once, "+
		"and concurrency batches at once", func() {
		const n, size = 500, 50
		for i := range n {
			batchObject(ns, fmt.Sprintf("cm-%03d", i), map[string]string{runLabel: "sleep"}, record)
		}
		before := batchSizes()
		changed := runs("batch", script.OpReconcile, resultChanged)
		startBatchScript(ns, batchSettings{batch: size, concurrency: 2, window: 100 * time.Millisecond})

		Eventually(func() int { return countBatched(ns) }).WithTimeout(3 * time.Minute).Should(Equal(n))
		rs := finished(recordDir, 0, time.Second)
		after := batchSizes()
		Expect(after.objects-before.objects).To(Equal(float64(n)), "every object in exactly one batch")
		Expect(after.buckets[size]-before.buckets[size]).To(Equal(after.runs-before.runs), "no batch above %d", size)
		Expect(runs("batch", script.OpReconcile, resultChanged)).To(Equal(changed+n),
			"one result per object: the engine's own write-backs ran nothing again")

		Expect(rs).To(HaveLen(int(after.runs - before.runs)))
		var names []string
		largest := 0
		for _, r := range rs {
			Expect(len(r.Names)).To(BeNumerically("<=", size))
			largest = max(largest, len(r.Names))
			names = append(names, r.Names...)
		}
		Expect(names).To(HaveLen(n))
		slices.Sort(names)
		Expect(slices.Compact(names)).To(HaveLen(n), "no object in two batches")
		Expect(largest).To(Equal(size), "the controller has workers enough to fill a batch")
		Expect(mostAtOnce(rs)).To(Equal(2), "concurrency batch runs at once, never more")
	})

	It("gathers a burst of updates within the window into one run", func() {
		const n = 10
		for i := range n {
			batchObject(ns, fmt.Sprintf("burst-%d", i), map[string]string{answerLabel: "unchanged"}, record)
		}
		const window = 3 * time.Second
		startBatchScript(ns, batchSettings{batch: 20, concurrency: 2, window: window})
		startUp := finished(recordDir, 0, time.Second)
		before := batchSizes()

		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				defer GinkgoRecover()
				cm := getConfigMap(ns, fmt.Sprintf("burst-%d", i))
				cm.Data["k"] = "updated"
				Expect(k8s.Update(ctx, cm)).To(Succeed())
			})
		}
		wg.Wait()
		// Quiet for longer than the window: a burst split in two would show its second run.
		rs := finished(recordDir, len(startUp), window+time.Second)
		Expect(rs).To(HaveLen(len(startUp)+1), "one run for the whole burst")
		Expect(batchSizes().runs - before.runs).To(Equal(uint64(1)))
		newest := slices.MaxFunc(rs, func(a, b runRecord) int { return int(a.Start - b.Start) })
		Expect(newest.Names).To(HaveLen(n))
	})

	It("runs a single change when the window ends, in a batch of one", func() {
		startBatchScript(ns, batchSettings{batch: 20, concurrency: 2, window: 100 * time.Millisecond})
		before := batchSizes()
		batchObject(ns, "single", nil, record)
		Eventually(func() bool { return batched(ns, "single") }).Should(BeTrue())
		Expect(finished(recordDir, 0, time.Second)).To(ConsistOf(HaveField("Names", Equal([]string{"single"}))))
		Expect(batchSizes().buckets[1] - before.buckets[1]).To(Equal(uint64(1)))
	})

	It("starts a full batch at once, without waiting out its window", func() {
		// An hour's window: were a full batch to wait for it, nothing would be written in the test's time.
		startBatchScript(ns, batchSettings{batch: 3, concurrency: 1, window: time.Hour})
		for _, name := range []string{"a", "b", "c"} {
			batchObject(ns, name, nil, record)
		}
		Eventually(func() int { return countBatched(ns) }).Should(Equal(3))
		Expect(finished(recordDir, 0, time.Second)).To(ConsistOf(HaveField("Names", ConsistOf("a", "b", "c"))))
	})

	// gatedRun starts the batch script with `concurrency: 1` and an object whose run holds that slot until
	// release is written; it returns release and the reconciles under way then (the gate's).
	gatedRun := func(batch int, window time.Duration) (string, float64) {
		dir := GinkgoT().TempDir()
		started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
		startBatchScript(ns, batchSettings{batch: batch, concurrency: 1, window: window, timeout: 30 * time.Second})
		batchObject(ns, "gate", map[string]string{runLabel: "gate"},
			map[string]string{recordAnn: recordDir, "engine-test/started": started, "engine-test/release": release})
		Eventually(started).Should(BeAnExistingFile())
		return release, activeWorkers()
	}

	// arriveOneByOne creates n objects while the gate's run holds the slot: each once the one before waits
	// in its reconcile and its window has long ended. Were a batch sealed when its window ends, each would
	// be a batch of its own, queued behind the slot.
	arriveOneByOne := func(n int, window time.Duration, gated float64) []string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("late-%d", i)
			batchObject(ns, names[i], nil, record)
			Eventually(activeWorkers).Should(Equal(gated+float64(i+1)), "%s waits for its run", names[i])
			time.Sleep(2 * window)
		}
		return names
	}

	It("gathers the objects that come while every run slot is busy into the next batch, not one per window", func() {
		const window = 200 * time.Millisecond
		before := batchSizes()
		release, gated := gatedRun(3, window)
		late := arriveOneByOne(5, window, gated)
		Expect(os.WriteFile(release, nil, 0o600)).To(Succeed())

		Eventually(func() int { return countBatched(ns) }).Should(Equal(6))
		rs := finished(recordDir, 2, time.Second)
		after := batchSizes()
		Expect(after.runs-before.runs).To(Equal(uint64(3)),
			"the gate's run, then the objects that came meanwhile in batches of at most 3")
		Expect(after.objects - before.objects).To(Equal(float64(6)))
		Expect(rs).To(ConsistOf(
			HaveField("Names", Equal([]string{"gate"})),
			HaveField("Names", ConsistOf(late[:3])),
			HaveField("Names", ConsistOf(late[3:])),
		), "the first three to come in the first batch")
	})

	It("lets the objects waiting for a run slot go when the script is removed, and runs none of them", func() {
		const window = 100 * time.Millisecond
		release, gated := gatedRun(20, window)
		late := arriveOneByOne(3, window, gated)
		eng.SetScripts(nil, nil)
		Eventually(activeWorkers).Should(Equal(gated), "the waiting reconciles have returned; the gate's waits for its run")
		_, listed := scriptStatus("batch")
		Expect(listed).To(BeTrue(), "the script is reported until its run in flight has ended")

		Expect(os.WriteFile(release, nil, 0o600)).To(Succeed())
		Eventually(func() bool { _, ok := scriptStatus("batch"); return ok }).Should(BeFalse())
		Expect(batched(ns, "gate")).To(BeTrue(), "the run in flight was answered and written back")
		Expect(finished(recordDir, 0, time.Second)).To(ConsistOf(HaveField("Names", Equal([]string{"gate"}))),
			"no run but the gate's")
		for _, name := range late {
			Expect(batched(ns, name)).To(BeFalse(), name)
		}
	})

	It("acts on each object's entry: writes back changed, leaves unchanged, fails error with an event and backoff", func() {
		logs := captureLogs()
		batchObject(ns, "to-change", nil, record)
		batchObject(ns, "as-is", map[string]string{answerLabel: "unchanged"}, record)
		batchObject(ns, "refused", map[string]string{answerLabel: "error"}, record)
		count := func(result string) float64 { return runs("batch", script.OpReconcile, result) }
		changed, unchanged, failed := count(resultChanged), count(resultUnchanged), count(resultError)
		startBatchScript(ns, batchSettings{batch: 3, concurrency: 1, window: 200 * time.Millisecond})

		Eventually(func() bool { return batched(ns, "to-change") }).Should(BeTrue())
		Expect(getConfigMap(ns, "to-change").Data).To(Equal(map[string]string{"k": "v"}), "the rest as it was")
		Eventually(func() float64 { return count(resultError) }).Should(BeNumerically(">=", failed+2),
			"the refused object is retried with backoff")
		Expect(count(resultChanged)).To(Equal(changed + 1))
		Expect(count(resultUnchanged)).To(Equal(unchanged + 1))
		Expect(batched(ns, "as-is")).To(BeFalse())
		Expect(batched(ns, "refused")).To(BeFalse())
		Expect(first(records(recordDir)).Names).To(ConsistOf("to-change", "as-is", "refused"), "one batch to start with")

		Eventually(func() []string { return notesAbout(ns, "refused", ReasonScriptFailed) }).Should(ContainElement(
			"reconcile-batch of script batch (a batch of 3 objects) failed: the answer marks it as an error (its message is in the log)"))
		Expect(notesAbout(ns, "to-change", ReasonScriptFailed)).To(BeEmpty())
		Expect(notesAbout(ns, "as-is", ReasonScriptFailed)).To(BeEmpty())
		Expect(logs.String()).To(MatchRegexp(`\tINFO\t.*\ttold to fail\t.*"stream": "message", "object": "%s/refused"`, ns),
			"the message is logged with its object")
		Expect(logs.String()).To(MatchRegexp(`script run.*"operation": "reconcile-batch", "objects": 3, "exitCode": 0, "result": "answered"`))
	})

	DescribeTable("fails an object the answer does not answer properly, and only that one",
		func(answer, problem string) {
			batchObject(ns, "fine", nil, record)
			batchObject(ns, "odd", map[string]string{answerLabel: answer}, record)
			// Not selected by the script: an entry naming it must not touch it.
			Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "odd-unknown"}})).To(Succeed())
			failed := runs("batch", script.OpReconcile, resultError)
			startBatchScript(ns, batchSettings{batch: 2, concurrency: 1, window: 200 * time.Millisecond})

			Eventually(func() bool { return batched(ns, "fine") }).Should(BeTrue())
			Eventually(func() float64 { return runs("batch", script.OpReconcile, resultError) }).Should(
				BeNumerically(">=", failed+2), "retried with backoff")
			Expect(first(records(recordDir)).Names).To(ConsistOf("fine", "odd"))
			Expect(notesAbout(ns, "odd", ReasonScriptFailed)).To(ContainElement(
				"reconcile-batch of script batch (a batch of 2 objects) failed: " + problem))
			Expect(notesAbout(ns, "fine", ReasonScriptFailed)).To(BeEmpty())
			Expect(batched(ns, "odd")).To(BeFalse())
			Expect(getConfigMap(ns, "odd-unknown").Labels).To(BeEmpty())
		},
		Entry("no entry", "missing", "the answer has no entry for it"),
		Entry("two entries", "twice", "the answer has more than one entry for it"),
		Entry("an unknown result", "bogus", "its entry's result is not unchanged, changed or error"),
		Entry("an entry for an object not in the batch instead of its own", "unknown", "the answer has no entry for it"),
	)

	It("writes nothing back for an entry whose object is another object, as for a reconcile's stdout", func() {
		logs := captureLogs()
		batchObject(ns, "fine", nil, record)
		batchObject(ns, "odd", map[string]string{answerLabel: "elsewhere"}, record)
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "odd-unknown"}})).To(Succeed())
		changed := runs("batch", script.OpReconcile, resultChanged)
		startBatchScript(ns, batchSettings{batch: 2, concurrency: 1, window: 200 * time.Millisecond})

		Eventually(func() bool { return batched(ns, "fine") }).Should(BeTrue())
		Eventually(func() float64 { return runs("batch", script.OpReconcile, resultChanged) }).Should(Equal(changed + 2))
		Eventually(logs.String).Should(MatchRegexp(
			`names another object; nothing is written back\t.*"object": "%s/odd"`, ns))
		Expect(batched(ns, "odd")).To(BeFalse())
		Expect(getConfigMap(ns, "odd-unknown").Labels).To(BeEmpty())
		Expect(eventNotes(ns, ReasonScriptFailed)).To(BeEmpty())
	})

	DescribeTable("fails every object of a run that gives no answer, with backoff",
		func(run, reason, note string) {
			logs := captureLogs()
			batchObject(ns, "trigger", map[string]string{runLabel: run}, record)
			batchObject(ns, "bystander", nil, record)
			count := func() float64 {
				return runs("batch", script.OpReconcile, resultError) + runs("batch", script.OpReconcile, resultTimeout)
			}
			failed := count()
			startBatchScript(ns, batchSettings{batch: 2, concurrency: 1, window: 200 * time.Millisecond, timeout: 2 * time.Second})

			Eventually(count).WithTimeout(time.Minute).Should(BeNumerically(">=", failed+4),
				"both objects failed, and were retried with backoff")
			Expect(first(records(recordDir)).Names).To(ConsistOf("trigger", "bystander"))
			for _, name := range []string{"trigger", "bystander"} {
				Expect(notesAbout(ns, name, reason)).To(ContainElement(
					"reconcile-batch of script batch (a batch of 2 objects) "+note), "object %s", name)
				Expect(batched(ns, name)).To(BeFalse())
			}
			if run == "exit" {
				Expect(logs.String()).To(MatchRegexp(`\tINFO\t.*\tfailing on purpose\t.*"stream": "stderr", "objects": 2`))
			}
		},
		Entry("a non-zero exit", "exit", ReasonScriptFailed, "failed: exit code 3"),
		Entry("unparsable output", "garbage", ReasonScriptFailed,
			"failed: the answer is not a YAML list of {namespace, name, result} entries (the log says why)"),
		Entry("an answer beyond the output cap", "huge", ReasonScriptFailed,
			"failed: the answer is longer than the output cap of 1048576 bytes: lower `batch`"),
		Entry("a time-out", "hang", ReasonScriptTimeout, "was killed after its time-out"),
	)

	It("never overwrites a change made while a batch ran, and runs the object again in a later batch", func() {
		marker := filepath.Join(GinkgoT().TempDir(), "started")
		batchObject(ns, "contested", map[string]string{answerLabel: "conflict"},
			map[string]string{recordAnn: recordDir, "engine-test/marker": marker})
		batchObject(ns, "alongside", nil, record)
		startBatchScript(ns, batchSettings{batch: 2, concurrency: 1, window: 200 * time.Millisecond})

		// The run has read both objects and sleeps a second before answering: change one meanwhile.
		Eventually(marker).Should(BeAnExistingFile())
		cm := getConfigMap(ns, "contested")
		Expect(cm.Labels).NotTo(HaveKey(batchedLabel), "the script's write must come after the test's")
		cm.Data["test"] = "mine"
		Expect(k8s.Update(ctx, cm)).To(Succeed())

		Eventually(func() bool { return batched(ns, "contested") }).Should(BeTrue())
		Expect(getConfigMap(ns, "contested").Data).To(Equal(map[string]string{"k": "v", "test": "mine"}))
		Expect(batched(ns, "alongside")).To(BeTrue(), "the other object of the batch was written")
		rs := finished(recordDir, 1, time.Second)
		Expect(rs).To(ContainElement(HaveField("Names", ConsistOf("contested", "alongside"))))
		Expect(rs).To(ContainElement(HaveField("Names", Equal([]string{"contested"}))),
			"the conflicted object ran again, on the test's version")
		Expect(eventNotes(ns, ReasonScriptFailed)).To(BeEmpty(), "a conflict is not an error")
	})

	It("never has one object in two runs at once while its updates keep coming", func() {
		const n = 8
		for i := range n {
			batchObject(ns, fmt.Sprintf("busy-%d", i), map[string]string{answerLabel: "unchanged", runLabel: "sleep"}, record)
		}
		startBatchScript(ns, batchSettings{batch: 3, concurrency: 2, window: 50 * time.Millisecond})
		for round := range 5 {
			for i := range n {
				cm := getConfigMap(ns, fmt.Sprintf("busy-%d", i))
				cm.Data["round"] = fmt.Sprint(round)
				Expect(k8s.Update(ctx, cm)).To(Succeed())
			}
			time.Sleep(100 * time.Millisecond)
		}
		rs := finished(recordDir, n/3+1, time.Second)
		Expect(overlapsOfOneObject(rs)).To(BeEmpty())
		Expect(mostAtOnce(rs)).To(BeNumerically("<=", 2))
	})

	It("never runs more nu processes at once than the runner allows", func() {
		// Sample the live processes: Peak is a high-water mark over the whole suite.
		mostLive := sampleLive()
		const n = 60
		for i := range n {
			batchObject(ns, fmt.Sprintf("many-%02d", i), map[string]string{runLabel: "sleep"}, record)
		}
		startBatchScript(ns, batchSettings{batch: 5, concurrency: 10, window: 50 * time.Millisecond})
		Eventually(func() int { return countBatched(ns) }).WithTimeout(time.Minute).Should(Equal(n))
		Expect(mostLive()).To(BeNumerically("<=", runner.MaxProcesses))
		Expect(mostAtOnce(finished(recordDir, 0, time.Second))).To(BeNumerically("<=", runner.MaxProcesses))
		Expect(runner.MaxProcesses).To(Equal(4), "the cap the suite configures, below the script's concurrency of 10")
	})

	It("lets a batch run in flight finish, and writes its answer back, before a removed script is reported gone", func() {
		dir := GinkgoT().TempDir()
		started, done := filepath.Join(dir, "started"), filepath.Join(dir, "done")
		batchObject(ns, "in-flight", map[string]string{runLabel: "slow"},
			map[string]string{"engine-test/started": started, "engine-test/done": done})
		startBatchScript(ns, batchSettings{batch: 2, concurrency: 1, window: 50 * time.Millisecond})

		Eventually(started).Should(BeAnExistingFile())
		Expect(done).NotTo(BeAnExistingFile(), "the run is still sleeping")
		eng.SetScripts(nil, nil)
		Eventually(func() bool { _, ok := scriptStatus("batch"); return ok }).Should(BeFalse())
		Expect(done).To(BeAnExistingFile(), "the script is reported gone only after its run finished")
		Expect(batched(ns, "in-flight")).To(BeTrue(), "and its answer was written back")
	})

	It("keeps finalize one object per run", func() {
		const finalizer = "engine-test.kemper.buzz/batch"
		startBatchScript(ns, batchSettings{batch: 5, concurrency: 1, window: 50 * time.Millisecond, finalizer: finalizer})
		finalizes := runs("batch", script.OpFinalize, resultUnchanged)
		batchObject(ns, "kept", nil, record)
		batchObject(ns, "deleted", nil, record)
		Eventually(func() int { return countBatched(ns) }).Should(Equal(2))
		Expect(getConfigMap(ns, "deleted").Finalizers).To(ContainElement(finalizer))
		DeferCleanup(removeFinalizersOf, ns, "kept")

		Expect(k8s.Delete(ctx, getConfigMap(ns, "deleted"))).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "deleted"}, &corev1.ConfigMap{})
		}).Should(MatchError(ContainSubstring("not found")))
		Expect(runs("batch", script.OpFinalize, resultUnchanged)).To(Equal(finalizes + 1))
		Expect(notesAbout(ns, "deleted", ReasonFinalized)).NotTo(BeEmpty())
	})

	It("adds the finalizer to many objects and writes them all back, the writes of a batch bounded", func() {
		// More objects than the engine's write slots, each holding a finalizer it just added while its
		// batch gathers: the slot of that write must be free again before the write-back wants one.
		const n = 3 * maxWrites
		for i := range n {
			batchObject(ns, fmt.Sprintf("fin-%02d", i), nil, record)
			DeferCleanup(removeFinalizersOf, ns, fmt.Sprintf("fin-%02d", i))
		}
		startBatchScript(ns, batchSettings{batch: n, concurrency: 1, window: time.Second,
			finalizer: "engine-test.kemper.buzz/batch"})
		Eventually(func() int { return countBatched(ns) }).Should(Equal(n))
		Expect(eventNotes(ns, ReasonScriptFailed)).To(BeEmpty())
	})

	It("never logs a batch of Secrets above debug verbosity and never puts their data in events", func() {
		logs := captureLogs()
		startScripts(load("batchsecret"))
		count := func(result string) float64 { return runs("batchsecret", script.OpReconcile, result) }
		failed, changed := count(resultError), count(resultChanged)
		token := "tok3n-" + ns
		encoded := base64.StdEncoding.EncodeToString([]byte(token))
		for _, answer := range []string{"error", "changed"} {
			Expect(k8s.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: answer,
					Labels: map[string]string{"engine-test/batchsecret": "yes", answerLabel: answer}},
				Data: map[string][]byte{"token": []byte(token)},
			})).To(Succeed())
		}
		Eventually(func() float64 { return count(resultError) }).Should(BeNumerically(">=", failed+1))
		Eventually(func() float64 { return count(resultChanged) }).Should(BeNumerically(">=", changed+1))
		Eventually(func() map[string]string {
			s := &corev1.Secret{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "changed"}, s)).To(Succeed())
			return s.Labels
		}).Should(HaveKeyWithValue("written", "yes"))

		// Logged at debug (the suite logs at debug): the capture works, and the script did print them.
		Eventually(logs.String).Should(ContainSubstring(`"stream": "message"`))
		Expect(logs.String()).To(ContainSubstring("token " + token))
		Expect(logs.String()).To(ContainSubstring(encoded))
		for _, line := range linesAbove(logs.String()) {
			Expect(line).NotTo(ContainSubstring(token))
			Expect(line).NotTo(ContainSubstring(encoded))
		}
		list := &eventsv1.EventList{}
		Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).NotTo(BeEmpty())
		for _, e := range list.Items {
			Expect(e.Note).NotTo(ContainSubstring(token))
			Expect(e.Note).NotTo(ContainSubstring(encoded))
		}
	})
})
