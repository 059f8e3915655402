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
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=organizations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=organizations/status,verbs=patch

// organizations is the Organization adapter.
type organizations struct{}

func init() {
	registerKind(kindOrganization, func() *giteav1alpha1.Organization { return &giteav1alpha1.Organization{} },
		func() client.ObjectList { return &giteav1alpha1.OrganizationList{} }, Adapter[*giteav1alpha1.Organization](organizations{}))
}

func (organizations) Key(_ *Conn, o *giteav1alpha1.Organization) string {
	return strings.ToLower(string(o.Spec.Username))
}

// Observe reads the organization by its name, or by its previous name when a rename is pending; never one
// that Gitea's rename redirect leads to from a name that is no longer its own (findAccount).
func (organizations) Observe(_ context.Context, c *Conn, o *giteav1alpha1.Organization) (Observation, error) {
	want := string(o.Spec.Username)
	org, renamed, err := findOrg(c, want, o.Status.AtProvider.Username, o.Status.ID)
	if err != nil || org == nil {
		return Observation{}, err
	}
	o.Status.AtProvider = giteav1alpha1.OrganizationObservation{
		Username:                  org.Name,
		FullName:                  org.FullName,
		Description:               org.Description,
		Website:                   org.Website,
		Location:                  org.Location,
		Visibility:                org.Visibility,
		RepoAdminChangeTeamAccess: org.RepoAdminChangeTeamAccess,
	}
	var d drift
	d.check("username", renamed || org.Name != want)
	d.str("fullName", o.Spec.FullName, org.FullName)
	d.str("description", o.Spec.Description, org.Description)
	d.str("website", o.Spec.Website, org.Website)
	d.str("location", o.Spec.Location, org.Location)
	d.str("visibility", o.Spec.Visibility, org.Visibility)
	d.boolean("repoAdminChangeTeamAccess", o.Spec.RepoAdminChangeTeamAccess, org.RepoAdminChangeTeamAccess)
	return Observation{Exists: true, ID: org.ID, Drift: d.fields, State: org}, nil
}

func getOrg(c *Conn, name string) (*sdk.Organization, error) {
	org, resp, err := c.SDK.GetOrg(name)
	return org, giteaclient.Wrap(resp, err)
}

// findOrg is the organization at want, or at previous while a rename is pending (renamed), or nil.
func findOrg(c *Conn, want, previous string, id int64) (*sdk.Organization, bool, error) {
	return findAccount(want, previous, id, func(name string) (*sdk.Organization, error) { return getOrg(c, name) },
		func(org *sdk.Organization) (string, int64) { return org.Name, org.ID })
}

func (organizations) Create(_ context.Context, c *Conn, o *giteav1alpha1.Organization) error {
	opt := sdk.CreateOrgOption{
		Name:        string(o.Spec.Username),
		FullName:    deref(o.Spec.FullName),
		Description: deref(o.Spec.Description),
		Website:     deref(o.Spec.Website),
		Location:    deref(o.Spec.Location),
		Visibility:  sdk.VisibleType(deref(o.Spec.Visibility)),
	}
	if o.Spec.RepoAdminChangeTeamAccess != nil {
		opt.RepoAdminChangeTeamAccess = *o.Spec.RepoAdminChangeTeamAccess
	}
	_, resp, err := c.SDK.CreateOrg(opt)
	return giteaclient.Wrap(resp, err)
}

// Update renames first (Gitea's rename call), then edits: the edit call sets every field it is sent, so
// unmanaged fields are sent back as Gitea has them.
func (organizations) Update(ctx context.Context, c *Conn, o *giteav1alpha1.Organization, observed Observation) error {
	org, want := observed.State.(*sdk.Organization), string(o.Spec.Username)
	if org.Name != want {
		// The SDK's RenameOrg checks a server version it does not know for 1.26; the call is the same.
		body := map[string]string{"new_name": want}
		if _, err := c.Client.Do(ctx, http.MethodPost, "/orgs/"+url.PathEscape(org.Name)+"/rename", nil, body, nil); err != nil {
			if giteaclient.IsValidation(err) {
				return reasonf(giteav1alpha1.ReasonConflict, "cannot rename organization %s to %s: %v", org.Name, want, err)
			}
			return err
		}
	}
	opt := sdk.EditOrgOption{
		FullName:                  or(o.Spec.FullName, org.FullName),
		Email:                     org.Email,
		Description:               or(o.Spec.Description, org.Description),
		Website:                   or(o.Spec.Website, org.Website),
		Location:                  or(o.Spec.Location, org.Location),
		Visibility:                sdk.VisibleType(or(o.Spec.Visibility, org.Visibility)),
		RepoAdminChangeTeamAccess: o.Spec.RepoAdminChangeTeamAccess,
	}
	resp, err := c.SDK.EditOrg(want, opt)
	return giteaclient.Wrap(resp, err)
}

// Delete deletes the organization, found as Observe finds it: a name that now only redirects to another
// organization is no longer this one's. Gitea refuses while it owns repositories, with a 500 the client
// would retry: the DELETE is sent only once it has none, and until then the condition names them (the delete
// is retried with backoff).
func (organizations) Delete(_ context.Context, c *Conn, o *giteav1alpha1.Organization) error {
	org, _, err := findOrg(c, string(o.Spec.Username), o.Status.AtProvider.Username, o.Status.ID)
	if err != nil || org == nil {
		return ignoreNotOurs(err)
	}
	if err := refuseWhileOwning(c, org.Name); err != nil {
		return err
	}
	resp, err := c.SDK.DeleteOrg(org.Name)
	return giteaclient.Wrap(resp, err)
}

// namedRepositories is how many of the repositories blocking an organization's delete its condition names.
const namedRepositories = 10

// refuseWhileOwning is DeleteRefused when the organization owns repositories. One page tells: its
// X-Total-Count counts them all, those the provider's user cannot see included.
func refuseWhileOwning(c *Conn, name string) error {
	repos, resp, err := c.SDK.ListOrgRepos(name, sdk.ListOrgReposOptions{ListOptions: sdk.ListOptions{Page: 1,
		PageSize: namedRepositories}})
	if err := giteaclient.Wrap(resp, err); err != nil {
		return err
	}
	total, ok := giteaclient.TotalCount(resp)
	if !ok {
		total = len(repos)
	}
	if total == 0 {
		return nil
	}
	names := make([]string, 0, len(repos)+1)
	for _, r := range repos {
		names = append(names, r.Name)
	}
	if more := total - len(repos); more > 0 {
		names = append(names, fmt.Sprintf("%d more", more))
	}
	return reasonf(giteav1alpha1.ReasonDeleteRefused, "Gitea refuses to delete organization %s while it owns "+
		"repositories (%d): %s", name, total, strings.Join(names, ", "))
}
