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
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=branchprotections,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=branchprotections/status,verbs=patch

// branchProtections is the BranchProtection adapter. It uses raw calls: SDK v0.25.1 lacks priority, the
// force-push settings and ignore_stale_approvals.
type branchProtections struct{}

func init() {
	registerKind("BranchProtection", func() *giteav1alpha1.BranchProtection { return &giteav1alpha1.BranchProtection{} },
		func() client.ObjectList { return &giteav1alpha1.BranchProtectionList{} },
		Adapter[*giteav1alpha1.BranchProtection](branchProtections{}))
}

// protection is a rule's settings under Gitea's names, field for field those of
// giteav1alpha1.BranchProtectionRules (copied by field name). Nil fields are left out of a request, and
// Gitea's edit leaves what it is not sent as it is.
type protection struct {
	RuleName                      string    `json:"rule_name,omitempty"`
	EnablePush                    *bool     `json:"enable_push,omitempty"`
	EnablePushAllowlist           *bool     `json:"enable_push_whitelist,omitempty"`
	PushAllowlistUsers            *[]string `json:"push_whitelist_usernames,omitempty"`
	PushAllowlistTeams            *[]string `json:"push_whitelist_teams,omitempty"`
	PushAllowlistDeployKeys       *bool     `json:"push_whitelist_deploy_keys,omitempty"`
	EnableForcePush               *bool     `json:"enable_force_push,omitempty"`
	EnableForcePushAllowlist      *bool     `json:"enable_force_push_allowlist,omitempty"`
	ForcePushAllowlistUsers       *[]string `json:"force_push_allowlist_usernames,omitempty"`
	ForcePushAllowlistTeams       *[]string `json:"force_push_allowlist_teams,omitempty"`
	ForcePushAllowlistDeployKeys  *bool     `json:"force_push_allowlist_deploy_keys,omitempty"`
	EnableMergeAllowlist          *bool     `json:"enable_merge_whitelist,omitempty"`
	MergeAllowlistUsers           *[]string `json:"merge_whitelist_usernames,omitempty"`
	MergeAllowlistTeams           *[]string `json:"merge_whitelist_teams,omitempty"`
	EnableStatusCheck             *bool     `json:"enable_status_check,omitempty"`
	StatusCheckContexts           *[]string `json:"status_check_contexts,omitempty"`
	RequiredApprovals             *int64    `json:"required_approvals,omitempty"`
	EnableApprovalsAllowlist      *bool     `json:"enable_approvals_whitelist,omitempty"`
	ApprovalsAllowlistUsers       *[]string `json:"approvals_whitelist_username,omitempty"`
	ApprovalsAllowlistTeams       *[]string `json:"approvals_whitelist_teams,omitempty"`
	BlockOnRejectedReviews        *bool     `json:"block_on_rejected_reviews,omitempty"`
	BlockOnOfficialReviewRequests *bool     `json:"block_on_official_review_requests,omitempty"`
	BlockOnOutdatedBranch         *bool     `json:"block_on_outdated_branch,omitempty"`
	BlockAdminMergeOverride       *bool     `json:"block_admin_merge_override,omitempty"`
	DismissStaleApprovals         *bool     `json:"dismiss_stale_approvals,omitempty"`
	IgnoreStaleApprovals          *bool     `json:"ignore_stale_approvals,omitempty"`
	RequireSignedCommits          *bool     `json:"require_signed_commits,omitempty"`
	ProtectedFilePatterns         *string   `json:"protected_file_patterns,omitempty"`
	UnprotectedFilePatterns       *string   `json:"unprotected_file_patterns,omitempty"`
	Priority                      *int64    `json:"priority,omitempty"`
}

// toProtection copies the rules set in r; fromProtection copies all of p's, a missing list as empty.
func toProtection(r giteav1alpha1.BranchProtectionRules) protection {
	var p protection
	copyFields(reflect.ValueOf(&p).Elem(), reflect.ValueOf(r))
	return p
}

func fromProtection(p *protection) giteav1alpha1.BranchProtectionRules {
	var r giteav1alpha1.BranchProtectionRules
	copyFields(reflect.ValueOf(&r).Elem(), reflect.ValueOf(*p))
	rv := reflect.ValueOf(&r).Elem()
	for i := range rv.NumField() {
		if f := rv.Field(i); f.IsNil() && f.Type().Elem().Kind() == reflect.Slice {
			f.Set(reflect.New(f.Type().Elem()))
			f.Elem().Set(reflect.MakeSlice(f.Type().Elem(), 0, 0))
		}
	}
	return r
}

// copyFields copies the non-nil settings of src into the fields of dst with the same names (the rule's
// name is no setting).
func copyFields(dst, src reflect.Value) {
	for i := range src.NumField() {
		f := src.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		dst.FieldByName(src.Type().Field(i).Name).Set(f)
	}
}

// ruleDrift names the settings (by their spec names) where got differs from the ones want sets. Lists are
// compared as sets; user and team names as Gitea compares them, without case.
func ruleDrift(want, got giteav1alpha1.BranchProtectionRules) []string {
	var d drift
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		w, g := wv.Field(i), gv.Field(i)
		if w.IsNil() {
			continue
		}
		field := wv.Type().Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if l, ok := w.Interface().(*[]string); ok {
			fold := strings.Contains(field.Name, "Allowlist")
			d.check(name, !slices.Equal(nameSet(*l, fold), nameSet(*g.Interface().(*[]string), fold)))
			continue
		}
		d.check(name, g.IsNil() || !reflect.DeepEqual(w.Elem().Interface(), g.Elem().Interface()))
	}
	return d.fields
}

func nameSet(names []string, fold bool) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if fold {
			n = strings.ToLower(n)
		}
		out = append(out, n)
	}
	return sortedSet(out)
}

func (branchProtections) repository(c *Conn, b *giteav1alpha1.BranchProtection) string {
	return repositoryOf(c, b.Spec.RepositoryReference, b.Status.AtProvider.Repository)
}

func (branchProtections) Dependencies(b *giteav1alpha1.BranchProtection) []Dependency {
	return parentDependencies(b.Spec.RepositoryRef, nil)
}

func (a branchProtections) Key(c *Conn, b *giteav1alpha1.BranchProtection) string {
	return strings.ToLower(a.repository(c, b)) + " " + b.Spec.RuleName
}

// rules is what Observe hands to Update: the rule under the spec's name, and the rule under its previous
// name while a rename is not finished (either may be nil).
type rules struct{ current, previous *protection }

// Observe reads the rule by the spec's name and, during a rename, by the previous one: until the previous
// rule is deleted, the status shows it and the rename is drift. A rule at the new name while the previous one
// is still there is another's (Gitea has no id to tell): renaming onto it would take it over, so that is a
// Conflict.
func (a branchProtections) Observe(ctx context.Context, c *Conn, b *giteav1alpha1.BranchProtection) (Observation, error) {
	repo := a.repository(c, b)
	var state rules
	var err error
	if state.current, err = getProtection(ctx, c, repo, b.Spec.RuleName); err != nil {
		return Observation{}, err
	}
	if prev := b.Status.AtProvider.RuleName; prev != "" && prev != b.Spec.RuleName {
		if state.previous, err = getProtection(ctx, c, repo, prev); err != nil {
			return Observation{}, err
		}
	}
	seen := state.current
	if state.previous != nil {
		seen = state.previous
	}
	if seen == nil {
		return Observation{}, nil
	}
	observed := fromProtection(seen)
	b.Status.AtProvider = giteav1alpha1.BranchProtectionObservation{Repository: repo, RuleName: seen.RuleName,
		BranchProtectionRules: observed}
	if state.previous != nil && state.current != nil {
		return Observation{}, reasonf(giteav1alpha1.ReasonConflict, "a rule %s already exists in %s besides this "+
			"resource's rule %s; renaming onto it would take over a rule this resource did not create: delete or "+
			"rename that rule in Gitea, or set ruleName back to %s", b.Spec.RuleName, repo, state.previous.RuleName,
			state.previous.RuleName)
	}
	var d drift
	d.check("ruleName", state.previous != nil)
	d.fields = append(d.fields, ruleDrift(b.Spec.BranchProtectionRules, observed)...)
	return Observation{Exists: true, Drift: d.fields, State: state}, nil
}

// protectionPath is the API path of a rule; its name is a glob that may hold slashes.
func protectionPath(repo, name string) string {
	segments := strings.Split(name, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return repoPath(repo) + "/branch_protections/" + strings.Join(segments, "/")
}

// getProtection reads a rule; nil when there is none.
func getProtection(ctx context.Context, c *Conn, repo, name string) (*protection, error) {
	p := &protection{}
	_, err := c.Client.Do(ctx, http.MethodGet, protectionPath(repo, name), nil, nil, p)
	if giteaclient.IsNotFound(err) {
		// A rule of a missing repository is missing too, but a missing repository is worth saying.
		if _, rerr := c.Client.Do(ctx, http.MethodGet, repoPath(repo), nil, nil, nil); giteaclient.IsNotFound(rerr) {
			return nil, repositoryMissing(repo)
		}
		return nil, nil
	}
	return p, err
}

func (a branchProtections) Create(ctx context.Context, c *Conn, b *giteav1alpha1.BranchProtection) error {
	return a.create(ctx, c, b, a.repository(c, b), nil)
}

// create creates the rule from the spec, with what the spec leaves unmanaged taken from base (the rule it
// replaces) when there is one.
func (branchProtections) create(ctx context.Context, c *Conn, b *giteav1alpha1.BranchProtection, repo string,
	base *protection) error {
	body := protection{}
	if base != nil {
		body = *base
	}
	copyFields(reflect.ValueOf(&body).Elem(), reflect.ValueOf(b.Spec.BranchProtectionRules))
	body.RuleName = b.Spec.RuleName
	_, err := c.Client.Do(ctx, http.MethodPost, repoPath(repo)+"/branch_protections", nil, body, nil)
	if e, ok := errors.AsType[*giteaclient.Error](err); ok && e.Kind == giteaclient.KindForbidden &&
		strings.Contains(e.Message, "already exist") {
		// Gitea answers the create of a rule that already exists with a 403.
		return fmt.Errorf("%w: %w", errAlreadyExists, err)
	}
	return named(err)
}

// Update edits the rule (creating it under its new name first during a rename), then deletes the rule
// under the previous name.
func (a branchProtections) Update(ctx context.Context, c *Conn, b *giteav1alpha1.BranchProtection, observed Observation) error {
	state := observed.State.(rules)
	repo := a.repository(c, b)
	var err error
	if state.current == nil {
		err = a.create(ctx, c, b, repo, state.previous)
	} else if len(ruleDrift(b.Spec.BranchProtectionRules, fromProtection(state.current))) > 0 {
		err = editProtection(ctx, c, repo, b, state.current)
	}
	if err != nil || state.previous == nil {
		return err
	}
	_, err = c.Client.Do(ctx, http.MethodDelete, protectionPath(repo, state.previous.RuleName), nil, nil, nil)
	return ignoreAbsent(err)
}

// editProtection sends the managed settings. Gitea applies the push allow-list settings only under
// enable_push (and the deploy-key switch only under enable_push_whitelist), force-push likewise: those
// switches are always sent, as the spec wants them or as they are.
func editProtection(ctx context.Context, c *Conn, repo string, b *giteav1alpha1.BranchProtection, current *protection) error {
	body := toProtection(b.Spec.BranchProtectionRules)
	for _, pair := range [][2]**bool{
		{&body.EnablePush, &current.EnablePush}, {&body.EnablePushAllowlist, &current.EnablePushAllowlist},
		{&body.PushAllowlistDeployKeys, &current.PushAllowlistDeployKeys},
		{&body.EnableForcePush, &current.EnableForcePush}, {&body.EnableForcePushAllowlist, &current.EnableForcePushAllowlist},
		{&body.ForcePushAllowlistDeployKeys, &current.ForcePushAllowlistDeployKeys},
	} {
		if *pair[0] == nil {
			*pair[0] = *pair[1]
		}
	}
	_, err := c.Client.Do(ctx, http.MethodPatch, protectionPath(repo, current.RuleName), nil, body, nil)
	return named(err)
}

// named turns Gitea's refusal of a user or team that does not exist into NotFound, its message naming it.
func named(err error) error {
	if giteaclient.IsValidation(err) && strings.Contains(err.Error(), "does not exist") {
		return reasonf(giteav1alpha1.ReasonNotFound, "an allow-list names what Gitea does not have: %v", err)
	}
	return err
}

// Delete deletes the rule the status recorded (during a rename, the previous one, until it is deleted), or
// the spec's when none was: never a rule at the new name that another made (see Observe).
func (a branchProtections) Delete(ctx context.Context, c *Conn, b *giteav1alpha1.BranchProtection) error {
	repo := a.repository(c, b)
	if repo == "" {
		return nil
	}
	name := b.Status.AtProvider.RuleName
	if name == "" {
		name = b.Spec.RuleName
	}
	_, err := c.Client.Do(ctx, http.MethodDelete, protectionPath(repo, name), nil, nil, nil)
	return ignoreAbsent(err)
}
