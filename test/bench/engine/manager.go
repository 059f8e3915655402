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

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/bench/benchproc"
	"kemper.buzz/nuop/test/utils"
)

// The CPU accounts of a run.
const (
	partNu        = "nu (the manager's reaped children)"
	partManager   = "manager"
	partAPIServer = "kube-apiserver"
	partEtcd      = "etcd"
	partHarness   = "this harness"
)

// result is what one run of the manager measured.
type result struct {
	c    config
	mode mode
	// load is the load average over the last minute when the manager started.
	load string

	// Effective settings of the manager.
	qps   float64
	burst int
	cap   int

	// Times from the manager's process start.
	ready, firstWrite, lastWrite time.Duration
	written                      int

	// From the metrics, after the settle time: the objects' results, the nu runs, the objects per batch
	// run.
	runs         map[string]float64 // by result
	nuRuns       float64
	nuRunsAtLast float64
	processMax   float64
	runWallMean  time.Duration
	batchMean    float64

	// The manager's own memory (its nu children are not in it).
	peakRSS, endRSS int64
	// At the end: the anonymous and file-backed (the binary's pages) parts of RSS, the Go heap in use.
	endAnon, endFile, heapInuse int64

	// CPU used from the manager's process start to the last write, by part, and by the whole machine.
	cpu         map[string]time.Duration
	machineBusy time.Duration

	nuVersion string
}

// runManager starts the manager on the cluster, watches the objects being written, reads its metrics
// and memory, and stops it.
func (h *harness) runManager(ctx context.Context, md mode) (*result, error) {
	res := &result{c: h.c, mode: md, qps: h.c.qps, burst: h.c.burst, cap: h.c.maxProcs, runs: map[string]float64{},
		cpu: map[string]time.Duration{}, nuVersion: nuVersion(h.nu), load: loadAverage()}
	if res.qps == 0 {
		res.qps = options.DefaultKubeAPIQPS
	}
	if res.burst == 0 {
		res.burst = options.DefaultKubeAPIBurst
	}
	if res.cap == 0 {
		res.cap = script.DefaultMaxProcesses()
	}

	// The watch starts before the manager, so no write is missed.
	sel := metav1.ListOptions{LabelSelector: selectorLabel + "=" + labelYes + "," + writtenLabel + "=" + labelYes}
	list, err := h.client.CoreV1().ConfigMaps(benchNamespace).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	if len(list.Items) != 0 {
		return nil, fmt.Errorf("%d objects are written before the manager starts", len(list.Items))
	}
	// A watch the API server ends (it does, now and then, on a busy machine) resumes where it was.
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = sel.LabelSelector
			return h.client.CoreV1().ConfigMaps(benchNamespace).Watch(ctx, opts)
		},
	})
	if err != nil {
		return nil, err
	}
	defer w.Stop()

	envtestPids := childrenNamed(partEtcd, partAPIServer)
	before := map[string]cpuTimes{}
	for name, pid := range envtestPids {
		before[name], _ = procCPU(pid)
	}
	harnessBefore := selfCPU()
	machineBefore, err := readMachineCPU()
	if err != nil {
		return nil, err
	}
	m, err := h.startManager(ctx, md)
	if err != nil {
		return nil, err
	}
	defer m.Stop()

	if err := h.awaitWrites(ctx, res, m, w); err != nil {
		return nil, err
	}
	mgr, err := procCPU(m.Cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	res.cpu[partNu], res.cpu[partManager] = mgr.children, mgr.self
	for name, pid := range envtestPids {
		if now, err := procCPU(pid); err == nil {
			res.cpu[name] = now.sub(before[name]).self
		}
	}
	res.cpu[partHarness] = selfCPU() - harnessBefore
	if machineAfter, err := readMachineCPU(); err == nil {
		res.machineBusy = machineAfter.busy - machineBefore.busy
	}
	// The runs up to the last write: the nu CPU measured above over them is the report's CPU per run.
	metrics, err := m.Metrics()
	if err != nil {
		return nil, err
	}
	runs, err := utils.OrZero(metrics.Histogram(metricRunDuration, scriptOp(md.op)))
	if err != nil {
		return nil, err
	}
	res.nuRunsAtLast = runs.Count

	benchproc.Step(fmt.Sprintf("%s: all %d objects written; watching %s more for runs that should not happen",
		md.name, h.c.n, h.c.settle))
	select {
	case <-time.After(h.c.settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return res, h.readFinal(res, m)
}

// awaitWrites follows the watch until every labelled object carries the written label, and notes when
// the manager became ready.
func (h *harness) awaitWrites(ctx context.Context, res *result, m *benchproc.Manager, w watch.Interface) error {
	seen := map[string]bool{}
	deadline := time.After(h.c.timeout)
	ready := readiness(ctx, m)
	for len(seen) < h.c.n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return errors.New("the watch of the written objects ended")
			}
			cm, isCM := ev.Object.(*corev1.ConfigMap)
			if !isCM || (ev.Type != watch.Added && ev.Type != watch.Modified) || seen[cm.Name] {
				continue
			}
			seen[cm.Name] = true
			at := time.Since(m.Start)
			if len(seen) == 1 {
				res.firstWrite = at
				benchproc.Step("first object written")
			}
			res.lastWrite, res.written = at, len(seen)
		case at := <-ready:
			res.ready = at
			benchproc.Step("manager ready (/readyz)")
		case <-m.Exited:
			return fmt.Errorf("the manager exited early (%v); its log:\n%s", m.Cmd.ProcessState, m.LogTail())
		case <-deadline:
			return fmt.Errorf("%w: %d of %d objects written after %s; the manager's log:\n%s",
				errTimeout, len(seen), h.c.n, h.c.timeout, m.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if res.ready == 0 {
		select {
		case res.ready = <-ready:
		case <-time.After(time.Second):
		}
	}
	return nil
}

// The manager's series the benchmark reads.
const (
	metricRuns        = "nuop_script_runs_total"
	metricRunDuration = "nuop_script_run_duration_seconds"
	metricBatchSize   = "nuop_script_batch_size"
	metricProcessMax  = "nuop_script_processes_max"
	metricHeapInuse   = "go_memstats_heap_inuse_bytes"
)

// scriptOp selects the benchmark script's series of an operation.
func scriptOp(op string) map[string]string {
	return map[string]string{"script": scriptName, "operation": op}
}

// readFinal reads the metrics and memory after the settle time. The script's series are vectors: none
// means nothing observed (no batch runs in per-object mode), a zero the report shows.
func (h *harness) readFinal(res *result, m *benchproc.Manager) error {
	metrics, err := m.Metrics()
	if err != nil {
		return err
	}
	results, err := utils.OrZero(metrics.Series(metricRuns, scriptOp("reconcile")))
	if err != nil {
		return err
	}
	for _, s := range results {
		res.runs[s.Labels["result"]] += s.Value
	}
	if res.processMax, err = metrics.Value(metricProcessMax, nil); err != nil {
		return err
	}
	runs, err := utils.OrZero(metrics.Histogram(metricRunDuration, scriptOp(res.mode.op)))
	if err != nil {
		return err
	}
	res.nuRuns = runs.Count
	if runs.Count > 0 {
		res.runWallMean = time.Duration(runs.Sum / runs.Count * float64(time.Second))
	}
	batches, err := utils.OrZero(metrics.Histogram(metricBatchSize, map[string]string{"script": scriptName}))
	if err != nil {
		return err
	}
	if batches.Count > 0 {
		res.batchMean = batches.Sum / batches.Count
	}
	heap, err := metrics.Value(metricHeapInuse, nil)
	if err != nil {
		return err
	}
	res.heapInuse = int64(heap)
	pid := m.Cmd.Process.Pid
	if res.peakRSS, err = statusBytes(pid, "VmHWM"); err != nil {
		return err
	}
	if res.endRSS, err = statusBytes(pid, "VmRSS"); err != nil {
		return err
	}
	res.endAnon, _ = statusBytes(pid, "RssAnon")
	res.endFile, _ = statusBytes(pid, "RssFile")
	return nil
}

func (h *harness) startManager(ctx context.Context, md mode) (*benchproc.Manager, error) {
	args := []string{"--mode", "standard", "--script-path", filepath.Dir(md.scriptDir), "--kubeconfig", h.kubeconfig}
	if h.c.qps > 0 {
		args = append(args, "--kube-api-qps", strconv.FormatFloat(h.c.qps, 'f', -1, 64))
	}
	if h.c.burst > 0 {
		args = append(args, "--kube-api-burst", strconv.Itoa(h.c.burst))
	}
	if h.c.maxProcs > 0 {
		args = append(args, "--max-script-processes", strconv.Itoa(h.c.maxProcs))
	}
	return benchproc.Start(ctx, benchproc.Options{Bench: "bench", Label: md.name, Binary: h.manager, Args: args,
		// nu from bin/, as the image has it on PATH.
		Env:     []string{"PATH=" + h.binDir + string(os.PathListSeparator) + os.Getenv("PATH")},
		LogPath: filepath.Join(h.tmp, "manager-"+md.name+".log"), Dir: h.tmp, Grace: 2 * time.Minute})
}

// readiness reports once, on the returned channel, how long after its start the manager answered
// /readyz with 200.
func readiness(ctx context.Context, m *benchproc.Manager) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		client := &http.Client{Timeout: time.Second}
		for ctx.Err() == nil {
			select {
			case <-m.Exited:
				return
			default:
			}
			if resp, err := client.Get(m.ReadyURL); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ch <- time.Since(m.Start)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return ch
}

// loadAverage is the machine's load average over the last minute, from /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	load, _, _ := strings.Cut(string(data), " ")
	return load
}

func nuVersion(nu string) string {
	out, err := exec.Command(nu, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
