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

// Package giteaclient is how the operator talks to Gitea: one Client per GiteaProvider, holding one shared
// http.Client whose transport does the provider's rate limit, retries of idempotent calls, the URL
// allow-list, proxies, metrics and error typing; cheap SDK clients made from it per reconcile; raw calls
// for what the SDK lacks; and a Cache of Clients for the controllers.
//
// Credentials never appear in an error, a metric or a URL: the transport sets the Authorization header,
// and errors name only the method and the URL path. The package does not log.
package giteaclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"code.gitea.io/sdk/gitea"
	"k8s.io/utils/clock"
)

// DefaultTimeout bounds a call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxIdleConnsPerHost is about the number of a provider's calls in flight at once.
const maxIdleConnsPerHost = 16

// apiPrefix is where Gitea serves its API under the configured URL.
const apiPrefix = "/api/v1"

// Config is what a GiteaProvider resolves to, with the Secrets it references read.
type Config struct {
	// URL is Gitea's root URL (http or https), possibly with a sub-path; never with credentials.
	URL string
	// Token authenticates every call. Without one, Username and Password do (basic auth): meant for minting
	// a token, since Gitea hashes the password on every basic-auth call. With neither, calls are anonymous.
	// Surrounding white space (a trailing newline in a Secret) is ignored.
	Token              string
	Username, Password string

	// InsecureSkipVerify turns off the verification of the server's certificate.
	InsecureSkipVerify bool
	// CABundle (PEM) replaces the system's roots to verify the server's certificate.
	CABundle []byte

	// Timeout bounds one call, its retries and waits included; 0 is DefaultTimeout.
	Timeout time.Duration
	// QPS and Burst are the client-side rate limit: Burst calls at once, then QPS a second. QPS 0 is no
	// limit; a Burst below 1 is QPS rounded up.
	QPS   float64
	Burst int

	// Provider names the GiteaProvider (namespace/name) in the metrics.
	Provider string

	// The rest is the process's, the same for every provider: Cache.Put does not compare it.

	// AllowedHosts is --gitea-allowed-hosts; the zero value allows all but link-local and metadata addresses.
	AllowedHosts AllowList
	// Metrics receives the series; nil records none.
	Metrics *Metrics
	// Clock paces the rate limit and the retries; nil is the real clock.
	Clock clock.Clock
	// Proxy chooses the proxy of each request; nil is http.ProxyFromEnvironment (HTTPS_PROXY, HTTP_PROXY,
	// NO_PROXY). A proxy's address is what is dialed, so the allow-list must allow it.
	Proxy func(*http.Request) (*url.URL, error)
}

// Client is one provider's connection to Gitea. It is safe for concurrent use and meant to be shared by
// every reconcile of the provider and of the resources using it.
type Client struct {
	cfg Config
	// root is the configured URL without a trailing slash.
	root string
	http *http.Client

	mu      sync.Mutex
	version string
}

// New checks cfg and builds its Client. It makes no call to the server.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil:
		// url.Parse's error quotes the URL, which may hold credentials.
		return nil, errors.New("gitea: the URL does not parse")
	case u.User != nil:
		return nil, errors.New("gitea: the URL must not hold credentials: give them in the Secret")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("gitea: URL %s: the scheme must be http or https", u)
	case u.Host == "":
		return nil, fmt.Errorf("gitea: URL %s has no host", u)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("gitea: URL %s must not have a query or a fragment", u)
	case cfg.Timeout < 0, cfg.QPS < 0, cfg.Burst < 0:
		return nil, errors.New("gitea: timeout, qps and burst must not be negative")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if len(cfg.CABundle) > 0 {
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(cfg.CABundle) {
			return nil, errors.New("gitea: the CA bundle holds no PEM certificate")
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// http.DefaultTransport's settings, but for the idle connections kept per host: all of a provider's calls
	// go to one host, and the default of 2 would have concurrent reconciles open and close connections.
	base := &http.Transport{
		Proxy:                 proxy,
		DialContext:           newDialer(cfg.AllowedHosts).DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{
		cfg:  cfg,
		root: strings.TrimSuffix(u.String(), "/"),
		http: &http.Client{
			Transport: &transport{
				base:          base,
				clock:         clk,
				limiter:       newLimiter(clk, cfg.QPS, cfg.Burst),
				metrics:       cfg.Metrics,
				provider:      cfg.Provider,
				timeout:       timeout,
				origin:        &url.URL{Scheme: u.Scheme, Host: u.Host},
				authorization: authorization(cfg),
			},
			CheckRedirect: checkRedirect,
		},
	}, nil
}

func (cfg Config) token() string { return strings.TrimSpace(cfg.Token) }

func authorization(cfg Config) string {
	if t := cfg.token(); t != "" {
		return "token " + t
	}
	if cfg.Username != "" {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	return ""
}

// SDK returns a Gitea SDK client for one reconcile: on the shared transport, with ctx for all its calls
// (the SDK holds one context per client, so a shared SDK client could not give each reconcile its own
// deadline) and the server's version, asked once per Client rather than by every SDK client. Type its
// errors with Wrap. The SDK is not given the token, which the transport sets; with basic auth it is given
// the user name too, since its token calls (CreateAccessToken) insist on one.
func (c *Client) SDK(ctx context.Context) (*gitea.Client, error) {
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	opts := []gitea.ClientOption{gitea.SetHTTPClient(c.http), gitea.SetContext(ctx), gitea.SetGiteaVersion(v)}
	if c.cfg.token() == "" && c.cfg.Username != "" {
		opts = append(opts, gitea.SetBasicAuth(c.cfg.Username, c.cfg.Password))
	}
	sdk, err := gitea.NewClient(c.root, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitea: server version %q: %w", v, err)
	}
	return sdk, nil
}

func (c *Client) serverVersion(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	info, err := c.ServerInfo(ctx)
	return info.Version, err
}

// Do makes a raw API call, for what the SDK lacks: method on path (under /api/v1, its segments escaped by
// the caller as the SDK does) with query, body encoded as JSON unless nil, and a 2xx response decoded into
// out unless nil. It returns the response, its body consumed and closed, for its headers (X-Total-Count);
// any non-2xx is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) (*http.Response, error) {
	target := c.root + apiPrefix + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, &Error{Kind: KindOther, Method: method, Path: apiPrefix + path, Err: err}
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		// The error of a URL that does not parse quotes it, query included.
		return nil, &Error{Kind: KindOther, Method: method, Path: apiPrefix + path, Err: errors.New("invalid request")}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, Wrap(nil, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return resp, statusError(resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp, &Error{Kind: KindOther, Method: method, Path: req.URL.Path,
				Err: fmt.Errorf("decoding the response: %w", err)}
		}
	}
	return resp, nil
}

// ServerInfo is what GET /api/v1/version says.
type ServerInfo struct {
	Version string
}

// ServerInfo asks the server's version, which SDK clients are then given. With Self, the provider's health
// check.
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	var v struct {
		Version string `json:"version"`
	}
	if _, err := c.Do(ctx, http.MethodGet, "/version", nil, nil, &v); err != nil {
		return ServerInfo{}, err
	}
	c.mu.Lock()
	c.version = v.Version
	c.mu.Unlock()
	return ServerInfo{Version: v.Version}, nil
}

// Self is the user the credentials authenticate as (GET /api/v1/user): its login (UserName) and whether it
// is a site admin (IsAdmin).
func (c *Client) Self(ctx context.Context) (*gitea.User, error) {
	u := new(gitea.User)
	if _, err := c.Do(ctx, http.MethodGet, "/user", nil, nil, u); err != nil {
		return nil, err
	}
	return u, nil
}
