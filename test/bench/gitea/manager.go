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
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kemper.buzz/nuop/test/utils"
)

// managerProc is the running manager.
type managerProc struct {
	cmd        *exec.Cmd
	exited     chan struct{}
	logPath    string
	metricsURL string
}

// startManager runs the manager binary in manager mode on the cluster of kubeconfig, metrics on plain HTTP.
func startManager(ctx context.Context, manager, kubeconfig, tmp string) (*managerProc, error) {
	metricsAddr, err := utils.FreeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := utils.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--mode", "manager", "--kubeconfig", kubeconfig,
		"--metrics-bind-address", metricsAddr, "--metrics-secure=false", "--health-probe-bind-address", probeAddr,
		"--gitea-allowed-hosts", "127.0.0.1"}
	m := &managerProc{exited: make(chan struct{}), logPath: filepath.Join(tmp, "manager.log"),
		metricsURL: "http://" + metricsAddr + "/metrics"}
	logFile, err := os.Create(m.logPath)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(tmp, "manager-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	m.cmd = exec.CommandContext(ctx, manager, args...)
	// Interrupting the benchmark must not kill the manager mid-write: it gets SIGTERM instead.
	m.cmd.Cancel = func() error { return m.cmd.Process.Signal(syscall.SIGTERM) }
	m.cmd.WaitDelay = time.Minute
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	m.cmd.Env = append(os.Environ(), "HOME="+home)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	step("starting the manager: " + manager + " " + strings.Join(args, " "))
	if err := m.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() {
		_ = m.cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	return m, nil
}

// stop sends SIGTERM and waits for the manager's exit; SIGKILL after a minute.
func (m *managerProc) stop() {
	select {
	case <-m.exited:
		return
	default:
	}
	step("stopping the manager (SIGTERM)")
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(time.Minute):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	if !m.cmd.ProcessState.Success() {
		fmt.Fprintf(os.Stderr, "bench-gitea: the manager did not exit cleanly (%v); its log:\n%s", m.cmd.ProcessState, m.logTail())
	}
}

// logTail is the end of the manager's log.
func (m *managerProc) logTail() string {
	data, err := os.ReadFile(m.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// requests counts Gitea requests by HTTP method, and those that failed (no response, or a 5xx).
type requests struct {
	byMethod map[string]float64
	failed   float64
}

func (r requests) sub(o requests) requests {
	out := requests{byMethod: map[string]float64{}, failed: r.failed - o.failed}
	for k, v := range r.byMethod {
		if d := v - o.byMethod[k]; d != 0 {
			out.byMethod[k] = d
		}
	}
	return out
}

// reads are GET (and HEAD) requests, writes all others.
func (r requests) reads() float64 { return r.byMethod[http.MethodGet] + r.byMethod[http.MethodHead] }

func (r requests) total() float64 {
	t := 0.0
	for _, v := range r.byMethod {
		t += v
	}
	return t
}

func (r requests) writes() float64 { return r.total() - r.reads() }

// requests reads gitea_client_requests_total from the manager's metrics (retries counted: the counter
// counts attempts).
func (m *managerProc) requests() (requests, error) {
	out := requests{byMethod: map[string]float64{}}
	client := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	var err error
	// The metrics endpoint comes up with the manager: give it a little time.
	for range 100 {
		if resp, err = client.Get(m.metricsURL); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return out, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s: %s", m.metricsURL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return out, fmt.Errorf("%s: %w", m.metricsURL, err)
	}
	fam := families["gitea_client_requests_total"]
	if fam == nil {
		return out, nil
	}
	for _, s := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		v := s.GetCounter().GetValue()
		out.byMethod[labels["method"]] += v
		if code := labels["code"]; code == "error" || strings.HasPrefix(code, "5") {
			out.failed += v
		}
	}
	return out, nil
}
