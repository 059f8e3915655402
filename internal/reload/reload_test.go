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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
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
	runner.Snapshots = &script.Snapshots{}
	t.Cleanup(runner.Snapshots.Close)
	rec := &recorder{}
	return &Loader{
		Roots:  roots,
		Loader: &script.Loader{Runner: runner, Snapshots: runner.Snapshots},
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

// writeVersion writes a script whose reconcile prints version. A broken one sets a finalizer without a
// finalize command: it would print its version if it ran, but it fails to load.
func writeVersion(t *testing.T, dir, version string, broken bool) {
	t.Helper()
	extra := ""
	if broken {
		extra = `, finalizer: "example.com/cleanup"`
	}
	src := fmt.Sprintf(`def main [] { help main }
def "main config" [] { { name: "versioned", version: "v1", kind: "ConfigMap"%s } | to yaml }
def "main reconcile" [] { print %q }
`, extra, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mod.nu"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reconcile runs the one script handed over as the engine would: by its directory.
func (r *recorder) reconcile(t *testing.T, l *Loader) (string, error) {
	t.Helper()
	r.mu.Lock()
	scripts := r.scripts
	r.mu.Unlock()
	if len(scripts) != 1 {
		t.Fatalf("%d scripts handed over, want one", len(scripts))
	}
	res, err := l.Loader.Runner.Run(context.Background(),
		script.Request{Dir: scripts[0].Dir, Operation: script.OpReconcile, Timeout: 20 * time.Second})
	return strings.TrimSpace(string(res.Stdout)), err
}

// snapshots points os.TempDir at a fresh directory and returns a count of the script copies under it.
func snapshots(t *testing.T) func() int {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return func() int {
		dirs, err := filepath.Glob(filepath.Join(tmp, "nuop-scripts-*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		return len(dirs)
	}
}

func TestBrokenEditKeepsRunningTheLastGoodCode(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "versioned")
	copies := snapshots(t)
	writeVersion(t, dir, "v1", false)
	l, rec := newLoader(t, root)
	l.Load(context.Background())
	if got, err := rec.reconcile(t, l); got != "v1" || err != nil {
		t.Fatalf("reconcile printed %q (%v), want v1", got, err)
	}

	writeVersion(t, dir, "v2", true)
	l.Load(context.Background())
	if _, failed, _ := rec.state(); !slices.Equal(failed, []string{"the edit failed to load, the last good version runs"}) {
		t.Errorf("reported %q, want the script degraded", failed)
	}
	if got, err := rec.reconcile(t, l); got != "v1" || err != nil {
		t.Errorf("after an edit that failed to load reconcile printed %q (%v), want the last good v1", got, err)
	}

	writeVersion(t, dir, "v3", false)
	l.Load(context.Background())
	if got, err := rec.reconcile(t, l); got != "v3" || err != nil {
		t.Errorf("after a good edit reconcile printed %q (%v), want v3", got, err)
	}
	if n := copies(); n != 1 {
		t.Errorf("%d copies after three loads, want the current version's only", n)
	}

	// Removed: its copy goes, and nothing of it runs any more.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	kept := rec.scripts
	rec.mu.Unlock()
	l.Load(context.Background())
	if n := copies(); n != 0 {
		t.Errorf("%d copies after the script was removed", n)
	}
	res, err := l.Loader.Runner.Run(context.Background(), script.Request{Dir: kept[0].Dir, Operation: script.OpReconcile})
	if !errors.Is(err, procs.ErrShuttingDown) {
		t.Errorf("a run of the removed script: %v (stdout %q), want it refused", err, res.Stdout)
	}
}

func TestStopRemovesTheSnapshots(t *testing.T) {
	root := t.TempDir()
	copies := snapshots(t)
	writeScript(t, root, "a", "a", "ConfigMap")
	writeScript(t, root, "b", "b", "Secret")
	l, rec := newLoader(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	waitFor(t, func() bool { _, _, calls := rec.state(); return calls >= 1 })
	if n := copies(); n != 2 {
		t.Errorf("%d copies while two scripts are loaded, want 2", n)
	}
	writeScript(t, root, "a", "a", "Namespace")
	waitFor(t, func() bool { _, _, calls := rec.state(); return calls >= 2 })
	if n := copies(); n != 2 {
		t.Errorf("%d copies after a reload of two scripts, want 2", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := copies(); n != 0 {
		t.Errorf("%d copies left after stop", n)
	}
	if roots, _ := filepath.Glob(filepath.Join(os.TempDir(), "nuop-scripts-*")); len(roots) != 0 {
		t.Errorf("private directory left after stop: %v", roots)
	}
}

func TestNoSnapshotRunsInPlaceAndSaysSo(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "versioned")
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	writeVersion(t, dir, "v1", false)
	l, rec := newLoader(t, root)
	var logged []string
	l.Log = funcr.New(func(prefix, args string) { logged = append(logged, args) }, funcr.Options{})
	t.Setenv("TMPDIR", notADir) // no copy can be made under it
	l.Load(context.Background())

	run, failed, _ := rec.state()
	if len(run) != 1 || len(failed) != 0 {
		t.Fatalf("scripts run %v, failed %v: a script that cannot be copied must run anyway", run, failed)
	}
	rec.mu.Lock()
	inPlace := rec.scripts[0].InPlace
	rec.mu.Unlock()
	if !strings.Contains(inPlace, "runs from its directory, not from a private copy (no private directory") {
		t.Errorf("InPlace = %q", inPlace)
	}
	warned := 0
	for _, line := range logged {
		if strings.Contains(line, "script runs from its directory, not from a private copy") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d warnings in the log, want one: %q", warned, logged)
	}
	writeVersion(t, dir, "v2", false)
	if got, err := rec.reconcile(t, l); got != "v2" || err != nil {
		t.Errorf("reconcile printed %q (%v), want what is on disk now (v2): it runs in place", got, err)
	}
}
