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
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree creates files and symlinks under root: "a/mod.nu" is an empty file, "a/b/" a directory, and
// "link -> target" a symlink.
func tree(t *testing.T, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		path, target, isLink := strings.Cut(e, " -> ")
		path = filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, path)
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(path, 0o755)
		default:
			err = os.WriteFile(path, nil, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		// want and wantWarnings are relative to the root; warnings have "<root>" where the root goes.
		want         []string
		wantWarnings []string
	}{
		{
			name:    "sorted, whatever order the directories were made in",
			entries: []string{"zeta/mod.nu", "alpha/mod.nu", "mid/mod.nu", "alpha-2/mod.nu"},
			want:    []string{"alpha", "alpha-2", "mid", "zeta"},
		},
		{
			name: "nested: a script is not descended into, other directories are",
			entries: []string{
				"group/one/mod.nu", "group/one/inner/mod.nu", "group/two/deeper/mod.nu", "group/helpers.nu",
				"empty/", "files/readme.md",
			},
			want: []string{"group/one", "group/two/deeper"},
		},
		{
			name:         "mod.nu in the root is ignored with a warning",
			entries:      []string{"mod.nu", "a/mod.nu"},
			want:         []string{"a"},
			wantWarnings: []string{"ignoring <root>/mod.nu: a script is a sub-directory holding mod.nu, not the root itself"},
		},
		{
			name:    "hidden directories are skipped",
			entries: []string{".git/hooks/mod.nu", ".hidden/mod.nu", "visible/mod.nu"},
			want:    []string{"visible"},
		},
		{
			// A ConfigMap volume mounted with items whose paths are `<script>/mod.nu`.
			name: "ConfigMap volume layout",
			entries: []string{
				"..2026_01_02_03_04_05.123/demo/mod.nu", "..2026_01_02_03_04_05.123/demo/helpers.nu",
				"..data -> ..2026_01_02_03_04_05.123", "demo -> ..data/demo",
			},
			want: []string{"demo"},
		},
		{
			// A ConfigMap volume mounted as one script directory: every file a symlink into ..data.
			name: "ConfigMap volume as one script: mod.nu a symlink",
			entries: []string{
				"cm/..2026_01_02_03_04_05.123/mod.nu", "cm/..data -> ..2026_01_02_03_04_05.123", "cm/mod.nu -> ..data/mod.nu",
			},
			want: []string{"cm"},
		},
		{
			name:    "symlinked mod.nu and symlinked script directory",
			entries: []string{"shared/real.nu", "a/mod.nu -> ../shared/real.nu", "elsewhere/b/mod.nu", "linked -> elsewhere/b"},
			want:    []string{"a", "elsewhere/b"},
			wantWarnings: []string{
				"skipping <root>/linked: it is <root>/elsewhere/b again (a symlink loop or a second link)",
			},
		},
		{
			name:    "symlink loops are not followed",
			entries: []string{"a/up -> ..", "a/self -> .", "a/b/root -> ../../", "z/mod.nu"},
			want:    []string{"z"},
			wantWarnings: []string{
				"skipping <root>/a/b/root: it is <root> again (a symlink loop or a second link)",
				"skipping <root>/a/self: it is <root>/a again (a symlink loop or a second link)",
				"skipping <root>/a/up: it is <root> again (a symlink loop or a second link)",
			},
		},
		{
			name:    "dangling and looping symlinks are warnings",
			entries: []string{"broken/mod.nu -> ../nowhere.nu", "gone -> nowhere", "knot -> knot", "ok/mod.nu"},
			want:    []string{"ok"},
			wantWarnings: []string{
				"skipping <root>/broken: mod.nu is a dangling symlink",
				"skipping <root>/gone: stat <root>/gone: no such file or directory",
				"skipping <root>/knot: stat <root>/knot: too many levels of symbolic links",
			},
		},
		{
			name:    "a mod.nu directory does not make a script",
			entries: []string{"odd/mod.nu/", "odd/mod.nu/x/mod.nu"},
			want:    []string{"odd/mod.nu/x"},
		},
		{
			name: "no scripts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tree(t, root, tt.entries...)
			dirs, warnings, err := Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, d := range tt.want {
				want = append(want, filepath.Join(root, d))
			}
			if diff := cmp.Diff(want, dirs); diff != "" {
				t.Errorf("dirs (-want +got):\n%s", diff)
			}
			var wantWarnings []string
			for _, w := range tt.wantWarnings {
				wantWarnings = append(wantWarnings, strings.ReplaceAll(w, "<root>", root))
			}
			if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-fetched-yet")
	dirs, warnings, err := Discover(missing)
	if err != nil || dirs != nil {
		t.Errorf("missing root: got %v, %v; want no dirs and no error", dirs, err)
	}
	if diff := cmp.Diff([]string{"script root " + missing + " does not exist"}, warnings); diff != "" {
		t.Errorf("missing root warnings (-want +got):\n%s", diff)
	}

	file := filepath.Join(t.TempDir(), "file")
	tree(t, filepath.Dir(file), "file")
	if _, _, err := Discover(file); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("root is a file: got %v, want an error", err)
	}

	// A relative root gives absolute directories.
	root := t.TempDir()
	tree(t, root, "a/mod.nu")
	t.Chdir(root)
	dirs, _, err = Discover(".")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(root, "a")}, dirs); diff != "" {
		t.Errorf("relative root (-want +got):\n%s", diff)
	}
}

func TestDiscoverUnreadableDirectory(t *testing.T) {
	root := t.TempDir()
	tree(t, root, "a/mod.nu", "locked/inner/mod.nu", "z/mod.nu")
	// The test user must reach root through the directories t.TempDir made private.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	locked := filepath.Join(root, "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })

	var dirs, warnings []string
	var err error
	unprivileged(t, func() { dirs, warnings, err = Discover(root) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(root, "a"), filepath.Join(root, "z")}, dirs); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "skipping "+locked+": ") ||
		!strings.Contains(warnings[0], "permission denied") {
		t.Errorf("warnings = %q, want one saying %s cannot be read", warnings, locked)
	}
}

// unprivileged runs fn with file permissions checked as user nobody, so that a mode-0 directory is unreadable
// even to a test run as root. The file-system uid (and with it the capabilities that bypass permissions) is per
// thread: fn runs on a locked thread that is never unlocked, so the runtime discards it afterwards.
func unprivileged(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		fn()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		const nobody = 65534
		_ = syscall.Setfsuid(nobody)
		fn()
	}()
	<-done
}
