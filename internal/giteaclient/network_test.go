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

package giteaclient

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestTLS(t *testing.T) {
	version := func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, `{"version":"1.26.0"}`) }
	srv := httptest.NewUnstartedServer(http.HandlerFunc(version))
	// The handshakes the tests fail on purpose are no news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	plain := serve(t, version)

	tests := []struct {
		name   string
		url    string
		config func(*Config)
		want   Kind
	}{
		{"no CA", srv.URL, func(*Config) {}, KindTLS},
		{"the server's CA", srv.URL, func(c *Config) { c.CABundle = certPEM(srv) }, ""},
		{"insecureSkipVerify", srv.URL, func(c *Config) { c.InsecureSkipVerify = true }, ""},
		{"a host name the certificate does not name", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1),
			func(c *Config) { c.CABundle = certPEM(srv) }, KindTLS},
		{"https to a plain HTTP server", strings.Replace(plain.URL, "http:", "https:", 1), func(*Config) {}, KindTLS},
	}
	for _, tt := range tests {
		env := newEnv(t, tt.url, tt.config)
		_, err := env.c.ServerInfo(t.Context())
		if KindOf(err) != tt.want {
			t.Errorf("%s: %v (kind %q), want kind %q", tt.name, err, KindOf(err), tt.want)
		}
		// TLS failures do not fix themselves: no retry.
		if env.clock.Waiters() != 0 {
			t.Errorf("%s: waiting to retry", tt.name)
		}
	}
}

func TestBadCABundle(t *testing.T) {
	_, err := New(Config{URL: "https://gitea.example.com", CABundle: []byte("not PEM")})
	if err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("a CA bundle without a certificate: %v", err)
	}
}

func TestAllowListAtDialTime(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
	})
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	viaName := "http://localhost:" + port // localhost resolves to loopback through /etc/hosts
	redirecting := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/api/v1/version", http.StatusFound)
	})
	redirectingViaName := "http://localhost:" + redirecting.URL[strings.LastIndex(redirecting.URL, ":")+1:]

	tests := []struct {
		name    string
		url     string
		allowed []string
		refused string // a part of the message, "" when the call goes through
	}{
		{"empty list, loopback", srv.URL, nil, ""},
		{"a name resolving outside the list", viaName, []string{"10.0.0.0/8"},
			"connecting to localhost (127.0.0.1) is refused: neither the host nor its address is in --gitea-allowed-hosts"},
		{"the name listed", viaName, []string{"localhost"}, ""},
		{"the address listed", viaName, []string{"127.0.0.0/8"}, ""},
		{"the address literal, only the name listed", srv.URL, []string{"localhost"},
			"connecting to 127.0.0.1 is refused"},
		{"a redirect to an address not listed", redirectingViaName, []string{"localhost"},
			"connecting to 127.0.0.1 is refused"},
		{"the metadata address by default", "http://169.254.169.254", nil,
			"connecting to 169.254.169.254 is refused: a link-local or cloud metadata address is only allowed when " +
				"--gitea-allowed-hosts lists its address or CIDR"},
		{"the metadata address, a list of names", "http://169.254.169.254", []string{"localhost"},
			"connecting to 169.254.169.254 is refused: a link-local"},
	}
	for _, tt := range tests {
		calls.Store(0)
		allow, err := ParseAllowList(tt.allowed)
		if err != nil {
			t.Fatal(err)
		}
		env := newEnv(t, tt.url, func(c *Config) { c.AllowedHosts = allow })
		_, err = env.c.ServerInfo(t.Context())
		if tt.refused == "" {
			if err != nil || calls.Load() != 1 {
				t.Errorf("%s: %v after %d calls, want it through", tt.name, err, calls.Load())
			}
			continue
		}
		if !IsNotAllowed(err) || !strings.Contains(err.Error(), tt.refused) {
			t.Errorf("%s: %v, want NotAllowed saying %q", tt.name, err, tt.refused)
		}
		if calls.Load() != 0 || env.clock.Waiters() != 0 {
			t.Errorf("%s: the server was called (%d) or a retry is pending", tt.name, calls.Load())
		}
	}
}

func TestProxy(t *testing.T) {
	type seen struct{ target, auth string }
	var got atomic.Pointer[seen]
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(&seen{r.URL.String(), r.Header.Get("Authorization")})
		_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
	})
	proxyURL, _ := url.Parse(proxy.URL)
	tests := []struct {
		name    string
		allowed []string
		refused bool
	}{
		{"the proxy allowed", []string{"127.0.0.1", "gitea.example.com"}, false},
		// Only the proxy is dialed: the Gitea host is the proxy's to reach.
		{"only the proxy allowed", []string{"127.0.0.1"}, false},
		{"the proxy not allowed", []string{"gitea.example.com"}, true},
	}
	for _, tt := range tests {
		got.Store(nil)
		allow, err := ParseAllowList(tt.allowed)
		if err != nil {
			t.Fatal(err)
		}
		env := newEnv(t, "http://gitea.example.com", func(c *Config) {
			c.AllowedHosts = allow
			c.Proxy = http.ProxyURL(proxyURL)
		})
		_, err = env.c.ServerInfo(t.Context())
		if tt.refused {
			if !IsNotAllowed(err) || got.Load() != nil {
				t.Errorf("%s: %v, want NotAllowed before reaching the proxy", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s := got.Load(); s == nil || *s != (seen{"http://gitea.example.com/api/v1/version", "token " + testToken}) {
			t.Errorf("%s: the proxy saw %+v", tt.name, s)
		}
	}
}

func TestProxyFromEnvironmentByDefault(t *testing.T) {
	c, err := New(Config{URL: "http://gitea.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	base := c.http.Transport.(*transport).base.(*http.Transport)
	if reflect.ValueOf(base.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("the proxy is not chosen from HTTPS_PROXY, HTTP_PROXY and NO_PROXY")
	}
}
