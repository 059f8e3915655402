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

package utils

import (
	"bytes"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// T is what the git helpers need of a test: *testing.T and Ginkgo's GinkgoT() both have it.
type T interface {
	Helper()
	TempDir() string
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// gitEnv is the environment of every git command the tests run: no user or system configuration.
func gitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// RunGit runs git in dir with no user or system configuration and returns its trimmed output.
func RunGit(t T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// GitServer serves the bare repositories under Dir over smart HTTP with git http-backend on loopback,
// counting advertisements (ls-remote and the start of a fetch) and upload-pack POSTs (the fetch itself).
type GitServer struct {
	Dir        string
	Server     *httptest.Server
	InfoRefs   atomic.Int64
	UploadPack atomic.Int64
	// user and password, when password is set, are required as basic authentication (user "" is any user).
	user     string
	password atomic.Pointer[string]
}

// NewGitServer starts a server (with TLS when useTLS); with a password set, basic authentication with
// it (and user, unless "") is required.
func NewGitServer(t T, useTLS bool, user, password string) *GitServer {
	t.Helper()
	execPath := RunGit(t, "", "--exec-path")
	g := &GitServer{Dir: t.TempDir(), user: user}
	g.SetPassword(password)
	backend := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + g.Dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			g.InfoRefs.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			g.UploadPack.Add(1)
		}
		if password := *g.password.Load(); password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || p != password || (g.user != "" && u != g.user) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})
	if useTLS {
		g.Server = httptest.NewTLSServer(handler)
	} else {
		g.Server = httptest.NewServer(handler)
	}
	t.Cleanup(g.Server.Close)
	return g
}

// SetPassword makes the server require password from now on, as a rotated token would.
func (g *GitServer) SetPassword(password string) { g.password.Store(&password) }

// URL is the clone URL of the repository at repo (a path under Dir).
func (g *GitServer) URL(repo string) string { return g.Server.URL + "/" + repo }

// ResetCounts zeroes the request counters.
func (g *GitServer) ResetCounts() {
	g.InfoRefs.Store(0)
	g.UploadPack.Store(0)
}

// Repo is a bare repository under a server's directory and a work tree that pushes to it.
type Repo struct {
	t    T
	bare string
	work string
}

// NewRepo makes the bare repository dir/name, with main as its default branch.
func NewRepo(t T, dir, name string) *Repo {
	t.Helper()
	r := &Repo{t: t, bare: filepath.Join(dir, filepath.FromSlash(name)), work: t.TempDir()}
	RunGit(t, "", "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	RunGit(t, r.work, "init", "--quiet", "--initial-branch=main")
	RunGit(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

// Commit writes files (a "" content removes the file; a content starting with "-> " makes a symlink to the
// rest), commits them on the current branch, pushes it and returns the commit's SHA.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		switch {
		case content == "":
			RunGit(r.t, r.work, "rm", "--quiet", "-r", name)
			continue
		case strings.HasPrefix(content, "-> "):
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				r.t.Fatal(err)
			}
			if err := os.Symlink(strings.TrimPrefix(content, "-> "), p); err != nil {
				r.t.Fatal(err)
			}
		default:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				r.t.Fatal(err)
			}
			mode := os.FileMode(0o644)
			if strings.HasPrefix(content, "#!") {
				mode = 0o755
			}
			if err := os.WriteFile(p, []byte(content), mode); err != nil {
				r.t.Fatal(err)
			}
		}
		RunGit(r.t, r.work, "add", name)
	}
	RunGit(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	branch := RunGit(r.t, r.work, "rev-parse", "--abbrev-ref", "HEAD")
	RunGit(r.t, r.work, "push", "--quiet", "origin", branch)
	return RunGit(r.t, r.work, "rev-parse", "HEAD")
}

// Checkout switches the work tree to a branch, creating it from the current commit if new.
func (r *Repo) Checkout(branch string) {
	r.t.Helper()
	RunGit(r.t, r.work, "checkout", "--quiet", "-B", branch)
}

// Tag tags the current commit (annotated when a message is given) and pushes the tag.
func (r *Repo) Tag(name, msg string) {
	r.t.Helper()
	if msg != "" {
		RunGit(r.t, r.work, "tag", "-a", "-m", msg, name)
	} else {
		RunGit(r.t, r.work, "tag", name)
	}
	RunGit(r.t, r.work, "push", "--quiet", "origin", "refs/tags/"+name)
}

// Work is the repository's work tree.
func (r *Repo) Work() string { return r.work }
