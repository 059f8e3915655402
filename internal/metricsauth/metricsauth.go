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

// Package metricsauth guards the metrics endpoint the way Kubebuilder's secure metrics do: the caller's bearer
// token is checked with a TokenReview and the request (verb = the HTTP method, lower case; path) with a
// SubjectAccessReview, both answered by the API server and cached for a short while.
//
// controller-runtime ships the same check (metrics/filters.WithAuthenticationAndAuthorization), but it is
// built on k8s.io/apiserver's delegating authenticator and authorizer, which link cel-go, gRPC and
// OpenTelemetry into the manager: 16 MB of an 87 MB binary and about 10 MiB of its resident memory, for two
// API calls (docs/benchmarks.md). This package makes the same two calls with client-go's typed clients.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The cache lifetimes and retry schedule of controller-runtime's filter, so that switching changes nothing
// a scraper or an RBAC change could notice.
const (
	tokenTTL    = time.Minute
	allowTTL    = 5 * time.Minute
	denyTTL     = 30 * time.Second
	callTimeout = 10 * time.Second
	// maxCached bounds each cache: tokens come from whoever can reach the port, and a flood of made-up
	// tokens must not grow the manager's memory without end.
	maxCached = 1024
)

var retryBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// Provider is a metricsserver.Options.FilterProvider.
func Provider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	tokens, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("a TokenReview client: %w", err)
	}
	access, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("a SubjectAccessReview client: %w", err)
	}
	r := NewReviewer(tokens.TokenReviews(), access.SubjectAccessReviews(), clock.RealClock{})
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return r.Wrap(log, next), nil
	}, nil
}

// Reviewer answers "who is this token" and "may they do this" through the API server, with caches.
type Reviewer struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface
	clock  clock.PassiveClock

	mu        sync.Mutex
	users     map[[sha256.Size]byte]cached[*authenticationv1.UserInfo] // by the token's hash: tokens are never kept
	decisions map[string]cached[bool]
}

type cached[T any] struct {
	value   T
	expires time.Time
}

// NewReviewer returns a Reviewer calling the given API clients.
func NewReviewer(tokens authenticationclient.TokenReviewInterface, access authorizationclient.SubjectAccessReviewInterface,
	clk clock.PassiveClock) *Reviewer {
	return &Reviewer{tokens: tokens, access: access, clock: clk,
		users: map[[sha256.Size]byte]cached[*authenticationv1.UserInfo]{}, decisions: map[string]cached[bool]{}}
}

// Wrap serves next only to callers whose token the API server authenticates (else 401) and who are allowed
// the request's verb on its path (else 403); a review the API server could not answer is a 500.
func (r *Reviewer) Wrap(log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req.Header.Get("Authorization"))
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, err := r.authenticate(req.Context(), token)
		if err != nil {
			log.Error(err, "Authentication failed")
			http.Error(w, "Authentication failed", http.StatusInternalServerError)
			return
		}
		if user == nil {
			log.V(4).Info("Authentication failed")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb := strings.ToLower(req.Method)
		allowed, err := r.authorize(req.Context(), user, verb, req.URL.Path)
		if err != nil {
			msg := fmt.Sprintf("Authorization for user %s failed", user.Username)
			log.Error(err, msg)
			http.Error(w, msg, http.StatusInternalServerError)
			return
		}
		if !allowed {
			msg := fmt.Sprintf("Authorization denied for user %s", user.Username)
			log.V(4).Info(msg, "verb", verb, "path", req.URL.Path)
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// bearerToken reads "Bearer <token>" (the scheme in any case, as the API server does).
func bearerToken(header string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// authenticate returns the token's user, or nil when the API server does not accept the token.
func (r *Reviewer) authenticate(ctx context.Context, token string) (*authenticationv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	if user, ok := lookup(r, r.users, key); ok {
		return user, nil
	}
	var review *authenticationv1.TokenReview
	err := callAPI(ctx, func(ctx context.Context) (err error) {
		review, err = r.tokens.Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("TokenReview: %w", err)
	}
	var user *authenticationv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	store(r, r.users, key, user, tokenTTL)
	return user, nil
}

// authorize asks whether user may use verb on the non-resource path.
func (r *Reviewer) authorize(ctx context.Context, user *authenticationv1.UserInfo, verb, path string) (bool, error) {
	spec := authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extraOf(user.Extra),
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}
	key := decisionKey(spec)
	if allowed, ok := lookup(r, r.decisions, key); ok {
		return allowed, nil
	}
	var review *authorizationv1.SubjectAccessReview
	err := callAPI(ctx, func(ctx context.Context) (err error) {
		review, err = r.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	ttl := denyTTL
	if review.Status.Allowed {
		ttl = allowTTL
	}
	store(r, r.decisions, key, review.Status.Allowed, ttl)
	return review.Status.Allowed, nil
}

// callAPI retries what may pass on its own (the API server busy or unreachable for a moment), each try
// bounded by callTimeout.
func callAPI(ctx context.Context, call func(context.Context) error) error {
	return retry.OnError(retryBackoff, transient, func() error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return call(ctx)
	})
}

func transient(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err) ||
		isConnectionError(err)
}

func isConnectionError(err error) bool {
	var status apierrors.APIStatus
	return !errors.As(err, &status) && !errors.Is(err, context.Canceled)
}

func extraOf(extra map[string]authenticationv1.ExtraValue) map[string]authorizationv1.ExtraValue {
	if extra == nil {
		return nil
	}
	out := make(map[string]authorizationv1.ExtraValue, len(extra))
	for k, v := range extra {
		out[k] = authorizationv1.ExtraValue(v)
	}
	return out
}

// decisionKey names everything a SubjectAccessReview's answer depends on: the spec in JSON (unambiguous,
// maps in key order), its groups sorted.
func decisionKey(s authorizationv1.SubjectAccessReviewSpec) string {
	s.Groups = slices.Sorted(slices.Values(s.Groups))
	key, err := json.Marshal(s)
	if err != nil { // strings, slices and maps of strings always marshal
		panic(err)
	}
	return string(key)
}

func lookup[K comparable, V any](r *Reviewer, m map[K]cached[V], key K) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := m[key]
	if !ok || !r.clock.Now().Before(c.expires) {
		var zero V
		return zero, false
	}
	return c.value, true
}

func store[K comparable, V any](r *Reviewer, m map[K]cached[V], key K, value V, ttl time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if len(m) >= maxCached {
		for k, c := range m {
			if !now.Before(c.expires) {
				delete(m, k)
			}
		}
		if len(m) >= maxCached {
			clear(m) // all still fresh: start over rather than grow; the next requests ask the API server again
		}
	}
	m[key] = cached[V]{value: value, expires: now.Add(ttl)}
}
