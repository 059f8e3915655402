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
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	// maxAttempts bounds the attempts of one call, the first included.
	maxAttempts = 4
	// retryCap is the longest wait before a retry. A Retry-After beyond it is not waited: the call returns the
	// response, whose error carries RetryAfter, and the controller requeues instead of holding a worker.
	retryCap = 5 * time.Minute
)

// retryBackoff spaces retries without a Retry-After: 0.5 s, 1 s, 2 s, each plus up to half again of jitter
// so that clients of one recovering server do not come back in step.
var retryBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: maxAttempts, Cap: retryCap}

// idempotent methods (RFC 9110, section 9.2.2) can be sent again without doing twice what they did once. A
// POST or PATCH is never retried: a create whose answer was lost is found again by its natural key instead.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// replayable reports whether req's body, if any, can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// attemptResult is what one attempt of a call got, for the retry decision.
type attemptResult struct {
	err        error // the attempt's *Error when it got no response
	status     int
	retryAfter time.Duration
	// hasRetryAfter tells a Retry-After of 0 (retry now) from none (back off).
	hasRetryAfter bool
}

// retryDelay decides whether attempt number attempt of a call with this method and body is tried again, and
// after how long; backoff gives the next delay when the server did not say.
func retryDelay(method string, replayable bool, attempt int, got attemptResult, backoff func() time.Duration) (
	time.Duration, bool) {
	if attempt >= maxAttempts || !idempotent(method) || !replayable {
		return 0, false
	}
	var d time.Duration
	switch {
	case got.err != nil:
		// Refused addresses, TLS failures and cancelled calls will fail the same way again.
		if KindOf(got.err) != KindUnreachable {
			return 0, false
		}
		d = min(backoff(), retryCap)
	case !retryableStatus(got.status):
		return 0, false
	case got.hasRetryAfter:
		d = got.retryAfter
	default:
		d = min(backoff(), retryCap)
	}
	if d > retryCap {
		return 0, false
	}
	return d, true
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110, section 10.2.3),
// relative to now. A date in the past means now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, math.MaxInt64/int64(time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
