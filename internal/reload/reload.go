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

// Package reload keeps an engine's scripts in step with script roots on disk: every script under them,
// loaded at start and reloaded as soon as the file system reports a change (SCRIPT-PROTOCOL section 7).
// Standard mode uses one root; managed mode the fetched sources and the image's bundled scripts, with
// its mappings choosing among them.
package reload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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

// Runner runs the scripts it is given: the engine.
type Runner interface {
	SetScripts(scripts []*script.Script, failed []engine.ScriptStatus)
}

// Loader loads the scripts of its roots into an engine and keeps them current.
type Loader struct {
	// Roots are searched in order: a script in an earlier root shadows one of the same name in a later
	// root (a fetched source shadows the image's bundled scripts), and that is reported.
	Roots  []string
	Loader *script.Loader
	Engine Runner
	// Select, when set, chooses what runs among the loaded scripts (managed mode's mappings) and reports
	// what it refused; nil runs every script.
	Select func(loaded []*script.Script) (selected []*script.Script, problems []engine.ScriptStatus)
	// Loaded opens once at least one script is selected, and says why not otherwise.
	Loaded *health.Gate
	Log    logr.Logger

	trigger chan struct{}
	mu      sync.Mutex
	// good is the last version of each script directory that loaded, kept when an edit breaks it.
	good map[string]*script.Script
	// Reloads counts completed loads, for tests that wait for one.
	reloads int
}

// NeedLeaderElection is false: every replica loads, so a standby is ready and can take over at once.
func (l *Loader) NeedLeaderElection() bool { return false }

// Start loads the scripts, then reloads on every change under the roots (or Trigger) until ctx ends. Then
// it unloads them: their snapshots go once the runs in flight in them have ended.
func (l *Loader) Start(ctx context.Context) error {
	defer l.Loader.Snapshots.Close()
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching the script roots: %w", err)
	}
	defer func() { _ = watcher.Close() }()
	l.watchTrees(watcher)
	l.Load(ctx)

	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.triggered():
			timer = time.After(settle)
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
			l.watchTrees(watcher)
			l.Load(ctx)
		}
	}
}

// Trigger asks for a reload, as a file event would (a mapping changed, say).
func (l *Loader) Trigger() {
	select {
	case l.triggered() <- struct{}{}:
	default:
	}
}

func (l *Loader) triggered() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.trigger == nil {
		l.trigger = make(chan struct{}, 1)
	}
	return l.trigger
}

// watchTrees watches every root and every directory below them (fsnotify is not recursive). A root
// that does not exist yet is watched through its parent, so its creation (a first fetch) is noticed.
// Watching a path already watched is a no-op; directories that went away drop out by themselves.
func (l *Loader) watchTrees(w *fsnotify.Watcher) {
	for _, root := range l.Roots {
		if err := w.Add(root); err != nil {
			if perr := w.Add(filepath.Dir(root)); perr != nil {
				l.Log.Info("cannot watch a script root (yet); it is loaded again when it changes", "root", root, "error", err.Error())
			}
			continue
		}
		l.watchTree(w, root)
	}
}

func (l *Loader) watchTree(w *fsnotify.Watcher, root string) {
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
	walk(root)
}

// Load discovers and loads every script under the roots and hands the result to the engine. A script
// that fails to load keeps its last good version, reported Degraded; the others are unaffected.
func (l *Loader) Load(ctx context.Context) {
	var dirs []string
	for _, root := range l.Roots {
		found, warnings, err := script.Discover(root)
		for _, w := range warnings {
			l.Log.Info("script discovery: "+w, "root", root)
		}
		if err != nil {
			l.Log.Error(err, "discovering scripts", "root", root)
		}
		dirs = append(dirs, found...)
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
		s, problem := l.loadOne(ctx, dir)
		if problem != nil {
			failed = append(failed, *problem)
		}
		if s == nil {
			continue
		}
		if other, dup := byName[s.Config.Name]; dup {
			msg := fmt.Sprintf("not run: the script in %s has the same name %q and comes first", other, s.Config.Name)
			l.Log.Info("script shadowed", "dir", dir, "by", other, "script", s.Config.Name)
			failed = append(failed, engine.ScriptStatus{Dir: dir, State: engine.StateFailed, Message: msg})
			continue
		}
		byName[s.Config.Name] = dir
		loaded = append(loaded, s)
	}
	for dir := range l.good {
		if !present[dir] {
			delete(l.good, dir)
		}
	}
	// From here on runs of each directory run its good version's code; removed scripts' runs are refused.
	l.Loader.Snapshots.Keep(slices.Collect(maps.Values(l.good)))
	selected := loaded
	if l.Select != nil {
		var problems []engine.ScriptStatus
		selected, problems = l.Select(loaded)
		failed = append(failed, problems...)
	}
	l.Engine.SetScripts(selected, failed)
	l.reloads++
	l.updateGate(len(loaded), selected, failed)
	l.Log.Info("scripts loaded", "roots", l.Roots, "loaded", len(selected), "failed", len(failed))
}

// loadOne loads one script directory; on failure it falls back to the last good version, if any. The
// problem, when there is one, is to be reported.
func (l *Loader) loadOne(ctx context.Context, dir string) (*script.Script, *engine.ScriptStatus) {
	s, err := l.Loader.Load(ctx, dir)
	if err == nil {
		for _, w := range s.Warnings {
			l.Log.Info("script config: "+w, "dir", dir, "script", s.Config.Name)
		}
		if s.InPlace != "" {
			l.Log.Info("script "+s.InPlace, "dir", dir, "script", s.Config.Name)
		}
		l.good[dir] = s
		return s, nil
	}
	old, ok := l.good[dir]
	if !ok {
		l.Log.Error(err, "script failed to load; the other scripts run", "dir", dir)
		return nil, &engine.ScriptStatus{Dir: dir, State: engine.StateFailed, Message: err.Error()}
	}
	l.Log.Error(err, "script failed to load; its last good version keeps running", "dir", dir, "script", old.Config.Name)
	return old, &engine.ScriptStatus{Name: old.Config.Name, Dir: dir, GVK: old.Config.GVK().String(),
		Finalizer: old.Config.Finalizer, State: engine.StateDegraded,
		Message: "the edit failed to load, the last good version runs: " + err.Error()}
}

func (l *Loader) updateGate(loaded int, selected []*script.Script, failed []engine.ScriptStatus) {
	if len(selected) > 0 {
		l.Loaded.Open()
		return
	}
	if loaded > 0 && len(failed) == 0 {
		l.Loaded.Close(fmt.Sprintf("%d script(s) loaded, but no mapping names one: nothing to run", loaded))
		return
	}
	reason := fmt.Sprintf("no script loaded from %s", strings.Join(l.Roots, ", "))
	if len(l.Roots) == 1 && !exists(l.Roots[0]) {
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

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// Reloads returns how many loads have completed.
func (l *Loader) Reloads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reloads
}
