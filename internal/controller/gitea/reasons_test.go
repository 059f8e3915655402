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

package gitea

import (
	"errors"
	"fmt"
	"testing"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// TestReasonOf holds the mapping of errors to condition reasons, and which are retried with backoff (the
// rest wait for the provider's syncInterval or a change): only what a retry may fix is retried.
func TestReasonOf(t *testing.T) {
	gitea := func(kind giteaclient.Kind) error {
		return fmt.Errorf("wrapped: %w", &giteaclient.Error{Kind: kind, Method: "PATCH", Path: "/api/v1/x"})
	}
	tests := []struct {
		name   string
		err    error
		reason string
		retry  bool
	}{
		{"401", gitea(giteaclient.KindUnauthorized), giteav1alpha1.ReasonUnauthorized, false},
		{"403", gitea(giteaclient.KindForbidden), giteav1alpha1.ReasonForbidden, false},
		{"404", gitea(giteaclient.KindNotFound), giteav1alpha1.ReasonNotFound, false},
		{"409", gitea(giteaclient.KindConflict), giteav1alpha1.ReasonConflict, false},
		{"422", gitea(giteaclient.KindValidation), giteav1alpha1.ReasonInvalidSpec, false},
		{"423, an archived repository", gitea(giteaclient.KindLocked), giteav1alpha1.ReasonLocked, false},
		{"429", gitea(giteaclient.KindRateLimited), giteav1alpha1.ReasonRateLimited, true},
		{"5xx", gitea(giteaclient.KindUnavailable), giteav1alpha1.ReasonUnreachable, true},
		{"no answer", gitea(giteaclient.KindUnreachable), giteav1alpha1.ReasonUnreachable, true},
		{"a Kubernetes API error", errors.New("etcdserver: request timed out"), giteav1alpha1.ReasonUnreachable, true},
		{"a reason", reasonf(giteav1alpha1.ReasonInvalidSpec, "bad"), giteav1alpha1.ReasonInvalidSpec, false},
		{"a reason worth a retry", &reasonError{reason: giteav1alpha1.ReasonProviderNotReady, retry: true},
			giteav1alpha1.ReasonProviderNotReady, true},
		{"a refused delete", reasonf(giteav1alpha1.ReasonDeleteRefused, "no"), giteav1alpha1.ReasonDeleteRefused, true},
	}
	for _, tt := range tests {
		reason, retry := reasonOf(tt.err)
		if reason != tt.reason || retry != tt.retry {
			t.Errorf("%s: reasonOf = %s, retry %v; want %s, retry %v", tt.name, reason, retry, tt.reason, tt.retry)
		}
	}
}

// TestOutcomeUnknown holds which failed creates keep the create-pending marker: those that may have
// happened all the same.
func TestOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no answer", &giteaclient.Error{Kind: giteaclient.KindUnreachable}, true},
		{"an answer that could not be read, or a cancelled call", &giteaclient.Error{Kind: giteaclient.KindOther}, true},
		{"500", &giteaclient.Error{Kind: giteaclient.KindUnavailable, StatusCode: 500}, true},
		{"502, wrapped", fmt.Errorf("creating: %w", &giteaclient.Error{Kind: giteaclient.KindUnavailable, StatusCode: 502}), true},
		{"403", &giteaclient.Error{Kind: giteaclient.KindForbidden, StatusCode: 403}, false},
		{"404", &giteaclient.Error{Kind: giteaclient.KindNotFound, StatusCode: 404}, false},
		{"422", &giteaclient.Error{Kind: giteaclient.KindValidation, StatusCode: 422}, false},
		{"423", &giteaclient.Error{Kind: giteaclient.KindLocked, StatusCode: 423}, false},
		{"429", &giteaclient.Error{Kind: giteaclient.KindRateLimited, StatusCode: 429}, false},
		{"the client's own rate limit", &giteaclient.Error{Kind: giteaclient.KindRateLimited}, false},
		{"a refused address", &giteaclient.Error{Kind: giteaclient.KindNotAllowed}, false},
		{"a failed handshake", &giteaclient.Error{Kind: giteaclient.KindTLS}, false},
		{"the adapter's own refusal", reasonf(giteav1alpha1.ReasonInvalidSpec, "no email"), false},
		{"a Kubernetes API error before the call", errors.New("secrets \"x\" is forbidden"), false},
	}
	for _, tt := range tests {
		if got := outcomeUnknown(tt.err); got != tt.want {
			t.Errorf("%s: outcomeUnknown = %v, want %v", tt.name, got, tt.want)
		}
	}
}
