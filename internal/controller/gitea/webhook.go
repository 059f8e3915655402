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
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=webhooks,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=webhooks/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// webhooks is the Webhook adapter. It makes raw calls so that one code path serves repository and
// organization hooks (the SDK has a function of each for every call); the paths differ, the bodies do not.
type webhooks struct{}

func init() {
	registerKind("Webhook", func() *giteav1alpha1.Webhook { return &giteav1alpha1.Webhook{} },
		func() client.ObjectList { return &giteav1alpha1.WebhookList{} }, Adapter[*giteav1alpha1.Webhook](webhooks{}))
}

// hook is a webhook as Gitea's API shows it.
type hook struct {
	ID           int64             `json:"id"`
	Type         string            `json:"type"`
	Config       map[string]string `json:"config"`
	Events       []string          `json:"events"`
	Active       bool              `json:"active"`
	BranchFilter string            `json:"branch_filter"`
	// AuthorizationHeader comes in clear: it is compared, and sent back, never stored.
	AuthorizationHeader string `json:"authorization_header"`
}

// hookOption is the body of a create (Type set) or an edit. Gitea's edit resets events, branch_filter and
// authorization_header when they are not sent, so every field is always sent.
type hookOption struct {
	Type                string            `json:"type,omitempty"`
	Config              map[string]string `json:"config"`
	Events              []string          `json:"events"`
	BranchFilter        string            `json:"branch_filter"`
	Active              bool              `json:"active"`
	AuthorizationHeader string            `json:"authorization_header"`
}

// hookTarget is the repository ("owner/name") or the organization a hook belongs to.
type hookTarget struct{ repository, organization string }

func (t hookTarget) String() string { return t.repository + t.organization }

// hooksPath is the API path of the target's hooks.
func (t hookTarget) hooksPath() string {
	if t.organization != "" {
		return "/orgs/" + url.PathEscape(t.organization) + "/hooks"
	}
	return repoPath(t.repository) + "/hooks"
}

func (t hookTarget) what() string {
	if t.organization != "" {
		return "organization " + t.organization
	}
	return "repository " + t.repository
}

// target resolves the hook's repository or organization, falling back on the one last seen when a
// referenced resource is gone (while the webhook is being deleted).
func (webhooks) target(c *Conn, w *giteav1alpha1.Webhook) hookTarget {
	s := w.Spec
	if s.Organization == nil && s.OrganizationRef == nil {
		return hookTarget{repository: repositoryOf(c, s.RepositoryReference, w.Status.AtProvider.Repository)}
	}
	return hookTarget{organization: organizationOf(c, s.OrganizationReference, w.Status.AtProvider.Organization)}
}

func (webhooks) Dependencies(w *giteav1alpha1.Webhook) []Dependency {
	return parentDependencies(w.Spec.RepositoryRef, w.Spec.OrganizationRef)
}

func (webhooks) SecretNames(w *giteav1alpha1.Webhook) []string {
	var names []string
	for _, ref := range []*giteav1alpha1.SecretKeyReference{w.Spec.URLSecretRef, w.Spec.SecretRef, w.Spec.AuthorizationHeaderRef} {
		if ref != nil {
			names = append(names, ref.Name)
		}
	}
	return names
}

// Key is the target and the id of the hook, once the resource has found or created it: Gitea gives hooks
// no name, and a url may be a credential (the whole secret of a slack hook), so it is never part of the
// key, which status.identity, events and Conflict messages show. Observe records the id of the hook it
// finds, and the reconciler claims the key again before it writes anything, so the later of two resources
// whose type and url match one hook gets Conflict. Until then the key names the resource (no other can
// claim it), the type and, for a plain url, its host.
func (a webhooks) Key(c *Conn, w *giteav1alpha1.Webhook) string {
	target := strings.ToLower(a.target(c, w).String())
	if w.Status.ID != 0 {
		return target + " hook " + strconv.FormatInt(w.Status.ID, 10)
	}
	to := "its url"
	if ref := w.Spec.URLSecretRef; ref != nil {
		to = "the url in Secret " + ref.Name
	} else if u, err := url.Parse(w.Spec.URL); err == nil {
		to = u.Host // admission refuses a user name or password in url
	}
	return fmt.Sprintf("%s %s hook to %s wanted by %s/%s", target, w.Spec.Type, to, w.Namespace, w.Name)
}

// wanted is what the spec wants that is not in it: values read from Secrets.
type wanted struct {
	url string
	// authorization is the header the spec wants ("" when unmanaged).
	authorization string
}

// wanted reads the url (unless the spec holds it) and the authorization header from their Secrets.
func (a webhooks) wanted(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook) (wanted, error) {
	hookURL, err := a.url(ctx, c, w)
	if err != nil {
		return wanted{}, err
	}
	want := wanted{url: hookURL}
	if ref := w.Spec.AuthorizationHeaderRef; ref != nil {
		if want.authorization, _, err = c.SecretValue(ctx, *ref); err != nil {
			return wanted{}, err
		}
	}
	return want, nil
}

// url is the url the spec holds, or the one in the Secret it names (which admission could not check).
func (webhooks) url(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook) (string, error) {
	ref := w.Spec.URLSecretRef
	if ref == nil {
		return w.Spec.URL, nil
	}
	value, _, err := c.SecretValue(ctx, *ref)
	if err != nil {
		return "", err
	}
	value = strings.TrimSpace(value)
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Neither the value nor the parse error, which quotes it.
		return "", reasonf(giteav1alpha1.ReasonInvalidSpec, "Secret %s key %s does not hold an http:// or https:// URL",
			ref.Name, ref.Key)
	}
	return value, nil
}

// observedHook is what Observe hands to Update.
type observedHook struct {
	hook *hook
	want wanted
}

func (a webhooks) Observe(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook) (Observation, error) {
	t := a.target(c, w)
	want, err := a.wanted(ctx, c, w)
	if err != nil {
		return Observation{}, err
	}
	h, err := a.find(ctx, c, w, t, want.url)
	if err != nil || h == nil {
		return Observation{}, err
	}
	w.Status.ID = h.ID // the key is the hook's id from now on
	w.Status.AtProvider = observation(t, h, w.Spec.URLSecretRef == nil)

	var d drift
	d.check("type", h.Type != w.Spec.Type)
	d.check("url", h.Config["url"] != want.url)
	d.str("contentType", w.Spec.ContentType, h.Config["content_type"])
	d.check("events", w.Spec.Events != nil && !slices.Equal(expandEvents(*w.Spec.Events), recordedEvents(h.Events)))
	d.str("branchFilter", w.Spec.BranchFilter, h.BranchFilter)
	d.boolean("active", w.Spec.Active, h.Active)
	d.check("slack", w.Spec.Slack != nil && (w.Status.AtProvider.Slack == nil || *w.Spec.Slack != *w.Status.AtProvider.Slack))
	d.check("authorizationHeader", w.Spec.AuthorizationHeaderRef != nil && want.authorization != h.AuthorizationHeader)
	if ref := w.Spec.SecretRef; ref != nil {
		_, version, err := c.SecretValue(ctx, *ref)
		if err != nil {
			return Observation{}, err
		}
		// Gitea cannot show the secret: a Secret version other than the one the hook was made with is drift.
		d.check("secret", w.Status.SecretVersion == nil || *w.Status.SecretVersion != version)
	}
	return Observation{Exists: true, ID: h.ID, Drift: d.fields, State: observedHook{hook: h, want: want}}, nil
}

// observation is the hook for the status, without the authorization header's value, and with its url only
// when the spec holds it plainly (showURL), a password in it hidden.
func observation(t hookTarget, h *hook, showURL bool) giteav1alpha1.WebhookObservation {
	o := giteav1alpha1.WebhookObservation{
		Repository:             t.repository,
		Organization:           t.organization,
		Type:                   h.Type,
		ContentType:            h.Config["content_type"],
		Events:                 recordedEvents(h.Events),
		BranchFilter:           h.BranchFilter,
		Active:                 h.Active,
		HasAuthorizationHeader: h.AuthorizationHeader != "",
	}
	if u, err := url.Parse(h.Config["url"]); err == nil && showURL {
		o.URL = u.Redacted()
	}
	if h.Type == "slack" {
		o.Slack = &giteav1alpha1.SlackWebhook{Channel: h.Config["channel"], Username: h.Config["username"],
			IconURL: h.Config["icon_url"], Color: h.Config["color"]}
	}
	return o
}

// find reads the hook by the id in the status, or, without one (or when that hook is gone), looks for the
// one hook of the target with the spec's type and hookURL. More than one such hook cannot be adopted safely.
// An organization name Gitea only redirects is NotFound (organizationMissing).
func (webhooks) find(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook, t hookTarget, hookURL string) (*hook, error) {
	if id := w.Status.ID; id != 0 {
		h := &hook{}
		_, err := c.Client.Do(ctx, http.MethodGet, t.hooksPath()+"/"+strconv.FormatInt(id, 10), nil, nil, h)
		if !giteaclient.IsNotFound(err) {
			return h, err
		}
	}
	if t.organization != "" {
		if err := organizationMissing(c, t.organization); err != nil {
			return nil, err
		}
	}
	hooks, err := giteaclient.ListAll(ctx, func(opt sdk.ListOptions) ([]*hook, *sdk.Response, error) {
		var page []*hook
		q := url.Values{"page": {strconv.Itoa(opt.Page)}, "limit": {strconv.Itoa(opt.PageSize)}}
		resp, err := c.Client.Do(ctx, http.MethodGet, t.hooksPath(), q, nil, &page)
		return page, &sdk.Response{Response: resp}, err
	})
	if giteaclient.IsNotFound(err) && t.organization != "" {
		return nil, organizationNotFound(t.organization)
	}
	if giteaclient.IsNotFound(err) {
		return nil, repositoryMissing(t.repository)
	}
	if err != nil {
		return nil, err
	}
	var matches []*hook
	for _, h := range hooks {
		if h.Type == w.Spec.Type && h.Config["url"] == hookURL {
			matches = append(matches, h)
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
		return matches[0], nil
	}
	ids := make([]string, 0, len(matches))
	for _, h := range matches {
		ids = append(ids, strconv.FormatInt(h.ID, 10))
	}
	return nil, reasonf(giteav1alpha1.ReasonConflict, "the %s has %d %s hooks to the spec's url (ids %s): cannot tell "+
		"which one to adopt; delete the extra ones in Gitea", t.what(), len(matches), w.Spec.Type, strings.Join(ids, ", "))
}

func (a webhooks) Create(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook) error {
	want, err := a.wanted(ctx, c, w)
	if err != nil {
		return err
	}
	return a.create(ctx, c, w, a.target(c, w), &hook{Active: true}, want)
}

// create creates the hook from the spec and want, taking what the spec leaves unmanaged from base (the hook
// it replaces, or Gitea's defaults), and records its id and the version of its secret.
func (webhooks) create(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook, t hookTarget, base *hook, want wanted) error {
	opt := editOption(w, base, want)
	opt.Type = w.Spec.Type
	var version giteav1alpha1.SecretVersion
	if ref := w.Spec.SecretRef; ref != nil {
		value, v, err := c.SecretValue(ctx, *ref)
		if err != nil {
			return err
		}
		opt.Config["secret"], version = value, v
	}
	created := &hook{}
	if _, err := c.Client.Do(ctx, http.MethodPost, t.hooksPath(), nil, opt, created); err != nil {
		return err
	}
	w.Status.ID = created.ID
	w.Status.SecretVersion = nil
	if w.Spec.SecretRef != nil {
		w.Status.SecretVersion = &version
	}
	return nil
}

// Update edits the hook, or replaces it for what an edit cannot change (its type and its secret). The old
// hook goes first: were the create lost, the next sync creates it; were both kept, nothing could tell
// them apart.
func (a webhooks) Update(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook, observed Observation) error {
	state := observed.State.(observedHook)
	t := a.target(c, w)
	if slices.Contains(observed.Drift, "type") || slices.Contains(observed.Drift, "secret") {
		if err := a.deleteHook(ctx, c, t, state.hook.ID); err != nil {
			return err
		}
		return a.create(ctx, c, w, t, state.hook, state.want)
	}
	path := t.hooksPath() + "/" + strconv.FormatInt(state.hook.ID, 10)
	_, err := c.Client.Do(ctx, http.MethodPatch, path, nil, editOption(w, state.hook, state.want), nil)
	return err
}

// editOption is the hook the spec and want ask for, with what they leave unmanaged as base has it.
func editOption(w *giteav1alpha1.Webhook, base *hook, want wanted) hookOption {
	opt := hookOption{
		Config:              map[string]string{"url": want.url, "content_type": or(w.Spec.ContentType, base.Config["content_type"])},
		Events:              collapseEvents(recordedEvents(base.Events)),
		BranchFilter:        or(w.Spec.BranchFilter, base.BranchFilter),
		Active:              or(w.Spec.Active, base.Active),
		AuthorizationHeader: base.AuthorizationHeader,
	}
	if opt.Config["content_type"] == "" {
		opt.Config["content_type"] = "json"
	}
	if w.Spec.Events != nil {
		opt.Events = make([]string, 0, len(*w.Spec.Events))
		for _, e := range *w.Spec.Events {
			opt.Events = append(opt.Events, string(e))
		}
	}
	if w.Spec.AuthorizationHeaderRef != nil {
		opt.AuthorizationHeader = want.authorization
	}
	if s := w.Spec.Slack; s != nil {
		opt.Config["channel"], opt.Config["username"], opt.Config["icon_url"], opt.Config["color"] =
			s.Channel, s.Username, s.IconURL, s.Color
	}
	return opt
}

func (a webhooks) Delete(ctx context.Context, c *Conn, w *giteav1alpha1.Webhook) error {
	t := a.target(c, w)
	if t.String() == "" {
		return nil
	}
	// The url is needed only to look for a hook whose id the status lacks: a Secret already gone (deleted
	// with the namespace) leaves the hook found by its id, or nothing to find.
	hookURL, err := a.url(ctx, c, w)
	if err != nil && w.Status.ID == 0 {
		return err
	}
	h, err := a.find(ctx, c, w, t, hookURL)
	if err != nil || h == nil {
		return err
	}
	return a.deleteHook(ctx, c, t, h.ID)
}

func (webhooks) deleteHook(ctx context.Context, c *Conn, t hookTarget, id int64) error {
	_, err := c.Client.Do(ctx, http.MethodDelete, t.hooksPath()+"/"+strconv.FormatInt(id, 10), nil, nil, nil)
	return ignoreAbsent(err)
}

// eventGroups are the events Gitea turns a group name into; "<group>_only" is the group's main event
// alone.
var eventGroups = map[string][]string{
	"issues": {"issues", "issue_assign", "issue_label", "issue_milestone", "issue_comment"},
	"pull_request": {"pull_request", "pull_request_assign", "pull_request_label", "pull_request_milestone",
		"pull_request_comment", "pull_request_review", "pull_request_review_request", "pull_request_sync"},
}

// expandEvents is the set of events Gitea records for a list it is sent, sorted: groups expanded, and
// push alone for an empty list.
func expandEvents(events []giteav1alpha1.WebhookEvent) []string {
	if len(events) == 0 {
		return []string{"push"}
	}
	var out []string
	for _, e := range events {
		name := string(e)
		if group, ok := eventGroups[name]; ok {
			out = append(out, group...)
		} else {
			out = append(out, strings.TrimSuffix(name, "_only"))
		}
	}
	return sortedSet(out)
}

// collapseEvents is a list that Gitea expands back to events: a group's main event must be sent as
// "<group>_only", or it would stand for its whole group.
func collapseEvents(events []string) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		if _, ok := eventGroups[e]; ok {
			e += "_only"
		}
		out = append(out, e)
	}
	return out
}

// recordedEvents is the set of events Gitea shows, sorted, under the names it takes: a hook made to send
// everything (in Gitea's UI) shows the three kinds of review events that "pull_request_review" stands for.
func recordedEvents(events []string) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		switch e {
		case "pull_request_review_approved", "pull_request_review_rejected", "pull_request_review_comment":
			e = "pull_request_review"
		}
		out = append(out, e)
	}
	return sortedSet(out)
}
