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
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// maxRedirects bounds the redirects a call follows; each new connection is checked by the allow-list anyway.
const maxRedirects = 3

func checkRedirect(_ *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// transport is the RoundTripper of a provider's shared http.Client: the call's timeout, credentials,
// retries, rate limit, metrics and, for an error status, the response body kept for its message. Every
// attempt of a call goes through the limiter and is counted.
type transport struct {
	base     http.RoundTripper
	clock    clock.Clock
	limiter  *limiter
	metrics  *Metrics
	provider string
	// timeout bounds a call, its retries and waits included, up to the end of reading its body.
	timeout time.Duration
	// origin is the scheme and host of the configured URL: credentials go there and nowhere else, not to
	// a redirect's other host, nor over plain HTTP after a redirect from HTTPS.
	origin *url.URL
	// authorization is the Authorization header value, "" for anonymous calls.
	authorization string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.retrying(ctx, req)
	if err != nil {
		cancel()
		return nil, err
	}
	if _, read := resp.Body.(*errorBody); read {
		cancel()
		return resp, nil
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (t *transport) retrying(ctx context.Context, req *http.Request) (*http.Response, error) {
	backoff := retryBackoff.DelayFunc()
	for attempt := 1; ; attempt++ {
		r, err := t.prepare(ctx, req, attempt)
		if err != nil {
			return nil, transportError(req, err)
		}
		resp, got := t.attempt(ctx, r)
		d, retry := retryDelay(req.Method, replayable(req), attempt, got, backoff)
		if retry {
			// Deadlines are wall-clock times, whatever the clock that paces the waits.
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
				retry = false
			}
		}
		if !retry {
			if got.err != nil {
				return nil, got.err
			}
			return resp, nil
		}
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err := sleep(ctx, t.clock, d); err != nil {
			return nil, transportError(req, err)
		}
	}
}

// prepare makes the request of one attempt: the call's context, a fresh copy of the body after the first
// attempt, and the credentials when it goes to the configured origin.
func (t *transport) prepare(ctx context.Context, req *http.Request, attempt int) (*http.Request, error) {
	r := req.Clone(ctx)
	if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	if t.authorization != "" && r.URL.Scheme == t.origin.Scheme && strings.EqualFold(r.URL.Host, t.origin.Host) {
		r.Header.Set("Authorization", t.authorization)
	}
	return r, nil
}

// attempt sends r once, after the limiter admits it. An error response comes back with its body read.
func (t *transport) attempt(ctx context.Context, r *http.Request) (*http.Response, attemptResult) {
	if err := t.limiter.wait(ctx); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, attemptResult{err: transportError(r, err)}
	}
	start := t.clock.Now()
	resp, err := t.base.RoundTrip(r)
	t.metrics.observe(t.provider, r.Method, resp, t.clock.Since(start))
	if err != nil {
		return nil, attemptResult{err: transportError(r, err)}
	}
	got := attemptResult{status: resp.StatusCode}
	if resp.StatusCode < 400 {
		return resp, got
	}
	// A body cut short by a reset connection still says what it could.
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	body := &errorBody{Reader: bytes.NewReader(data), data: data}
	body.retryAfter, body.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), t.clock.Now())
	resp.Body = body
	got.retryAfter, got.hasRetryAfter = body.retryAfter, body.hasRetryAfter
	return resp, got
}

// cancelOnClose ends a call's timeout context when its body is closed: the context must outlive RoundTrip
// for the body to be read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
