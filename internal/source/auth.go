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
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	cryptossh "golang.org/x/crypto/ssh"
)

// Credentials are a source's credentials, the values already read from the Secrets the source names. An
// empty field is unset. Surrounding white space (a trailing newline from `echo ... | kubectl create secret`)
// is trimmed from the token and the user name, trailing line breaks from the password.
//
// For http(s): Username and Password give basic authentication; otherwise Token does, as the password of
// Username, or of "git" when no Username is given (GitHub and Gitea accept any user name with a token). When
// both are given, Username/Password win, as in nuop. CABundle (PEM) replaces the system's roots for https.
//
// For ssh: SSHPrivateKey (PEM or OpenSSH format; Password is its passphrase, if it has one) and KnownHosts
// (known_hosts lines holding the server's host key) are both required: a host key is never accepted
// unverified. The ssh user is the location's (git@...), else Username, else "git".
type Credentials struct {
	Token         []byte
	Username      []byte
	Password      []byte
	SSHPrivateKey []byte
	KnownHosts    []byte
	CABundle      []byte
}

// sshDialTimeout bounds an ssh connection's dial and handshake: go-git's ssh transport does not follow the
// context there.
const sshDialTimeout = 30 * time.Second

// transportOptions are what go-git needs for one remote: the auth method and the CA bundle.
type transportOptions struct {
	auth     transport.AuthMethod
	caBundle []byte
}

// transportFor builds the auth method and TLS options for a location. tmpDir is where the known hosts are
// written for the moment go-git needs to read them from a file.
func transportFor(l Location, c *Credentials, tmpDir string) (transportOptions, error) {
	if c == nil {
		c = &Credentials{}
	}
	if l.Scheme == SchemeSSH {
		return sshTransport(l, c, tmpDir)
	}
	var o transportOptions
	if len(c.SSHPrivateKey) > 0 || len(c.KnownHosts) > 0 {
		return o, fmt.Errorf("the credentials give an SSH key or known hosts, but the location is %s: "+
			"use an ssh location (ssh://... or git@host:org/repo.git) or a token", l.Scheme)
	}
	if len(c.CABundle) > 0 {
		if l.Scheme != SchemeHTTPS {
			return o, errors.New("the credentials give a CA bundle, but the location is http, not https")
		}
		if !x509.NewCertPool().AppendCertsFromPEM(c.CABundle) {
			return o, errors.New("the CA bundle holds no PEM certificate")
		}
		o.caBundle = c.CABundle
	}
	user := strings.TrimSpace(string(c.Username))
	password := strings.TrimRight(string(c.Password), "\r\n")
	token := strings.TrimSpace(string(c.Token))
	switch {
	case password != "":
		if user == "" {
			return o, errors.New("the credentials give a password but no username")
		}
		o.auth = &githttp.BasicAuth{Username: user, Password: password}
	case token != "":
		if user == "" {
			user = "git"
		}
		o.auth = &githttp.BasicAuth{Username: user, Password: token}
	case user != "":
		return o, errors.New("the credentials give a username but no password or token")
	}
	return o, nil
}

func sshTransport(l Location, c *Credentials, tmpDir string) (transportOptions, error) {
	var o transportOptions
	switch {
	case len(bytes.TrimSpace(c.Token)) > 0:
		return o, errors.New("the credentials give a token, but the location is ssh: use an https location " +
			"for a token, or an SSH private key")
	case len(c.CABundle) > 0:
		return o, errors.New("the credentials give a CA bundle, but the location is ssh: a CA bundle is for https")
	case len(c.SSHPrivateKey) == 0:
		return o, errors.New("the location is ssh, but the credentials give no SSH private key")
	case len(bytes.TrimSpace(c.KnownHosts)) == 0:
		return o, errors.New("the location is ssh, but the credentials give no known hosts: the server's host key " +
			"must be given (known_hosts lines), it is never accepted unverified")
	}
	ep, err := transport.NewEndpoint(l.URL)
	if err != nil {
		return o, fmt.Errorf("location: %s", redact(err.Error()))
	}
	user := ep.User
	if user == "" {
		user = strings.TrimSpace(string(c.Username))
	}
	if user == "" {
		user = gitssh.DefaultUsername
	}
	passphrase := strings.TrimRight(string(c.Password), "\r\n")
	keys, err := gitssh.NewPublicKeys(user, c.SSHPrivateKey, passphrase)
	if err != nil {
		var missing *cryptossh.PassphraseMissingError
		_, perr := cryptossh.ParsePrivateKey(c.SSHPrivateKey)
		switch {
		case errors.As(perr, &missing) && passphrase == "":
			return o, errors.New("the SSH private key is protected by a passphrase: give it as the password")
		case errors.As(perr, &missing):
			return o, errors.New("the SSH private key cannot be opened with the password given as its passphrase")
		}
		return o, errors.New("the SSH private key cannot be read (a PEM or OpenSSH private key is expected, " +
			"with its passphrase as the password if it has one)")
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, strconv.Itoa(port))
	cb, algos, err := knownHostsCallback(c.KnownHosts, hostPort, tmpDir)
	if err != nil {
		return o, err
	}
	keys.HostKeyCallback = cb
	keys.HostKeyAlgorithms = algos
	o.auth = sshAuth{keys}
	return o, nil
}

// knownHostsCallback builds the host key check from known_hosts lines. go-git's knownhosts reader only reads
// files, so the lines go to a temporary file for the moment it takes (host keys are public).
func knownHostsCallback(knownHosts []byte, hostPort, tmpDir string) (cryptossh.HostKeyCallback, []string, error) {
	f, err := os.CreateTemp(tmpDir, ".tmp-known_hosts-*")
	if err != nil {
		return nil, nil, fmt.Errorf("known hosts: %w", err)
	}
	name := f.Name()
	defer func() { _ = os.Remove(name) }()
	_, err = f.Write(knownHosts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("known hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(name)
	if err != nil {
		return nil, nil, fmt.Errorf("the known hosts cannot be read: %s",
			strings.ReplaceAll(err.Error(), name, "known hosts"))
	}
	algos := db.HostKeyAlgorithms(hostPort)
	if len(algos) == 0 {
		return nil, nil, fmt.Errorf("the known hosts have no host key for %s (for a port other than 22 the "+
			"known_hosts entry is written [host]:port)", hostPort)
	}
	return db.HostKeyCallback(), algos, nil
}

// sshAuth bounds the dial and handshake of go-git's ssh transport.
type sshAuth struct {
	*gitssh.PublicKeys
}

// ClientConfig implements go-git's ssh AuthMethod.
func (a sshAuth) ClientConfig() (*cryptossh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if cfg != nil {
		cfg.Timeout = sshDialTimeout
	}
	return cfg, err
}

// scrub removes credentials from an error message: any written into URLs, and the credential values
// themselves, should a server or library echo them.
func scrub(msg string, c *Credentials) string {
	msg = redact(msg)
	if c == nil {
		return msg
	}
	for _, v := range [][]byte{c.Token, c.Password} {
		s := strings.TrimSpace(string(v))
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}
