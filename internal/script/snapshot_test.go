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
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kemper.buzz/nuop/internal/procs"
)

// privateTemp points os.TempDir at a fresh directory for this test, so that its snapshots can be counted.
func privateTemp(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// snapshotDirs lists the copies under tmp's private snapshot directories.
func snapshotDirs(t *testing.T, tmp string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(tmp, "nuop-scripts-*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// writeVersion writes a script whose reconcile prints version; broken adds a finalizer without a finalize
// command, which Load refuses.
func writeVersion(t *testing.T, dir, version string, broken bool) {
	t.Helper()
	finalizer := ""
	if broken {
		finalizer = `, finalizer: "example.com/f"`
	}
	src := fmt.Sprintf(`use helper.nu
def main [] { help main }
def "main config" [] { { name: "versioned", version: "v1", kind: "ConfigMap"%s } | to yaml }
def "main reconcile" [] { print (helper greet) }
`, finalizer)
	helper := fmt.Sprintf("export def greet [] { %q }\n", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"mod.nu": src, "helper.nu": helper} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// reconcileOutput runs the script's reconcile as the engine does, by its directory.
func reconcileOutput(t *testing.T, r *Runner, dir string) string {
	t.Helper()
	res, err := r.Run(context.Background(), Request{Dir: dir, Operation: OpReconcile, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("reconcile exited %d: %s", res.ExitCode, res.Stderr)
	}
	return strings.TrimSpace(string(res.Stdout))
}

func newSnapshotLoader(t *testing.T) (*Loader, *Runner) {
	t.Helper()
	r := newRunner(t, 0)
	r.Snapshots = &Snapshots{}
	t.Cleanup(r.Snapshots.Close)
	return &Loader{Runner: r, Snapshots: r.Snapshots}, r
}

func TestSnapshotRunsTheCodeThatLoaded(t *testing.T) {
	tmp := privateTemp(t)
	dir := filepath.Join(t.TempDir(), "versioned")
	writeVersion(t, dir, "v1", false)
	l, r := newSnapshotLoader(t)

	v1, err := l.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Dir != dir || v1.InPlace != "" {
		t.Fatalf("loaded %s (in place: %q), want %s from a copy", v1.Dir, v1.InPlace, dir)
	}
	r.Snapshots.Keep([]*Script{v1})
	if got := reconcileOutput(t, r, dir); got != "v1" {
		t.Fatalf("reconcile printed %q, want v1", got)
	}

	// An edit, the helper module included, changes nothing until it has loaded; one that fails to load never
	// runs, and its copy is gone.
	writeVersion(t, dir, "v2", true)
	if _, err := l.Load(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "no `main finalize` command") {
		t.Fatalf("the broken edit loaded: %v", err)
	}
	if got := reconcileOutput(t, r, dir); got != "v1" {
		t.Errorf("after a broken edit reconcile printed %q, want the loaded v1", got)
	}
	if got := snapshotDirs(t, tmp); len(got) != 1 {
		t.Errorf("copies after the failed load: %v, want v1's only", got)
	}

	// nu's error quotes the file the author edited, not the copy it ran.
	if err := os.WriteFile(filepath.Join(dir, "mod.nu"), []byte("def main [] {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = l.Load(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "mod.nu")+":") || strings.Contains(err.Error(), "nuop-scripts-") {
		t.Errorf("a syntax error must name %s/mod.nu, not the copy: %v", dir, err)
	}

	writeVersion(t, dir, "v3", false)
	v3, err := l.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Snapshots.Keep([]*Script{v3})
	if got := reconcileOutput(t, r, dir); got != "v3" {
		t.Errorf("after a good edit reconcile printed %q, want v3", got)
	}
	if got := snapshotDirs(t, tmp); len(got) != 1 {
		t.Errorf("copies after the reload: %v, want v3's only", got)
	}

	// Unloaded: its runs are refused as at shutdown, and its copy is removed.
	r.Snapshots.Keep(nil)
	_, err = r.Run(context.Background(), Request{Dir: dir, Operation: OpReconcile})
	if !errors.Is(err, procs.ErrShuttingDown) {
		t.Errorf("run of an unloaded script: %v, want it refused", err)
	}
	if got := snapshotDirs(t, tmp); len(got) != 0 {
		t.Errorf("copies after unloading: %v", got)
	}
	r.Snapshots.Close()
	if roots, _ := filepath.Glob(filepath.Join(tmp, "nuop-scripts-*")); len(roots) != 0 {
		t.Errorf("private directory left after Close: %v", roots)
	}
}

func TestSnapshotOutlivesItsRunsInFlight(t *testing.T) {
	tmp := privateTemp(t)
	dir := filepath.Join(t.TempDir(), "waiter")
	signals := t.TempDir()
	started, proceed := filepath.Join(signals, "started"), filepath.Join(signals, "proceed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `def main [] { help main }
def "main config" [] { { name: "waiter", version: "v1", kind: "ConfigMap" } | to yaml }
def "main reconcile" [] {
    "" | save -f $env.STARTED
    while not ($env.PROCEED | path exists) { sleep 20ms }
    print (open helper.txt)
}
`
	for name, text := range map[string]string{"mod.nu": src, "helper.txt": "old"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, r := newSnapshotLoader(t)
	old, err := l.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Snapshots.Keep([]*Script{old})

	done := make(chan Result, 1)
	go func() {
		res, _ := r.Run(context.Background(), Request{Dir: dir, Operation: OpReconcile, Timeout: time.Minute,
			Env: []string{"STARTED=" + started, "PROCEED=" + proceed}})
		done <- res
	}()
	waitForFile(t, started)

	if err := os.WriteFile(filepath.Join(dir, "helper.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := l.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Snapshots.Keep([]*Script{next})
	if got := snapshotDirs(t, tmp); len(got) != 2 {
		t.Errorf("copies while the old version's run is in flight: %v, want both", got)
	}
	if err := os.WriteFile(proceed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := <-done; strings.TrimSpace(string(res.Stdout)) != "old" {
		t.Errorf("the run in flight printed %q (stderr %s), want its own version's file", res.Stdout, res.Stderr)
	}
	if got := snapshotDirs(t, tmp); len(got) != 1 {
		t.Errorf("copies once the old run ended: %v, want the current one only", got)
	}
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 20s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSnapshotFallsBackToRunningInPlace(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tmp       string
		maxBytes  int64
		wantCause string
	}{
		{"temp dir not writable", notADir, 0, "no private directory for copies of the scripts"},
		{"tree too large", "", 64, "the directory is too large to copy: its files hold more than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tmp == "" {
				tt.tmp = t.TempDir()
			}
			dir := filepath.Join(t.TempDir(), "versioned")
			writeVersion(t, dir, "v1", false)
			l, r := newSnapshotLoader(t)
			r.Snapshots.MaxBytes = tt.maxBytes
			// After the test's own temporary directories: only the snapshots use it.
			t.Setenv("TMPDIR", tt.tmp)

			s, err := l.Load(context.Background(), dir)
			if err != nil {
				t.Fatalf("the script must load in place: %v", err)
			}
			if !strings.Contains(s.InPlace, tt.wantCause) || !strings.Contains(s.InPlace, "runs from its directory") {
				t.Errorf("InPlace = %q, want it to say it runs in place because %s", s.InPlace, tt.wantCause)
			}
			r.Snapshots.Keep([]*Script{s})
			writeVersion(t, dir, "v2", false)
			if got := reconcileOutput(t, r, dir); got != "v2" {
				t.Errorf("reconcile printed %q, want what is on disk (v2): it runs in place", got)
			}
			if got := snapshotDirs(t, tt.tmp); len(got) != 0 {
				t.Errorf("copies left: %v", got)
			}
		})
	}
}

func TestSnapshotFollowsDiscoveryRules(t *testing.T) {
	privateTemp(t)
	base := t.TempDir()
	dir := filepath.Join(base, "script")
	// A ConfigMap volume: the keys are symlinks into ..data, itself a symlink to a hidden timestamped directory.
	data := filepath.Join(dir, "..2026_11_24")
	mustMkdir(t, data)
	mustWrite(t, filepath.Join(data, "mod.nu"), "# mod\n", 0o644)
	mustSymlink(t, "..2026_11_24", filepath.Join(dir, "..data"))
	mustSymlink(t, "..data/mod.nu", filepath.Join(dir, "mod.nu"))
	// Helpers beside it, a program, a sub-directory and a symlinked directory outside the tree.
	mustWrite(t, filepath.Join(dir, "helper.nu"), "# helper\n", 0o644)
	mustWrite(t, filepath.Join(dir, "tool.sh"), "#!/bin/sh\n", 0o755)
	mustWrite(t, filepath.Join(dir, ".env"), "A=1\n", 0o644)
	mustMkdir(t, filepath.Join(dir, "lib"))
	mustWrite(t, filepath.Join(dir, "lib", "util.nu"), "# util\n", 0o644)
	shared := filepath.Join(base, "shared")
	mustMkdir(t, shared)
	mustWrite(t, filepath.Join(shared, "common.nu"), "# common\n", 0o644)
	mustSymlink(t, shared, filepath.Join(dir, "shared"))
	// Left out: a loop back up, a hidden directory, a dangling link, a FIFO (reading it would block).
	mustSymlink(t, "..", filepath.Join(dir, "lib", "loop"))
	mustMkdir(t, filepath.Join(dir, ".git"))
	mustWrite(t, filepath.Join(dir, ".git", "HEAD"), "ref\n", 0o644)
	mustSymlink(t, "missing", filepath.Join(dir, "dangling"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	s := &Snapshots{}
	t.Cleanup(s.Close)
	snap, err := s.take(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = filepath.WalkDir(snap.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == snap.dir {
			return err
		}
		rel, _ := filepath.Rel(snap.dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		got = append(got, fmt.Sprintf("%s %s", rel, info.Mode()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{
		".env -rw-------",
		"helper.nu -rw-------",
		"lib drwx------",
		"lib/util.nu -rw-------",
		"mod.nu -rw-------",
		"shared drwx------",
		"shared/common.nu -rw-------",
		"tool.sh -rwx--x--x",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copy (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(snap.dir, "mod.nu")); err != nil || string(b) != "# mod\n" {
		t.Errorf("mod.nu copied through its symlinks: %q, %v", b, err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// The copies a killed or crashed process left behind go when the next one makes its directory: those of a
// process id nothing runs under, and those of its own id (a restarted container's manager is process 1
// again). A running process's directory, and anything not named as ours, stay.
func TestSnapshotRemovesWhatAnEndedProcessLeft(t *testing.T) {
	tmp := privateTemp(t)
	staleRootsSweep = sync.Once{} // as in a process that has made no directory yet
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	leftovers := map[string]bool{ // name → whether it must stay
		fmt.Sprintf("nuop-scripts-%d-1", os.Getpid()):       false,
		fmt.Sprintf("nuop-scripts-%d-2", ended.Process.Pid): false,
		fmt.Sprintf("nuop-scripts-%d-3", os.Getppid()):      true,
		"nuop-scripts-123456789":                            true, // not a name we give
		fmt.Sprintf("someone-else-%d-4", ended.Process.Pid): true,
	}
	for name := range leftovers {
		if err := os.MkdirAll(filepath.Join(tmp, name, "script"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "fresh")
	writeVersion(t, dir, "v1", false)
	l, _ := newSnapshotLoader(t)
	if _, err := l.Load(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for name, stays := range leftovers {
		_, err := os.Stat(filepath.Join(tmp, name))
		if exists := err == nil; exists != stays {
			t.Errorf("%s: exists %v, want %v", name, exists, stays)
		}
	}
	if got := snapshotDirs(t, tmp); !slices.ContainsFunc(got, func(d string) bool {
		return strings.HasPrefix(filepath.Base(filepath.Dir(d)), fmt.Sprintf("nuop-scripts-%d-", os.Getpid())) &&
			strings.HasPrefix(filepath.Base(d), "fresh-")
	}) {
		t.Errorf("no copy of the loaded script in this process's directory: %v", got)
	}

	// A second Snapshots of this process leaves the first one's directory alone.
	before := snapshotDirs(t, tmp)
	other, _ := newSnapshotLoader(t)
	if _, err := other.Load(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range before {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("the first Snapshots' copy went when a second one loaded: %v", err)
		}
	}
}
