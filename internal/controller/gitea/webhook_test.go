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
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// giteaHook is a hook as Gitea's API shows it.
type giteaHook struct {
	ID                  int64             `json:"id"`
	Type                string            `json:"type"`
	Config              map[string]string `json:"config"`
	Events              []string          `json:"events"`
	Active              bool              `json:"active"`
	BranchFilter        string            `json:"branch_filter"`
	AuthorizationHeader string            `json:"authorization_header"`
}

// hooksOf lists a repository's hooks ("owner/name") or an organization's (a name without a slash).
func hooksOf(target string) []giteaHook { return listInGitea[giteaHook](hooksPathOf(target)) }

func hooksPathOf(target string) string {
	if strings.Contains(target, "/") {
		return "/repos/" + target + "/hooks"
	}
	return "/orgs/" + target + "/hooks"
}

// hookInGitea is the only hook of target.
func hookInGitea(target string) giteaHook { return onlyHook(target)(Default) }

// onlyHook polls for the only hook of target: while a hook is replaced (deleted, then created) target
// has none for a moment, which Eventually must retry rather than fail on.
func onlyHook(target string) func(Gomega) giteaHook {
	return func(g Gomega) giteaHook {
		hooks := hooksOf(target)
		g.Expect(hooks).To(HaveLen(1))
		return hooks[0]
	}
}

// hooksTo are target's hooks to url.
func hooksTo(target, url string) []giteaHook {
	var out []giteaHook
	for _, h := range hooksOf(target) {
		if h.Config["url"] == url {
			out = append(out, h)
		}
	}
	return out
}

func createHookInGitea(target, hookURL string, extra map[string]any) int64 {
	body := map[string]any{"type": "gitea", "active": true, "config": map[string]string{"url": hookURL, "content_type": "json"}}
	for k, v := range extra {
		body[k] = v
	}
	var h giteaHook
	_, err := gitea.Do(ctx, http.MethodPost, hooksPathOf(target), body, &h)
	Expect(err).NotTo(HaveOccurred())
	return h.ID
}

// webhookCR is a hook of repository ("": of the target an edit sets).
func webhookCR(ns, name, repository, hookURL string) *giteav1alpha1.Webhook {
	w := &giteav1alpha1.Webhook{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.WebhookSpec{
			ResourceSpec: resourceSpec(),
			Type:         "gitea",
			URL:          hookURL,
		},
	}
	if repository != "" {
		w.Spec.Repository = ptr.To(repository)
	}
	return w
}

func newWebhook(ns, name, repository, hookURL string, edit func(*giteav1alpha1.Webhook)) *giteav1alpha1.Webhook {
	return created(webhookCR(ns, name, repository, hookURL), edit)
}

func events(names ...giteav1alpha1.WebhookEvent) *[]giteav1alpha1.WebhookEvent { return &names }

// expectNowhere checks that none of values appears in the status or the events of w.
func expectNowhere(w *giteav1alpha1.Webhook, values ...string) {
	status, err := json.Marshal(fresh(w).Status)
	Expect(err).NotTo(HaveOccurred())
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(w.Namespace))).To(Succeed())
	for _, v := range values {
		Expect(string(status)).NotTo(ContainSubstring(v))
		for _, e := range list.Items {
			Expect(e.Note).NotTo(ContainSubstring(v))
		}
	}
	remember(values...)
}

// contractHooks is the repository of the hooks of the shared specs, each sending to its own url.
const contractHooks = "contract-hooks"

func contractHookURL(key string) string { return "https://ci.example.com/" + key }

var webhookFixture = kindFixture{
	prepare: func(string) { ensureAdminRepo(contractHooks) },
	newCR: func(ns, key string) client.Object {
		w := webhookCR(ns, key, gitea.AdminUser+"/"+contractHooks, contractHookURL(key))
		w.Spec.ContentType = ptr.To("form")
		w.Spec.Events = events("issues")
		return w
	},
	// The events are the same set, sent as a group and shown expanded.
	drift: []string{"contentType"},
	createInGitea: func(key string) {
		createHookInGitea(gitea.AdminUser+"/"+contractHooks, contractHookURL(key), map[string]any{"events": []string{"issues"}})
	},
	deleteInGitea: func(key string) {
		for _, h := range hooksTo(gitea.AdminUser+"/"+contractHooks, contractHookURL(key)) {
			giteaCall(http.MethodDelete, fmt.Sprintf("/repos/%s/%s/hooks/%d", gitea.AdminUser, contractHooks, h.ID), nil)
		}
	},
	count: func(key string) int { return len(hooksTo(gitea.AdminUser+"/"+contractHooks, contractHookURL(key))) },
}

var _ = Describe("Webhook", func() {
	itBehavesAsAManagedKind(webhookFixture)

	It("creates the hook, corrects drift at the next sync, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("hook-create")
		createSecret(ns, "hook", map[string]string{"authorization": "Bearer create-token-1"})
		w := newWebhook(ns, "ci", repo, "https://ci.example.com/create", func(w *giteav1alpha1.Webhook) {
			w.Spec.ContentType = ptr.To("json")
			w.Spec.Events = events("push", "issues", "pull_request_only")
			w.Spec.BranchFilter = ptr.To("main")
			w.Spec.Active = ptr.To(true)
			w.Spec.AuthorizationHeaderRef = &giteav1alpha1.SecretKeyReference{Name: "hook", Key: "authorization"}
		})
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(w, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(w)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		h := hookInGitea(repo)
		Expect(got.Status.ID).To(Equal(h.ID))
		Expect(got.Status.Identity).To(HaveSuffix(fmt.Sprintf(" Webhook %s hook %d", repo, h.ID)), "the url is no part of the identity")
		Expect(h.Active).To(BeTrue())
		Expect(h.BranchFilter).To(Equal("main"))
		Expect(h.AuthorizationHeader).To(Equal("Bearer create-token-1"))
		// The groups come back expanded and in no order: compared as sets, they are in sync.
		Expect(sortedSet(h.Events)).To(Equal([]string{"issue_assign", "issue_comment", "issue_label",
			"issue_milestone", "issues", "pull_request", "push"}))
		Expect(got.Status.AtProvider.HasAuthorizationHeader).To(BeTrue())
		Expect(got.Status.AtProvider.Repository).To(Equal(repo))
		expectNowhere(w, "create-token-1")

		// Drift made in Gitea is corrected at the next sync; the events group is sent so that Gitea expands
		// it the same way again.
		giteaCall(http.MethodPatch, fmt.Sprintf("/repos/%s/hooks/%d", repo, h.ID), map[string]any{
			"config": map[string]string{"content_type": "form"}, "events": []string{"create"}, "active": false,
			"branch_filter": "*", "authorization_header": "Bearer intruder"})
		requestSync(w)
		h = hookInGitea(repo)
		Expect(h.Config).To(HaveKeyWithValue("content_type", "json"))
		Expect(h.Active).To(BeTrue())
		Expect(h.BranchFilter).To(Equal("main"))
		Expect(h.AuthorizationHeader).To(Equal("Bearer create-token-1"))
		Expect(sortedSet(h.Events)).To(ContainElements("issues", "issue_comment", "pull_request", "push"))
		Expect(h.Events).NotTo(ContainElement("create"))

		// A spec change is applied at once; the unmanaged fields stay as they are.
		update(w, func(w *giteav1alpha1.Webhook) {
			w.Spec.URL = "https://ci.example.com/moved"
			w.Spec.BranchFilter = nil
			w.Spec.Events = events("release")
		})
		Eventually(onlyHook(repo), eventually, poll).Should(HaveField("Config", HaveKeyWithValue("url", "https://ci.example.com/moved")))
		h = hookInGitea(repo)
		Expect(h.ID).To(Equal(got.Status.ID), "a url change edits the hook")
		Expect(h.Events).To(Equal([]string{"release"}))
		Expect(h.BranchFilter).To(Equal("main"))

		Eventually(conditionOf(w, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(w, ns)
	})

	It("re-applies the authorization header and replaces the hook for a new secret as soon as their Secrets change, showing neither anywhere", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("hook-secrets")
		w := newWebhook(ns, "ci", repo, "https://ci.example.com/secrets", func(w *giteav1alpha1.Webhook) {
			w.Spec.SecretRef = &giteav1alpha1.SecretKeyReference{Name: "signing", Key: "secret"}
			w.Spec.AuthorizationHeaderRef = &giteav1alpha1.SecretKeyReference{Name: "auth", Key: "header"}
			w.Spec.Events = events("push", "release")
		})
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/SecretNotFound"))
		Expect(conditionMessage(w, giteav1alpha1.ConditionReady)).To(MatchRegexp("^Secret (signing|auth) not found in namespace " + ns + "$"))
		Expect(hooksOf(repo)).To(BeEmpty())

		createSecret(ns, "signing", map[string]string{"secret": "sign-value-1"})
		createSecret(ns, "auth", map[string]string{"header": "Bearer auth-value-1"})
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		first := fresh(w).Status
		Expect(first.SecretVersion).NotTo(BeNil())
		Expect(first.SecretVersion.Name).To(Equal("signing"))

		// The header: edited in place, at once (no sync requested).
		updateSecret(ns, "auth", map[string]string{"header": "Bearer auth-value-2"})
		Eventually(onlyHook(repo), eventually, poll).Should(HaveField("AuthorizationHeader", "Bearer auth-value-2"))
		Expect(hookInGitea(repo).ID).To(Equal(first.ID))
		Expect(hookInGitea(repo).Active).To(BeTrue(), "a hook is created active unless the spec says otherwise")

		// The secret: Gitea cannot change it, so the hook is replaced, its events kept, and only one hook left.
		updateSecret(ns, "signing", map[string]string{"secret": "sign-value-2"})
		Eventually(onlyHook(repo), eventually, poll).ShouldNot(HaveField("ID", first.ID))
		h := hookInGitea(repo)
		Expect(sortedSet(h.Events)).To(Equal([]string{"push", "release"}))
		Expect(h.AuthorizationHeader).To(Equal("Bearer auth-value-2"))
		Eventually(func() int64 { return fresh(w).Status.ID }, eventually, poll).Should(Equal(h.ID))
		Eventually(conditionOf(w, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(w).Status.SecretVersion.ResourceVersion).NotTo(Equal(first.SecretVersion.ResourceVersion))

		expectNowhere(w, "sign-value-1", "sign-value-2", "auth-value-1", "auth-value-2")
	})

	It("takes a slack hook's url from a Secret, applies a change of the Secret at once and corrects drift, never showing the url", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("hook-secret-url")
		// Slack's form: the path is the credential. The first value is written as a file with a newline would be.
		first := "https://hooks.slack.example.com/services/T01/B01/slack-url-token-1"
		second := "https://hooks.slack.example.com/services/T01/B02/slack-url-token-2"
		createSecret(ns, "chat", map[string]string{"url": first + "\n"})
		w := newWebhook(ns, "chat", repo, "", func(w *giteav1alpha1.Webhook) {
			w.Spec.Type = "slack"
			w.Spec.Slack = &giteav1alpha1.SlackWebhook{Channel: "#builds"}
			w.Spec.URLSecretRef = &giteav1alpha1.SecretKeyReference{Name: "chat", Key: "url"}
		})
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(w, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		h := hookInGitea(repo)
		Expect(h.Type).To(Equal("slack"))
		Expect(h.Config).To(HaveKeyWithValue("url", first))
		got := fresh(w)
		Expect(got.Status.ID).To(Equal(h.ID))
		Expect(got.Status.Identity).To(Equal(fmt.Sprintf("%s Webhook %s hook %d", strings.TrimSuffix(gitea.URL, "/"), repo, h.ID)))
		Expect(got.Status.AtProvider.URL).To(BeEmpty())
		Expect(eventReasonsOf(w)).To(ContainElement(giteav1alpha1.ReasonCreating))

		// A new value of the Secret is applied at once (no sync requested), to the same hook.
		updateSecret(ns, "chat", map[string]string{"url": second})
		Eventually(onlyHook(repo), eventually, poll).Should(HaveField("Config", HaveKeyWithValue("url", second)))
		Expect(hookInGitea(repo).ID).To(Equal(h.ID))

		// A url changed in Gitea is drift, compared without being shown, and corrected at the next sync.
		giteaCall(http.MethodPatch, fmt.Sprintf("/repos/%s/hooks/%d", repo, h.ID), map[string]any{
			"config": map[string]string{"url": first, "content_type": "json", "channel": "#builds"}})
		requestSync(w)
		Expect(hookInGitea(repo).Config).To(HaveKeyWithValue("url", second))
		Expect(eventReasonsOf(w)).To(ContainElement("Updated"))

		// A value that is no URL is refused without being quoted.
		updateSecret(ns, "chat", map[string]string{"url": "slack-url-token-3 is no url"})
		Eventually(conditionOf(w, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/InvalidSpec"))
		Expect(conditionMessage(w, giteav1alpha1.ConditionSynced)).To(Equal("Secret chat key url does not hold an http:// or https:// URL"))
		Expect(hookInGitea(repo).Config).To(HaveKeyWithValue("url", second))

		expectNowhere(w, "slack-url-token-1", "slack-url-token-2", "slack-url-token-3", "hooks.slack.example.com")
	})

	It("refuses to guess between several hooks of the same type and url, and names a missing repository or organization", func() {
		ns := readyProvider()
		twice := ensureAdminRepo("hook-ambiguous")
		a := createHookInGitea(twice, "https://ci.example.com/twice", nil)
		b := createHookInGitea(twice, "https://ci.example.com/twice", nil)
		amb := newWebhook(ns, "twice", twice, "https://ci.example.com/twice", nil)
		Eventually(conditionOf(amb, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(amb, giteav1alpha1.ConditionReady)).To(ContainSubstring(fmt.Sprintf("ids %d, %d", a, b)))
		Expect(conditionMessage(amb, giteav1alpha1.ConditionReady)).NotTo(ContainSubstring("/twice"), "the url may be a credential")
		Expect(hooksOf(twice)).To(HaveLen(2))

		missing := newWebhook(ns, "missing", "nobody/nothing", "https://ci.example.com/missing", nil)
		Eventually(conditionOf(missing, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(missing, giteav1alpha1.ConditionReady)).To(Equal("the repository nobody/nothing does not exist in Gitea"))

		noOrg := newWebhook(ns, "no-org", "", "https://ci.example.com/no-org", func(w *giteav1alpha1.Webhook) {
			w.Spec.Organization = ptr.To[giteav1alpha1.Username]("nobody-org")
		})
		Eventually(conditionOf(noOrg, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(noOrg, giteav1alpha1.ConditionReady)).To(Equal("the organization nobody-org does not exist in Gitea"))
	})

	It("takes an organization name Gitea only redirects as missing: never hooks the organization renamed from it, nor adopts its hook", func() {
		ns := readyProvider()
		createOrgInGitea("hook-org-was")
		giteaCall(http.MethodPost, "/orgs/hook-org-was/rename", map[string]any{"new_name": "hook-org-is"})
		theirs := createHookInGitea("hook-org-is", "https://ci.example.com/theirs", nil)
		for _, name := range []string{"theirs", "mine"} {
			w := newWebhook(ns, name, "", "https://ci.example.com/"+name, func(w *giteav1alpha1.Webhook) {
				w.Spec.Organization = ptr.To[giteav1alpha1.Username]("hook-org-was")
			})
			Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
			Expect(conditionMessage(w, giteav1alpha1.ConditionReady)).To(Equal("the organization hook-org-was does not exist in Gitea"))
			Expect(statusOfCR(w).Origin).To(BeEmpty())
			deleteCR(w)
		}
		Expect(hooksOf("hook-org-is")).To(ConsistOf(HaveField("ID", theirs)), "the renamed organization's hooks changed")
	})

	It("hooks an organization named by organizationRef once it is Ready, and replaces the hook when its type changes", func() {
		ns := readyProvider()
		w := newWebhook(ns, "org-hook", "", "https://chat.example.com/org", func(w *giteav1alpha1.Webhook) {
			w.Spec.OrganizationRef = &giteav1alpha1.LocalObjectReference{Name: "acme"}
		})
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		Expect(conditionMessage(w, giteav1alpha1.ConditionReady)).To(Equal("Organization acme does not exist"))

		newOrg(ns, "acme", "acme-hooked", nil)
		Eventually(conditionOf(w, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(w).Status.AtProvider.Organization).To(Equal("acme-hooked"))
		id := hookInGitea("acme-hooked").ID

		update(w, func(w *giteav1alpha1.Webhook) {
			w.Spec.Type = "slack"
			w.Spec.Slack = &giteav1alpha1.SlackWebhook{Channel: "#builds", Username: "gitea"}
		})
		Eventually(onlyHook("acme-hooked"), eventually, poll).Should(HaveField("Type", "slack"))
		h := hookInGitea("acme-hooked")
		Expect(h.ID).NotTo(Equal(id))
		Expect(h.Config).To(HaveKeyWithValue("channel", "#builds"))
		Eventually(conditionOf(w, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))

		// The hook goes with its resource, before the organization (which Gitea deletes with its hooks anyway).
		deleteCR(w)
		Expect(hooksOf("acme-hooked")).To(BeEmpty())
	})
})
