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
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultConfigTimeout bounds a `config` run and each command check of Load.
const DefaultConfigTimeout = 30 * time.Second

// Script is one loaded script directory.
type Script struct {
	// Dir is the absolute directory holding mod.nu, with the symlinks it was found through kept.
	Dir    string
	Config Config
	// Warnings are problems that do not stop the script: unknown config keys, keys with no effect.
	Warnings []string
	// InPlace says why this version runs from Dir itself although the loader keeps snapshots (no copy could be
	// made): an edit then takes effect before it has loaded. "" when it runs from its snapshot, or when the
	// loader keeps none.
	InPlace string

	// snap is the copy this version was loaded from and runs from.
	snap *snapshot
}

// Loader runs `config` and validates it.
type Loader struct {
	// Runner runs nu. Required.
	Runner *Runner
	// ConfigTimeout bounds each run of Load; 0 means DefaultConfigTimeout.
	ConfigTimeout time.Duration
	// Snapshots, when set, is where Load copies a script directory before loading the copy; give the Runner the
	// same Snapshots so that it runs the copies. nil loads and runs the directory in place.
	Snapshots *Snapshots
}

// Load runs `nu <dir>/mod.nu config`, parses and validates its output, and checks that the commands the config
// relies on exist: `main finalize` when a finalizer is set, since otherwise every deletion would hang on a
// finalize that can never succeed, and `main reconcile-batch` when batch is set. Every error names dir.
//
// With Snapshots, dir is copied first and the copy is what is checked, so the code that loaded is exactly the
// code that runs once Snapshots.Keep makes it current; a directory that cannot be copied is loaded in place,
// and InPlace says why.
func (l *Loader) Load(ctx context.Context, dir string) (*Script, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, EntryPoint)); err != nil {
		return nil, fmt.Errorf("script %s: %w", abs, err)
	}
	snap, snapErr := l.Snapshots.take(abs)
	from := abs
	if snap != nil {
		from = snap.dir
	}
	s, err := l.load(ctx, from)
	if err != nil && snap != nil {
		l.Snapshots.discard(snap)
		// nu's messages quote the file they ran: name the one the author edits, not a copy that is gone.
		return nil, fmt.Errorf("script %s: %s", abs, strings.ReplaceAll(err.Error(), snap.dir, abs))
	}
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", abs, err)
	}
	s.Dir, s.snap = abs, snap
	if snapErr != nil {
		s.InPlace = fmt.Sprintf("runs from its directory, not from a private copy (%v): "+
			"an edit takes effect before it has loaded", snapErr)
	}
	return s, nil
}

func (l *Loader) load(ctx context.Context, dir string) (*Script, error) {
	out, err := l.config(ctx, dir)
	if err != nil {
		return nil, err
	}
	cfg, warnings, err := parseConfig(out)
	if err != nil {
		return nil, err
	}
	if cfg.Finalizer != "" {
		if err := l.requireCommand(ctx, dir, OpFinalize, "finalizer is set"); err != nil {
			return nil, err
		}
	}
	if cfg.Batch > 0 {
		if err := l.requireCommand(ctx, dir, OpReconcileBatch, "batch is set"); err != nil {
			return nil, err
		}
	}
	return &Script{Dir: dir, Config: cfg, Warnings: warnings}, nil
}

func (l *Loader) config(ctx context.Context, dir string) ([]byte, error) {
	res, err := l.Runner.Run(ctx, Request{Dir: dir, Operation: OpConfig, Timeout: l.timeout()})
	if err != nil {
		return nil, err
	}
	if err := l.failure(res, OpConfig); err != nil {
		return nil, err
	}
	if res.StdoutDropped > 0 {
		return nil, fmt.Errorf("`config` printed more than %d bytes", len(res.Stdout))
	}
	if len(bytes.TrimSpace(res.Stdout)) == 0 {
		return nil, fmt.Errorf("`config` printed nothing: does mod.nu define `def main`? " +
			"Without it nu dispatches nothing and exits 0")
	}
	return res.Stdout, nil
}

// requireCommand checks that `main <op>` exists: `--help` exits 0 for a command nu knows, and 1 with
// extra_positional when the operation is not a command but an argument main does not take.
func (l *Loader) requireCommand(ctx context.Context, dir string, op Operation, why string) error {
	res, err := l.Runner.Run(ctx, Request{Dir: dir, Operation: op, Args: []string{"--help"}, Timeout: l.timeout()})
	if err != nil {
		return err
	}
	if res.ExitCode == 1 && bytes.Contains(res.Stderr, []byte("extra_positional")) {
		return fmt.Errorf("%s but mod.nu has no `main %s` command (define `def \"main %s\" [] { ... }`)", why, op, op)
	}
	if err := l.failure(res, op+" --help"); err != nil {
		return fmt.Errorf("checking that mod.nu has `main %s` (%s): %w", op, why, err)
	}
	return nil
}

// failure describes a run that did not exit 0.
func (l *Loader) failure(res Result, what Operation) error {
	switch {
	case res.TimedOut:
		return fmt.Errorf("`%s` did not finish within %s", what, l.timeout())
	case res.Signal != "":
		return fmt.Errorf("`%s` was killed by signal %q%s", what, res.Signal, stderrTail(res.Stderr))
	case res.ExitCode != 0:
		return fmt.Errorf("`%s` exited with code %d%s", what, res.ExitCode, stderrTail(res.Stderr))
	}
	return nil
}

func (l *Loader) timeout() time.Duration {
	if l.ConfigTimeout <= 0 {
		return DefaultConfigTimeout
	}
	return l.ConfigTimeout
}

// stderrTail is the end of stderr, where nu puts its error, whole lines only and short enough for a log line.
func stderrTail(stderr []byte) string {
	const maxTail = 2048
	tail := bytes.TrimSpace(stderr)
	if len(tail) == 0 {
		return ""
	}
	if len(tail) > maxTail {
		tail = tail[len(tail)-maxTail:]
		if i := bytes.IndexByte(tail, '\n'); i >= 0 {
			tail = tail[i+1:]
		}
	}
	return "; stderr:\n" + string(bytes.ToValidUTF8(tail, []byte("?")))
}
