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

package giteaserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

type apiUser struct {
	Login   string `json:"login"`
	IsAdmin bool   `json:"is_admin"`
}

// whoAmI asks baseURL's /api/v1/user with token through client.
func whoAmI(ctx context.Context, client *http.Client, baseURL, token string) (apiUser, error) {
	var u apiUser
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/v1/user", nil)
	if err != nil {
		return u, err
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := client.Do(req)
	if err != nil {
		return u, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return u, fmt.Errorf("GET /api/v1/user: %s", resp.Status)
	}
	return u, json.NewDecoder(resp.Body).Decode(&u)
}

// TestServer goes through a server's life: the subtests share it, in order.
func TestServer(t *testing.T) {
	begin := time.Now()
	s := StartT(t, Options{})
	t.Logf("Start (migrate, admin user, web, token) took %s", time.Since(begin).Round(time.Millisecond))
	if s.Version != "1.26.0" {
		t.Errorf("version %q, want 1.26.0", s.Version)
	}
	if me, err := whoAmI(t.Context(), plain, s.URL, s.AdminToken); err != nil || me != (apiUser{s.AdminUser, true}) {
		t.Errorf("the admin token is %+v, %v; want %s, an admin", me, err, s.AdminUser)
	}
	t.Run("users and tokens", func(t *testing.T) { testUsersAndTokens(t, s) })
	t.Run("pagination", func(t *testing.T) { testPagination(t, s) })
	front, err := s.StartTLSFront()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(front.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	withCA := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Run("TLS front", func(t *testing.T) { testTLSFront(t, s, front, withCA) })
	t.Run("stop and restart", func(t *testing.T) { testRestart(t, s, front, withCA) })

	pid := s.proc.cmd.Process.Pid
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{pid, -pid} {
		if err := syscall.Kill(p, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("after Close, kill(%d, 0) gave %v, want ESRCH (nothing left running)", p, err)
		}
	}
	if _, err := os.Stat(s.WorkPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close the work path %s: %v", s.WorkPath, err)
	}
	if _, err := whoAmI(t.Context(), withCA, front.URL, s.AdminToken); err == nil {
		t.Error("the TLS front still answers after Close")
	}
}

// plain is a client with no proxy and the system's CAs.
var plain = &http.Client{Transport: &http.Transport{}}

func testUsersAndTokens(t *testing.T, s *Server) {
	ctx := t.Context()
	for _, u := range []apiUser{{"alice", false}, {"bob", true}} {
		if err := s.CreateUser(ctx, u.Login, "password-of-"+u.Login, u.IsAdmin); err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateToken(ctx, u.Login, "password-of-"+u.Login, "test")
		if err != nil {
			t.Fatal(err)
		}
		if me, err := whoAmI(ctx, plain, s.URL, tok); err != nil || me != u {
			t.Errorf("%s's token is %+v, %v", u.Login, me, err)
		}
	}
	// Gitea refuses a second token of the same name; the provider's re-minting relies on knowing it.
	if _, err := s.CreateToken(ctx, "alice", "password-of-alice", "test"); err == nil {
		t.Error("a second token named test was accepted")
	}
	if _, err := whoAmI(ctx, plain, s.URL, strings.Repeat("0", 40)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("an unknown token gave %v, want 401", err)
	}
}

func testPagination(t *testing.T, s *Server) {
	ctx := t.Context()
	const orgs = defaultPageSize + 2
	for i := range orgs {
		if _, err := s.Do(ctx, http.MethodPost, "/orgs", map[string]string{"username": fmt.Sprintf("org%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/orgs", defaultPageSize},          // the default page size
		{"/orgs?limit=50", defaultPageSize}, // the cap
		{"/orgs?limit=50&page=2", orgs - defaultPageSize},
	} {
		var page []struct {
			Name string `json:"name"`
		}
		header, err := s.Do(ctx, http.MethodGet, c.path, nil, &page)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != c.want || header.Get("X-Total-Count") != fmt.Sprint(orgs) {
			t.Errorf("%s: %d items, X-Total-Count %q; want %d, %d", c.path, len(page), header.Get("X-Total-Count"), c.want, orgs)
		}
	}
	var statusErr *StatusError
	if _, err := s.Do(ctx, http.MethodGet, "/orgs/nope", nil, nil); !errors.As(err, &statusErr) || statusErr.Code != http.StatusNotFound {
		t.Errorf("a missing org gave %v, want a 404 StatusError", err)
	}
}

func testTLSFront(t *testing.T, s *Server, front *TLSFront, withCA *http.Client) {
	ctx := t.Context()
	var unknownCA x509.UnknownAuthorityError
	if _, err := whoAmI(ctx, plain, front.URL, s.AdminToken); !errors.As(err, &unknownCA) {
		t.Errorf("without the CA: %v, want an unknown authority error", err)
	}
	localhost := strings.Replace(front.URL, "127.0.0.1", "localhost", 1)
	for _, base := range []string{front.URL, localhost} {
		if me, err := whoAmI(ctx, withCA, base, s.AdminToken); err != nil || me.Login != s.AdminUser {
			t.Errorf("%s with the CA: %+v, %v", base, me, err)
		}
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if _, err := whoAmI(ctx, insecure, front.URL, s.AdminToken); err != nil {
		t.Errorf("insecureSkipVerify: %v", err)
	}
}

func testRestart(t *testing.T, s *Server, front *TLSFront, withCA *http.Client) {
	ctx := t.Context()
	url := s.URL
	begin := time.Now()
	s.Stop()
	t.Logf("Stop took %s", time.Since(begin).Round(time.Millisecond))
	if _, err := s.Do(ctx, http.MethodGet, "/version", nil, nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("while stopped: %v, want connection refused", err)
	}
	taken, err := net.Listen("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); !errors.Is(err, ErrPortTaken) {
		t.Errorf("restarting on a taken port: %v, want ErrPortTaken", err)
	}
	_ = taken.Close()
	begin = time.Now()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Restart took %s", time.Since(begin).Round(time.Millisecond))
	if s.URL != url {
		t.Errorf("URL changed from %s to %s", url, s.URL)
	}
	if me, err := whoAmI(ctx, plain, s.URL, s.AdminToken); err != nil || me.Login != s.AdminUser {
		t.Errorf("the admin token after the restart: %+v, %v", me, err)
	}
	if _, err := whoAmI(ctx, withCA, front.URL, s.AdminToken); err != nil {
		t.Errorf("the TLS front after the restart: %v", err)
	}
}

// A missing binary is an error naming the make target, which StartT turns into a failure.
func TestMissingBinary(t *testing.T) {
	t.Setenv("NUOP_BIN_DIR", t.TempDir())
	_, err := Start(t.Context(), Options{})
	if err == nil || !strings.Contains(err.Error(), "make gitea") {
		t.Errorf("got %v, want an error saying to run make gitea", err)
	}
}

// A key added to Gitea stays inside the server's work path: nothing is written to the user's
// ~/.ssh/authorized_keys, and Gitea takes none of the authorized_keys locks whose order with its database
// transactions can deadlock it when deploy keys are added and deleted at once.
func TestKeysStayInTheWorkPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	s := StartT(t, Options{})
	ctx := t.Context()
	if _, err := s.Do(ctx, http.MethodPost, "/user/repos", map[string]any{"name": "keys"}, nil); err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		ID int64 `json:"id"`
	}
	if _, err := s.Do(ctx, http.MethodPost, "/repos/"+s.AdminUser+"/keys/keys", map[string]any{
		"key": string(ssh.MarshalAuthorizedKey(sshPub)), "title": "ci", "read_only": true,
	}, &key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(ctx, http.MethodDelete, fmt.Sprintf("/repos/%s/keys/keys/%d", s.AdminUser, key.ID), nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(home, ".ssh"), filepath.Join(s.WorkPath, "ssh")} {
		if _, err := os.Stat(filepath.Join(dir, "authorized_keys")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Gitea keeps an authorized_keys file in %s (stat: %v)", dir, err)
		}
	}
}
