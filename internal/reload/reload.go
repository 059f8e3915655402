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

// Package standard is standard mode: every script under the script root, loaded at start and reloaded
// as soon as the file system reports a change (SCRIPT-PROTOCOL section 7).
package standard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-logr/logr"

	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/health"
	"kemper.buzz/nuop/internal/script"
)

// settle is how long reload waits after a file event for the rest of a burst (an editor's save, a
// ConfigMap volume's ..data swap, a `cp -r`) before loading.
const settle = 200 * time.Millisecond

// Loader loads the scripts of one root into an engine and keeps them current.
type Loader struct {
	Root   string
	Loader *script.Loader
	Engine *engine.Engine
	// Loaded opens once at least one script is loaded, and says why not otherwise.
	Loaded *health.Gate
	Log    logr.Logger

	mu sync.Mutex
	// good is the last version of each script directory that loaded, kept when an edit breaks it.
	good map[string]*script.Script
	// Reloads counts completed loads, for tests that wait for one.
	reloads int
}

// NeedLeaderElection is false: every replica loads, so a standby is ready and can take over at once.
func (l *Loader) NeedLeaderElection() bool { return false }

// Start loads the scripts, then reloads on every change under the root until ctx ends.
func (l *Loader) Start(ctx context.Context) error {
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", l.Root, err)
	}
	defer func() { _ = watcher.Close() }()
	l.watchTree(watcher)
	l.Load(ctx)

	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-watcher.Events:
			if !ok {
				return nil
			}
			l.Log.V(1).Info("script root changed", "path", ev.Name, "op", ev.Op.String())
			timer = time.After(settle)
		case err, ok := <-watcher.Errors:
			if !ok {
				return nil
			}
			l.Log.Error(err, "watching the script root; reloading to be safe")
			timer = time.After(settle)
		case <-timer:
			timer = nil
			l.watchTree(watcher)
			l.Load(ctx)
		}
	}
}

// watchTree watches the root and every directory below it (fsnotify is not recursive). Watching a
// path already watched is a no-op; directories that went away drop out by themselves.
func (l *Loader) watchTree(w *fsnotify.Watcher) {
	if err := w.Add(l.Root); err != nil {
		l.Log.Info("cannot watch the script root (yet); it is loaded again when it changes", "root", l.Root, "error", err.Error())
		return
	}
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		_ = w.Add(dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if info, err := os.Stat(p); err == nil && info.IsDir() {
				walk(p)
			}
		}
	}
	walk(l.Root)
}

// Load discovers and loads every script under the root and hands the result to the engine. A script
// that fails to load keeps its last good version, reported Degraded; the others are unaffected.
func (l *Loader) Load(ctx context.Context) {
	dirs, warnings, err := script.Discover(l.Root)
	for _, w := range warnings {
		l.Log.Info("script discovery: "+w, "root", l.Root)
	}
	if err != nil {
		l.Log.Error(err, "discovering scripts", "root", l.Root)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.good == nil {
		l.good = map[string]*script.Script{}
	}
	var loaded []*script.Script
	var failed []engine.ScriptStatus
	byName := map[string]string{} // name -> directory that has it
	present := map[string]bool{}
	for _, dir := range dirs {
		present[dir] = true
		s, err := l.Loader.Load(ctx, dir)
		if err != nil {
			if old, ok := l.good[dir]; ok {
				l.Log.Error(err, "script failed to load; its last good version keeps running", "dir", dir, "script", old.Config.Name)
				failed = append(failed, engine.ScriptStatus{Name: old.Config.Name, Dir: dir, GVK: old.Config.GVK().String(),
					Finalizer: old.Config.Finalizer, State: engine.StateDegraded,
					Message: "the edit failed to load, the last good version runs: " + err.Error()})
				s = old
			} else {
				l.Log.Error(err, "script failed to load; the other scripts run", "dir", dir)
				failed = append(failed, engine.ScriptStatus{Dir: dir, State: engine.StateFailed, Message: err.Error()})
				continue
			}
		} else {
			for _, w := range s.Warnings {
				l.Log.Info("script config: "+w, "dir", dir, "script", s.Config.Name)
			}
		}
		if other, dup := byName[s.Config.Name]; dup {
			msg := fmt.Sprintf("refused: the name %q is already used by the script in %s", s.Config.Name, other)
			l.Log.Error(errors.New(msg), "duplicate script name", "dir", dir)
			failed = append(failed, engine.ScriptStatus{Dir: dir, State: engine.StateFailed, Message: msg})
			continue
		}
		byName[s.Config.Name] = dir
		l.good[dir] = s
		loaded = append(loaded, s)
	}
	for dir := range l.good {
		if !present[dir] {
			delete(l.good, dir)
		}
	}
	l.Engine.SetScripts(loaded, failed)
	l.reloads++
	l.updateGate(loaded, failed)
	l.Log.Info("scripts loaded", "root", l.Root, "loaded", len(loaded), "failed", len(failed))
}

func (l *Loader) updateGate(loaded []*script.Script, failed []engine.ScriptStatus) {
	if len(loaded) > 0 {
		l.Loaded.Open()
		return
	}
	reason := fmt.Sprintf("no script loaded from %s", l.Root)
	if _, err := os.Stat(l.Root); errors.Is(err, fs.ErrNotExist) {
		reason += ": the directory does not exist (set --script-path or NUOP_SCRIPT_PATH)"
	} else if len(failed) > 0 {
		msgs := make([]string, 0, len(failed))
		for _, f := range failed {
			msgs = append(msgs, filepath.Base(f.Dir)+": "+f.Message)
		}
		reason += ": " + strings.Join(msgs, "; ")
	} else {
		reason += ": no directory with a mod.nu in it"
	}
	l.Loaded.Close(reason)
}

// Reloads returns how many loads have completed.
func (l *Loader) Reloads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reloads
}
