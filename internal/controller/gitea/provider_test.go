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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// secretsSeen are every credential the suite hands to a provider; AfterSuite checks none of them, nor
// their base64 forms, got into a log line, an event or a status.
var secretsSeen []string

func remember(values ...string) { secretsSeen = append(secretsSeen, values...) }

func createSecret(ns, name string, data map[string]string) {
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: data,
	})).To(Succeed())
}

func updateSecret(ns, name string, data map[string]string) {
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
	s.Data = nil
	s.StringData = data
	Expect(k8sClient.Update(ctx, s)).To(Succeed())
}

// newProvider creates a provider whose checkInterval (1h) never fires during a test: what it shows is
// driven by watches and retries.
func newProvider(ns, giteaURL string) *giteav1alpha1.GiteaProvider {
	p := &giteav1alpha1.GiteaProvider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"},
		Spec: giteav1alpha1.GiteaProviderSpec{
			URL:           giteaURL,
			Credentials:   giteav1alpha1.ProviderCredentials{SecretRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
			CheckInterval: &metav1.Duration{Duration: time.Hour},
		},
	}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	return p
}

// ready is the provider's Ready condition as "Status/Reason".
func ready(p *giteav1alpha1.GiteaProvider) func() string {
	return func() string {
		got := &giteav1alpha1.GiteaProvider{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, giteav1alpha1.ConditionReady)
		if c == nil || c.ObservedGeneration != got.Generation {
			return "not reported"
		}
		return string(c.Status) + "/" + c.Reason
	}
}

func readyMessage(p *giteav1alpha1.GiteaProvider) string {
	return meta.FindStatusCondition(fresh(p).Status.Conditions, giteav1alpha1.ConditionReady).Message
}

// recheck changes the provider's spec (its checkInterval), which makes the controller check at once.
func recheck(p *giteav1alpha1.GiteaProvider) {
	update(p, func(got *giteav1alpha1.GiteaProvider) { got.Spec.CheckInterval.Duration += time.Minute })
}

// setTLS sets the provider's spec.tls.
func setTLS(p *giteav1alpha1.GiteaProvider, tls *giteav1alpha1.ProviderTLS) {
	update(p, func(got *giteav1alpha1.GiteaProvider) { got.Spec.TLS = tls })
}

// eventReasons are the reasons of the events about the provider, oldest first.
func eventReasons(p *giteav1alpha1.GiteaProvider) func() []string {
	return func() []string {
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace))).To(Succeed())
		var out []string
		for _, e := range list.Items {
			if e.Regarding.Name == p.Name && e.Regarding.Kind == "GiteaProvider" {
				out = append(out, e.Reason)
			}
		}
		return out
	}
}

var _ = Describe("GiteaProvider", func() {
	It("is Ready with a token, and says as whom, which version and when", func() {
		ns := newNamespace()
		remember(gitea.AdminToken)
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))

		got := fresh(p)
		Expect(got.Status.Version).To(Equal("1.26.0"))
		Expect(got.Status.User).To(Equal(gitea.AdminUser))
		Expect(got.Status.SiteAdmin).To(BeTrue())
		Expect(got.Status.LastCheckTime).NotTo(BeNil())
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Status.TokenSecretName).To(BeEmpty())
		Expect(got.Finalizers).To(ContainElement(giteav1alpha1.ProviderFinalizer))
		inUse := meta.FindStatusCondition(got.Status.Conditions, giteav1alpha1.ConditionInUse)
		Expect(inUse).NotTo(BeNil())
		Expect(inUse.Reason).To(Equal(giteav1alpha1.ReasonUnused))
		Expect(readyMessage(p)).To(Equal("connected to Gitea 1.26.0 as nuop-admin (a site admin)"))
		Eventually(eventReasons(p), eventually, poll).Should(Equal([]string{"Connected"}))

		_, ok := clients.Get(client.ObjectKeyFromObject(p))
		Expect(ok).To(BeTrue(), "the provider's client is in the shared cache")
		provider := ns + "/gitea"
		Expect(requests(provider, "GET", "200")).To(BeNumerically(">=", 2), "version and user")
	})

	It("creates a token from a username and a password, keeps it in a Secret it owns, and replaces it when revoked", func() {
		ns := newNamespace()
		const password = "alice-Passw0rd!"
		remember(password)
		Expect(gitea.CreateUser(ctx, "alice", password, false)).To(Succeed())
		createSecret(ns, "gitea", map[string]string{"username": "alice", "password": password})
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		got := fresh(p)
		Expect(got.Status.User).To(Equal("alice"))
		Expect(got.Status.SiteAdmin).To(BeFalse())
		Expect(got.Status.TokenSecretName).To(Equal("gitea-gitea-token"))

		stored := tokenSecret(p)
		Expect(metav1.IsControlledBy(stored, got)).To(BeTrue())
		token, first := string(stored.Data["token"]), string(stored.Data["tokenName"])
		remember(token)
		Expect(whoAmI(token)).To(Equal("alice"), "the stored token is alice's")
		Eventually(eventReasons(p), eventually, poll).Should(ContainElement("TokenCreated"))

		// Revoked in Gitea: the next check finds it refused and creates another, under a new name.
		deleteToken("alice", password, first)
		_, err := whoAmI(token)
		Expect(err).To(MatchError(ContainSubstring("401")), "Gitea still takes the revoked token")
		recheck(p)
		Eventually(func() string { return string(tokenSecret(p).Data["tokenName"]) }, eventually, poll).ShouldNot(Equal(first),
			func() string { return readyMessage(p) })
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		renewed := string(tokenSecret(p).Data["token"])
		remember(renewed)
		Expect(whoAmI(renewed)).To(Equal("alice"))

		// Given a token of its own, it deletes the one it made.
		updateSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		Eventually(func() string { return fresh(p).Status.User }, eventually, poll).Should(Equal(gitea.AdminUser))
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gitea-gitea-token"}, &corev1.Secret{}))
		}, eventually, poll).Should(BeTrue())
		Expect(fresh(p).Status.TokenSecretName).To(BeEmpty())
	})

	It("says Unauthorized for a wrong token, and is Ready as soon as the Secret is fixed", func() {
		ns := newNamespace()
		remember("0123456789abcdef0123456789abcdef01234567")
		createSecret(ns, "gitea", map[string]string{"token": "0123456789abcdef0123456789abcdef01234567"})
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("False/Unauthorized"))
		Expect(readyMessage(p)).To(ContainSubstring("Gitea refused the credentials"))
		Expect(requests(ns+"/gitea", "GET", "401")).To(BeNumerically(">=", 1))

		updateSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		Eventually(eventReasons(p), eventually, poll).Should(Equal([]string{"Unauthorized", "Connected"}))
	})

	It("says SecretNotFound for a missing Secret or key, and is Ready once it is there", func() {
		ns := newNamespace()
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("False/SecretNotFound"))
		Expect(readyMessage(p)).To(Equal("Secret gitea not found in namespace " + ns))

		createSecret(ns, "gitea", map[string]string{"user": "nobody"})
		Eventually(func() string { return readyMessage(p) }, eventually, poll).Should(ContainSubstring(
			"Secret gitea has neither the key token (a token) nor the keys username and password"))
		Expect(ready(p)()).To(Equal("False/SecretNotFound"))

		updateSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
	})

	It("says Unreachable while Gitea is down, and is Ready again once it is back", func() {
		own := giteaserver.StartT(GinkgoT(), giteaserver.Options{})
		remember(own.AdminToken)
		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": own.AdminToken})
		p := newProvider(ns, own.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))

		own.Stop()
		recheck(p)
		Eventually(ready(p), eventually, poll).Should(Equal("False/Unreachable"))
		Expect(readyMessage(p)).To(ContainSubstring("/api/v1/version"))

		// Nothing changes in the cluster: the retries (backoff from 1 s, capped at 5 minutes) find it back.
		Expect(own.Restart(ctx)).To(Succeed())
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
	})

	It("verifies TLS: TLSError without the CA, Ready with it from a Secret or a ConfigMap, or with insecureSkipVerify", func() {
		front, err := gitea.StartTLSFront()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(front.Close)

		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		p := newProvider(ns, front.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("False/TLSError"))
		Expect(readyMessage(p)).To(ContainSubstring("set tls.caBundle"))

		createSecret(ns, "ca", map[string]string{"ca.crt": string(front.CAPEM)})
		setTLS(p, &giteav1alpha1.ProviderTLS{CABundle: &giteav1alpha1.CABundleSource{
			SecretRef: &giteav1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}}})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))

		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"},
			Data: map[string]string{"bundle.pem": string(front.CAPEM)}})).To(Succeed())
		setTLS(p, &giteav1alpha1.ProviderTLS{CABundle: &giteav1alpha1.CABundleSource{
			ConfigMapRef: &giteav1alpha1.LocalKeyReference{Name: "ca", Key: "bundle.pem"}}})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))

		setTLS(p, &giteav1alpha1.ProviderTLS{InsecureSkipVerify: true})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))

		// A CA bundle that is not PEM is a TLS problem too, named as such.
		setTLS(p, &giteav1alpha1.ProviderTLS{CABundle: &giteav1alpha1.CABundleSource{
			SecretRef: &giteav1alpha1.LocalKeyReference{Name: "gitea", Key: "token"}}})
		Eventually(ready(p), eventually, poll).Should(Equal("False/TLSError"))
	})

	It("refuses a url outside --gitea-allowed-hosts at dial time", func() {
		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		u, err := url.Parse(gitea.URL)
		Expect(err).NotTo(HaveOccurred())
		p := newProvider(ns, "http://127.0.0.2:"+u.Port())
		Eventually(ready(p), eventually, poll).Should(Equal("False/InvalidSpec"))
		Expect(readyMessage(p)).To(ContainSubstring("--gitea-allowed-hosts"))
	})

	It("says InvalidSpec for a url that serves no Gitea API", func() {
		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		p := newProvider(ns, strings.TrimSuffix(gitea.URL, "/")+"/not-gitea")
		Eventually(ready(p), eventually, poll).Should(Equal("False/InvalidSpec"))
		Expect(readyMessage(p)).To(ContainSubstring("does not serve the Gitea API"))
	})

	It("goes when deleted and nothing uses it, and its client with it", func() {
		ns := newNamespace()
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &giteav1alpha1.GiteaProvider{}))
		}, eventually, poll).Should(BeTrue())
		Eventually(func() bool { _, ok := clients.Get(client.ObjectKeyFromObject(p)); return ok }, eventually, poll).Should(BeFalse())
	})
})

// expectNoCredentialLeaked checks that no credential the suite used, nor its base64 form, is in a log
// line, an event or a status. AfterSuite runs it once every spec has left its traces.
func expectNoCredentialLeaked() {
	var events eventsv1.EventList
	Expect(k8sClient.List(ctx, &events)).To(Succeed())
	places := make([]string, 0, 1+len(events.Items))
	places = append(places, logs.String())
	for _, e := range events.Items {
		places = append(places, e.Note)
	}
	var providers giteav1alpha1.GiteaProviderList
	Expect(k8sClient.List(ctx, &providers)).To(Succeed())
	for _, p := range providers.Items {
		places = append(places, fmt.Sprintf("%+v", p.Status))
	}
	// The managed resources left at the end (the specs check the ones they delete themselves).
	for _, k := range kinds {
		list := k.NewList()
		Expect(k8sClient.List(ctx, list)).To(Succeed())
		items, err := meta.ExtractList(list)
		Expect(err).NotTo(HaveOccurred())
		for _, item := range items {
			status, err := json.Marshal(statusOf(item.(client.Object)))
			Expect(err).NotTo(HaveOccurred())
			places = append(places, string(status))
		}
	}
	suite, _ := GinkgoConfiguration()
	if len(suite.FocusStrings)+len(suite.FocusFiles) > 0 && len(secretsSeen) == 0 {
		return // a focused run that used no credential has nothing to check
	}
	Expect(secretsSeen).NotTo(BeEmpty(), "the suite's provider specs hand credentials out")
	for _, secret := range secretsSeen {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
			for _, place := range places {
				Expect(place).NotTo(ContainSubstring(form), "a credential leaked")
			}
		}
	}
}

// requests reads gitea_client_requests_total of a provider's calls from the suite's registry.
func requests(provider, method, code string) float64 {
	return gauge("gitea_client_requests_total", map[string]string{"provider": provider, "method": method, "code": code})
}

// gauge reads the series of a counter or gauge with these labels from the suite's registry; 0 when there is
// none.
func gauge(name string, labels map[string]string) float64 {
	metrics, err := utils.GatherMetrics(registry)
	Expect(err).NotTo(HaveOccurred())
	v, err := utils.OrZero(metrics.Value(name, labels))
	Expect(err).NotTo(HaveOccurred())
	return v
}

// doJSON sends req and decodes a 2xx answer into out (unless nil).
func doJSON(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// tokenSecret is the Secret holding the token the provider created.
func tokenSecret(p *giteav1alpha1.GiteaProvider) *corev1.Secret {
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: tokenSecretName(p)}, s)).To(Succeed())
	return s
}

// whoAmI asks Gitea whose token it is.
func whoAmI(token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gitea.URL+"/api/v1/user", nil)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "token "+token)
	var user struct {
		Login string `json:"login"`
	}
	err = doJSON(req, &user)
	return user.Login, err
}

// deleteToken revokes a user's token, as the user (Gitea wants basic auth for it).
func deleteToken(user, password, name string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete,
		gitea.URL+"/api/v1/users/"+user+"/tokens/"+url.PathEscape(name), nil)
	Expect(err).NotTo(HaveOccurred())
	req.SetBasicAuth(user, password)
	Expect(doJSON(req, nil)).To(Succeed())
}
