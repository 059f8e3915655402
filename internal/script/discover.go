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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EntryPoint is the file that makes a directory a script.
const EntryPoint = "mod.nu"

// Discover walks a script root (SCRIPT-PROTOCOL section 1) and returns the absolute directories of the scripts
// under it, in sorted walk order.
//
// A directory holding mod.nu (a file or a symlink to one) is a script and is not descended into; a mod.nu
// directly in root is ignored; hidden directories (a ConfigMap volume's `..data`) are skipped; symlinks are
// followed, but no directory is visited twice. The paths keep the symlinks they were reached through, so a
// ConfigMap's `..data` swap shows through them. A missing root is a warning, since a sources root may not have
// been fetched yet; what cannot be read below root is a warning too, so one bad entry does not hide the others.
func Discover(root string) (dirs []string, warnings []string, err error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	info, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []string{fmt.Sprintf("script root %s does not exist", abs)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("script root: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("script root %s is not a directory", abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("script root: %w", err)
	}
	w := &walker{}
	if _, err := os.Stat(filepath.Join(abs, EntryPoint)); err == nil {
		w.warn("ignoring %s: a script is a sub-directory holding %s, not the root itself",
			filepath.Join(abs, EntryPoint), EntryPoint)
	}
	w.seen = append(w.seen, visited{abs, info})
	w.walk(abs, entries)
	return w.dirs, w.warnings, nil
}

type visited struct {
	path string
	info fs.FileInfo
}

type walker struct {
	dirs, warnings []string
	// seen is scanned linearly with os.SameFile: script trees hold tens of directories, not thousands.
	seen []visited
}

func (w *walker) warn(format string, args ...any) {
	w.warnings = append(w.warnings, fmt.Sprintf(format, args...))
}

// walk visits the non-hidden sub-directories of dir, symlinked ones included.
func (w *walker) walk(dir string, entries []fs.DirEntry) {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || (!e.IsDir() && e.Type()&fs.ModeSymlink == 0) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path)
		if err != nil {
			w.warn("skipping %s: %v", path, err)
			continue
		}
		if info.IsDir() {
			w.visit(path, info)
		}
	}
}

// visit records dir as a script if it holds mod.nu, and walks into it otherwise.
func (w *walker) visit(dir string, info fs.FileInfo) {
	for _, v := range w.seen {
		if os.SameFile(v.info, info) {
			w.warn("skipping %s: it is %s again (a symlink loop or a second link)", dir, v.path)
			return
		}
	}
	w.seen = append(w.seen, visited{dir, info})
	isScript, err := holdsEntryPoint(dir)
	if err != nil {
		w.warn("skipping %s: %v", dir, err)
		return
	}
	if isScript {
		w.dirs = append(w.dirs, dir)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.warn("skipping %s: %v", dir, err)
		return
	}
	w.walk(dir, entries)
}

// holdsEntryPoint tells a dangling mod.nu symlink (a half-swapped ConfigMap, a bad link) from no mod.nu at all:
// the first is a broken script worth a warning, the second an ordinary directory.
func holdsEntryPoint(dir string) (bool, error) {
	path := filepath.Join(dir, EntryPoint)
	info, err := os.Stat(path)
	if err == nil {
		return info.Mode().IsRegular(), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if _, lerr := os.Lstat(path); lerr == nil {
		return false, fmt.Errorf("%s is a dangling symlink", EntryPoint)
	}
	return false, nil
}
