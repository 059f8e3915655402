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

// Command demo runs nuop on a local control plane it starts itself (`make demo`): etcd and
// kube-apiserver from envtest's binaries in a temporary directory, on free ports, with the CRDs
// installed and a kubeconfig written; the manager, and a standard-mode operator running the example
// scripts, against it; config/samples and the examples' objects applied. It shows the scripts working,
// prints what to look at, and stops everything on Ctrl-C.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/utils"
)

func main() {
	var c config
	flag.StringVar(&c.assets, "assets", "", "directory holding kube-apiserver and etcd (make envtest)")
	flag.StringVar(&c.manager, "manager", "bin/manager", "the manager binary (make build)")
	flag.StringVar(&c.kubectl, "kubectl", "bin/kubectl", "kubectl (make kubectl)")
	flag.StringVar(&c.kustomize, "kustomize", "bin/kustomize", "kustomize (make kustomize)")
	flag.StringVar(&c.crds, "crds", "config/crd/bases", "directory of the CRDs to install")
	flag.StringVar(&c.samples, "samples", "config/samples", "kustomization of the samples to apply")
	flag.StringVar(&c.scripts, "scripts", "scripts", "script root the standard-mode operator loads")
	flag.StringVar(&c.examples, "examples", "hack/demo/examples.yaml", "objects for the example scripts")
	flag.Parse()
	if os.Getenv(childEnv) == "" {
		os.Exit(superviseChild())
	}
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// childEnv marks the re-executed demo. The demo runs itself again in a process group of its own because
// a terminal's Ctrl-C goes to the whole foreground group: etcd and kube-apiserver, started by envtest
// without a group of their own, would die at once, before the manager could shut down against them.
// The parent turns Ctrl-C into one SIGTERM for the child, which stops everything in order.
const childEnv = "NUOP_DEMO_CHILD"

func superviseChild() int {
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	forward := make(chan os.Signal, 1)
	signal.Notify(forward, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	child := exec.Command(os.Args[0], os.Args[1:]...)
	child.Env = append(os.Environ(), childEnv+"=1")
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := child.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	go func() {
		for range forward {
			_ = child.Process.Signal(syscall.SIGTERM)
		}
	}()
	_ = child.Wait()
	return child.ProcessState.ExitCode()
}

type config struct {
	assets, manager, kubectl, kustomize, crds, samples, scripts, examples string
}

func run(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "nuop-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	step("starting etcd and kube-apiserver (envtest binaries from %s)", c.assets)
	env := &envtest.Environment{
		BinaryAssetsDirectory: c.assets,
		// The project's CRDs, and the example Greeting CRD of the greeting script.
		CRDDirectoryPaths: []string{c.crds, filepath.Join(c.scripts, "greeting", "crd")},
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		step("stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "demo: stopping the control plane: %v\n", err)
		}
	}()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := utils.WriteKubeconfig(env, cfg, kubeconfig); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	step("API server at %s; %d CRDs installed", cfg.Host, len(env.CRDs))

	// The manager (NuOperator, Gitea) and a standard-mode operator running the example scripts.
	// The image its NuOperators' Deployments run; the demo's control plane has no kubelet to run them.
	mgr, err := startProcess(dir, "manager", c.manager, kubeconfig, nil, "NUOP_IMAGE=nuop:demo")
	if err != nil {
		return err
	}
	defer mgr.stop()
	scriptsDir, err := filepath.Abs(c.scripts)
	if err != nil {
		return err
	}
	std, err := startProcess(dir, "standard", c.manager, kubeconfig,
		[]string{"--mode", "standard", "--script-path", scriptsDir},
		// The scripts call kubectl; the image has it on PATH.
		"PATH="+filepath.Dir(c.kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err != nil {
		return err
	}
	defer std.stop()
	for _, p := range []*process{mgr, std} {
		if err := p.waitReady(); err != nil {
			return err
		}
		step("%s ready", p.name)
	}

	if err := applySamples(c, kubeconfig); err != nil {
		return err
	}
	if err := kubectlApply(c, kubeconfig, c.examples); err != nil {
		return err
	}
	step("waiting for the example scripts to act on %s", c.examples)
	if err := waitForOutput(c, kubeconfig, time.Minute, "hello from the demo",
		"-n", "demo-a", "get", "configmap", "demo-settings", "-o", "jsonpath={.data.greeting}"); err != nil {
		return fmt.Errorf("config-replicator did not copy demo-settings into demo-a (see %s): %w", std.logFile, err)
	}
	step("config-replicator copied default/demo-settings into demo-a and demo-b")
	if err := waitForOutput(c, kubeconfig, time.Minute, "Hello, World",
		"-n", "default", "get", "greeting", "world", "-o", "jsonpath={.status.message}"); err != nil {
		return fmt.Errorf("greeting did not write the status of greeting/world (see %s): %w", std.logFile, err)
	}
	step("greeting wrote status.message of greeting/world")

	k := fmt.Sprintf("%s --kubeconfig %s", c.kubectl, kubeconfig)
	fmt.Printf(`
nuop is running on a local control plane: the manager, and a standard-mode operator running the example
scripts of %[5]s. Try, in another terminal:

  %[1]s get configmaps -A -l app.kubernetes.io/managed-by=nuop      # copies made by config-replicator
  %[1]s -n default label configmap demo-settings nuop.kemper.buzz/replicate-   # unmatch: finalizer released
  %[1]s -n default get configmap demo-labelled --show-labels          # labels added by label-enforcer
  %[1]s get greetings -A                                              # status written by greeting
  %[1]s get events -A --field-selector reason!=LeaderElection
  %[1]s -n default get leases                                         # each operator holds its lease
  curl -s http://%[2]s/readyz; curl -s http://%[3]s/ready             # probes (also /healthz, /health)
  curl -s http://%[4]s/metrics | grep ^nuop_                          # the script engine's metrics
  tail -f %[6]s %[7]s

Edit a script under %[5]s and watch it reload. Press Ctrl-C to stop everything; nothing is left behind.
`, k, mgr.probes, std.probes, std.metrics, scriptsDir, mgr.logFile, std.logFile)

	select {
	case <-ctx.Done():
		fmt.Println()
		step("stopping")
		return nil
	case err := <-mgr.exited:
		mgr.exited <- err
		return fmt.Errorf("the manager exited unexpectedly (%v); its log: %s", err, mgr.logFile)
	case err := <-std.exited:
		std.exited <- err
		return fmt.Errorf("the standard-mode operator exited unexpectedly (%v); its log: %s", err, std.logFile)
	}
}

// process is one nuop process the demo runs.
type process struct {
	name, logFile, probes, metrics string
	cmd                            *exec.Cmd
	exited                         chan error
}

// startProcess runs the manager binary against the demo's API server on free ports, logging to a file.
func startProcess(dir, name, binary, kubeconfig string, args []string, env ...string) (*process, error) {
	p := &process{name: name, logFile: filepath.Join(dir, name+".log"), exited: make(chan error, 1)}
	var err error
	if p.probes, err = utils.FreeAddr(); err != nil {
		return nil, err
	}
	if p.metrics, err = utils.FreeAddr(); err != nil {
		return nil, err
	}
	log, err := os.Create(p.logFile)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary, append([]string{
		"--kubeconfig", kubeconfig,
		"--leader-elect", "--leader-election-namespace", "default",
		"--health-probe-bind-address", p.probes,
		"--metrics-bind-address", p.metrics, "--metrics-secure=false"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	// Stopped with the demo should the demo itself be killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	step("starting the %s (log: %s)", name, p.logFile)
	if err := p.cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		p.exited <- p.cmd.Wait()
		_ = log.Close()
	}()
	return p, nil
}

func (p *process) waitReady() error {
	if err := utils.WaitForStatus("http://"+p.probes+"/readyz", 200, time.Minute); err != nil {
		return fmt.Errorf("the %s did not become ready (see %s): %w", p.name, p.logFile, err)
	}
	return nil
}

// stop sends SIGTERM and waits for the graceful shutdown; SIGKILL if it takes too long.
func (p *process) stop() {
	step("stopping the %s", p.name)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			fmt.Fprintf(os.Stderr, "demo: %s: %v\n", p.name, err)
		}
	case <-time.After(3 * time.Minute):
		_ = p.cmd.Process.Kill()
		fmt.Fprintf(os.Stderr, "demo: the %s did not stop within 3 minutes and was killed: %v\n", p.name, <-p.exited)
	}
}

func kubectlApply(c config, kubeconfig, file string) error {
	apply := exec.Command(c.kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", file)
	apply.Stdout, apply.Stderr = os.Stdout, os.Stderr
	if err := apply.Run(); err != nil {
		return fmt.Errorf("applying %s: %w", file, err)
	}
	return nil
}

// waitForOutput polls a kubectl command until its output is want.
func waitForOutput(c config, kubeconfig string, timeout time.Duration, want string, args ...string) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		out, err := exec.Command(c.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		last = strings.TrimSpace(string(out))
		if err == nil && last == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kubectl %s: got %q, want %q", strings.Join(args, " "), last, want)
}

// applySamples applies config/samples when it holds any object.
func applySamples(c config, kubeconfig string) error {
	out, err := exec.Command(c.kustomize, "build", c.samples).Output()
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", c.samples, err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		step("config/samples holds no objects yet")
		return nil
	}
	apply := exec.Command(c.kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "-")
	apply.Stdin = bytes.NewReader(out)
	apply.Stdout, apply.Stderr = os.Stdout, os.Stderr
	if err := apply.Run(); err != nil {
		return fmt.Errorf("applying %s: %w", c.samples, err)
	}
	return nil
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}
