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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStateRoundTrip(t *testing.T) {
	root := t.TempDir()
	if _, err := ReadState(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadState with no file: %v, want fs.ErrNotExist", err)
	}
	want := []State{
		{Path: "/scripts", Location: "https://h/r.git?dir=scripts", Revision: strings.Repeat("a", 40),
			FetchedAt: time.Date(2026, 5, 1, 12, 0, 0, 123, time.UTC)},
		{Path: "other", Location: "git@h:r.git", LastError: "authentication to h failed"},
	}
	if err := WriteState(root, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(root)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	b, err := os.ReadFile(filepath.Join(root, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"fetchedAt":"0001`) || strings.Contains(string(b), "0001-01-01") {
		t.Errorf("a zero fetch time is written: %s", b)
	}
	// Overwritten whole; no temporary file left.
	if err := WriteState(root, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadState(root); err != nil || len(got) != 0 {
		t.Errorf("after writing no states: %v, %v", got, err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("root holds %d entries, want only the state file", len(entries))
	}
	if err := os.WriteFile(filepath.Join(root, StateFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(root); err == nil {
		t.Error("a broken state file was read without error")
	}
}

// waitState waits until the state file says what ok wants.
func waitState(t *testing.T, root string, ok func([]State) bool) []State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		states, err := ReadState(root)
		if err == nil && ok(states) {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("state not reached: %+v, %v", states, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRun(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	v1 := r.Commit("v1", map[string]string{"scripts/hello/mod.nu": helloV1})
	root := t.TempDir()
	// A source of an earlier run that is no longer given is pruned.
	mustSync(t, &Fetcher{Root: root}, Spec{Location: g.URL("scripts.git"), Path: "gone"})

	var mu sync.Mutex
	var changes int
	f := &Fetcher{Root: root, OnChange: func(s []State) {
		mu.Lock()
		defer mu.Unlock()
		changes++
	}}
	specs := []Spec{
		{Location: g.URL("scripts.git") + "?dir=scripts", Path: "/scripts", Interval: time.Hour},
		{Location: g.URL("scripts.git") + "?ref=nope", Path: "team/broken", Interval: time.Hour},
		{Location: g.URL("scripts.git"), Path: "scripts/nested", Interval: time.Hour},
		{Location: g.URL("scripts.git"), Path: "team/ok", Interval: time.Hour},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, specs) }()

	states := waitState(t, root, func(s []State) bool {
		return len(s) == 4 && s[0].Revision == v1 && s[1].LastError != "" && s[3].Revision == v1
	})
	if !strings.Contains(states[1].LastError, `ref "nope" not found`) {
		t.Errorf("broken source: %+v", states[1])
	}
	if !strings.Contains(states[2].LastError, "must not nest") || states[2].Revision != "" {
		t.Errorf("nested source: %+v", states[2])
	}
	if _, err := os.Lstat(filepath.Join(root, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the source no longer given was not pruned: %v", err)
	}

	// A new commit is picked up at once on Trigger (the interval is an hour).
	v2 := r.Commit("v2", map[string]string{"scripts/hello/mod.nu": helloV2})
	f.Trigger()
	waitState(t, root, func(s []State) bool { return s[0].Revision == v2 && s[3].Revision == v2 })
	if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV2 {
		t.Errorf("mod.nu = %q, want v2", got)
	}
	assertNoGit(t, root)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if changes < 3 {
		t.Errorf("OnChange called %d times, want one per change", changes)
	}
}

func TestRunRetriesAfterFailure(t *testing.T) {
	g := utils.NewGitServer(t, false, "", "")
	r := utils.NewRepo(t, g.Dir, "scripts.git")
	root := t.TempDir()
	f := &Fetcher{Root: root, retryMin: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx, []Spec{{Location: g.URL("scripts.git"), Path: "s", Interval: time.Hour}})
	}()
	// The repository is empty: the first sync fails.
	waitState(t, root, func(s []State) bool { return len(s) == 1 && strings.Contains(s[0].LastError, "empty") })
	sha := r.Commit("v1", map[string]string{"hello/mod.nu": helloV1})
	// The retries come after 200 ms, 400 ms, 800 ms, ... (at most the interval): long before the interval.
	waitState(t, root, func(s []State) bool { return s[0].Revision == sha && s[0].LastError == "" })
	cancel()
	<-done
}
