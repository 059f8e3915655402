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

// Command engine is the script engine benchmark (`make bench`, docs/benchmarks.md). It is a measurement,
// not a test, and runs the real parts:
//
//   - envtest's kube-apiserver and etcd, holding N ConfigMaps labelled bench=yes and, around them, many
//     unrelated ConfigMaps, all created before the engine starts;
//   - the manager binary, built from ./cmd, in standard mode with one write-back script (it prints the
//     object with the label benched=yes and exits 2; requeue times of an hour, so no timer fires), run
//     twice on the same objects: once per object, and once with `batch` set, where the script's
//     reconcile-batch answers for many objects in one run (the label removed again in between);
//   - the floor: the median CPU time (rusage) of one per-object `nu` run of the same script on one of the
//     objects, measured here, times N, divided by the cores.
//
// It reports, for each mode side by side, the wall time from the manager's process start (and from its
// readiness) to the last object written (seen on a watch), objects per second, `nu` runs and results per
// object and the high-water mark of live `nu` processes (from the manager's metrics), the manager's own
// peak RSS (VmHWM: its `nu` children are processes of their own and not in it), the ratio of wall time to
// the floor, and where the CPU went.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/bench/benchproc"
)

// config is what the flags set.
type config struct {
	n              int
	unrelated      int
	unrelatedBytes int
	qps            float64
	burst          int
	maxProcs       int
	concurrency    int
	mode           string
	batch          int
	batchWindow    time.Duration
	floorRuns      int
	quietWait      time.Duration
	settle         time.Duration
	timeout        time.Duration
	manager        string
	keep           bool
	check          bool
}

func main() {
	var c config
	// A flag set of its own: controller-runtime registers --kubeconfig on the global one, which means
	// nothing here.
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: go run ./test/bench/engine [flags]  (or make bench BENCH_ARGS=\"...\")\n\n"+
			"The script engine benchmark: see docs/benchmarks.md. Flags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.n, "n", 500, "labelled ConfigMaps the script writes back")
	fs.IntVar(&c.unrelated, "unrelated", 10000,
		"unrelated (unlabelled) ConfigMaps in the cluster, which the script's cache must not hold")
	fs.IntVar(&c.unrelatedBytes, "unrelated-bytes", 1024, "size of the data of each unrelated ConfigMap")
	fs.Float64Var(&c.qps, "kube-api-qps", 0, "the manager's --kube-api-qps (0: its default, no limit)")
	fs.IntVar(&c.burst, "kube-api-burst", 0, "the manager's --kube-api-burst (0: its default)")
	fs.IntVar(&c.maxProcs, "max-script-processes", 0, "the manager's --max-script-processes (0: its default)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "the script's concurrency key (0: not set, the protocol's default of 2)")
	fs.StringVar(&c.mode, "mode", modeBoth, "which runs: per-object, batch, or both (one after the other, on the same objects)")
	fs.IntVar(&c.batch, "batch", 150, "the batched script's batch key")
	fs.DurationVar(&c.batchWindow, "batch-window", 0, "the batched script's batchWindow key, whole milliseconds (0: not set, 100ms)")
	fs.IntVar(&c.floorRuns, "floor-runs", 30,
		"nu runs measured for the floor (the median counts), half before the manager runs, half after")
	fs.DurationVar(&c.quietWait, "quiet-wait", time.Minute,
		"before measuring, wait up to this long for the rest of the machine to be quiet (below 15% CPU)")
	fs.DurationVar(&c.settle, "settle", 3*time.Second,
		"how long to wait after the last write for runs that should not happen, before reading the metrics")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up when the objects are not all written by then")
	fs.StringVar(&c.manager, "manager", "", "a manager binary to run (default: build ./cmd)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (scripts, kubeconfig, the managers' logs)")
	fs.BoolVar(&c.check, "check", false, "exit 1 when a target is missed")
	_ = fs.Parse(os.Args[1:])
	if c.n < 1 || c.unrelated < 0 || c.floorRuns < 1 || c.batch < 1 || c.batch > script.MaxBatch || c.batchWindow < 0 {
		fmt.Fprintf(os.Stderr, "bench: -n and -floor-runs must be at least 1, -batch 1 to %d, "+
			"-unrelated and -batch-window at least 0\n", script.MaxBatch)
		os.Exit(2)
	}
	if c.mode != modeBoth && c.mode != modePerObject && c.mode != modeBatch {
		fmt.Fprintf(os.Stderr, "bench: -mode must be %s, %s or %s\n", modePerObject, modeBatch, modeBoth)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r, err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	missed := r.print(os.Stdout)
	if c.check && missed > 0 {
		os.Exit(1)
	}
}

// The modes of -mode.
const (
	modePerObject = "per-object"
	modeBatch     = "batch"
	modeBoth      = "both"
)

// run sets everything up, measures, and tears everything down again, whatever happened.
func run(ctx context.Context, c config) (rep *report, err error) {
	tmp, err := os.MkdirTemp("", "nuop-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if c.keep || err != nil {
			fmt.Fprintf(os.Stderr, "bench: kept %s (scripts, kubeconfig, the managers' logs)\n", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()

	h, err := newHarness(c, tmp)
	if err != nil {
		return nil, err
	}
	benchproc.Step("starting envtest (kube-apiserver, etcd)")
	if err := h.startCluster(); err != nil {
		return nil, err
	}
	defer func() {
		if stopErr := h.stopCluster(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping envtest: %w", stopErr)
		}
	}()
	if err := h.createObjects(ctx); err != nil {
		return nil, err
	}
	quiet := waitQuiet(ctx, c.quietWait)
	before := (c.floorRuns + 1) / 2
	benchproc.Step(fmt.Sprintf("measuring the floor: %d nu runs of the script on one object", before))
	if err := h.sampleFloor(before); err != nil {
		return nil, err
	}
	rep = &report{c: c, quiet: quiet}
	for i, m := range h.modes {
		if i > 0 {
			if err := h.unmark(ctx); err != nil {
				return nil, err
			}
		}
		res, err := h.runManager(ctx, m)
		if err != nil {
			return nil, err
		}
		rep.results = append(rep.results, res)
	}
	if after := c.floorRuns - before; after > 0 {
		benchproc.Step(fmt.Sprintf("measuring the floor again: %d nu runs", after))
		if err := h.sampleFloor(after); err != nil {
			return nil, err
		}
	}
	rep.floor = h.floor()
	return rep, nil
}

// quietBusy is the share of the machine's CPU above which it counts as busy: envtest at rest uses a
// few percent.
const quietBusy = 0.15

// waitQuiet waits until the machine's CPU is below quietBusy over a second, at most maxWait; it reports
// whether it became quiet. Other work on the machine competes with nu for the cores the floor counts.
func waitQuiet(ctx context.Context, maxWait time.Duration) bool {
	deadline := time.Now().Add(maxWait)
	announced := false
	for {
		before, err := readMachineCPU()
		if err != nil {
			return false
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return false
		}
		busy := before.busySince()
		if busy < quietBusy {
			return true
		}
		if time.Now().After(deadline) {
			benchproc.Step(fmt.Sprintf("the machine is still busy (%.0f%% CPU); measuring anyway", 100*busy))
			return false
		}
		if !announced {
			benchproc.Step(fmt.Sprintf("the machine is busy (%.0f%% CPU): waiting up to %s for it to be quiet", 100*busy, maxWait))
			announced = true
		}
	}
}

// errTimeout says the objects were not all written in time.
var errTimeout = errors.New("timed out")
