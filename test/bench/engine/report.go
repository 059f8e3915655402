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
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the issue that asked for this benchmark.
const (
	targetWallRatio = 1.25
	targetRSS       = 64 << 20
	targetUnrelated = 10000
	mib             = 1 << 20
)

// print writes the report and returns how many targets were missed.
func (r *result) print(out io.Writer) int {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	line := func(key, format string, args ...any) {
		_, _ = fmt.Fprintf(w, "%s\t"+format+"\n", append([]any{key}, args...)...)
	}
	c := r.c
	floor := r.floor.of(c.n)
	ratio := seconds(r.lastWrite) / seconds(floor)
	totalRuns := 0.0
	for _, v := range r.runs {
		totalRuns += v
	}

	_, _ = fmt.Fprintf(w, "\nnuop script engine benchmark, %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	line("machine", "%d cores (GOMAXPROCS %d), %.1f GiB, %s/%s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0),
		float64(memTotal())/(1<<30), runtime.GOOS, runtime.GOARCH, r.nuVersion)
	line("objects", "%d ConfigMaps labelled bench=yes; %d unrelated ConfigMaps of %d bytes", c.n, c.unrelated, c.unrelatedBytes)
	line("manager", "--kube-api-qps %g%s --kube-api-burst %d%s --max-script-processes %d%s",
		r.qps, defaulted(c.qps == 0), r.burst, defaulted(c.burst == 0), r.cap, defaulted(c.maxProcs == 0))
	concurrency := "2 (the default)"
	if c.concurrency > 0 {
		concurrency = fmt.Sprint(c.concurrency)
	}
	line("script", "write-back (exit 2), concurrency %s", concurrency)
	_, _ = fmt.Fprintln(w)
	line("wall, manager start -> last write", "%.2f s", seconds(r.lastWrite))
	line("wall, ready -> last write", "%.2f s (ready %.2f s after start)", seconds(r.lastWrite-r.ready), seconds(r.ready))
	line("wall, first -> last write", "%.2f s (first write %.2f s after start)",
		seconds(r.lastWrite-r.firstWrite), seconds(r.firstWrite))
	line("objects per second", "%.1f (from manager start), %.1f (from ready)",
		float64(c.n)/seconds(r.lastWrite), float64(c.n)/seconds(r.lastWrite-r.ready))
	line("nu runs per object", "%.3f (%s)", totalRuns/float64(c.n), r.runsByResult())
	line("live nu processes, high-water mark", "%.0f (cap %d)", r.processMax, r.cap)
	line("manager peak RSS (VmHWM)", "%.1f MiB", float64(r.peakRSS)/mib)
	line("manager RSS at the end", "%.1f MiB: %.1f MiB anonymous (Go heap in use %.1f MiB), %.1f MiB file-backed (the binary)",
		float64(r.endRSS)/mib, float64(r.endAnon)/mib, float64(r.heapInuse)/mib, float64(r.endFile)/mib)
	line("floor", "%.2f s = %d x %.1f ms (median CPU of %d nu runs: min %.1f, max %.1f ms; wall %.1f ms) / %d cores",
		seconds(floor), c.n, ms(r.floor.median), r.floor.runs, ms(r.floor.min), ms(r.floor.max), ms(r.floor.wall),
		r.floor.cores)
	line("wall / floor", "%.2f (from ready: %.2f)", ratio, seconds(r.lastWrite-r.ready)/seconds(floor))
	if r.runsAtLast > 0 {
		line("nu run in the engine", "%.1f ms CPU, %.1f ms wall on average",
			ms(r.cpu[partNu])/r.runsAtLast, ms(r.runWallMean))
	}
	_, _ = fmt.Fprintln(w)

	avail := time.Duration(int64(r.lastWrite) * int64(runtime.NumCPU()))
	_, _ = fmt.Fprintf(w, "CPU from manager start to last write (%.2f s available on %d cores)\n", seconds(avail), runtime.NumCPU())
	var used time.Duration
	for _, part := range []string{partNu, partManager, partAPIServer, partEtcd, partHarness} {
		if d, ok := r.cpu[part]; ok {
			used += d
			line("  "+part, "%6.2f s  %3.0f%%", seconds(d), 100*seconds(d)/seconds(avail))
		}
	}
	line("  total", "%6.2f s  %3.0f%%", seconds(used), 100*seconds(used)/seconds(avail))
	others := max(0, r.machineBusy-used)
	line("  other processes on the machine", "%6.2f s  %3.0f%%", seconds(others), 100*seconds(others)/seconds(avail))
	if !r.quiet || seconds(others) > 0.05*seconds(avail) {
		_, _ = fmt.Fprintln(w, "  WARNING: the machine was not quiet; other work competed for the cores and skews the figures")
	}
	// The floor counts nu alone, but here the control plane shares the cores: the engine's own CPU over the
	// floor's is the ratio it would reach with the cores to itself (the API server elsewhere, as in a cluster)
	// and no idle time.
	engine := r.cpu[partNu] + r.cpu[partManager]
	line("  nu + manager CPU / (N x median)", "%.2f: the least wall / floor with the cores to the engine alone",
		seconds(engine)/(seconds(r.floor.median)*float64(c.n)))
	_, _ = fmt.Fprintln(w)

	missed := 0
	target := func(name string, ok bool, format string, args ...any) {
		verdict := "met"
		if !ok {
			verdict, missed = "MISSED", missed+1
		}
		line("  "+name, "%s: "+format, append([]any{verdict}, args...)...)
	}
	_, _ = fmt.Fprintln(w, "targets")
	target("1.0 nu run per object", totalRuns == float64(c.n), "%.3f", totalRuns/float64(c.n))
	target(fmt.Sprintf("wall <= %.2f x floor", targetWallRatio), ratio <= targetWallRatio, "%.3f x", ratio)
	target("processes <= cap", r.processMax <= float64(r.cap), "%.0f <= %d", r.processMax, r.cap)
	note := ""
	if c.unrelated < targetUnrelated {
		note = fmt.Sprintf(" (with %d unrelated ConfigMaps; the target is for %d)", c.unrelated, targetUnrelated)
	}
	target("manager RSS < 64 MiB", r.peakRSS < targetRSS, "%.1f MiB%s", float64(r.peakRSS)/mib, note)
	_ = w.Flush()
	return missed
}

func (r *result) runsByResult() string {
	keys := make([]string, 0, len(r.runs))
	for k := range r.runs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%.0f %s", r.runs[k], k))
	}
	return strings.Join(parts, ", ")
}

func defaulted(isDefault bool) string {
	if isDefault {
		return " (default)"
	}
	return ""
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
