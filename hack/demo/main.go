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
// installed, a kubeconfig written, the manager running against it and config/samples applied. It
// prints what to look at and stops everything on Ctrl-C.
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
	assets, manager, kubectl, kustomize, crds, samples string
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
		CRDDirectoryPaths:     []string{c.crds},
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

	probes, err := utils.FreeAddr()
	if err != nil {
		return err
	}
	metrics, err := utils.FreeAddr()
	if err != nil {
		return err
	}
	logFile := filepath.Join(dir, "manager.log")
	log, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	manager := exec.Command(c.manager,
		"--kubeconfig", kubeconfig,
		"--leader-elect", "--leader-election-namespace", "default",
		"--health-probe-bind-address", probes,
		"--metrics-bind-address", metrics, "--metrics-secure=false")
	manager.Stdout, manager.Stderr = log, log
	// Stopped with the demo should the demo itself be killed.
	manager.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	step("starting the manager (log: %s)", logFile)
	if err := manager.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.manager, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- manager.Wait() }()
	defer stopManager(manager, exited)

	if err := utils.WaitForStatus("http://"+probes+"/readyz", 200, time.Minute); err != nil {
		return fmt.Errorf("the manager did not become ready (see %s): %w", logFile, err)
	}
	step("manager ready")

	if err := applySamples(c, kubeconfig); err != nil {
		return err
	}

	k := fmt.Sprintf("%s --kubeconfig %s", c.kubectl, kubeconfig)
	fmt.Printf(`
nuop is running on a local control plane. Try, in another terminal:

  %[1]s get --raw /version
  %[1]s api-resources --api-group=kemper.buzz; %[1]s api-resources --api-group=gitea.kemper.buzz
  %[1]s get all,leases -A
  %[1]s -n default get lease manager.nuop.kemper.buzz -o yaml      # the manager holds the leader lease
  curl -s http://%[2]s/readyz; curl -s http://%[2]s/ready            # probes (also /healthz, /health)
  curl -s http://%[3]s/metrics | grep -E '^(leader_election|controller_runtime|rest_client)'
  tail -f %[4]s

Press Ctrl-C to stop the manager and the control plane; nothing is left behind.
`, k, probes, metrics, logFile)

	select {
	case <-ctx.Done():
		fmt.Println()
		step("stopping")
		return nil
	case err := <-exited:
		exited <- err
		return fmt.Errorf("the manager exited unexpectedly (%v); its log: %s", err, logFile)
	}
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

// stopManager sends SIGTERM and waits for the graceful shutdown; SIGKILL if it takes too long.
func stopManager(manager *exec.Cmd, exited chan error) {
	step("stopping the manager")
	_ = manager.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			fmt.Fprintf(os.Stderr, "demo: manager: %v\n", err)
		}
	case <-time.After(3 * time.Minute):
		_ = manager.Process.Kill()
		fmt.Fprintf(os.Stderr, "demo: the manager did not stop within 3 minutes and was killed: %v\n", <-exited)
	}
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}
