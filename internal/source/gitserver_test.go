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
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

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

func runGit(t *testing.T, dir string, args ...string) string {
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

// gitServer serves the bare repositories under dir over smart HTTP with git http-backend, counting
// advertisements (ls-remote and the start of a fetch) and upload-pack POSTs (the fetch itself).
type gitServer struct {
	dir        string
	srv        *httptest.Server
	infoRefs   atomic.Int64
	uploadPack atomic.Int64
	// user and password, when password is set, are required as basic authentication (user "" is any user).
	user, password string
}

func newGitServer(t *testing.T, useTLS bool, user, password string) *gitServer {
	t.Helper()
	execPath := runGit(t, "", "--exec-path")
	g := &gitServer{dir: t.TempDir(), user: user, password: password}
	backend := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + g.dir, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			g.infoRefs.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			g.uploadPack.Add(1)
		}
		if g.password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || p != g.password || (g.user != "" && u != g.user) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})
	if useTLS {
		g.srv = httptest.NewTLSServer(handler)
	} else {
		g.srv = httptest.NewServer(handler)
	}
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gitServer) url(repo string) string { return g.srv.URL + "/" + repo }

func (g *gitServer) resetCounts() {
	g.infoRefs.Store(0)
	g.uploadPack.Store(0)
}

// repo is a bare repository under a server's directory and a work tree that pushes to it.
type repo struct {
	t    *testing.T
	bare string
	work string
}

// newRepo makes the bare repository dir/name, with main as its default branch.
func newRepo(t *testing.T, dir, name string) *repo {
	t.Helper()
	r := &repo{t: t, bare: filepath.Join(dir, filepath.FromSlash(name)), work: t.TempDir()}
	runGit(t, "", "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	runGit(t, r.work, "init", "--quiet", "--initial-branch=main")
	runGit(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

// commit writes files (a "" content removes the file; a content starting with "-> " makes a symlink to the
// rest), commits them on the current branch, pushes it and returns the commit's SHA.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		switch {
		case content == "":
			runGit(r.t, r.work, "rm", "--quiet", "-r", name)
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
		runGit(r.t, r.work, "add", name)
	}
	runGit(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	branch := runGit(r.t, r.work, "rev-parse", "--abbrev-ref", "HEAD")
	runGit(r.t, r.work, "push", "--quiet", "origin", branch)
	return runGit(r.t, r.work, "rev-parse", "HEAD")
}

// checkout switches the work tree to a branch, creating it from the current commit if new.
func (r *repo) checkout(branch string) {
	r.t.Helper()
	runGit(r.t, r.work, "checkout", "--quiet", "-B", branch)
}

// tag tags the current commit (annotated when a message is given) and pushes the tag.
func (r *repo) tag(name, msg string) {
	r.t.Helper()
	if msg != "" {
		runGit(r.t, r.work, "tag", "-a", "-m", msg, name)
	} else {
		runGit(r.t, r.work, "tag", name)
	}
	runGit(r.t, r.work, "push", "--quiet", "origin", "refs/tags/"+name)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
