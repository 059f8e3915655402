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

package metricsauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
)

// reviewCounter counts the review requests that reach the API server.
type reviewCounter struct {
	next                 http.RoundTripper
	tokenReviews, access atomic.Int32
}

func (c *reviewCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case strings.HasSuffix(req.URL.Path, "/tokenreviews"):
		c.tokenReviews.Add(1)
	case strings.HasSuffix(req.URL.Path, "/subjectaccessreviews"):
		c.access.Add(1)
	}
	return c.next.RoundTrip(req)
}

var _ = Describe("the metrics endpoint's authentication and authorization", Ordered, func() {
	const namespace = "default"
	var (
		ctx     = context.Background()
		clock   *clocktesting.FakePassiveClock
		counter *reviewCounter
		server  *httptest.Server
		served  atomic.Int32
	)

	// tokenFor makes a service account and a token for it.
	tokenFor := func(name string) string {
		_, err := clientset.CoreV1().ServiceAccounts(namespace).Create(ctx,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = clientset.CoreV1().ServiceAccounts(namespace).Delete(ctx, name, metav1.DeleteOptions{}) })
		tr, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
			&authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		return tr.Status.Token
	}

	// settled waits until the API server's RBAC authorizer, which learns of roles and bindings through its
	// own informers, gives the answer wanted for the service account getting /metrics.
	settled := func(sa string, allowed bool) {
		user := "system:serviceaccount:" + namespace + ":" + sa
		Eventually(func(g Gomega) {
			review, err := clientset.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts"},
					NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}},
			}, metav1.CreateOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(review.Status.Allowed).To(Equal(allowed))
		}).Should(Succeed())
	}

	// grant lets the service account get /metrics, once the API server's authorizer knows; the returned func
	// takes it back, the same way.
	grant := func(sa string) func() {
		name := "metrics-reader-" + sa
		_, err := clientset.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = clientset.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: namespace}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		settled(sa, true)
		DeferCleanup(func() {
			_ = clientset.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
			_ = clientset.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
		})
		return func() {
			Expect(clientset.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})).To(Succeed())
			settled(sa, false)
		}
	}

	request := func(method, path, authorization string) (int, string) {
		req, err := http.NewRequest(method, server.URL+path, nil)
		Expect(err).NotTo(HaveOccurred())
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := server.Client().Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	scrape := func(token string) (int, string) { return request(http.MethodGet, "/metrics", "Bearer "+token) }

	BeforeAll(func() {
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		counter = &reviewCounter{next: httpClient.Transport}
		httpClient.Transport = counter
		tokens, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
		Expect(err).NotTo(HaveOccurred())
		access, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
		Expect(err).NotTo(HaveOccurred())
		clock = clocktesting.NewFakePassiveClock(time.Now())
		reviewer := NewReviewer(tokens.TokenReviews(), access.SubjectAccessReviews(), clock)
		server = httptest.NewServer(reviewer.Wrap(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			served.Add(1)
			_, _ = io.WriteString(w, "the metrics")
		})))
		DeferCleanup(server.Close)
	})

	BeforeEach(func() {
		counter.tokenReviews.Store(0)
		counter.access.Store(0)
		served.Store(0)
	})

	It("refuses a request without a bearer token with 401, asking the API server nothing", func() {
		for _, authorization := range []string{"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Token abc"} {
			code, body := request(http.MethodGet, "/metrics", authorization)
			Expect(code).To(Equal(http.StatusUnauthorized), "Authorization: %q", authorization)
			Expect(body).To(Equal("Unauthorized"))
		}
		Expect(counter.tokenReviews.Load()).To(BeZero())
		Expect(served.Load()).To(BeZero())
	})

	It("refuses a token the API server does not know with 401", func() {
		code, body := scrape("not-a-token")
		Expect(code).To(Equal(http.StatusUnauthorized))
		Expect(body).To(Equal("Unauthorized"))
		Expect(counter.tokenReviews.Load()).To(BeEquivalentTo(1))
		Expect(counter.access.Load()).To(BeZero())
		Expect(served.Load()).To(BeZero())
	})

	It("refuses an authenticated caller without the permission with 403 naming the user, and caches the denial 30 s", func() {
		token := tokenFor("no-metrics")
		code, body := scrape(token)
		Expect(code).To(Equal(http.StatusForbidden))
		Expect(body).To(Equal("Authorization denied for user system:serviceaccount:default:no-metrics"))
		Expect(served.Load()).To(BeZero())

		grant("no-metrics")
		code, _ = scrape(token)
		Expect(code).To(Equal(http.StatusForbidden), "the denial is cached")
		Expect(counter.tokenReviews.Load()).To(BeEquivalentTo(1))
		Expect(counter.access.Load()).To(BeEquivalentTo(1))

		clock.SetTime(clock.Now().Add(denyTTL))
		code, _ = scrape(token)
		Expect(code).To(Equal(http.StatusOK), "asked again once the denial expired")
		Expect(counter.access.Load()).To(BeEquivalentTo(2))
	})

	It("serves a caller allowed to get the path, asking the API server once per cache lifetime", func() {
		token := tokenFor("scraper")
		revoke := grant("scraper")
		for range 3 {
			code, body := scrape(token)
			Expect(code).To(Equal(http.StatusOK))
			Expect(body).To(Equal("the metrics"))
		}
		Expect(served.Load()).To(BeEquivalentTo(3))
		Expect(counter.tokenReviews.Load()).To(BeEquivalentTo(1))
		Expect(counter.access.Load()).To(BeEquivalentTo(1))

		By("keeping the token's user for a minute")
		clock.SetTime(clock.Now().Add(tokenTTL))
		code, _ := scrape(token)
		Expect(code).To(Equal(http.StatusOK))
		Expect(counter.tokenReviews.Load()).To(BeEquivalentTo(2))
		Expect(counter.access.Load()).To(BeEquivalentTo(1))

		By("keeping the permission for five minutes after it was revoked")
		revoke()
		code, _ = scrape(token)
		Expect(code).To(Equal(http.StatusOK))
		clock.SetTime(clock.Now().Add(allowTTL))
		code, _ = scrape(token)
		Expect(code).To(Equal(http.StatusForbidden))
	})

	It("asks about the request's own verb and path", func() {
		token := tokenFor("get-only")
		grant("get-only")
		code, _ := request(http.MethodPost, "/metrics", "Bearer "+token)
		Expect(code).To(Equal(http.StatusForbidden))
		code, _ = request(http.MethodGet, "/debug", "Bearer "+token)
		Expect(code).To(Equal(http.StatusForbidden))
		code, _ = request(http.MethodGet, "/metrics", "bearer "+token)
		Expect(code).To(Equal(http.StatusOK), "the scheme in any case")
		Expect(served.Load()).To(BeEquivalentTo(1))
	})

	It("answers 500 when the API server cannot be asked, after retrying", func() {
		saved := retryBackoff
		retryBackoff = wait.Backoff{Duration: time.Millisecond, Steps: 3}
		DeferCleanup(func() { retryBackoff = saved })

		unreachable := rest.CopyConfig(cfg)
		unreachable.Host = "https://127.0.0.1:1"
		var tries atomic.Int32
		httpClient, err := rest.HTTPClientFor(unreachable)
		Expect(err).NotTo(HaveOccurred())
		httpClient.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
			tries.Add(1)
			return nil, fmt.Errorf("dial %s: connection refused", req.URL.Host)
		})
		filter, err := Provider(unreachable, httpClient)
		Expect(err).NotTo(HaveOccurred())
		handler, err := filter(logr.Discard(), http.NotFoundHandler())
		Expect(err).NotTo(HaveOccurred())
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer some-token")
		handler.ServeHTTP(rec, req)
		Expect(rec.Code).To(Equal(http.StatusInternalServerError))
		Expect(rec.Body.String()).To(Equal("Authentication failed\n"))
		Expect(tries.Load()).To(BeEquivalentTo(3))
		Expect(rec.Body.String()).NotTo(ContainSubstring("some-token"))
	})
})

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
