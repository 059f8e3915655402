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
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// floor is the least wall time N per-object runs can take: N × the median CPU time of one run ÷ cores.
type floor struct {
	runs   int
	median time.Duration
	min    time.Duration
	max    time.Duration
	cores  int
	// wall is the median wall time of one run, alone on the machine.
	wall time.Duration
}

// floorWarmups are runs before the measured ones: the first runs read nu from disk.
const floorWarmups = 3

func (f floor) of(n int) time.Duration {
	return time.Duration(int64(f.median) * int64(n) / int64(f.cores))
}

// sampleFloor runs `nu --stdin mod.nu reconcile` on the sample object as the engine would (same
// arguments, working directory and environment), runs times one after the other, and keeps each run's
// user+system time from rusage. It is called before the manager starts and after it has stopped, so the
// floor spans the time of the run.
func (h *harness) sampleFloor(runs int) error {
	home := filepath.Join(h.tmp, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	for i := range floorWarmups + runs {
		cmd := exec.Command(h.nu, "--stdin", filepath.Join(h.perObjectDir(), "mod.nu"), "reconcile")
		cmd.Dir = h.perObjectDir()
		cmd.Env = append(os.Environ(), "HOME="+home, "NUOP_SCRIPT="+scriptName, "NUOP_OPERATION=reconcile",
			"NUOP_OBJECT_API_VERSION=v1", "NUOP_OBJECT_KIND=ConfigMap",
			"NUOP_OBJECT_NAMESPACE="+benchNamespace, "NUOP_OBJECT_NAME=cm-00000")
		cmd.Stdin = bytes.NewReader(h.sample)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			return fmt.Errorf("the script should exit 2 (write-back) on an unwritten object, got %d (%v): %s",
				code, err, strings.TrimSpace(stderr.String()))
		}
		if !strings.Contains(stdout.String(), writtenLabel+": ") {
			return fmt.Errorf("the script printed no %s label:\n%s", writtenLabel, stdout.String())
		}
		if i >= floorWarmups {
			h.floorCPU = append(h.floorCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
			h.floorWall = append(h.floorWall, wall)
		}
	}
	return nil
}

// floor is the floor of the samples taken.
func (h *harness) floor() floor {
	cpu, wall := slices.Sorted(slices.Values(h.floorCPU)), slices.Sorted(slices.Values(h.floorWall))
	return floor{runs: len(cpu), median: median(cpu), min: cpu[0], max: cpu[len(cpu)-1], wall: median(wall),
		cores: runtime.NumCPU()}
}

func median(d []time.Duration) time.Duration {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}
