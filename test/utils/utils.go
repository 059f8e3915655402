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

// Package utils finds the project's provisioned tools and starts the real parts tests and the demo run
// against: envtest's kube-apiserver and etcd, and the manager binary.
//
// A missing tool is an error that says how to provision it, never a skipped test.
package utils

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// module is the repository's Go module.
const module = "kemper.buzz/nuop"

// RepoRoot walks up from the working directory to the directory holding the go.mod of kemper.buzz/nuop,
// past the go.mod of a nested module (test/monitoring has its own).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modfile.ModulePath(data) == module {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", module)
		}
		dir = parent
	}
}

// BinDir is where `make tools` links the tools: $NUOP_BIN_DIR, else <repo>/bin.
func BinDir() (string, error) {
	if d := os.Getenv("NUOP_BIN_DIR"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// Tool returns the path of a provisioned tool (nu, kubectl, gitea, kustomize, ...) or an error saying
// which make target provisions it.
func Tool(name string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is not provisioned at %s: run `make %s` (or `make tools`) first", name, path, name)
	}
	return path, nil
}

// EnvtestAssets is the directory holding kube-apiserver and etcd: $KUBEBUILDER_ASSETS, else the single
// bin/k8s/<version>-<os>-<arch> directory `make envtest` creates.
func EnvtestAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		bin, err := BinDir()
		if err != nil {
			return "", err
		}
		matches, _ := filepath.Glob(filepath.Join(bin, "k8s", "*"))
		if len(matches) != 1 {
			return "", fmt.Errorf("found %d envtest asset directories under %s: run `make envtest` "+
				"(or set KUBEBUILDER_ASSETS)", len(matches), filepath.Join(bin, "k8s"))
		}
		dir = matches[0]
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("%s is missing from %s: run `make envtest`", name, dir)
		}
	}
	return dir, nil
}

// NewEnvironment returns an envtest environment on the provisioned binaries, installing the CRDs under
// crdDirs (relative to the repository root). Start it with Start.
func NewEnvironment(crdDirs ...string) (*envtest.Environment, error) {
	assets, err := EnvtestAssets()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	for _, d := range crdDirs {
		env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(root, d))
	}
	return env, nil
}

// WriteKubeconfig adds a cluster-admin user to env and writes a kubeconfig for it to path.
func WriteKubeconfig(env *envtest.Environment, cfg *rest.Config, path string) error {
	user, err := env.AddUser(envtest.User{Name: "nuop-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// BuildManager compiles ./cmd into dir and returns the binary's path.
func BuildManager(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-o", out, "./cmd")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %v\n%s", err, b)
	}
	return out, nil
}

// FreeAddr returns a loopback address with a port nothing listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// WaitForStatus polls url until it answers with the wanted status or the timeout passes.
func WaitForStatus(url string, want int, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %d within %s (last: %s)", url, want, timeout, last)
}
