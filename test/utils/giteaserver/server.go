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

// Package giteaserver starts a real Gitea (the binary `make gitea` provisions) for tests and the demo: its
// own work path and sqlite database, a loopback port, an admin user and token, and a small API page size
// so that pagination bugs show with a handful of objects.
//
// Cleanup contract: Close stops Gitea (its whole process group, so the git processes it started too),
// closes the TLS fronts and removes the work path; StartT registers it as the test's cleanup, so it also
// runs when the test fails. Should the starting process die without Close (a `go test` timeout, Ctrl-C),
// the kernel kills Gitea with it (parent-death signal); only the work path is then left in the temp dir.
package giteaserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"kemper.buzz/nuop/test/utils"
)

// Options configures Start. The zero value is what suites want.
type Options struct {
	// Binary is the gitea binary; "" means the one `make gitea` links under utils.BinDir().
	Binary string
	// PageSize is the API's default and maximum page size ([api] DEFAULT_PAGING_NUM and
	// MAX_RESPONSE_ITEMS); 0 means 5.
	PageSize int
	// Output, when set, also receives Gitea's log (GinkgoWriter, os.Stderr); it always goes to
	// <WorkPath>/gitea.log.
	Output io.Writer
}

// Server is a running (or stopped, see Stop) Gitea.
type Server struct {
	// URL is the base URL, http://127.0.0.1:<port>, without a trailing slash. It stays the same across
	// Restart.
	URL string
	// AdminUser and AdminPassword log in as the site administrator; AdminToken is a token of theirs
	// with every scope.
	AdminUser, AdminPassword, AdminToken string
	// Version is what /api/v1/version answered.
	Version string
	// WorkPath holds everything the server writes: app.ini, gitea.log, the database, repositories.
	WorkPath string

	binary string
	output io.Writer
	addr   string
	ini    map[string]any // app.ini's template values
	client *http.Client

	mu     sync.Mutex
	proc   *process // nil while stopped
	fronts []*TLSFront
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Gitea has exited and been reaped
	err  error         // what Wait returned; read it after done
}

// ErrPortTaken is Gitea failing to bind its port.
var ErrPortTaken = errors.New("gitea's port is taken")

const (
	defaultPageSize = 5
	adminUser       = "nuop-admin" // "admin" itself is a name Gitea reserves
	readyTimeout    = time.Minute
	stopGrace       = 10 * time.Second
	portAttempts    = 3
)

// Start prepares a work path, migrates the database, creates the admin user, starts `gitea web` and mints
// the admin token. ctx bounds the start only, not the server's life: call Close when done. On error
// nothing is left running or on disk.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	binary := opts.Binary
	if binary == "" {
		if binary, err = utils.Tool("gitea"); err != nil {
			return nil, err
		}
	}
	// Built without bindata, Gitea reads its templates and locales from disk; hack/tools.sh puts them
	// beside the real binary, which bin/gitea links to.
	resolved, err := filepath.EvalSymlinks(binary)
	if err != nil {
		return nil, fmt.Errorf("gitea binary: %w (run `make gitea`)", err)
	}
	staticRoot := filepath.Dir(resolved)
	if _, err := os.Stat(filepath.Join(staticRoot, "options", "locale")); err != nil {
		return nil, fmt.Errorf("no templates and locales beside %s: run `make gitea`", resolved)
	}
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = defaultPageSize
	}

	work, err := os.MkdirTemp("", "nuop-gitea-")
	if err != nil {
		return nil, err
	}
	jwtSecret := make([]byte, 32)
	_, _ = rand.Read(jwtSecret)
	s := &Server{
		AdminUser:     adminUser,
		AdminPassword: randomHex(16),
		WorkPath:      work,
		binary:        binary,
		output:        opts.Output,
		ini: map[string]any{
			"Work": work, "StaticRoot": staticRoot, "PageSize": pageSize,
			"SecretKey": randomHex(32), "InternalToken": randomHex(32),
			"JWTSecret": base64.RawURLEncoding.EncodeToString(jwtSecret),
		},
		// No proxy: the server is on loopback, and a test of the operator's proxy support sets
		// HTTPS_PROXY for the process.
		client: &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	if err := s.listenOn(); err != nil {
		return nil, err
	}
	if err := s.run(ctx, "migrate"); err != nil {
		return nil, err
	}
	if err := s.run(ctx, "admin", "user", "create", "--admin", "--username", s.AdminUser,
		"--password", s.AdminPassword, "--email", s.AdminUser+"@example.com", "--must-change-password=false"); err != nil {
		return nil, err
	}
	// The port was free a moment before Gitea binds it; something else may have taken it since.
	for attempt := 1; ; attempt++ {
		err = s.startWeb(ctx)
		if !errors.Is(err, ErrPortTaken) || attempt == portAttempts {
			break
		}
		if err := s.listenOn(); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	if s.AdminToken, err = s.CreateToken(ctx, s.AdminUser, s.AdminPassword, "nuop-test-admin"); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop stops Gitea (SIGTERM to its process group, SIGKILL after 10 seconds) and waits for it: its port
// then refuses connections until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(stopGrace)
}

// Restart starts a stopped Gitea again (stopping it first if it runs) on the same port and work path, so
// URL, users and tokens stay valid. Should something have taken the port meanwhile, it fails with
// ErrPortTaken.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.startWeb(ctx)
}

// Close kills Gitea and its process group, closes the TLS fronts and removes the work path. It may be
// called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// No graceful shutdown: everything it would save is about to be deleted.
	s.stopLocked(0)
	errs := make([]error, 0, len(s.fronts)+1)
	for _, f := range s.fronts {
		errs = append(errs, f.Close())
	}
	s.fronts = nil
	errs = append(errs, os.RemoveAll(s.WorkPath))
	return errors.Join(errs...)
}

func (s *Server) stopLocked(grace time.Duration) {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	group := -p.cmd.Process.Pid
	if grace > 0 {
		_ = syscall.Kill(group, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	// Also reaches what Gitea started and what outlived it.
	_ = syscall.Kill(group, syscall.SIGKILL)
	<-p.done
	// Kept-alive connections to the old process would fail the first requests after a restart.
	s.client.CloseIdleConnections()
}

// logPath is where Gitea's output goes; it accumulates across restarts.
func (s *Server) logPath() string { return filepath.Join(s.WorkPath, "gitea.log") }

// startWeb runs `gitea web` and waits until it answers; if it does not, it is killed.
func (s *Server) startWeb(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		_ = logFile.Close()
		return err
	}
	var out io.Writer = logFile
	if s.output != nil {
		out = io.MultiWriter(logFile, s.output)
	}
	cmd := s.command(context.Background(), "web")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// With Output set, Wait also waits for the copy from the pipe, which git processes Gitea left
	// behind could hold open.
	cmd.WaitDelay = 5 * time.Second

	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the child exits, not the
		// process: this goroutine keeps its thread until Gitea is gone (the thread ends with it).
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting gitea web: %w", err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(ctx, p, logStart); err != nil {
		s.mu.Lock()
		s.stopLocked(0)
		s.mu.Unlock()
		return err
	}
	return nil
}

// waitReady polls the version endpoint until it answers, Gitea exits or fails to bind its port (which it
// does not exit for), or ctx or a minute runs out. The log from logStart on is this run's.
func (s *Server) waitReady(ctx context.Context, p *process, logStart int64) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		if log, _ := s.readLog(logStart); strings.Contains(log, "bind: address already in use") {
			return fmt.Errorf("%w: %s", ErrPortTaken, s.addr)
		}
		var v struct {
			Version string `json:"version"`
		}
		// Short, for a port taken by something that accepts but does not answer.
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		_, err := s.request(attempt, nil, http.MethodGet, "/version", nil, &v)
		cancelAttempt()
		if err == nil {
			if s.Version == "" { // set by Start only: tests may read it while restarting
				s.Version = v.Version
			}
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("gitea exited before answering (%v); the end of %s:\n%s", p.err, s.logPath(), s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("gitea did not answer %s/api/v1/version (%w; last: %v); the end of %s:\n%s",
				s.URL, ctx.Err(), err, s.logPath(), s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run runs a one-shot gitea command against the server's configuration.
func (s *Server) run(ctx context.Context, args ...string) error {
	if out, err := s.command(ctx, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("gitea %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *Server) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.binary,
		append([]string{"--config", filepath.Join(s.WorkPath, "app.ini"), "--work-path", s.WorkPath}, args...)...)
	cmd.Dir = s.WorkPath
	for _, kv := range os.Environ() {
		// GITEA_WORK_DIR, GITEA_CUSTOM and GITEA__section__KEY would reconfigure the server under
		// test. Given the LISTEN_FDS of a systemd-started shell, Gitea would take itself for the new
		// process of a graceful restart and SIGTERM its parent, the test; NOTIFY_SOCKET is systemd's too.
		if strings.HasPrefix(kv, "GITEA_") || strings.HasPrefix(kv, "LISTEN_") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	return cmd
}

// readLog reads Gitea's log from offset on.
func (s *Server) readLog(offset int64) (string, error) {
	f, err := os.Open(s.logPath())
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", err
	}
	data, err := io.ReadAll(f)
	return string(data), err
}

// logTail is the end of Gitea's log, for error messages.
func (s *Server) logTail() string {
	log, err := s.readLog(0)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// appIni is the whole configuration: every path under the work path (or Gitea writes beside its binary
// and suites collide), nothing that reaches off the machine, and every secret given so that Gitea does
// not rewrite the file on its first start.
var appIni = template.Must(template.New("app.ini").Parse(`; CI runs as root, which Gitea refuses unless this comes first.
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
APP_NAME = nuop test
RUN_MODE = prod
WORK_PATH = {{.Work}}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {{.Port}}
ROOT_URL = {{.URL}}/
APP_DATA_PATH = {{.Work}}/data
STATIC_ROOT_PATH = {{.StaticRoot}}
DISABLE_SSH = true
START_SSH_SERVER = false
; Gitea keeps an authorized_keys file in $HOME/.ssh by default, even with SSH disabled: every key a test
; adds would land in the user's own file. Adding a deploy key also takes that file's lock inside a database
; transaction, while deleting one takes the lock and then reads the keys: two such requests at once
; deadlock Gitea for good on SQLite's shared cache.
SSH_CREATE_AUTHORIZED_KEYS_FILE = false
SSH_ROOT_PATH = {{.Work}}/ssh
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = {{.Work}}/data/gitea.db

[repository]
ROOT = {{.Work}}/repositories

[log]
MODE = console
LEVEL = Info
ROOT_PATH = {{.Work}}/log
logger.router.MODE =

[security]
INSTALL_LOCK = true
SECRET_KEY = {{.SecretKey}}
INTERNAL_TOKEN = {{.InternalToken}}

[oauth2]
JWT_SECRET = {{.JWTSecret}}

[api]
MAX_RESPONSE_ITEMS = {{.PageSize}}
DEFAULT_PAGING_NUM = {{.PageSize}}

[cron.update_checker]
ENABLED = false
`))

// listenOn picks a free loopback port for Gitea and writes app.ini for it.
func (s *Server) listenOn() error {
	addr, err := utils.FreeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	s.addr, s.URL = addr, "http://"+addr
	s.ini["Port"], s.ini["URL"] = port, s.URL
	var buf bytes.Buffer
	if err := appIni.Execute(&buf, s.ini); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.WorkPath, "app.ini"), buf.Bytes(), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand's documentation)
	return hex.EncodeToString(b)
}
