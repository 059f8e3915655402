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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kemper.buzz/nuop/internal/procs"
)

// Operation is the sub-command of mod.nu a run calls. The constants are the protocol's; any other name runs
// that `main <name>` command.
type Operation string

const (
	OpConfig         Operation = "config"
	OpReconcile      Operation = "reconcile"
	OpFinalize       Operation = "finalize"
	OpReconcileBatch Operation = "reconcile-batch"
)

// DefaultOutputCap is how much of each output stream a run keeps.
const DefaultOutputCap = 1 << 20

// DefaultMaxProcesses is twice the CPUs the process may use, at least 2. GOMAXPROCS rather than NumCPU: since
// Go 1.25 it follows the container's CPU limit, and a pod limited to one CPU on a 64-core node must not start
// 128 nu processes of ~25 MiB each.
func DefaultMaxProcesses() int {
	return max(2, 2*runtime.GOMAXPROCS(0))
}

// Runner runs nu. Set its fields before the first Run; MaxProcesses and Home are read once, then.
type Runner struct {
	// Nu is the path of nu; "" looks up "nu" on PATH.
	Nu string
	// Supervisor starts and reaps every nu process, and kills them on shutdown. Required.
	Supervisor *procs.Supervisor
	// MaxProcesses caps the nu processes running at once across all scripts; 0 means DefaultMaxProcesses().
	MaxProcesses int
	// OutputCap is how many bytes of each stream a run keeps; the rest is read and dropped, so that a chatty
	// script never blocks on a full pipe. 0 means DefaultOutputCap.
	OutputCap int
	// KillGrace is the time between SIGTERM and SIGKILL of a timed-out run's process group; 0 means
	// procs.DefaultKillGrace (5 s), the same grace the supervisor gives on shutdown.
	KillGrace time.Duration
	// Home is the HOME of every run (kubectl caches discovery there). "" means the base environment's HOME if it
	// is writable, else a temporary directory created once and kept for the life of the process.
	Home string
	// Env is the base environment of every run; nil means os.Environ().
	Env []string
	// Snapshots, when set, are the loader's: a run of a loaded script's directory runs the copy its current
	// version was loaded from (command path and working directory), and a run of an unloaded script's
	// directory is refused.
	Snapshots *Snapshots

	once  sync.Once
	slots chan struct{}
	home  string
	// homeErr is kept: without a writable HOME no run can start, and every Run must say why.
	homeErr error
}

// NewRunner returns a runner on sup allowing maxProcesses nu processes at once (0 or less: the default).
func NewRunner(sup *procs.Supervisor, maxProcesses int) *Runner {
	return &Runner{Supervisor: sup, MaxProcesses: maxProcesses}
}

// Request is one run of mod.nu.
type Request struct {
	// Dir holds mod.nu; it is also the working directory. With the runner's Snapshots, a loaded script's Dir
	// runs its current version's copy instead.
	Dir       string
	Operation Operation
	// Stdin is written to the script concurrently with reading its output; nil is an empty stdin.
	Stdin []byte
	// Env holds KEY=VALUE pairs added to the runner's environment, overriding it.
	Env []string
	// Timeout is counted from the process start, not from the wait for a slot; 0 or less means DefaultTimeout.
	Timeout time.Duration
	// Args follow the operation on the command line.
	Args []string
}

// Outcome is what a run's exit means for the engine.
type Outcome string

const (
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeChanged   Outcome = "changed"
	OutcomeError     Outcome = "error"
	OutcomeTimeout   Outcome = "timeout"
)

// Result is how a run ended and what it wrote.
type Result struct {
	// ExitCode is -1 when the process was killed by a signal.
	ExitCode int
	// Signal names the signal that killed the process ("killed", "terminated"), "" if it exited.
	Signal   string
	TimedOut bool
	// Stdout and Stderr hold at most the runner's OutputCap bytes each, as written (not necessarily UTF-8).
	Stdout, Stderr []byte
	// StdoutDropped and StderrDropped count the bytes read past OutputCap and thrown away.
	StdoutDropped, StderrDropped int64
	// Duration is the wall time from process start to exit.
	Duration time.Duration
	// CPUTime is the user and system time of the process and the children it waited for.
	CPUTime time.Duration
}

// StdoutCut says why stdout cannot be read as a whole, or nil: past OutputCap its bytes were dropped, so
// what parses of the rest may be an object cut short, and writing that back would drop the fields after
// the cut.
func (r Result) StdoutCut() error {
	if r.StdoutDropped == 0 {
		return nil
	}
	return fmt.Errorf("stdout is longer than the output cap of %d bytes (%d more were dropped), so nothing is written back",
		len(r.Stdout), r.StdoutDropped)
}

// Outcome maps the exit as SCRIPT-PROTOCOL section 3 does: 0 unchanged, 2 changed, anything else an error.
func (r Result) Outcome() Outcome {
	switch {
	case r.TimedOut:
		return OutcomeTimeout
	case r.Signal != "":
		return OutcomeError
	case r.ExitCode == 0:
		return OutcomeUnchanged
	case r.ExitCode == 2:
		return OutcomeChanged
	default:
		return OutcomeError
	}
}

// Run runs `nu [--stdin] <Dir>/mod.nu <Operation> [Args]`. ctx bounds only the wait for a process slot: once
// started, a run ends at its own exit, at its Timeout (the whole process group is killed and TimedOut set), or
// when the supervisor's shutdown drain kills it. A process that could not be started is an error (nu missing,
// procs.ErrShuttingDown); how the process ended is in the Result, never an error.
func (r *Runner) Run(ctx context.Context, req Request) (Result, error) {
	if req.Dir == "" || req.Operation == "" {
		return Result{}, errors.New("script run needs a directory and an operation")
	}
	r.once.Do(r.setup)
	if r.homeErr != nil {
		return Result{}, r.homeErr
	}
	// A cancelled caller must not start a process even when a slot happens to be free.
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-r.slots }()
	return r.run(req)
}

func (r *Runner) run(req Request) (Result, error) {
	dir, err := filepath.Abs(req.Dir)
	if err != nil {
		return Result{}, err
	}
	dir, release, err := r.Snapshots.acquire(dir)
	if err != nil {
		return Result{}, err
	}
	defer release()
	stdout := &cappedBuffer{limit: r.outputCap()}
	stderr := &cappedBuffer{limit: r.outputCap()}
	cmd := exec.Command(r.nu(), req.args(filepath.Join(dir, EntryPoint))...)
	cmd.Dir = dir
	cmd.Env = slices.Concat(r.baseEnv(), []string{"HOME=" + r.home}, req.Env)
	// Writers and a reader rather than pipes of our own: exec copies all three concurrently, ignores EPIPE on
	// stdin, and its WaitDelay (set by the supervisor) bounds the copies when a grandchild keeps a pipe open.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if req.Stdin != nil {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	}
	start := time.Now()
	child, err := r.Supervisor.Spawn(cmd)
	if err != nil {
		return Result{}, fmt.Errorf("starting %s for %s: %w", cmd.Path, dir, err)
	}
	timedOut := r.await(child, req.timeout())
	res := Result{
		TimedOut: timedOut,
		Stdout:   stdout.buf, Stderr: stderr.buf,
		StdoutDropped: stdout.dropped, StderrDropped: stderr.dropped,
		Duration: time.Since(start),
	}
	state := cmd.ProcessState
	if state == nil {
		return res, fmt.Errorf("waiting for nu running %s: %w", dir, child.Wait())
	}
	res.ExitCode, res.Signal = exitStatus(state)
	res.CPUTime = state.UserTime() + state.SystemTime()
	return res, nil
}

// await waits for the child's exit, killing its process group once timeout has passed; it reports the kill.
func (r *Runner) await(child *procs.Child, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-child.Done():
		return false
	case <-timer.C:
		child.Kill(r.killGrace())
		return true
	}
}

func exitStatus(state *os.ProcessState) (int, string) {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return state.ExitCode(), ""
}

// args is the command line after nu. Only config goes without --stdin: nuop ran it so, and without --stdin
// nu leaves `$in` empty whatever the pipe holds.
func (req Request) args(entryPoint string) []string {
	var args []string
	if req.Operation != OpConfig {
		args = append(args, "--stdin")
	}
	args = append(args, entryPoint, string(req.Operation))
	return append(args, req.Args...)
}

func (req Request) timeout() time.Duration {
	if req.Timeout <= 0 {
		return DefaultTimeout
	}
	return req.Timeout
}

func (r *Runner) setup() {
	n := r.MaxProcesses
	if n <= 0 {
		n = DefaultMaxProcesses()
	}
	r.slots = make(chan struct{}, n)
	r.home, r.homeErr = r.resolveHome()
}

// resolveHome finds a HOME scripts can write to; a read-only root file system often has an unwritable one.
func (r *Runner) resolveHome() (string, error) {
	if r.Home != "" {
		return r.Home, nil
	}
	if home := lookupEnv(r.baseEnv(), "HOME"); home != "" && writable(home) {
		return home, nil
	}
	home, err := os.MkdirTemp("", "nuop-home-")
	if err != nil {
		return "", fmt.Errorf("no writable HOME for scripts: %w", err)
	}
	return home, nil
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".nuop-write-check-")
	if err != nil {
		return false
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return true
}

// lookupEnv returns the value exec would use: the last one.
func lookupEnv(env []string, key string) string {
	for _, kv := range slices.Backward(env) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (r *Runner) baseEnv() []string {
	if r.Env == nil {
		return os.Environ()
	}
	return r.Env
}

func (r *Runner) nu() string {
	if r.Nu == "" {
		return "nu"
	}
	return r.Nu
}

func (r *Runner) outputCap() int {
	if r.OutputCap <= 0 {
		return DefaultOutputCap
	}
	return r.OutputCap
}

func (r *Runner) killGrace() time.Duration {
	if r.KillGrace <= 0 {
		return procs.DefaultKillGrace
	}
	return r.KillGrace
}

// RegisterMetrics registers the gauges of live nu processes and of their high-water mark with reg
// (controller-runtime's metrics.Registry in the operator). They read the supervisor, which only nu runs use.
func (r *Runner) RegisterMetrics(reg prometheus.Registerer) error {
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nuop_script_processes",
			Help: "nu processes running now.",
		}, func() float64 { return float64(r.Supervisor.Live()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nuop_script_processes_max",
			Help: "The most nu processes that ever ran at once.",
		}, func() float64 { return float64(r.Supervisor.Peak()) }),
	} {
		// A process runs one runner; a test process may build several, and the newest one reports.
		var already prometheus.AlreadyRegisteredError
		if err := reg.Register(g); errors.As(err, &already) {
			reg.Unregister(already.ExistingCollector)
			err = reg.Register(g)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// cappedBuffer keeps the first limit bytes written and counts the rest. It never fails a write: an error would
// stop exec's copy and leave the child blocked on a full pipe.
type cappedBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	keep := min(len(p), b.limit-len(b.buf))
	b.buf = append(b.buf, p[:keep]...)
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}
