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

package reload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"

	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/health"
	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/utils"
)

// recorder stands in for the engine: this tests what the loader hands over, not what runs it.
type recorder struct {
	mu      sync.Mutex
	scripts []*script.Script
	failed  []engine.ScriptStatus
	calls   int
}

func (r *recorder) SetScripts(scripts []*script.Script, failed []engine.ScriptStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scripts, r.failed = scripts, failed
	r.calls++
}

// names returns "name@root-base" for each script handed over, and each failure's message start.
func (r *recorder) state() (run []string, failed []string, calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.scripts {
		run = append(run, s.Config.Name+"@"+filepath.Base(filepath.Dir(s.Dir)))
	}
	for _, f := range r.failed {
		failed = append(failed, strings.SplitN(f.Message, ":", 2)[0])
	}
	slices.Sort(run)
	slices.Sort(failed)
	return run, failed, r.calls
}

func writeScript(t *testing.T, root, dir, name, kind string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`def main [] { help main }
def "main config" [] { { name: %q, version: "v1", kind: %q } | to yaml }
def "main reconcile" [] { exit 0 }
`, name, kind)
	if err := os.WriteFile(filepath.Join(root, dir, "mod.nu"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newLoader(t *testing.T, roots ...string) (*Loader, *recorder) {
	t.Helper()
	nu, err := utils.Tool("nu")
	if err != nil {
		t.Fatal(err)
	}
	runner := script.NewRunner(procs.NewSupervisor(time.Second), 2)
	runner.Nu = nu
	rec := &recorder{}
	return &Loader{
		Roots:  roots,
		Loader: &script.Loader{Runner: runner},
		Engine: rec,
		Loaded: health.NewGate("loading"),
		Log:    logr.Discard(),
	}, rec
}

func TestEarlierRootShadowsLaterOne(t *testing.T) {
	base := t.TempDir()
	fetched, bundled := filepath.Join(base, "fetched"), filepath.Join(base, "bundled")
	writeScript(t, fetched, "replicator", "replicator", "ConfigMap")
	writeScript(t, bundled, "replicator", "replicator", "ConfigMap")
	writeScript(t, bundled, "other", "other", "Secret")

	l, rec := newLoader(t, fetched, bundled)
	l.Load(context.Background())
	run, failed, _ := rec.state()
	if diff := cmp.Diff([]string{"other@bundled", "replicator@fetched"}, run); diff != "" {
		t.Errorf("scripts run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"not run"}, failed); diff != "" {
		t.Errorf("the shadowed script is reported (-want +got):\n%s", diff)
	}
	if err := l.Loaded.Check(nil); err != nil {
		t.Errorf("gate closed with scripts loaded: %v", err)
	}
}

func TestSelectChoosesAndReports(t *testing.T) {
	root := t.TempDir()
	writeScript(t, root, "a", "a", "ConfigMap")
	writeScript(t, root, "b", "b", "ConfigMap")
	l, rec := newLoader(t, root)
	l.Select = func(loaded []*script.Script) ([]*script.Script, []engine.ScriptStatus) {
		var keep []*script.Script
		var problems []engine.ScriptStatus
		for _, s := range loaded {
			if s.Config.Name == "a" {
				keep = append(keep, s)
			} else {
				problems = append(problems, engine.ScriptStatus{Name: s.Config.Name, Message: "unmapped: no mapping names it"})
			}
		}
		return keep, problems
	}
	l.Load(context.Background())
	run, failed, _ := rec.state()
	if diff := cmp.Diff([]string{"a@" + filepath.Base(root)}, run); diff != "" {
		t.Errorf("scripts run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"unmapped"}, failed); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestNothingSelectedClosesTheGateWithTheReasons(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "broken", "mod.nu"), []byte(`def "main config" [] { {} | to yaml }`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _ := newLoader(t, root)
	l.Load(context.Background())
	err := l.Loaded.Check(nil)
	if err == nil || !strings.Contains(err.Error(), "no script loaded from "+root+": broken: ") {
		t.Errorf("gate: %v", err)
	}
}

func TestTriggerAndFileEventsReload(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "sources") // does not exist yet: a first fetch creates it
	l, rec := newLoader(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, func() bool { _, _, calls := rec.state(); return calls >= 1 })

	writeScript(t, root, "late", "late", "ConfigMap")
	waitFor(t, func() bool { run, _, _ := rec.state(); return slices.Contains(run, "late@sources") })

	_, _, before := rec.state()
	l.Trigger()
	waitFor(t, func() bool { _, _, calls := rec.state(); return calls > before })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
