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

package source

import (
	"kemper.buzz/nuop/test/utils"

	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	helloV1 = "def main [] {}\n# v1\n"
	helloV2 = "def main [] {}\n# v2\n"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	return string(b)
}

// assertNoGit fails if a .git file or directory is anywhere under root.
func assertNoGit(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			t.Errorf("%s exists: no .git may be kept under the sources root", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// trees lists the entries of the root's tree directory.
func trees(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, treesDir))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func mustSync(t *testing.T, f *Fetcher, s Spec) State {
	t.Helper()
	st := f.Sync(context.Background(), s)
	if st.LastError != "" {
		t.Fatalf("Sync(%s): %s", s.Location, st.LastError)
	}
	return st
}

func wantError(t *testing.T, st State, parts ...string) {
	t.Helper()
	if st.LastError == "" {
		t.Fatalf("Sync succeeded (revision %s), want an error with %q", st.Revision, parts)
	}
	t.Logf("LastError: %s", st.LastError)
	for _, p := range parts {
		if !strings.Contains(st.LastError, p) {
			t.Errorf("LastError %q does not mention %q", st.LastError, p)
		}
	}
}

func TestSyncBranch(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "org/scripts.git")
	mainSHA := r.Commit("v1", map[string]string{
		"scripts/hello/mod.nu": helloV1,
		"scripts/hello/run.sh": "#!/bin/sh\necho hi\n",
		"README.md":            "readme\n",
	})
	r.Checkout("dev")
	devSHA := r.Commit("dev", map[string]string{"scripts/hello/mod.nu": helloV2})

	root := t.TempDir()
	f := &Fetcher{Root: root}
	loc := g.URL("org/scripts.git") + "?ref=main&dir=scripts"
	st := mustSync(t, f, Spec{Location: loc, Path: "/scripts"})
	if st.Revision != mainSHA || st.Path != "/scripts" || st.Location != loc || st.FetchedAt.IsZero() {
		t.Errorf("state = %+v, want revision %s", st, mainSHA)
	}
	if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV1 {
		t.Errorf("mod.nu = %q, want v1", got)
	}
	// Only dir is taken; the executable bit is kept; the link is relative.
	if _, err := os.Stat(filepath.Join(root, "scripts/README.md")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("README.md outside dir was copied: %v", err)
	}
	if info, err := os.Stat(filepath.Join(root, "scripts/hello/run.sh")); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v, mode %v, want 0755", err, info)
	}
	if dest, err := os.Readlink(filepath.Join(root, "scripts")); err != nil || filepath.IsAbs(dest) {
		t.Errorf("scripts link = %q, %v; want a relative symlink", dest, err)
	}
	assertNoGit(t, root)

	// The default branch (HEAD) and another branch, each at its own path.
	st = mustSync(t, f, Spec{Location: g.URL("org/scripts.git") + "?dir=scripts", Path: "default"})
	if st.Revision != mainSHA {
		t.Errorf("default branch revision = %s, want main's %s", st.Revision, mainSHA)
	}
	st = mustSync(t, f, Spec{Location: g.URL("org/scripts.git") + "?ref=dev", Path: "team/dev"})
	if st.Revision != devSHA {
		t.Errorf("dev revision = %s, want %s", st.Revision, devSHA)
	}
	if got := readFile(t, filepath.Join(root, "team/dev/scripts/hello/mod.nu")); got != helloV2 {
		t.Errorf("dev mod.nu = %q, want v2", got)
	}
	if got := readFile(t, filepath.Join(root, "team/dev/README.md")); got != "readme\n" {
		t.Errorf("without dir the whole repository is the tree; README.md = %q", got)
	}
	assertNoGit(t, root)
}

func TestSyncNoNewCommitDoesNotFetch(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	sha := r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	spec := Spec{Location: g.URL("scripts.git"), Path: "scripts"}
	first := mustSync(t, f, spec)
	if g.UploadPack.Load() == 0 {
		t.Fatal("the first Sync fetched nothing")
	}
	g.ResetCounts()
	second := mustSync(t, f, spec)
	if got, want := g.InfoRefs.Load(), int64(1); got != want {
		t.Errorf("second Sync made %d ref advertisement requests, want %d (ls-remote)", got, want)
	}
	if got := g.UploadPack.Load(); got != 0 {
		t.Errorf("second Sync made %d upload-pack requests, want none", got)
	}
	if second.Revision != sha || !second.FetchedAt.Equal(first.FetchedAt) {
		t.Errorf("second state = %+v, want the first's revision and fetch time %v", second, first.FetchedAt)
	}

	// A fresh Fetcher (a restarted sidecar) finds the tree in place too.
	g.ResetCounts()
	third := mustSync(t, &Fetcher{Root: root}, spec)
	if g.UploadPack.Load() != 0 || third.Revision != sha || !third.FetchedAt.Equal(first.FetchedAt) {
		t.Errorf("after a restart: %d upload-packs, state %+v; want none and the first's revision and time",
			g.UploadPack.Load(), third)
	}
}

func TestSyncTag(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	v1 := r.Commit("v1", map[string]string{"operator/scripts/hello/mod.nu": helloV1})
	r.Tag("v1.0", "release 1.0") // annotated
	r.Tag("light", "")           // lightweight
	r.Commit("v2", map[string]string{"operator/scripts/hello/mod.nu": helloV2})

	for _, ref := range []string{"v1.0", "light", "refs/tags/v1.0"} {
		t.Run(ref, func(t *testing.T) {
			root := t.TempDir()
			f := &Fetcher{Root: root}
			spec := Spec{Location: g.URL("scripts.git") + "?ref=" + ref + "&dir=operator/scripts", Path: "scripts"}
			st := mustSync(t, f, spec)
			if st.Revision != v1 {
				t.Errorf("revision = %s, want the tagged commit %s", st.Revision, v1)
			}
			if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV1 {
				t.Errorf("mod.nu = %q, want v1", got)
			}
			g.ResetCounts()
			mustSync(t, f, spec)
			if got := g.UploadPack.Load(); got != 0 {
				t.Errorf("an unchanged tag was fetched again (%d upload-packs)", got)
			}
			assertNoGit(t, root)
		})
	}
}

func TestSyncCommitSHA(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	old := r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	tip := r.Commit("v2", map[string]string{"hello/mod.nu": helloV2})

	root := t.TempDir()
	f := &Fetcher{Root: root}
	// A commit behind the tip needs a full fetch.
	spec := Spec{Location: g.URL("scripts.git") + "?ref=" + old, Path: "old"}
	st := mustSync(t, f, spec)
	if st.Revision != old {
		t.Errorf("revision = %s, want %s", st.Revision, old)
	}
	if got := readFile(t, filepath.Join(root, "old/hello/mod.nu")); got != helloV1 {
		t.Errorf("mod.nu = %q, want v1", got)
	}
	// A pinned commit in place needs no request at all.
	g.ResetCounts()
	mustSync(t, f, spec)
	if n := g.InfoRefs.Load() + g.UploadPack.Load(); n != 0 {
		t.Errorf("a pinned commit in place made %d requests, want none", n)
	}
	// The tip's SHA, in upper case.
	st = mustSync(t, f, Spec{Location: g.URL("scripts.git") + "?ref=" + strings.ToUpper(tip), Path: "tip"})
	if st.Revision != tip {
		t.Errorf("revision = %s, want %s", st.Revision, tip)
	}
	// A commit that is in no branch or tag.
	missing := strings.Repeat("ab", 20)
	wantError(t, f.Sync(context.Background(), Spec{Location: g.URL("scripts.git") + "?ref=" + missing, Path: "x"}),
		missing, "not found")
	assertNoGit(t, root)
}

func TestSyncNewCommitSwitchesAtomically(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	r.Commit("v1", map[string]string{"scripts/hello/mod.nu": helloV1})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	spec := Spec{Location: g.URL("scripts.git") + "?dir=scripts", Path: "/scripts"}
	first := mustSync(t, f, spec)
	oldTree := trees(t, root)

	v2 := r.Commit("v2", map[string]string{"scripts/hello/mod.nu": helloV2, "scripts/other/mod.nu": helloV1})
	modNu := filepath.Join(root, "scripts/hello/mod.nu")
	var switched bool
	f.beforeSwitch = func(dir string) {
		// The new tree is complete; readers still see the old one.
		switched = true
		if got := readFile(t, filepath.Join(dir, "hello/mod.nu")); got != helloV2 {
			t.Errorf("new tree mod.nu = %q before the switch, want v2", got)
		}
		if got := readFile(t, modNu); got != helloV1 {
			t.Errorf("readers see %q before the switch, want the old tree", got)
		}
	}
	// A reader that never stops during the sync sees either whole tree, never a missing file.
	stop := make(chan struct{})
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(modNu)
			if err != nil || (string(b) != helloV1 && string(b) != helloV2) {
				t.Errorf("a reader saw %q, %v", b, err)
				return
			}
			reads.Add(1)
		}
	})
	st := mustSync(t, f, spec)
	close(stop)
	wg.Wait()
	if !switched {
		t.Fatal("the new tree was not switched in")
	}
	if st.Revision != v2 || !st.FetchedAt.After(first.FetchedAt) && !st.FetchedAt.Equal(first.FetchedAt) {
		t.Errorf("state = %+v, want revision %s", st, v2)
	}
	if got := readFile(t, modNu); got != helloV2 {
		t.Errorf("mod.nu after the switch = %q, want v2", got)
	}
	if got := readFile(t, filepath.Join(root, "scripts/other/mod.nu")); got != helloV1 {
		t.Errorf("new script = %q", got)
	}
	// The replaced tree stays until the next switch, for readers that resolved the link just before it.
	afterV2 := trees(t, root)
	if len(afterV2) != 2 || !slices.Contains(afterV2, oldTree[0]) {
		t.Errorf("trees after the switch = %v (before: %v), want the new one and the replaced one", afterV2, oldTree)
	}
	t.Logf("%d reads during the sync", reads.Load())

	f.beforeSwitch = nil
	v3 := r.Commit("v3", map[string]string{"scripts/other/mod.nu": helloV2})
	if st := mustSync(t, f, spec); st.Revision != v3 {
		t.Errorf("revision = %s, want %s", st.Revision, v3)
	}
	afterV3 := trees(t, root)
	if len(afterV3) != 2 || slices.Contains(afterV3, oldTree[0]) {
		t.Errorf("trees after a second switch = %v, want v3's and v2's only (v1's was %v)", afterV3, oldTree)
	}
	assertNoGit(t, root)
}

func TestSyncErrorsKeepLastGoodTree(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	sha := r.Commit("v1", map[string]string{"scripts/hello/mod.nu": helloV1, "file": "x"})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	good := mustSync(t, f, Spec{Location: g.URL("scripts.git") + "?dir=scripts", Path: "scripts"})

	cases := []struct {
		name     string
		location string
		want     []string
	}{
		{"missing ref", g.URL("scripts.git") + "?ref=nope&dir=scripts", []string{`ref "nope" not found`}},
		{"short SHA", g.URL("scripts.git") + "?ref=" + sha[:7], []string{"not found", "full 40-digit SHA"}},
		{"missing dir", g.URL("scripts.git") + "?dir=nope", []string{`dir "nope" does not exist`, sha[:12]}},
		{"dir is a file", g.URL("scripts.git") + "?dir=file", []string{`dir "file" is not a directory`}},
		{"missing repository", g.URL("nope.git"), []string{"not found"}},
		{"bad location", "https://user:hunter2@example.com/x.git", []string{"carries credentials", "redacted"}},
		{"unreachable", "http://127.0.0.1:1/x.git", []string{"127.0.0.1:1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := f.Sync(context.Background(), Spec{Location: c.location, Path: "scripts"})
			wantError(t, st, c.want...)
			if strings.Contains(st.LastError, "hunter2") || strings.Contains(st.Location, "hunter2") {
				t.Errorf("a password leaked into the state: %+v", st)
			}
			if st.Revision != good.Revision || !st.FetchedAt.Equal(good.FetchedAt) {
				t.Errorf("state = %+v, want the last good revision %s", st, good.Revision)
			}
			if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV1 {
				t.Errorf("the last good tree is gone: mod.nu = %q", got)
			}
			if got := trees(t, root); len(got) != 1 {
				t.Errorf("trees = %v, want only the last good one (nothing half-written left)", got)
			}
		})
	}
}

func TestSyncInvalidSpec(t *testing.T) {
	root := t.TempDir()
	f := &Fetcher{Root: root}
	wantError(t, f.Sync(context.Background(), Spec{Location: "https://example.com/x.git", Path: "../x"}), "..")
	wantError(t, f.Sync(context.Background(), Spec{Location: "https://example.com/x.git", Path: ""}), "empty")
	wantError(t, f.Sync(context.Background(), Spec{Location: "/opt/scripts", Path: "x"}), "local path")
	wantError(t, (&Fetcher{}).Sync(context.Background(), Spec{Location: "https://example.com/x.git", Path: "x"}),
		"no sources root")
}

func TestSyncBasicAuth(t *testing.T) {
	const token = "s3cr3t-t0ken"
	g := utils.NewGitServer(t, false, "", token)
	r := utils.NewRepo(t, g.Dir, "org/private.git")
	sha := r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	spec := func(c *Credentials) Spec {
		return Spec{Location: g.URL("org/private.git"), Path: "scripts", Credentials: c}
	}

	wantError(t, f.Sync(context.Background(), spec(nil)), "authentication")
	st := mustSync(t, f, spec(&Credentials{Token: []byte(token + "\n")}))
	if st.Revision != sha {
		t.Errorf("revision = %s, want %s", st.Revision, sha)
	}
	r.Commit("v2", map[string]string{"hello/mod.nu": helloV2})
	bad := f.Sync(context.Background(), spec(&Credentials{Token: []byte("wrong-token")}))
	wantError(t, bad, "authentication")
	if bad.Revision != sha || strings.Contains(bad.LastError, "wrong-token") {
		t.Errorf("state with a bad token = %+v, want the last good revision and no token", bad)
	}
	if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV1 {
		t.Errorf("the last good tree is gone: %q", got)
	}
	// Username and password.
	st = mustSync(t, f, spec(&Credentials{Username: []byte("alice"), Password: []byte(token)}))
	if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV2 || st.LastError != "" {
		t.Errorf("with username/password: mod.nu = %q, state %+v", got, st)
	}
}

func TestSyncTokenUser(t *testing.T) {
	const token = "s3cr3t-t0ken"
	g := utils.NewGitServer(t, false, "git", token) // the server wants the user "git" with the token
	r := utils.NewRepo(t, g.Dir, "private.git")
	r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	f := &Fetcher{Root: t.TempDir()}
	mustSync(t, f, Spec{Location: g.URL("private.git"), Path: "a", Credentials: &Credentials{Token: []byte(token)}})
	wantError(t, f.Sync(context.Background(), Spec{Location: g.URL("private.git"), Path: "b",
		Credentials: &Credentials{Token: []byte(token), Username: []byte("bob")}}), "authentication")
}

func TestSyncCABundle(t *testing.T) {
	g := utils.NewGitServer(t, true, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	sha := r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	f := &Fetcher{Root: t.TempDir()}
	spec := Spec{Location: g.URL("scripts.git"), Path: "scripts"}
	wantError(t, f.Sync(context.Background(), spec), "certificate")

	ca := pemCert(g.Server.Certificate().Raw)
	spec.Credentials = &Credentials{CABundle: ca}
	if st := mustSync(t, f, spec); st.Revision != sha {
		t.Errorf("revision = %s, want %s", st.Revision, sha)
	}
}

func TestSyncSymlinksAndModes(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	r.Commit("v1", map[string]string{
		"scripts/lib/common.nu":   "export def x [] {}\n",
		"scripts/hello/mod.nu":    helloV1,
		"scripts/hello/common.nu": "-> ../lib/common.nu",
		"scripts/hello/passwd":    "-> /etc/passwd",
		"scripts/hello/escape":    "-> ../../README.md",
		"README.md":               "readme\n",
	})
	root := t.TempDir()
	mustSync(t, &Fetcher{Root: root}, Spec{Location: g.URL("scripts.git") + "?dir=scripts", Path: "scripts"})
	if got := readFile(t, filepath.Join(root, "scripts/hello/common.nu")); got != "export def x [] {}\n" {
		t.Errorf("a symlink inside the tree: %q", got)
	}
	for _, name := range []string{"passwd", "escape"} {
		if _, err := os.Lstat(filepath.Join(root, "scripts/hello", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the symlink %s pointing out of the tree was written (%v)", name, err)
		}
	}
}

func TestSyncOverlappingPaths(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	mustSync(t, f, Spec{Location: g.URL("scripts.git"), Path: "scripts"})
	wantError(t, f.Sync(context.Background(), Spec{Location: g.URL("scripts.git"), Path: "scripts/extra"}),
		"must not nest")
	mustSync(t, f, Spec{Location: g.URL("scripts.git"), Path: "team/a"})
	wantError(t, f.Sync(context.Background(), Spec{Location: g.URL("scripts.git"), Path: "team"}), "must not nest")
	if got := readFile(t, filepath.Join(root, "team/a/hello/mod.nu")); got != helloV1 {
		t.Errorf("team/a = %q", got)
	}
}

func TestPrune(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	root := t.TempDir()
	f := &Fetcher{Root: root}
	for _, p := range []string{"a", "team/b", "team/c"} {
		mustSync(t, f, Spec{Location: g.URL("scripts.git"), Path: p})
	}
	// Leftovers of an interrupted run, and something that is not ours.
	for _, p := range []string{filepath.Join(root, treesDir, ".tmp-tree-1/x"), filepath.Join(root, "mine/file")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Prune([]string{"/team/b"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "team/b/hello/mod.nu")); got != helloV1 {
		t.Errorf("kept source: %q", got)
	}
	for _, p := range []string{"a", "team/c"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was not pruned: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "mine/file")); err != nil {
		t.Errorf("Prune removed what is not a source's: %v", err)
	}
	if got := trees(t, root); len(got) != 1 {
		t.Errorf("trees after Prune = %v, want the kept one", got)
	}
	if err := f.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "team")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory left empty was not removed: %v", err)
	}
	if got := trees(t, root); len(got) != 0 {
		t.Errorf("trees after pruning everything = %v", got)
	}
}

func TestSyncCancelled(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := (&Fetcher{Root: t.TempDir(), Timeout: time.Minute}).Sync(ctx, Spec{Location: g.URL("scripts.git"), Path: "s"})
	wantError(t, st, "context canceled")
}
