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
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"kemper.buzz/nuop/internal/procs"
)

// DefaultSnapshotMaxBytes bounds the files of one snapshot. Script directories hold a mod.nu, a few helper
// modules and data files: kilobytes. A tree above this is not copied, and the script runs in place.
const DefaultSnapshotMaxBytes = 4 << 20

// Snapshots keeps a private copy of every loaded script's directory, so that what runs is what loaded
// (SCRIPT-PROTOCOL section 2: a script whose edit fails to load keeps running its last good version). Without
// them nu would run whatever is on disk now: after an edit that fails to load (a syntax error, a finalize
// command removed with the finalizer kept), the broken code.
//
// Loader.Load copies the tree and loads the copy; Keep makes the loaded versions current; a Runner sharing the
// Snapshots runs a current version's copy whenever it is asked to run that script's directory. A copy no
// current version uses is removed once its runs in flight end. The copies live in one private directory under
// os.TempDir(), created on first use and removed by Close.
type Snapshots struct {
	// MaxBytes bounds the bytes of the regular files of one copy; 0 means DefaultSnapshotMaxBytes.
	MaxBytes int64

	mu   sync.Mutex
	root string
	// current maps a loaded script's directory to the copy its current version runs, or to nil when that
	// version runs in place (no copy could be made).
	current map[string]*snapshot
	// unloaded are directories of scripts that were loaded and are not any more: nothing of theirs runs.
	unloaded map[string]bool
	// taken holds every copy on disk.
	taken  map[*snapshot]struct{}
	closed bool
}

// snapshot is one copy of a script directory.
type snapshot struct {
	dir string
	// runs counts the runs in flight in it; it is removed when none are and no current version uses it.
	runs int
	kept bool
}

// errTooLarge is wrapped with the limit that was passed.
var errTooLarge = errors.New("the directory is too large to copy")

// take copies dir into a new snapshot. A nil Snapshots takes none.
func (s *Snapshots) take(dir string) (*snapshot, error) {
	if s == nil {
		return nil, nil
	}
	root, err := s.privateRoot()
	if err != nil {
		return nil, err
	}
	// Copied without the lock: runs must not wait for a copy.
	dst, err := os.MkdirTemp(root, filepath.Base(dir)+"-")
	if err != nil {
		return nil, fmt.Errorf("copying the script directory: %w", err)
	}
	c := copier{left: s.maxBytes()}
	if err := c.copyTree(dir, dst); err != nil {
		_ = os.RemoveAll(dst)
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%w: its files hold more than %d bytes", errTooLarge, s.maxBytes())
		}
		return nil, fmt.Errorf("copying the script directory: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = os.RemoveAll(dst)
		return nil, errors.New("snapshots are closed")
	}
	snap := &snapshot{dir: dst}
	s.taken[snap] = struct{}{}
	return snap, nil
}

// privateRoot creates the directory the copies go in, once.
func (s *Snapshots) privateRoot() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("snapshots are closed")
	}
	if s.root == "" {
		staleRootsSweep.Do(func() { removeStaleRoots(os.TempDir()) })
		root, err := os.MkdirTemp("", rootPrefix())
		if err != nil {
			return "", fmt.Errorf("no private directory for copies of the scripts: %w", err)
		}
		s.root, s.current, s.unloaded, s.taken = root, map[string]*snapshot{}, map[string]bool{}, map[*snapshot]struct{}{}
	}
	return s.root, nil
}

// rootPrefix starts the name of this process's directory of copies: nuop-scripts-<pid>-.
func rootPrefix() string { return fmt.Sprintf("nuop-scripts-%d-", os.Getpid()) }

// staleRootsSweep runs removeStaleRoots once per process: before its first directory of copies, so that
// it never removes a directory of its own still in use (a process may hold several Snapshots).
var staleRootsSweep sync.Once

// removeStaleRoots removes the directories of copies a process that ended without Close left in tmp (it was
// killed, or it crashed): those of a process id no process has, and those of this process's own id, which
// a container's restarts reuse (the manager is its process 1, and an emptyDir at /tmp outlives each run). A
// directory of a running process, such as another manager's on a shared host, stays.
func removeStaleRoots(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		var pid int
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "nuop-scripts-") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), "nuop-scripts-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if pid == os.Getpid() || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// discard removes a snapshot whose load failed.
func (s *Snapshots) discard(snap *snapshot) {
	if s == nil || snap == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeIfUnused(snap)
}

// Keep makes scripts the current versions: a run of one of their directories runs that version's copy (or the
// directory itself, for a version that runs in place). A directory that had a current version and is not
// among scripts is unloaded: runs of it are refused. Copies no current version uses are removed once no run
// is in flight in them.
func (s *Snapshots) Keep(scripts []*Script) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == "" {
		// Nothing was ever copied: nothing to map, nothing to remove.
		return
	}
	current := map[string]*snapshot{}
	for _, sc := range scripts {
		current[sc.Dir] = sc.snap
		delete(s.unloaded, sc.Dir)
	}
	for dir := range s.current {
		if _, ok := current[dir]; !ok {
			s.unloaded[dir] = true
		}
	}
	s.current = current
	for snap := range s.taken {
		snap.kept = false
	}
	for _, snap := range current {
		if snap != nil {
			snap.kept = true
		}
	}
	for snap := range s.taken {
		s.removeIfUnused(snap)
	}
}

// Close unloads every script and removes the copies, each once its runs in flight have ended, then the
// private directory. Runs asked for afterwards are refused as at shutdown (procs.ErrShuttingDown).
func (s *Snapshots) Close() {
	if s == nil {
		return
	}
	s.Keep(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.removeRootIfEmpty()
}

// acquire returns the directory a run of dir uses, and a release to call when the run has ended: the copy of
// dir's current version, or dir itself when it has none (it runs in place, or it is not a script's directory
// but, say, a copy being loaded). A directory whose script was unloaded is refused.
func (s *Snapshots) acquire(dir string) (string, func(), error) {
	if s == nil {
		return dir, func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.unloaded[dir] {
		// Wrapping ErrShuttingDown: the engine takes it, as at shutdown, for a run not started because what
		// it belongs to is stopping (a removed script's controller is stopped right after).
		return "", nil, fmt.Errorf("script %s is no longer loaded: %w", dir, procs.ErrShuttingDown)
	}
	snap := s.current[dir]
	if snap == nil {
		return dir, func() {}, nil
	}
	snap.runs++
	return snap.dir, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		snap.runs--
		s.removeIfUnused(snap)
	}, nil
}

// removeIfUnused removes snap when no current version uses it and no run is in flight in it. Call with s.mu
// held.
func (s *Snapshots) removeIfUnused(snap *snapshot) {
	if snap.kept || snap.runs > 0 {
		return
	}
	// A copy that cannot be removed (someone changed its modes) only costs disk; Close tries again.
	if err := os.RemoveAll(snap.dir); err == nil {
		delete(s.taken, snap)
	}
	s.removeRootIfEmpty()
}

// removeRootIfEmpty removes the private directory once closed and every copy is gone. Call with s.mu held.
func (s *Snapshots) removeRootIfEmpty() {
	if !s.closed || s.root == "" || len(s.taken) > 0 {
		return
	}
	_ = os.RemoveAll(s.root)
}

func (s *Snapshots) maxBytes() int64 {
	if s.MaxBytes <= 0 {
		return DefaultSnapshotMaxBytes
	}
	return s.MaxBytes
}

// copier copies a script directory by discovery's rules (SCRIPT-PROTOCOL section 1): symlinks are followed,
// to files and to directories, but no directory is copied twice (no loops); hidden directories (a ConfigMap
// volume's ..data, a .git) are skipped; what is neither a regular file nor a directory (a socket, a FIFO
// that would block a read) and dangling symlinks are left out.
type copier struct {
	// left is how many bytes of files may still be copied.
	left int64
	seen []fs.FileInfo
}

func (c *copier) copyTree(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	c.seen = append(c.seen, info)
	return c.copyDir(src, dst)
}

func (c *copier) copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		info, err := os.Stat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a dangling symlink: nothing to read in place either
		}
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			if strings.HasPrefix(e.Name(), ".") || c.visited(info) {
				continue
			}
			c.seen = append(c.seen, info)
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
			if err := c.copyDir(from, to); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := c.copyFile(from, to, info.Mode()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *copier) visited(info fs.FileInfo) bool {
	for _, v := range c.seen {
		if os.SameFile(v, info) {
			return true
		}
	}
	return false
}

// copyFile copies one file, keeping its execute bits (a helper program beside mod.nu), and counts its bytes
// against the limit as they are read, so a file growing while it is copied is bounded too.
func (c *copier) copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600|mode.Perm()&0o111)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, c.left+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	c.left -= n
	if c.left < 0 {
		return errTooLarge
	}
	return nil
}
