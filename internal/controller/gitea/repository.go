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
	"net/http"
	"net/url"
	"slices"
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=repositories,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=repositories/status,verbs=patch

// repositories is the Repository adapter.
type repositories struct{}

func init() {
	registerKind(kindRepository, func() *giteav1alpha1.Repository { return &giteav1alpha1.Repository{} },
		func() client.ObjectList { return &giteav1alpha1.RepositoryList{} }, Adapter[*giteav1alpha1.Repository](repositories{}))
}

func (repositories) Dependencies(r *giteav1alpha1.Repository) []Dependency {
	return parentDependencies(nil, r.Spec.OrganizationRef)
}

// owner is the repository's owner in Gitea: the spec's (a user or an organization), or the referenced
// Organization's current name (what the status recorded once the Organization is gone, during deletion).
func (repositories) owner(c *Conn, r *giteav1alpha1.Repository) string {
	owner := giteav1alpha1.OrganizationReference{Organization: r.Spec.Owner, OrganizationRef: r.Spec.OrganizationRef}
	return organizationOf(c, owner, r.Status.AtProvider.Owner)
}

func (a repositories) Key(c *Conn, r *giteav1alpha1.Repository) string {
	return strings.ToLower(a.owner(c, r) + "/" + string(r.Spec.Name))
}

// Observe reads the repository find finds.
func (a repositories) Observe(_ context.Context, c *Conn, r *giteav1alpha1.Repository) (Observation, error) {
	repo, err := a.find(c, r)
	if err != nil || repo == nil {
		return Observation{}, err
	}
	r.Status.AtProvider = repositoryObservation(repo)
	_, fields := repositoryChanges(r, repo)
	if topicsDiffer(r.Spec.Topics, repo.Topics) {
		fields = append(fields, "topics")
	}
	if _, differs := archiveChange(r, repo); differs {
		fields = append(fields, "archived")
	}
	return Observation{Exists: true, ID: repo.ID, Drift: fields, State: repo}, nil
}

// find finds the resource's repository: the one of the id the status recorded, as long as the spec's owner
// has it (under any name: a rename the spec asks for, or one made in Gitea). For a resource with no id yet,
// or whose repository is gone, it is the one at the spec's owner and name, whoever made it (the reconciler
// then adopts it). Gitea redirects an old name, of the repository or of its owner, to what was renamed from
// it (redirected): a repository reached that way is never one to take.
func (a repositories) find(c *Conn, r *giteav1alpha1.Repository) (*sdk.Repository, error) {
	owner, name := a.owner(c, r), string(r.Spec.Name)
	repo, err := getRepo(c, owner, name)
	if err != nil && !giteaclient.IsNotFound(err) {
		return nil, err
	}
	if repo != nil && (redirected(name, repo.Name, repo.ID, r.Status.ID) ||
		repo.Owner != nil && redirected(owner, repo.Owner.UserName, repo.ID, r.Status.ID)) {
		repo = nil
	}
	if r.Status.ID != 0 && (repo == nil || repo.ID != r.Status.ID) {
		byID, resp, err := c.SDK.GetRepoByID(r.Status.ID)
		if err = giteaclient.Wrap(resp, err); err != nil && !giteaclient.IsNotFound(err) {
			return nil, err
		}
		if err == nil && byID.Owner != nil && strings.EqualFold(byID.Owner.UserName, owner) {
			return byID, nil
		}
	}
	return repo, nil
}

func getRepo(c *Conn, owner, name string) (*sdk.Repository, error) {
	repo, resp, err := c.SDK.GetRepo(owner, name)
	if err != nil {
		return nil, giteaclient.Wrap(resp, err) // the SDK answers a 404 with an empty repository
	}
	return repo, nil
}

func repositoryObservation(repo *sdk.Repository) giteav1alpha1.RepositoryObservation {
	o := giteav1alpha1.RepositoryObservation{
		Name:                          repo.Name,
		Description:                   repo.Description,
		Website:                       repo.Website,
		Private:                       repo.Private,
		Template:                      repo.Template,
		Empty:                         repo.Empty,
		DefaultBranch:                 repo.DefaultBranch,
		Archived:                      repo.Archived,
		Topics:                        repo.Topics,
		HasIssues:                     repo.HasIssues,
		HasWiki:                       repo.HasWiki,
		HasPullRequests:               repo.HasPullRequests,
		HasProjects:                   repo.HasProjects,
		HasReleases:                   repo.HasReleases,
		HasPackages:                   repo.HasPackages,
		HasActions:                    repo.HasActions,
		AllowMergeCommits:             repo.AllowMerge,
		AllowRebase:                   repo.AllowRebase,
		AllowRebaseExplicit:           repo.AllowRebaseMerge,
		AllowSquashMerge:              repo.AllowSquash,
		AllowFastForwardOnlyMerge:     repo.AllowFastForwardOnlyMerge,
		DefaultMergeStyle:             string(repo.DefaultMergeStyle),
		DefaultDeleteBranchAfterMerge: repo.DefaultDeleteBranchAfterMerge,
		HTMLURL:                       repo.HTMLURL,
		CloneURL:                      repo.CloneURL,
		SSHURL:                        repo.SSHURL,
	}
	if repo.Owner != nil {
		o.Owner = repo.Owner.UserName
	}
	return o
}

// repositoryChanges is the edit that makes repo match the spec, holding only the managed fields that
// differ (Gitea's edit changes only what it is sent), and their names. Archiving and topics have their
// own calls.
func repositoryChanges(r *giteav1alpha1.Repository, repo *sdk.Repository) (sdk.EditRepoOption, []string) {
	s := &r.Spec
	var opt sdk.EditRepoOption
	var fields []string
	set := func(field string, want *string, got string, dst **string) {
		if want != nil && *want != got {
			*dst = want
			fields = append(fields, field)
		}
	}
	flag := func(field string, want *bool, got bool, dst **bool) {
		if want != nil && *want != got {
			*dst = want
			fields = append(fields, field)
		}
	}
	set("name", new(string(s.Name)), repo.Name, &opt.Name)
	set("description", s.Description, repo.Description, &opt.Description)
	set("website", s.Website, repo.Website, &opt.Website)
	flag("private", s.Private, repo.Private, &opt.Private)
	flag("template", s.Template, repo.Template, &opt.Template)
	set("defaultBranch", s.DefaultBranch, repo.DefaultBranch, &opt.DefaultBranch)
	flag("hasIssues", s.HasIssues, repo.HasIssues, &opt.HasIssues)
	flag("hasWiki", s.HasWiki, repo.HasWiki, &opt.HasWiki)
	flag("hasPullRequests", s.HasPullRequests, repo.HasPullRequests, &opt.HasPullRequests)
	flag("hasProjects", s.HasProjects, repo.HasProjects, &opt.HasProjects)
	flag("hasReleases", s.HasReleases, repo.HasReleases, &opt.HasReleases)
	flag("hasPackages", s.HasPackages, repo.HasPackages, &opt.HasPackages)
	flag("hasActions", s.HasActions, repo.HasActions, &opt.HasActions)
	// The merge settings live in the pull-request unit: without it Gitea reports defaults, and an edit of
	// them would enable it.
	if or(s.HasPullRequests, repo.HasPullRequests) {
		flag("allowMergeCommits", s.AllowMergeCommits, repo.AllowMerge, &opt.AllowMerge)
		flag("allowRebase", s.AllowRebase, repo.AllowRebase, &opt.AllowRebase)
		flag("allowRebaseExplicit", s.AllowRebaseExplicit, repo.AllowRebaseMerge, &opt.AllowRebaseMerge)
		flag("allowSquashMerge", s.AllowSquashMerge, repo.AllowSquash, &opt.AllowSquash)
		flag("allowFastForwardOnlyMerge", s.AllowFastForwardOnlyMerge, repo.AllowFastForwardOnlyMerge, &opt.AllowFastForwardOnlyMerge)
		flag("defaultDeleteBranchAfterMerge", s.DefaultDeleteBranchAfterMerge, repo.DefaultDeleteBranchAfterMerge,
			&opt.DefaultDeleteBranchAfterMerge)
		if s.DefaultMergeStyle != nil && *s.DefaultMergeStyle != string(repo.DefaultMergeStyle) {
			style := sdk.MergeStyle(*s.DefaultMergeStyle)
			opt.DefaultMergeStyle = &style
			fields = append(fields, "defaultMergeStyle")
		}
	}
	return opt, fields
}

// archiveChange is the archived state the spec wants, when it differs from Gitea's.
func archiveChange(r *giteav1alpha1.Repository, repo *sdk.Repository) (bool, bool) {
	want := r.Spec.Archived
	return deref(want), want != nil && *want != repo.Archived
}

// topicsDiffer compares topics as sets (nil: unmanaged).
func topicsDiffer(want *[]string, got []string) bool {
	if want == nil {
		return false
	}
	return !slices.Equal(sortedSet(*want), sortedSet(got))
}

// Create creates the repository through the endpoint its owner's type calls for: the provider's own
// login, an organization, or (as site admin) another user. Gitea's create takes a subset of the fields;
// the rest follow through Update.
func (a repositories) Create(ctx context.Context, c *Conn, r *giteav1alpha1.Repository) error {
	path, err := a.createPath(c, r)
	if err != nil {
		return err
	}
	s := &r.Spec
	body := createRepoOption{Name: string(s.Name), Description: s.Description, Private: s.Private, Template: s.Template,
		DefaultBranch: s.DefaultBranch, AutoInit: s.AutoInit, Gitignores: s.Gitignores, License: s.License, Readme: s.Readme}
	_, err = c.Client.Do(ctx, http.MethodPost, path, nil, body, nil)
	return err
}

// createRepoOption is Gitea's CreateRepoOption with what the spec leaves unset left out, so Gitea's
// defaults apply.
type createRepoOption struct {
	Name          string  `json:"name"`
	Description   *string `json:"description,omitempty"`
	Private       *bool   `json:"private,omitempty"`
	Template      *bool   `json:"template,omitempty"`
	DefaultBranch *string `json:"default_branch,omitempty"`
	AutoInit      *bool   `json:"auto_init,omitempty"`
	Gitignores    *string `json:"gitignores,omitempty"`
	License       *string `json:"license,omitempty"`
	Readme        *string `json:"readme,omitempty"`
}

// createPath is the create endpoint for the repository's owner, which must exist: an account Gitea only
// redirects the owner's name to (renamed from it) is not the owner (findAccount), and a create at the old
// name would follow the redirect into it.
func (a repositories) createPath(c *Conn, r *giteav1alpha1.Repository) (string, error) {
	owner := a.owner(c, r)
	switch {
	case r.Spec.OrganizationRef != nil:
		return "/orgs/" + url.PathEscape(owner) + "/repos", nil
	case strings.EqualFold(owner, c.Self):
		return "/user/repos", nil
	}
	org, _, err := findOrg(c, owner, "", 0)
	switch {
	case err != nil:
		return "", err
	case org != nil:
		return "/orgs/" + url.PathEscape(owner) + "/repos", nil
	}
	user, _, err := findUser(c, owner, "", 0)
	switch {
	case err != nil:
		return "", err
	case user == nil:
		return "", reasonf(giteav1alpha1.ReasonNotFound, "the owner %s is neither a user nor an organization in Gitea", owner)
	}
	return "/admin/users/" + url.PathEscape(owner) + "/repos", nil
}

// Update unarchives first (an archived repository refuses some changes), edits, sets the topics, and
// archives last. Every call addresses the repository by the name Gitea reported.
func (repositories) Update(ctx context.Context, c *Conn, r *giteav1alpha1.Repository, observed Observation) error {
	repo := observed.State.(*sdk.Repository)
	owner, name := repo.Owner.UserName, repo.Name
	archive, archiveDiffers := archiveChange(r, repo)
	edit := func(opt sdk.EditRepoOption) error {
		_, resp, err := c.SDK.EditRepo(owner, name, opt)
		return giteaclient.Wrap(resp, err)
	}
	if archiveDiffers && !archive {
		if err := edit(sdk.EditRepoOption{Archived: new(false)}); err != nil {
			return err
		}
	}
	opt, fields := repositoryChanges(r, repo)
	if opt.DefaultBranch != nil && !repo.Empty {
		if err := branchExists(c, owner, name, *opt.DefaultBranch); err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		if err := edit(opt); err != nil {
			if opt.Name != nil && giteaclient.IsValidation(err) {
				return reasonf(giteav1alpha1.ReasonConflict, "cannot rename repository %s/%s to %s: %v", owner, name, *opt.Name, err)
			}
			return err
		}
		name = string(r.Spec.Name)
	}
	if topicsDiffer(r.Spec.Topics, repo.Topics) {
		resp, err := c.SDK.SetRepoTopics(owner, name, sortedSet(*r.Spec.Topics))
		if err := giteaclient.Wrap(resp, err); err != nil {
			return err
		}
	}
	if archiveDiffers && archive {
		return edit(sdk.EditRepoOption{Archived: new(true)})
	}
	return nil
}

// branchExists checks the branch a default branch change names: Gitea silently ignores one that does not
// exist.
func branchExists(c *Conn, owner, name, branch string) error {
	_, resp, err := c.SDK.GetRepoBranch(owner, name, branch)
	err = giteaclient.Wrap(resp, err)
	if giteaclient.IsNotFound(err) {
		return reasonf(giteav1alpha1.ReasonInvalidSpec, "defaultBranch %s does not exist in repository %s/%s", branch, owner, name)
	}
	return err
}

// Delete deletes the repository find finds, unless the status recorded another: then the resource's own is
// gone, and the one at its name is someone else's.
func (a repositories) Delete(ctx context.Context, c *Conn, r *giteav1alpha1.Repository) error {
	repo, err := a.find(c, r)
	if err != nil || repo == nil || r.Status.ID != 0 && repo.ID != r.Status.ID {
		return err
	}
	owner := a.owner(c, r)
	if repo.Owner != nil {
		owner = repo.Owner.UserName
	}
	// Gitea rewrites its authorized_keys file after deleting a repository with deploy keys: see
	// WithKeyWriteLock.
	return c.Client.WithKeyWriteLock(ctx, func() error {
		resp, err := c.SDK.DeleteRepo(owner, repo.Name)
		return giteaclient.Wrap(resp, err)
	})
}
