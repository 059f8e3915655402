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
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=collaborators,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=collaborators/status,verbs=patch

// collaborators is the Collaborator adapter.
type collaborators struct{}

func init() {
	registerKind("Collaborator", func() *giteav1alpha1.Collaborator { return &giteav1alpha1.Collaborator{} },
		func() client.ObjectList { return &giteav1alpha1.CollaboratorList{} }, Adapter[*giteav1alpha1.Collaborator](collaborators{}))
}

func (collaborators) Dependencies(cr *giteav1alpha1.Collaborator) []Dependency {
	return parentDependencies(cr.Spec.RepositoryRef, nil)
}

func (collaborators) repository(c *Conn, cr *giteav1alpha1.Collaborator) string {
	return repositoryOf(c, cr.Spec.RepositoryReference, cr.Status.AtProvider.Repository)
}

func (a collaborators) Key(c *Conn, cr *giteav1alpha1.Collaborator) string {
	return strings.ToLower(a.repository(c, cr) + " " + string(cr.Spec.Username))
}

// path is the collaboration's API path.
func (a collaborators) path(c *Conn, cr *giteav1alpha1.Collaborator) string {
	return repoPath(a.repository(c, cr)) + "/collaborators/" + url.PathEscape(string(cr.Spec.Username))
}

// accessNone is Gitea's "no access", for a collaborator or a team unit.
const accessNone = "none"

// permissionRank orders Gitea's permissions; the owner's is above admin.
var permissionRank = map[string]int{accessNone: 0, "read": 1, "write": 2, "admin": 3, "owner": 4}

// Observe asks whether the user is a collaborator and, if so, their effective permission. Gitea reports
// no other: a permission at or above the spec's is in sync (a team grant or site admin may raise it, and
// lowering the collaboration would not lower it), one below is raised, and a spec changed since the last
// grant is granted again. So it never loops.
func (a collaborators) Observe(ctx context.Context, c *Conn, cr *giteav1alpha1.Collaborator) (Observation, error) {
	repo, path := a.repository(c, cr), a.path(c, cr)
	_, err := c.Client.Do(ctx, http.MethodGet, path, nil, nil, nil)
	switch {
	case giteaclient.IsNotFound(err):
		// Not a collaborator, or no such repository: the create says which.
		return Observation{}, nil
	case err != nil:
		return Observation{}, collaboratorError(err, cr, repo)
	}
	var perm sdk.CollaboratorPermissionResult
	if _, err := c.Client.Do(ctx, http.MethodGet, path+"/permission", nil, nil, &perm); err != nil {
		return Observation{}, collaboratorError(err, cr, repo)
	}
	cr.Status.AtProvider = giteav1alpha1.CollaboratorObservation{
		Repository: repo,
		Username:   string(cr.Spec.Username),
		Permission: string(perm.Permission),
	}
	var d drift
	want, applied := cr.Spec.Permission, cr.Status.Applied.Permission
	d.check("permission", want != nil && (permissionRank[string(perm.Permission)] < permissionRank[*want] ||
		applied != "" && applied != *want))
	var id int64
	if perm.User != nil {
		id = perm.User.ID
	}
	return Observation{Exists: true, ID: id, Drift: d.fields, State: perm}, nil
}

// collaboratorError names what is missing: Gitea answers 422 for a user that does not exist and 404 for
// a repository that does not.
func collaboratorError(err error, cr *giteav1alpha1.Collaborator, repo string) error {
	switch {
	case giteaclient.IsValidation(err):
		return reasonf(giteav1alpha1.ReasonNotFound, "the user %s does not exist in Gitea: %v", cr.Spec.Username, err)
	case giteaclient.IsNotFound(err):
		return repositoryMissing(repo)
	}
	return err
}

// grant adds the collaborator, or raises their permission.
func (a collaborators) grant(ctx context.Context, c *Conn, cr *giteav1alpha1.Collaborator) error {
	body := map[string]any{}
	if cr.Spec.Permission != nil {
		body["permission"] = *cr.Spec.Permission
	}
	if _, err := c.Client.Do(ctx, http.MethodPut, a.path(c, cr), nil, body, nil); err != nil {
		return collaboratorError(err, cr, a.repository(c, cr))
	}
	cr.Status.Applied.Permission = ptr.Deref(cr.Spec.Permission, "")
	return nil
}

func (a collaborators) Create(ctx context.Context, c *Conn, cr *giteav1alpha1.Collaborator) error {
	return a.grant(ctx, c, cr)
}

func (a collaborators) Update(ctx context.Context, c *Conn, cr *giteav1alpha1.Collaborator, _ Observation) error {
	return a.grant(ctx, c, cr)
}

// Delete removes the collaboration; one whose repository or user is gone counts as removed.
func (a collaborators) Delete(ctx context.Context, c *Conn, cr *giteav1alpha1.Collaborator) error {
	_, err := c.Client.Do(ctx, http.MethodDelete, a.path(c, cr), nil, nil, nil)
	return collaboratorError(err, cr, a.repository(c, cr))
}
