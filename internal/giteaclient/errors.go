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
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"

	"kemper.buzz/nuop/internal/truncate"
)

// Kind says what went wrong with a call in terms a controller acts on. The values are usable as condition
// reasons as they are.
type Kind string

// The kinds of Error. A status code outside the ones named here is KindOther.
const (
	KindNotFound     Kind = "NotFound"     // 404
	KindConflict     Kind = "Conflict"     // 409
	KindLocked       Kind = "Locked"       // 423: Gitea refuses writes to the objects of an archived repository
	KindUnauthorized Kind = "Unauthorized" // 401
	KindForbidden    Kind = "Forbidden"    // 403
	KindValidation   Kind = "Validation"   // 400 and 422: Gitea's message says why
	KindRateLimited  Kind = "RateLimited"  // 429, or the client's own rate limit could not admit the call in time
	KindUnavailable  Kind = "Unavailable"  // 5xx
	KindUnreachable  Kind = "Unreachable"  // no answer: DNS, connection refused or reset, timeout
	KindTLS          Kind = "TLSError"     // the TLS handshake or the server's certificate failed
	KindNotAllowed   Kind = "NotAllowed"   // the address is refused by --gitea-allowed-hosts
	KindOther        Kind = "Other"
)

// Error is the error of every call made through a Client. It names the method and the URL path, never the
// query, a header or the credentials.
type Error struct {
	Kind   Kind
	Method string
	Path   string
	// StatusCode is the HTTP status, 0 when there was no response.
	StatusCode int
	// Message is Gitea's own explanation (the JSON "message" field), if it gave one.
	Message string
	// RetryAfter is the server's Retry-After, when a 429 or 5xx had one: when to try again.
	RetryAfter time.Duration
	// Err is the cause when there was no response.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gitea: %s %s: ", e.Method, e.Path)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		return b.String()
	}
	b.WriteString(string(e.Kind))
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf is the Kind of err if it is (or wraps) an *Error, else "".
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return ""
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsConflict reports a 409.
func IsConflict(err error) bool { return KindOf(err) == KindConflict }

// IsLocked reports a 423: the object cannot be changed in its present state (its repository is archived;
// Gitea's message says so). Sending the call again changes nothing until someone unarchives it.
func IsLocked(err error) bool { return KindOf(err) == KindLocked }

// IsUnauthorized reports a 401: the credentials are wrong or expired.
func IsUnauthorized(err error) bool { return KindOf(err) == KindUnauthorized }

// IsForbidden reports a 403: the credentials are good but lack a permission or scope.
func IsForbidden(err error) bool { return KindOf(err) == KindForbidden }

// IsValidation reports a 400 or 422. Gitea also answers 422 for "already exists" (organizations, users) and
// "still owns repositories", so a create answered 422 needs a lookup before it is called invalid.
func IsValidation(err error) bool { return KindOf(err) == KindValidation }

// IsRateLimited reports a 429, or a call the client's own rate limit could not admit before its deadline.
func IsRateLimited(err error) bool { return KindOf(err) == KindRateLimited }

// IsUnavailable reports a server that answered 5xx or did not answer at all (IsUnreachable): worth trying
// again later.
func IsUnavailable(err error) bool {
	k := KindOf(err)
	return k == KindUnavailable || k == KindUnreachable
}

// IsUnreachable reports a server that did not answer: name resolution, connection or timeout.
func IsUnreachable(err error) bool { return KindOf(err) == KindUnreachable }

// IsTLS reports a failed TLS handshake: an unknown authority, a wrong host name, an expired certificate, or
// a server that does not speak TLS.
func IsTLS(err error) bool { return KindOf(err) == KindTLS }

// IsNotAllowed reports an address refused by --gitea-allowed-hosts.
func IsNotAllowed(err error) bool { return KindOf(err) == KindNotAllowed }

func kindForStatus(code int) Kind {
	switch {
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return KindValidation
	case code == http.StatusUnauthorized:
		return KindUnauthorized
	case code == http.StatusForbidden:
		return KindForbidden
	case code == http.StatusNotFound:
		return KindNotFound
	case code == http.StatusConflict:
		return KindConflict
	case code == http.StatusLocked:
		return KindLocked
	case code == http.StatusTooManyRequests:
		return KindRateLimited
	case code >= 500:
		return KindUnavailable
	}
	return KindOther
}

// maxErrorBody bounds what is kept of an error response: Gitea's messages are short, a proxy's error page
// is not worth more.
const maxErrorBody = 64 << 10

// errorBody is the body of an error response, read whole by the transport. The SDK consumes and closes the
// body of an error before returning; keeping the bytes lets Wrap report Gitea's message the way Do does.
type errorBody struct {
	*bytes.Reader
	data []byte
	// retryAfter is the response's Retry-After read on the transport's clock, hasRetryAfter whether it had one.
	retryAfter    time.Duration
	hasRetryAfter bool
}

func (*errorBody) Close() error { return nil }

// statusError types a non-2xx response.
func statusError(resp *http.Response) *Error {
	e := &Error{
		Kind:       kindForStatus(resp.StatusCode),
		Method:     resp.Request.Method,
		Path:       resp.Request.URL.Path,
		StatusCode: resp.StatusCode,
	}
	if b, ok := resp.Body.(*errorBody); ok {
		e.Message = giteaMessage(b.data)
		e.RetryAfter = b.retryAfter
	}
	return e
}

// maxMessage bounds a message, which ends up in a condition: Gitea's are short, a plain-text error page
// need not be.
const maxMessage = 512

// giteaMessage is the "message" of Gitea's JSON error, or else the first line of a plain-text body.
func giteaMessage(body []byte) string {
	var apiErr struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &apiErr) == nil {
		return truncate.String(apiErr.Message, maxMessage)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "<") {
		// The first line of an HTML page (a proxy's) is markup.
		return ""
	}
	return truncate.String(line, maxMessage)
}

// Wrap types what an SDK call returned: a non-2xx response becomes an *Error of its status, an error of the
// transport the *Error it carries, without the URL (a *url.Error holds the query). An error of the SDK's own
// (a bad argument, undecodable JSON) is returned as it is, wrapped with the method and path when known.
// Wrap(resp, nil) is nil, whatever resp says: SDK calls that expect a 404 (CheckOrgMembership) handle it.
func Wrap(resp *gitea.Response, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if resp != nil && resp.Response != nil && resp.Request != nil {
		if resp.StatusCode/100 != 2 {
			return statusError(resp.Response)
		}
		return &Error{Kind: KindOther, Method: resp.Request.Method, Path: resp.Request.URL.Path, Err: err}
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		e := &Error{Kind: KindOther, Method: strings.ToUpper(ue.Op), Err: ue.Err}
		if u, perr := url.Parse(ue.URL); perr == nil {
			e.Path = u.Path
		}
		return e
	}
	return err
}

// transportError types an error of a request that got no response.
func transportError(req *http.Request, err error) *Error {
	if na, ok := errors.AsType[*notAllowedError](err); ok {
		// Said by itself, without the dial error around it, the refusal reads well in a condition.
		return &Error{Kind: KindNotAllowed, Method: req.Method, Path: req.URL.Path, Err: na}
	}
	kind := KindUnreachable
	switch {
	case isTLS(err):
		kind = KindTLS
	case errors.Is(err, errClientRateLimit):
		kind = KindRateLimited
	case errors.Is(err, context.Canceled):
		kind = KindOther
	}
	return &Error{Kind: kind, Method: req.Method, Path: req.URL.Path, Err: err}
}

func isTLS(err error) bool {
	// Since Go 1.20 every verification failure (authority, host name, expiry) is a CertificateVerificationError;
	// a RecordHeaderError is a server that answered the handshake with something else, usually plain HTTP.
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	_, ok := errors.AsType[tls.RecordHeaderError](err)
	return ok
}
