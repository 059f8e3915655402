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

// Command gitea is the Gitea managed-resources benchmark (`make bench-gitea`, docs/benchmarks.md). It is a
// measurement, not a test, and runs the real parts: envtest's kube-apiserver and etcd with the CRDs, a real
// Gitea (test/utils/giteaserver, API page size 50) and the manager binary, built from ./cmd, in manager
// mode. It creates a GiteaProvider and an Organization, then applies N Repositories (organizationRef), each
// with a Webhook and a Label (repositoryRef), and reports:
//
//   - the time from applying them to all Ready, and the Gitea requests that took, by method (deltas of the
//     manager's gitea_client_requests_total);
//   - one sync cycle with nothing changed (every resource annotated gitea.kemper.buzz/sync-requested-at,
//     done when every status.lastSyncTime moved): Gitea requests per resource per cycle, reads and writes
//     apart, per kind from Gitea's own request log, and per resource per hour at the default sync
//     interval (10m), against the targets (at most 1 read and no write per resource per cycle).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what the flags set.
type config struct {
	n        int
	pageSize int
	workers  int
	qps      int
	burst    int
	settle   time.Duration
	timeout  time.Duration
	manager  string
	keep     bool
	check    bool
}

func main() {
	var c config
	// A flag set of its own: controller-runtime registers --kubeconfig on the global one.
	fs := flag.NewFlagSet("bench-gitea", flag.ExitOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: go run ./test/bench/gitea [flags]  (or make bench-gitea BENCH_GITEA_ARGS=\"...\")\n\n"+
			"The Gitea managed-resources benchmark: see docs/benchmarks.md. Flags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.n, "n", 100, "Repositories applied, each with a Webhook and a Label")
	fs.IntVar(&c.pageSize, "page-size", 50, "Gitea's API page size (default and maximum)")
	fs.IntVar(&c.workers, "workers", 8, "parallel creates when applying the resources")
	fs.IntVar(&c.qps, "provider-qps", 0, "the GiteaProvider's spec.qps, its client's request rate to Gitea (0: the default, 10)")
	fs.IntVar(&c.burst, "provider-burst", 0, "the GiteaProvider's spec.burst (0: the default, 20)")
	fs.DurationVar(&c.settle, "settle", 3*time.Second,
		"how long to wait after the last resource is Ready (or synced) before reading the metrics")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up when the resources are not all Ready (or synced) by then")
	fs.StringVar(&c.manager, "manager", "", "a manager binary to run (default: build ./cmd)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (kubeconfig, manager.log, gitea.log)")
	fs.BoolVar(&c.check, "check", false, "exit 1 when a target is missed")
	_ = fs.Parse(os.Args[1:])
	if c.n < 1 || c.pageSize < 1 || c.workers < 1 || c.qps < 0 || c.burst < 0 {
		fmt.Fprintln(os.Stderr, "bench-gitea: -n, -page-size and -workers must be at least 1, "+
			"-provider-qps and -provider-burst at least 0")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r, err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-gitea: %v\n", err)
		os.Exit(1)
	}
	missed := r.print(os.Stdout)
	if c.check && missed > 0 {
		os.Exit(1)
	}
}
