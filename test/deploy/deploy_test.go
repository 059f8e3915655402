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

// Package deploy tests what users install: the kustomize builds of config/default, the overlays and
// config/manifests, built with the project's kustomize and applied with its kubectl to a real API server
// (envtest's kube-apiserver and etcd), and the properties of those manifests that keep an install safe.
// The monitoring overlay has its own test module (it needs the prometheus-operator CRDs).
package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"kemper.buzz/nuop/test/utils"
)

// The kustomizations users build, relative to the repository root.
const (
	defaultConfig    = "config/default"
	productionConfig = "config/overlays/production"
	standardConfig   = "config/overlays/standard-mode"
	manifestsConfig  = "config/manifests"
)

var (
	// root is the repository root; kustomize and kubectl are the provisioned tools.
	root, kustomize, kubectl string
	// kubeconfig reaches the suite's API server as a cluster admin; restConfig is the same.
	kubeconfig string
	restConfig *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run starts the API server the suite applies to, runs the tests and stops it.
func run(m *testing.M) int {
	var err error
	if root, err = utils.RepoRoot(); err == nil {
		if kustomize, err = utils.Tool("kustomize"); err == nil {
			kubectl, err = utils.Tool("kubectl")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env, err := utils.NewEnvironment()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if restConfig, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	dir, err := os.MkdirTemp("", "nuop-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := utils.WriteKubeconfig(env, restConfig, kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "writing the kubeconfig:", err)
		return 1
	}
	return m.Run()
}

// build is the output of `kustomize build` of one kustomization.
type build struct {
	dir     string
	objects []*unstructured.Unstructured
}

// kustomizeBuild runs `kustomize build dir` (dir relative to base, the repository root or a copy of it).
func kustomizeBuild(t *testing.T, base, dir string) *build {
	t.Helper()
	_, objects, err := utils.KustomizeBuild(filepath.Join(base, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	return &build{dir: dir, objects: objects}
}

// all returns the objects of a kind.
func (b *build) all(kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range b.objects {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	return found
}

// one returns the object of a kind and name, failing the test if there is none.
func (b *build) one(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range b.all(kind) {
		if o.GetName() == name {
			return o
		}
	}
	t.Fatalf("%s: no %s %s in the build", b.dir, kind, name)
	return nil
}

// typed converts u to a typed object (*appsv1.Deployment, ...), failing the test if it does not fit.
func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// run1 runs a tool and returns its stdout, failing the test with its stderr when it fails.
func run1(t *testing.T, tool string, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := runTool(tool, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runTool runs a tool (kubectl with the suite's kubeconfig) in the repository root, with a time limit.
func runTool(tool string, stdin []byte, args ...string) ([]byte, error) {
	return runToolIn(root, tool, stdin, args...)
}

// runToolIn runs a tool in dir.
func runToolIn(dir, tool string, stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if tool == kubectl {
		args = append([]string{"--kubeconfig", kubeconfig}, args...)
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(tool), strings.Join(args, " "), err,
			stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

// copyTree copies the repository's directories dirs (config, scripts, ...) to a new temporary directory,
// for tests that edit a kustomization as `make deploy` does without touching the working tree.
func copyTree(t *testing.T, dirs ...string) string {
	t.Helper()
	dst := t.TempDir()
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			if e.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestOverlaysAreAllTested: every overlay has a test, here (production, standard-mode) or in the
// monitoring overlay's own module. A new overlay fails this test until it gets one and is listed here.
func TestOverlaysAreAllTested(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(root, "config", "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			found = append(found, e.Name())
		}
	}
	want := []string{"monitoring", "production", "standard-mode"}
	if !slices.Equal(found, want) {
		t.Errorf("config/overlays holds %v, want exactly %v: an overlay needs a test (test/deploy, or its own "+
			"module for monitoring) and its place in this list", found, want)
	}
}
