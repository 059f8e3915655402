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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/bench/benchproc"
	"kemper.buzz/nuop/test/utils"
)

// Where the objects live and how the script finds them.
const (
	benchNamespace     = "bench"
	unrelatedNamespace = "bench-unrelated"
	scriptName         = "bench"
	selectorLabel      = "bench"
	writtenLabel       = "benched"
	labelYes           = "yes"
	createWorkers      = 16
)

// modNu is the benchmark's script: SCRIPT-PROTOCOL section 3's write-back, and section 8's in batch form,
// nothing else. %s holds extra config lines (concurrency, batch) or nothing.
const modNu = `# bench: the script engine benchmark's script (test/bench/engine). For a ConfigMap labelled bench=yes it
# prints the object with the label benched=yes and exits 2 (the engine writes it back), or exits 0 when the
# label is there; reconcile-batch does the same for a list, one entry per object. Requeue times of an hour:
# no timer fires during the benchmark.

def main [] { help main }

def "main config" [] {
    {
        name: "bench"
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { bench: "yes" }
        requeue_after_change: 3600
        requeue_after_noop: 3600%s
    } | to yaml
}

def "main reconcile" [] {
    let obj = $in | from yaml
    if ($obj.metadata.labels?.benched? == "yes") {
        exit 0
    }
    print ($obj | upsert metadata.labels.benched "yes" | to yaml)
    exit 2
}

def "main reconcile-batch" [] {
    let answer = $in | from yaml | each {|obj|
        let id = { namespace: $obj.metadata.namespace, name: $obj.metadata.name }
        if ($obj.metadata.labels?.benched? == "yes") {
            $id | insert result "unchanged"
        } else {
            $id | insert result "changed" | insert object ($obj | upsert metadata.labels.benched "yes")
        }
    }
    print ($answer | to yaml)
    exit 0
}
`

// mode is one way of running the script: one nu run per object, or batches.
type mode struct {
	name string
	// op is the operation whose runs are the nu runs: reconcile or reconcile-batch.
	op string
	// scriptDir holds the script's mod.nu with this mode's config; the manager loads its parent.
	scriptDir string
}

// harness holds the parts of one benchmark run.
type harness struct {
	c          config
	tmp        string
	nu         string
	binDir     string
	manager    string
	modes      []mode
	kubeconfig string

	env    *envtest.Environment
	cfg    *rest.Config
	client kubernetes.Interface
	// sample is one labelled object as the engine hands it to the script, for the floor.
	sample []byte
	// floorCPU and floorWall are the CPU and wall times of the floor's nu runs.
	floorCPU, floorWall []time.Duration
}

func newHarness(c config, tmp string) (*harness, error) {
	nu, err := utils.Tool("nu")
	if err != nil {
		return nil, err
	}
	binDir, err := utils.BinDir()
	if err != nil {
		return nil, err
	}
	h := &harness{c: c, tmp: tmp, nu: nu, binDir: binDir, manager: c.manager, kubeconfig: filepath.Join(tmp, "kubeconfig")}
	if h.manager == "" {
		benchproc.Step("building the manager (go build ./cmd)")
		if h.manager, err = utils.BuildManager(tmp); err != nil {
			return nil, err
		}
	}
	common := ""
	if c.concurrency > 0 {
		common = "\n        concurrency: " + strconv.Itoa(c.concurrency)
	}
	batchConfig := common + "\n        batch: " + strconv.Itoa(c.batch)
	if c.batchWindow > 0 {
		batchConfig += "\n        batchWindow: " + strconv.FormatInt(c.batchWindow.Milliseconds(), 10)
	}
	all := []struct {
		mode
		config string
	}{
		{mode{name: modePerObject, op: "reconcile"}, common},
		{mode{name: modeBatch, op: "reconcile-batch"}, batchConfig},
	}
	for _, m := range all {
		// The per-object script is written in any mode: the floor runs it.
		m.scriptDir = filepath.Join(tmp, "scripts-"+m.name, scriptName)
		if err := os.MkdirAll(m.scriptDir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(m.scriptDir, "mod.nu"), fmt.Appendf(nil, modNu, m.config), 0o644); err != nil {
			return nil, err
		}
		if c.mode == modeBoth || c.mode == m.name {
			h.modes = append(h.modes, m.mode)
		}
	}
	return h, nil
}

// perObjectDir is the script directory the floor's runs use: the same script, without batch.
func (h *harness) perObjectDir() string {
	return filepath.Join(h.tmp, "scripts-"+modePerObject, scriptName)
}

func (h *harness) startCluster() error {
	env, err := utils.NewEnvironment()
	if err != nil {
		return err
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting envtest: %w", err)
	}
	h.env = env
	if err := utils.WriteKubeconfig(env, cfg, h.kubeconfig); err != nil {
		return err
	}
	// The harness's own client is not what is measured: no client-side rate limit.
	h.cfg = rest.CopyConfig(cfg)
	h.cfg.QPS, h.cfg.Burst = -1, 0
	h.client, err = kubernetes.NewForConfig(h.cfg)
	return err
}

func (h *harness) stopCluster() error {
	if h.env == nil {
		return nil
	}
	benchproc.Step("stopping envtest")
	return h.env.Stop()
}

// createObjects creates the unrelated ConfigMaps, then the labelled ones, then keeps one labelled object
// as the engine would give it to the script.
func (h *harness) createObjects(ctx context.Context) error {
	for _, ns := range []string{benchNamespace, unrelatedNamespace} {
		if _, err := h.client.CoreV1().Namespaces().Create(ctx,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if h.c.unrelated > 0 {
		benchproc.Step(fmt.Sprintf("creating %d unrelated ConfigMaps (%d bytes of data each)", h.c.unrelated, h.c.unrelatedBytes))
		payload := strings.Repeat("x", h.c.unrelatedBytes)
		if err := createMany(ctx, h.client, unrelatedNamespace, h.c.unrelated, func(i int) *corev1.ConfigMap {
			return &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i), Labels: map[string]string{"app": "unrelated"}},
				Data:       map[string]string{"payload": payload},
			}
		}); err != nil {
			return err
		}
	}
	benchproc.Step(fmt.Sprintf("creating %d ConfigMaps labelled %s=%s", h.c.n, selectorLabel, labelYes))
	if err := createMany(ctx, h.client, benchNamespace, h.c.n, func(i int) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Labels: map[string]string{selectorLabel: labelYes}},
			Data:       map[string]string{"index": strconv.Itoa(i), "greeting": "hello"},
		}
	}); err != nil {
		return err
	}
	cm, err := h.client.CoreV1().ConfigMaps(benchNamespace).Get(ctx, "cm-00000", metav1.GetOptions{})
	if err != nil {
		return err
	}
	// As SCRIPT-PROTOCOL section 3 says the engine writes it: apiVersion and kind set, managed fields gone.
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	cm.ManagedFields = nil
	h.sample, err = json.Marshal(cm)
	return err
}

// createMany creates n ConfigMaps made by mk with a few workers.
func createMany(ctx context.Context, c kubernetes.Interface, ns string, n int, mk func(int) *corev1.ConfigMap) error {
	err := forEach(ctx, n, func(i int) error {
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, mk(i), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("creating ConfigMaps in %s: %w", ns, err)
	}
	return nil
}

// unmark removes the written label from the labelled ConfigMaps, so the next mode starts where the first did.
func (h *harness) unmark(ctx context.Context) error {
	benchproc.Step(fmt.Sprintf("removing the %s label from the %d ConfigMaps for the next run", writtenLabel, h.c.n))
	patch := []byte(`{"metadata":{"labels":{"` + writtenLabel + `":null}}}`)
	err := forEach(ctx, h.c.n, func(i int) error {
		_, err := h.client.CoreV1().ConfigMaps(benchNamespace).Patch(ctx, fmt.Sprintf("cm-%05d", i),
			types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("removing the %s label: %w", writtenLabel, err)
	}
	return nil
}

// forEach calls do for 0 to n-1 with a few workers, stopping at the first error.
func forEach(ctx context.Context, n int, do func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, createWorkers)
	for range createWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}
