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
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=teams,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=teams/status,verbs=patch

// teams is the Team adapter.
type teams struct{}

func init() {
	registerKind("Team", func() *giteav1alpha1.Team { return &giteav1alpha1.Team{} },
		func() client.ObjectList { return &giteav1alpha1.TeamList{} }, Adapter[*giteav1alpha1.Team](teams{}))
}

// ownersTeam is the team Gitea creates with every organization: its members own the organization.
const ownersTeam = "Owners"

// repoUnits are Gitea 1.26's repository units: a created team whose spec leaves units unset gets them all.
var repoUnits = []string{"repo.code", "repo.issues", "repo.ext_issues", "repo.pulls", "repo.releases", "repo.wiki",
	"repo.ext_wiki", "repo.projects", "repo.packages", "repo.actions"}

func (teams) Dependencies(t *giteav1alpha1.Team) []Dependency {
	return parentDependencies(nil, t.Spec.OrganizationRef)
}

func (teams) Key(c *Conn, t *giteav1alpha1.Team) string {
	return strings.ToLower(orgOf(c, t) + "/" + t.Spec.Name)
}

// orgOf is the name in Gitea of the team's organization.
func orgOf(c *Conn, t *giteav1alpha1.Team) string {
	return organizationOf(c, t.Spec.OrganizationReference, t.Status.AtProvider.Organization)
}

// teamState is what Observe read, for Update: the team, and its members and repositories when managed.
type teamState struct {
	team           *sdk.Team
	members, repos []string
	// wantMembers and wantRepos are what the team is to have: the spec's, plus the provider's own user in Owners.
	wantMembers, wantRepos []string
}

// Observe finds the team by its id (which follows renames) or else by name, and reads its members and
// repositories when the spec manages them.
func (teams) Observe(ctx context.Context, c *Conn, t *giteav1alpha1.Team) (Observation, error) {
	org := orgOf(c, t)
	team, err := lookupTeam(ctx, c, t, org)
	if giteaclient.IsNotFound(err) {
		return Observation{}, organizationNotFound(org)
	}
	if err != nil || team == nil {
		return Observation{}, err
	}
	s := &teamState{team: team}
	spec := t.Spec
	if spec.Members != nil {
		if s.members, err = teamMembers(ctx, c, team.ID); err != nil {
			return Observation{}, err
		}
		s.wantMembers = stringsOf(*spec.Members)
		if team.Name == ownersTeam && c.Self != "" && containsFold(s.members, c.Self) && !containsFold(s.wantMembers, c.Self) {
			// The provider's own user keeps the organization: never removed from its owners. Never added
			// either: an organization adopted from another owner does not gain the operator's account.
			s.wantMembers = append(slices.Clone(s.wantMembers), c.Self)
		}
	}
	if spec.Repositories != nil {
		if s.repos, err = teamRepos(ctx, c, team.ID); err != nil {
			return Observation{}, err
		}
		s.wantRepos = stringsOf(*spec.Repositories)
	}
	t.Status.AtProvider = giteav1alpha1.TeamObservation{
		Organization:            org,
		Name:                    team.Name,
		Description:             team.Description,
		Permission:              string(team.Permission),
		Units:                   team.UnitsMap,
		CanCreateOrgRepo:        team.CanCreateOrgRepo,
		IncludesAllRepositories: team.IncludesAllRepositories,
		Members:                 s.members,
		Repositories:            s.repos,
	}
	var d drift
	d.check("name", team.Name != spec.Name)
	d.str("description", spec.Description, team.Description)
	d.check("permission", permissionDiffers(spec.Permission, team, spec.Units != nil))
	d.check("units", spec.Units != nil && !sameUnits(spec.Units, team.UnitsMap))
	d.boolean("canCreateOrgRepo", spec.CanCreateOrgRepo, team.CanCreateOrgRepo)
	d.boolean("includesAllRepositories", spec.IncludesAllRepositories, team.IncludesAllRepositories)
	d.check("members", spec.Members != nil && !sameNames(s.wantMembers, s.members))
	d.check("repositories", spec.Repositories != nil && !sameNames(s.wantRepos, s.repos))
	return Observation{Exists: true, ID: team.ID, Drift: d.fields, State: s}, nil
}

// lookupTeam reads the team by the id the status recorded, or else finds it by name in its organization; nil
// when there is none. A missing organization, or a name Gitea only redirects to a renamed one, is NotFound.
func lookupTeam(ctx context.Context, c *Conn, t *giteav1alpha1.Team, org string) (*sdk.Team, error) {
	if t.Status.ID != 0 {
		team, resp, err := c.SDK.GetTeam(t.Status.ID)
		if err = giteaclient.Wrap(resp, err); !giteaclient.IsNotFound(err) {
			return team, err
		}
	}
	if err := organizationMissing(c, org); err != nil {
		return nil, err
	}
	return teamNamed(ctx, c, org, t.Spec.Name)
}

func teamNamed(ctx context.Context, c *Conn, org, name string) (*sdk.Team, error) {
	all, err := giteaclient.ListAll(ctx, func(opt sdk.ListOptions) ([]*sdk.Team, *sdk.Response, error) {
		return c.SDK.ListOrgTeams(org, sdk.ListTeamsOptions{ListOptions: opt})
	})
	if err != nil {
		return nil, err
	}
	for _, team := range all {
		if strings.EqualFold(team.Name, name) {
			return team, nil
		}
	}
	return nil, nil
}

func teamMembers(ctx context.Context, c *Conn, id int64) ([]string, error) {
	users, err := giteaclient.ListAll(ctx, func(opt sdk.ListOptions) ([]*sdk.User, *sdk.Response, error) {
		return c.SDK.ListTeamMembers(id, sdk.ListTeamMembersOptions{ListOptions: opt})
	})
	names := make([]string, 0, len(users))
	for _, u := range users {
		names = append(names, u.UserName)
	}
	return names, err
}

func teamRepos(ctx context.Context, c *Conn, id int64) ([]string, error) {
	repos, err := giteaclient.ListAll(ctx, func(opt sdk.ListOptions) ([]*sdk.Repository, *sdk.Response, error) {
		return c.SDK.ListTeamRepositories(id, sdk.ListTeamRepositoriesOptions{ListOptions: opt})
	})
	names := make([]string, 0, len(repos))
	for _, r := range repos {
		names = append(names, r.Name)
	}
	return names, err
}

// teamOption is Gitea's CreateTeamOption and EditTeamOption: the edit leaves alone what it is not sent
// (the SDK's insists on a permission, and refuses a team that has none).
type teamOption struct {
	Name                    string            `json:"name"`
	Description             *string           `json:"description,omitempty"`
	Permission              string            `json:"permission,omitempty"`
	CanCreateOrgRepo        *bool             `json:"can_create_org_repo,omitempty"`
	IncludesAllRepositories *bool             `json:"includes_all_repositories,omitempty"`
	Units                   []string          `json:"units,omitempty"`
	UnitsMap                map[string]string `json:"units_map,omitempty"`
}

// teamOptionOf is what the spec sets. A read or write permission without units gives every unit that
// access (Gitea 1.26 keeps only admin as the team's own permission; below it, the units' access is what
// counts).
func teamOptionOf(t giteav1alpha1.TeamSpec) teamOption {
	opt := teamOption{
		Name:                    t.Name,
		Description:             t.Description,
		Permission:              deref(t.Permission),
		CanCreateOrgRepo:        t.CanCreateOrgRepo,
		IncludesAllRepositories: t.IncludesAllRepositories,
		UnitsMap:                t.Units,
	}
	if opt.UnitsMap == nil && (opt.Permission == "read" || opt.Permission == "write") {
		opt.Units = repoUnits
	}
	return opt
}

// permissionDiffers compares the spec's permission with the team: admin is Gitea's own flag; read and write
// are the access of the team's units, when the spec does not map them itself.
func permissionDiffers(want *string, team *sdk.Team, unitsManaged bool) bool {
	if want == nil {
		return false
	}
	admin := team.Permission == sdk.AccessModeAdmin
	switch {
	case (*want == "admin") != admin:
		return true
	case admin || unitsManaged:
		return false
	}
	granted := 0
	for _, access := range team.UnitsMap {
		if access == accessNone {
			continue
		}
		if access != *want {
			return true
		}
		granted++
	}
	return granted == 0
}

// Create creates the team; the update that follows adds its members and repositories. Gitea refuses a team
// below admin without units: unless the spec maps them, it gets every unit at its permission (read unless
// set).
func (teams) Create(ctx context.Context, c *Conn, t *giteav1alpha1.Team) error {
	spec := t.Spec
	if spec.Permission == nil {
		spec.Permission = ptr.To("read")
	}
	opt := teamOptionOf(spec)
	_, err := c.Client.Do(ctx, http.MethodPost, "/orgs/"+url.PathEscape(orgOf(c, t))+"/teams", nil, opt, nil)
	return err
}

// Update edits the team (a rename is an edit of its name), then adds and removes members and repositories.
func (teams) Update(ctx context.Context, c *Conn, t *giteav1alpha1.Team, observed Observation) error {
	s := observed.State.(*teamState)
	if slices.ContainsFunc(observed.Drift, func(f string) bool { return f != "members" && f != "repositories" }) {
		if err := editTeam(ctx, c, t, s.team); err != nil {
			return err
		}
	}
	id, org := s.team.ID, orgOf(c, t)
	var missing []string
	if slices.Contains(observed.Drift, "members") {
		users, err := syncNames(s.wantMembers, s.members,
			func(name string) (*sdk.Response, error) { return c.SDK.AddTeamMember(id, name) },
			func(name string) (*sdk.Response, error) { return c.SDK.RemoveTeamMember(id, name) })
		if err != nil {
			return err
		}
		if len(users) > 0 {
			missing = append(missing, fmt.Sprintf("users %s do not exist in Gitea", strings.Join(users, ", ")))
		}
	}
	if slices.Contains(observed.Drift, "repositories") {
		repos, err := syncNames(s.wantRepos, s.repos,
			func(name string) (*sdk.Response, error) { return c.SDK.AddTeamRepository(id, org, name) },
			func(name string) (*sdk.Response, error) { return c.SDK.RemoveTeamRepository(id, org, name) })
		if err != nil {
			return err
		}
		if len(repos) > 0 {
			missing = append(missing, fmt.Sprintf("repositories %s do not exist in organization %s", strings.Join(repos, ", "), org))
		}
	}
	if len(missing) > 0 {
		return reasonf(giteav1alpha1.ReasonNotFound, "%s", strings.Join(missing, "; "))
	}
	return nil
}

// editTeam sends the managed fields. Gitea answers a rename to a taken name with a 500: looked for first.
func editTeam(ctx context.Context, c *Conn, t *giteav1alpha1.Team, team *sdk.Team) error {
	if !strings.EqualFold(team.Name, t.Spec.Name) {
		taken, err := teamNamed(ctx, c, orgOf(c, t), t.Spec.Name)
		if err != nil {
			return err
		}
		if taken != nil {
			return reasonf(giteav1alpha1.ReasonConflict, "cannot rename team %s to %s: organization %s has a team of that name",
				team.Name, t.Spec.Name, orgOf(c, t))
		}
	}
	opt := teamOptionOf(t.Spec)
	if opt.IncludesAllRepositories != nil && opt.Permission == "" {
		// Gitea applies includes_all_repositories only along with a permission.
		opt.Permission = string(team.Permission)
	}
	_, err := c.Client.Do(ctx, http.MethodPatch, fmt.Sprintf("/teams/%d", team.ID), nil, opt, nil)
	return err
}

// syncNames adds the names of want missing from have and removes those of have not in want (both compared
// as Gitea does, ignoring case). The names add answers 404 for are returned.
func syncNames(want, have []string, add, remove func(string) (*sdk.Response, error)) ([]string, error) {
	var missing []string
	for _, name := range want {
		if containsFold(have, name) {
			continue
		}
		resp, err := add(name)
		switch err = giteaclient.Wrap(resp, err); {
		case giteaclient.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			return nil, err
		}
	}
	for _, name := range have {
		if containsFold(want, name) {
			continue
		}
		resp, err := remove(name)
		if err = giteaclient.Wrap(resp, err); err != nil && !giteaclient.IsNotFound(err) {
			return nil, err
		}
	}
	return missing, nil
}

// Delete deletes the team; one whose organization is gone is gone too.
func (teams) Delete(ctx context.Context, c *Conn, t *giteav1alpha1.Team) error {
	team, err := lookupTeam(ctx, c, t, orgOf(c, t))
	if err != nil || team == nil {
		return err
	}
	resp, err := c.SDK.DeleteTeam(team.ID)
	return giteaclient.Wrap(resp, err)
}

// sameUnits compares units maps, a unit with access none being the same as one left out.
func sameUnits(want, got map[string]string) bool {
	granted := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for unit, access := range m {
			if access != accessNone {
				out[unit] = access
			}
		}
		return out
	}
	return maps.Equal(granted(want), granted(got))
}
