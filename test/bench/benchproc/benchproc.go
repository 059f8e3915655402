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

// Package benchproc runs the manager binary for the benchmarks: on the test cluster, with metrics on plain
// HTTP and probes on free loopback ports, its output in a log file, stopped with SIGTERM as a kubelet would.
// It reads the manager's Prometheus metrics for both benchmarks (metrics.go).
package benchproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kemper.buzz/nuop/test/utils"
)

// Manager is a running manager.
type Manager struct {
	Cmd *exec.Cmd
	// Start is when the process was started.
	Start time.Time
	// Exited is closed once the process has exited.
	Exited     chan struct{}
	LogPath    string
	MetricsURL string
	ReadyURL   string

	// grace is how long stop waits after SIGTERM before it kills.
	grace time.Duration
	// bench names the benchmark in messages.
	bench string
}

// Options say how to run the manager.
type Options struct {
	// Bench names the benchmark in messages ("bench", "bench-gitea").
	Bench string
	// Binary is the manager binary; Args its flags beyond the metrics and probe addresses.
	Binary string
	Args   []string
	// Env is added to the benchmark's environment.
	Env []string
	// LogPath receives the manager's output; HOME is dir/manager-home.
	LogPath, Dir string
	// Grace is how long Stop waits after SIGTERM before it kills the process.
	Grace time.Duration
	// Label, when set, starts the progress line that says the manager starts (the benchmark's mode).
	Label string
}

// Start runs the manager. Cancelling ctx sends SIGTERM, never SIGKILL at once: an interrupted benchmark
// must not kill the manager mid-write.
func Start(ctx context.Context, o Options) (*Manager, error) {
	metricsAddr, err := utils.FreeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := utils.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, o.Args...),
		"--metrics-bind-address", metricsAddr, "--metrics-secure=false", "--health-probe-bind-address", probeAddr)
	m := &Manager{Exited: make(chan struct{}), LogPath: o.LogPath, MetricsURL: "http://" + metricsAddr + "/metrics",
		ReadyURL: "http://" + probeAddr + "/readyz", grace: o.Grace, bench: o.Bench}
	logFile, err := os.Create(m.LogPath)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(o.Dir, "manager-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	m.Cmd = exec.CommandContext(ctx, o.Binary, args...)
	m.Cmd.Cancel = func() error { return m.Cmd.Process.Signal(syscall.SIGTERM) }
	m.Cmd.WaitDelay = o.Grace
	m.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	m.Cmd.Env = append(append(os.Environ(), o.Env...), "HOME="+home)
	m.Cmd.Stdout, m.Cmd.Stderr = logFile, logFile
	label := ""
	if o.Label != "" {
		label = o.Label + ": "
	}
	Step(label + "starting the manager: " + o.Binary + " " + strings.Join(args, " "))
	m.Start = time.Now()
	if err := m.Cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() {
		_ = m.Cmd.Wait()
		_ = logFile.Close()
		close(m.Exited)
	}()
	return m, nil
}

// Stop sends SIGTERM and waits for the manager's exit; SIGKILL after the grace period. An exit other than a
// clean one is reported with the end of the log.
func (m *Manager) Stop() {
	select {
	case <-m.Exited:
		return
	default:
	}
	Step("stopping the manager (SIGTERM)")
	_ = m.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.Exited:
	case <-time.After(m.grace):
		_ = m.Cmd.Process.Kill()
		<-m.Exited
	}
	if !m.Cmd.ProcessState.Success() {
		fmt.Fprintf(os.Stderr, "%s: the manager did not exit cleanly (%v); its log:\n%s", m.bench, m.Cmd.ProcessState, m.LogTail())
	}
}

// LogTail is the end of the manager's log.
func (m *Manager) LogTail() string {
	data, err := os.ReadFile(m.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// Step prints a timestamped progress line on stderr.
func Step(msg string) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05.000"), msg)
}
