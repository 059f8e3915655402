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
	"kemper.buzz/nuop/test/utils"

	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer serves git-upload-pack for the repositories under dir over ssh, to the user git with one key.
type sshServer struct {
	addr    string
	hostKey ssh.PublicKey
	conns   atomic.Int64
}

func newSSHServer(t *testing.T, dir string, authorized ssh.PublicKey) *sshServer {
	t.Helper()
	hostSigner := newSigner(t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == "git" && bytes.Equal(k.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &sshServer{addr: ln.Addr().String(), hostKey: hostSigner.PublicKey()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go serveSSH(conn, cfg, dir)
		}
	}()
	return s
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig, dir string) {
	defer func() { _ = conn.Close() }()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go serveSession(ch, chReqs, dir)
	}
}

func serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, dir string) {
	for req := range reqs {
		switch req.Type {
		case "env":
			_ = req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if ssh.Unmarshal(req.Payload, &p) != nil || !strings.HasPrefix(p.Command, "git-upload-pack ") {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			repo := strings.Trim(strings.TrimPrefix(p.Command, "git-upload-pack "), "'")
			go func() {
				status := uint32(0)
				cmd := exec.Command("git", "upload-pack", filepath.Join(dir, filepath.FromSlash(repo)))
				cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
				stdin, err := cmd.StdinPipe()
				if err == nil {
					err = cmd.Start()
				}
				if err == nil {
					go func() { _, _ = io.Copy(stdin, ch); _ = stdin.Close() }()
					err = cmd.Wait()
				}
				if err != nil {
					status = 1
				}
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				_ = ch.Close()
			}()
		default:
			_ = req.Reply(false, nil)
		}
	}
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newClientKey returns a private key in OpenSSH form and its public key.
func newClientKey(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

func TestSyncSSH(t *testing.T) {
	dir := t.TempDir()
	r := utils.NewRepo(t, dir, "org/scripts.git")
	sha := r.Commit("v1", map[string]string{"scripts/hello/mod.nu": helloV1})
	key, pub := newClientKey(t)
	srv := newSSHServer(t, dir, pub)
	otherKey, _ := newClientKey(t)
	knownHosts := []byte("# the test server\n" + knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, srv.hostKey) + "\n")
	wrongHost := []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, newSigner(t).PublicKey()) + "\n")
	otherHost := []byte(knownhosts.Line([]string{"example.com"}, srv.hostKey) + "\n")
	block, err := ssh.MarshalPrivateKeyWithPassphrase(ed25519PrivateKey(t, key), "", []byte("open sesame"))
	if err != nil {
		t.Fatal(err)
	}
	lockedKey := pem.EncodeToMemory(block)
	location := "ssh://git@" + srv.addr + "/org/scripts.git?dir=scripts"

	cases := []struct {
		name    string
		creds   *Credentials
		want    []string // error parts; none for success
		network bool     // whether the server is contacted
	}{
		{"key and known hosts", &Credentials{SSHPrivateKey: key, KnownHosts: knownHosts}, nil, true},
		{"no known hosts", &Credentials{SSHPrivateKey: key}, []string{"no known hosts", "never accepted unverified"}, false},
		{"no key", &Credentials{KnownHosts: knownHosts}, []string{"no SSH private key"}, false},
		{"no credentials", nil, []string{"no SSH private key"}, false},
		{"host not in known hosts", &Credentials{SSHPrivateKey: key, KnownHosts: otherHost},
			[]string{"no host key for " + srv.addr}, false},
		{"wrong host key", &Credentials{SSHPrivateKey: key, KnownHosts: wrongHost}, []string{"host key"}, true},
		{"key not authorized", &Credentials{SSHPrivateKey: otherKey, KnownHosts: knownHosts},
			[]string{"ssh authentication", "not accepted"}, true},
		{"not a key", &Credentials{SSHPrivateKey: []byte("nope"), KnownHosts: knownHosts},
			[]string{"cannot be read"}, false},
		{"key with passphrase", &Credentials{SSHPrivateKey: lockedKey, Password: []byte("open sesame\n"),
			KnownHosts: knownHosts}, nil, true},
		{"key without its passphrase", &Credentials{SSHPrivateKey: lockedKey, KnownHosts: knownHosts},
			[]string{"protected by a passphrase"}, false},
		{"key with a wrong passphrase", &Credentials{SSHPrivateKey: lockedKey, Password: []byte("nope"),
			KnownHosts: knownHosts}, []string{"cannot be opened"}, false},
		{"token", &Credentials{Token: []byte("t0ken"), KnownHosts: knownHosts}, []string{"token", "ssh"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			before := srv.conns.Load()
			st := (&Fetcher{Root: root}).Sync(context.Background(), Spec{Location: location, Path: "scripts", Credentials: c.creds})
			if contacted := srv.conns.Load() > before; contacted != c.network {
				t.Errorf("server contacted: %v, want %v", contacted, c.network)
			}
			if c.want == nil {
				if st.LastError != "" || st.Revision != sha {
					t.Fatalf("state = %+v, want revision %s", st, sha)
				}
				if got := readFile(t, filepath.Join(root, "scripts/hello/mod.nu")); got != helloV1 {
					t.Errorf("mod.nu = %q", got)
				}
				assertNoGit(t, root)
				return
			}
			wantError(t, st, c.want...)
			if strings.Contains(st.LastError, "PRIVATE KEY") {
				t.Errorf("the key leaked into the error: %s", st.LastError)
			}
		})
	}
}

func ed25519PrivateKey(t *testing.T, pemKey []byte) ed25519.PrivateKey {
	t.Helper()
	k, err := ssh.ParseRawPrivateKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return *k.(*ed25519.PrivateKey)
}
