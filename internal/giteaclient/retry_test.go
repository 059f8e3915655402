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
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRetryDelay(t *testing.T) {
	const backoffDelay = 700 * time.Millisecond
	backoff := func() time.Duration { return backoffDelay }
	unreachable := &Error{Kind: KindUnreachable}
	type decision struct {
		Delay time.Duration
		Retry bool
	}
	tests := []struct {
		name       string
		method     string
		replayable bool
		attempt    int
		got        attemptResult
		want       decision
	}{
		{"GET 503 backs off", "GET", true, 1, attemptResult{status: 503}, decision{backoffDelay, true}},
		{"GET 500", "GET", true, 1, attemptResult{status: 500}, decision{backoffDelay, true}},
		{"HEAD 502", "HEAD", true, 1, attemptResult{status: 502}, decision{backoffDelay, true}},
		{"PUT 504", "PUT", true, 2, attemptResult{status: 504}, decision{backoffDelay, true}},
		{"DELETE 429 with Retry-After", "DELETE", true, 1,
			attemptResult{status: 429, retryAfter: 3 * time.Second, hasRetryAfter: true}, decision{3 * time.Second, true}},
		{"OPTIONS 429, Retry-After 0", "OPTIONS", true, 1,
			attemptResult{status: 429, hasRetryAfter: true}, decision{0, true}},
		{"429 without Retry-After backs off", "GET", true, 1, attemptResult{status: 429}, decision{backoffDelay, true}},
		{"Retry-After past the cap", "GET", true, 1,
			attemptResult{status: 503, retryAfter: retryCap + time.Second, hasRetryAfter: true}, decision{}},
		{"Retry-After at the cap", "GET", true, 1,
			attemptResult{status: 503, retryAfter: retryCap, hasRetryAfter: true}, decision{retryCap, true}},
		{"connection error", "GET", true, 1, attemptResult{err: unreachable}, decision{backoffDelay, true}},
		{"TLS error", "GET", true, 1, attemptResult{err: &Error{Kind: KindTLS}}, decision{}},
		{"refused address", "GET", true, 1, attemptResult{err: &Error{Kind: KindNotAllowed}}, decision{}},
		{"cancelled", "GET", true, 1, attemptResult{err: &Error{Kind: KindOther}}, decision{}},
		{"POST 503", "POST", true, 1, attemptResult{status: 503}, decision{}},
		{"POST 429", "POST", true, 1, attemptResult{status: 429, hasRetryAfter: true}, decision{}},
		{"POST unreachable", "POST", true, 1, attemptResult{err: unreachable}, decision{}},
		{"PATCH 502", "PATCH", true, 1, attemptResult{status: 502}, decision{}},
		{"a body that cannot be replayed", "PUT", false, 1, attemptResult{status: 503}, decision{}},
		{"last attempt", "GET", true, maxAttempts, attemptResult{status: 503}, decision{}},
		{"404", "GET", true, 1, attemptResult{status: 404}, decision{}},
		{"409", "PUT", true, 1, attemptResult{status: 409}, decision{}},
		{"200", "GET", true, 1, attemptResult{status: 200}, decision{}},
	}
	for _, tt := range tests {
		d, retry := retryDelay(tt.method, tt.replayable, tt.attempt, tt.got, backoff)
		if diff := cmp.Diff(tt.want, decision{d, retry}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRetryBackoffIsBoundedAndGrows(t *testing.T) {
	for range 100 {
		next := retryBackoff.DelayFunc()
		base := retryBackoff.Duration
		for attempt := 1; attempt < maxAttempts; attempt++ {
			d := next()
			// Jitter adds up to half the base, never takes away.
			if d < base || d > base+base/2 {
				t.Fatalf("retry %d waits %s, want within [%s, %s]", attempt, d, base, base+base/2)
			}
			base *= 2
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type parsed struct {
		D  time.Duration
		OK bool
	}
	tests := []struct {
		header string
		want   parsed
	}{
		{"", parsed{}},
		{"3", parsed{3 * time.Second, true}},
		{" 120 ", parsed{2 * time.Minute, true}},
		{"0", parsed{0, true}},
		{"-1", parsed{}},
		{"1.5", parsed{}},
		{"99999999999999999", parsed{time.Duration(1<<63 - 1).Truncate(time.Second), true}},
		{now.Add(90 * time.Second).Format(http.TimeFormat), parsed{90 * time.Second, true}},
		{now.Add(-time.Hour).Format(http.TimeFormat), parsed{0, true}},
		{"Sunday, 01-Mar-26 12:00:10 GMT", parsed{10 * time.Second, true}}, // RFC 850, still accepted
		{"soon", parsed{}},
	}
	for _, tt := range tests {
		d, ok := parseRetryAfter(tt.header, now)
		if diff := cmp.Diff(tt.want, parsed{d, ok}); diff != "" {
			t.Errorf("Retry-After %q (-want +got):\n%s", tt.header, diff)
		}
	}
}

func TestIdempotentAndReplayable(t *testing.T) {
	for method, want := range map[string]bool{"GET": true, "HEAD": true, "PUT": true, "DELETE": true, "OPTIONS": true,
		"POST": false, "PATCH": false, "CONNECT": false, "TRACE": false} {
		if idempotent(method) != want {
			t.Errorf("idempotent(%s) = %v", method, !want)
		}
	}
	noBody, _ := http.NewRequest("PUT", "http://g/", nil)
	withBody, _ := http.NewRequest("PUT", "http://g/", errReader{})
	withBody.GetBody = nil
	if !replayable(noBody) || replayable(withBody) {
		t.Errorf("replayable: no body %v, a body without GetBody %v", replayable(noBody), replayable(withBody))
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read") }
