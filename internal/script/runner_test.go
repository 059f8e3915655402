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

package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/test/utils"
)

const runnerScript = "testdata/runner"

// nuPath is the provisioned nu; a missing one fails the test with how to provision it.
func nuPath(t *testing.T) string {
	t.Helper()
	nu, err := utils.Tool("nu")
	if err != nil {
		t.Fatal(err)
	}
	return nu
}

// newRunner returns a runner on a supervisor of its own, so that Live and Peak count this test's runs only.
func newRunner(t *testing.T, maxProcesses int) *Runner {
	t.Helper()
	r := NewRunner(procs.NewSupervisor(10*time.Second), maxProcesses)
	r.Nu = nuPath(t)
	r.Home = t.TempDir()
	return r
}

func run(t *testing.T, r *Runner, req Request) Result {
	t.Helper()
	if req.Dir == "" {
		req.Dir = runnerScript
	}
	if req.Timeout == 0 {
		req.Timeout = 20 * time.Second
	}
	res, err := r.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunExit(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 0)
	tests := []struct {
		name    string
		op      Operation
		args    []string
		code    int
		signal  string
		outcome Outcome
	}{
		{"exit 0", "exit", []string{"0"}, 0, "", OutcomeUnchanged},
		{"exit 2", "exit", []string{"2"}, 2, "", OutcomeChanged},
		{"exit 1", "exit", []string{"1"}, 1, "", OutcomeError},
		{"exit 42", "exit", []string{"42"}, 42, "", OutcomeError},
		{"killed by a signal", "kill", nil, -1, "killed", OutcomeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, r, Request{Operation: tt.op, Args: tt.args})
			got := []any{res.ExitCode, res.Signal, res.TimedOut, res.Outcome()}
			if diff := cmp.Diff([]any{tt.code, tt.signal, false, tt.outcome}, got); diff != "" {
				t.Errorf("exit code, signal, timed out, outcome (-want +got):\n%s\nstderr: %s", diff, res.Stderr)
			}
			if res.Duration <= 0 || res.CPUTime <= 0 {
				t.Errorf("duration %v, CPU time %v: both should be measured", res.Duration, res.CPUTime)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		res  Result
		want Outcome
	}{
		{Result{ExitCode: 0}, OutcomeUnchanged},
		{Result{ExitCode: 2}, OutcomeChanged},
		{Result{ExitCode: 1}, OutcomeError},
		{Result{ExitCode: 3}, OutcomeError},
		{Result{ExitCode: -1, Signal: "killed"}, OutcomeError},
		{Result{ExitCode: -1, Signal: "terminated", TimedOut: true}, OutcomeTimeout},
		// A script that exits 0 on SIGTERM still ran out of time.
		{Result{ExitCode: 0, TimedOut: true}, OutcomeTimeout},
	}
	for _, tt := range tests {
		if got := tt.res.Outcome(); got != tt.want {
			t.Errorf("%+v: Outcome() = %s, want %s", tt.res, got, tt.want)
		}
	}
}

// gone reports whether a process has ended; a zombie has (nobody reaps a reparented grandchild at once).
func gone(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	_, after, _ := bytes.Cut(stat, []byte(") "))
	return len(after) > 0 && after[0] == 'Z'
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 0)
	r.KillGrace = 2 * time.Second
	res := run(t, r, Request{Operation: "hang", Timeout: 500 * time.Millisecond})
	if !res.TimedOut || res.Outcome() != OutcomeTimeout {
		t.Errorf("TimedOut = %v, outcome %s; want a time-out", res.TimedOut, res.Outcome())
	}
	if res.Duration < 500*time.Millisecond || res.Duration > 5*time.Second {
		t.Errorf("duration %v: want the 500ms time-out plus a kill", res.Duration)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil {
		t.Fatalf("the script did not report its grandchild's pid: %q (stderr %s)", res.Stdout, res.Stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d (sleep 300) outlived the time-out of its nu", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunStdin(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 0)
	big := bytes.Repeat([]byte("x"), 2<<20)

	// Far more than a pipe holds, to a script that never reads it: neither side may wait for the other.
	res := run(t, r, Request{Operation: "ignore-stdin", Stdin: big, Timeout: 10 * time.Second})
	if res.TimedOut || res.ExitCode != 0 {
		t.Errorf("ignoring 2 MiB of stdin: exit %d, timed out %v; want exit 0 (stderr %s)", res.ExitCode, res.TimedOut, res.Stderr)
	}

	res = run(t, r, Request{Operation: "stdin-length", Stdin: big})
	if got := strings.TrimSpace(string(res.Stdout)); got != strconv.Itoa(len(big)) || res.ExitCode != 0 {
		t.Errorf("reading 2 MiB of stdin: printed %q, exit %d; want %d, 0", got, res.ExitCode, len(big))
	}

	res = run(t, r, Request{Operation: "stdin-length"})
	if got := strings.TrimSpace(string(res.Stdout)); got != "0" {
		t.Errorf("nil stdin: printed %q, want 0 (an empty stdin)", got)
	}
}

func TestRunOutputCap(t *testing.T) {
	t.Parallel()
	const n = 1_100_000
	tests := []struct {
		name      string
		outputCap int
		wantKept  int
	}{
		{"default cap of 1 MiB", 0, 1 << 20},
		{"small cap", 1000, 1000},
		{"cap above the output", 2 << 20, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, 0)
			r.OutputCap = tt.outputCap
			res := run(t, r, Request{Operation: "flood", Args: []string{strconv.Itoa(n)}, Timeout: 10 * time.Second})
			got := []any{res.ExitCode, len(res.Stdout), res.StdoutDropped, len(res.Stderr), res.StderrDropped}
			want := []any{0, tt.wantKept, int64(n - tt.wantKept), tt.wantKept, int64(n - tt.wantKept)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exit, stdout kept, dropped, stderr kept, dropped (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunPassesBytesThrough(t *testing.T) {
	t.Parallel()
	res := run(t, newRunner(t, 0), Request{Operation: "bytes"})
	if diff := cmp.Diff([]byte{0xff, 0xfe, 0x00, 0x80}, res.Stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Parallel()
	unwritable := filepath.Join(t.TempDir(), "no-such-home")
	writableHome := t.TempDir()
	tests := []struct {
		name string
		env  []string
		// wantHome is "" for a directory the runner creates.
		wantHome string
	}{
		{"writable HOME of the base environment", []string{"HOME=" + writableHome}, writableHome},
		{"unwritable HOME: a directory of the runner's own", []string{"HOME=" + unwritable}, ""},
		{"no HOME: a directory of the runner's own", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRunner(procs.NewSupervisor(10*time.Second), 0)
			r.Nu = nuPath(t)
			r.Env = append([]string{"PATH=" + os.Getenv("PATH"), "NUOP_SCRIPT=from-base"}, tt.env...)
			res := run(t, r, Request{
				Operation: "env",
				Env:       []string{"NUOP_SCRIPT=demo", "NUOP_OPERATION=reconcile"},
			})
			var got struct{ Script, Operation, Home, Pwd string }
			if err := json.Unmarshal(res.Stdout, &got); err != nil {
				t.Fatalf("exit %d, stdout %q: %v (stderr %s)", res.ExitCode, res.Stdout, err, res.Stderr)
			}
			if tt.wantHome == "" {
				t.Cleanup(func() { _ = os.RemoveAll(got.Home) })
				if !strings.HasPrefix(filepath.Base(got.Home), "nuop-home-") {
					t.Errorf("HOME = %s, want a nuop-home- directory", got.Home)
				}
			} else if got.Home != tt.wantHome {
				t.Errorf("HOME = %s, want %s", got.Home, tt.wantHome)
			}
			wantDir, _ := filepath.Abs(runnerScript)
			if diff := cmp.Diff([]string{"demo", "reconcile", wantDir}, []string{got.Script, got.Operation, got.Pwd}); diff != "" {
				t.Errorf("NUOP_SCRIPT, NUOP_OPERATION, working directory (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(got.Home, "probe.txt")); err != nil {
				t.Errorf("the script could not write to HOME: %v", err)
			}
		})
	}
}

func TestRunMaxProcesses(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 2)
	var wg sync.WaitGroup
	results := make([]Result, 10)
	errs := make([]error, len(results))
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = r.Run(context.Background(), Request{Dir: runnerScript, Operation: "nap", Args: []string{"300"}})
		})
	}
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil || res.ExitCode != 0 {
			t.Errorf("run %d: exit %d, error %v (stderr %s)", i, res.ExitCode, errs[i], res.Stderr)
		}
	}
	if peak := r.Supervisor.Peak(); peak > 2 {
		t.Errorf("%d nu processes ran at once; MaxProcesses is 2", peak)
	}
}

func TestRunContextEndsOnlyTheWaitForASlot(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 1)
	first := make(chan Result)
	go func() {
		res, _ := r.Run(context.Background(), Request{Dir: runnerScript, Operation: "nap", Args: []string{"500"}})
		first <- res
	}()
	for r.Supervisor.Live() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Run(ctx, Request{Dir: runnerScript, Operation: "exit", Args: []string{"0"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot past the context's end: got %v, want %v", err, context.DeadlineExceeded)
	}
	if res := <-first; res.ExitCode != 0 || res.TimedOut {
		t.Errorf("the running script was disturbed: exit %d, timed out %v", res.ExitCode, res.TimedOut)
	}

	// A cancelled context starts nothing, even with a slot free.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := r.Run(cancelled, Request{Dir: runnerScript, Operation: "exit", Args: []string{"0"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want %v", err, context.Canceled)
	}
	if peak := r.Supervisor.Peak(); peak != 1 {
		t.Errorf("peak %d: only the first run should have started", peak)
	}
}

func TestRunSpawnFailures(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 0)
	r.Nu = filepath.Join(t.TempDir(), "nu")
	if _, err := r.Run(context.Background(), Request{Dir: runnerScript, Operation: "exit"}); err == nil {
		t.Error("a missing nu gave no error")
	}

	r = newRunner(t, 0)
	r.Supervisor.Drain()
	_, err := r.Run(context.Background(), Request{Dir: runnerScript, Operation: "exit", Args: []string{"0"}})
	if !errors.Is(err, procs.ErrShuttingDown) {
		t.Errorf("run after shutdown began: got %v, want %v", err, procs.ErrShuttingDown)
	}
}

func TestRunnerMetrics(t *testing.T) {
	t.Parallel()
	r := newRunner(t, 0)
	reg := prometheus.NewRegistry()
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	run(t, r, Request{Operation: "exit", Args: []string{"0"}})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
	}
	if diff := cmp.Diff(map[string]float64{"nuop_script_processes": 0, "nuop_script_processes_max": 1}, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
