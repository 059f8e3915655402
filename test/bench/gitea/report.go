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
	"time"
)

// defaultSyncInterval is a GiteaProvider's syncInterval when unset (api/gitea/v1alpha1).
const defaultSyncInterval = 10 * time.Minute

// The targets of one sync cycle with nothing changed.
const (
	targetReadsPerResource  = 1.0
	targetWritesPerResource = 0.0
)

// result is what one run measured.
type result struct {
	c            config
	giteaVersion string
	syncInterval time.Duration // the provider's, when set
	qps, burst   int32         // the provider's client limit, as defaulted

	applied    time.Duration // creating the 3N objects in the API server
	readyAfter time.Duration // from the first create to all Ready
	apply      requests      // Gitea requests from the first create to all Ready (+ settle)

	cycle      map[string]requests // one sync cycle, by kind
	counts     []int               // resources per kind, in kinds' order
	readyAtEnd int
}

// print writes the report and returns the number of targets missed.
func (r *result) print(w io.Writer) int {
	interval := r.syncInterval
	if interval == 0 {
		interval = defaultSyncInterval
	}
	perHour := float64(time.Hour) / float64(interval)
	total := 3*r.c.n + 1
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }

	p("\nGitea managed resources benchmark (docs/benchmarks.md)\n")
	p("  machine: %d CPUs, %s/%s, %s; gitea %s, API page size %d\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version(), r.giteaVersion, r.c.pageSize)
	p("  GiteaProvider: qps %d, burst %d\n", r.qps, r.burst)
	p("  resources: 1 Organization, %d Repositories, %d Webhooks, %d Labels (%d)\n\n", r.c.n, r.c.n, r.c.n, total)

	p("Apply (%d Repositories, each with a Webhook and a Label, created at once)\n", r.c.n)
	p("  created in the API server in   %s\n", r.applied.Round(time.Millisecond))
	p("  all Ready after                %s  (%.2f resources/s)\n", r.readyAfter.Round(time.Millisecond),
		float64(3*r.c.n)/r.readyAfter.Seconds())
	p("  Gitea requests                 %.0f  (%s; %.2f per resource; %.0f failed)\n", r.apply.total(),
		methods(r.apply), r.apply.total()/float64(3*r.c.n), r.apply.failed)
	p("  request rate                   %.1f/s  (the provider's qps: %d)\n\n", r.apply.total()/r.readyAfter.Seconds(), r.qps)

	p("One sync cycle with nothing changed (every resource annotated %s)\n", "gitea.kemper.buzz/sync-requested-at")
	p("  %-13s %5s  %8s  %8s  %9s  %10s  %s\n", "kind", "count", "requests", "reads/r", "writes/r", "requests/r/h", "by method")
	var all requests
	all.byMethod = map[string]float64{}
	n := 0
	for i, kind := range kinds {
		c := r.cycle[kind]
		cnt := r.counts[i]
		n += cnt
		for k, v := range c.byMethod {
			all.byMethod[k] += v
		}
		all.failed += c.failed
		p("  %-13s %5d  %8.0f  %8.2f  %9.2f  %10.1f  %s\n", kind, cnt, c.total(), c.reads()/float64(cnt),
			c.writes()/float64(cnt), c.total()/float64(cnt)*perHour, methods(c))
	}
	reads, writes := all.reads()/float64(n), all.writes()/float64(n)
	p("  %-13s %5d  %8.0f  %8.2f  %9.2f  %10.1f  %s\n", "all", n, all.total(), reads, writes,
		all.total()/float64(n)*perHour, methods(all))
	p("  at the sync interval of %s: %.1f requests per resource per hour (%.1f reads, %.1f writes), %.0f in all\n\n",
		interval, (reads+writes)*perHour, reads*perHour, writes*perHour, all.total()*perHour)

	missed := 0
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		missed++
		return "MISSED"
	}
	p("Targets\n")
	p("  %-46s %6.2f  %s\n", fmt.Sprintf("at most %.0f read per resource per cycle", targetReadsPerResource), reads,
		verdict(reads <= targetReadsPerResource))
	p("  %-46s %6.2f  %s\n", "writes per resource per cycle (target 0)", writes, verdict(writes <= targetWritesPerResource))
	p("  %-46s %6d  %s\n", fmt.Sprintf("resources Ready at the end (of %d)", total), r.readyAtEnd, verdict(r.readyAtEnd == total))
	if all.failed > 0 || r.apply.failed > 0 {
		p("  note: %.0f requests failed (no response or 5xx) while applying, %.0f in the cycle\n", r.apply.failed, all.failed)
	}
	return missed
}

// methods formats requests by method, GET first.
func methods(r requests) string {
	keys := make([]string, 0, len(r.byMethod))
	for k := range r.byMethod {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if a == "GET" {
			return -1
		}
		if b == "GET" {
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, r.byMethod[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
