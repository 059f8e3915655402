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
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// The User adapter reads the password Secret live (get) and watches Secrets' metadata (list, watch).
//
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=users,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=users/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// giteaUsers is the User adapter. Every call is an admin call: the provider's user must be a site
// administrator.
type giteaUsers struct{}

func init() {
	registerKind("User", func() *giteav1alpha1.User { return &giteav1alpha1.User{} },
		func() client.ObjectList { return &giteav1alpha1.UserList{} }, Adapter[*giteav1alpha1.User](giteaUsers{}))
}

func (giteaUsers) Key(_ *Conn, u *giteav1alpha1.User) string {
	return strings.ToLower(string(u.Spec.Username))
}

// SecretNames is the password's Secret: a change to it sends the password again.
func (giteaUsers) SecretNames(u *giteav1alpha1.User) []string {
	if ref := u.Spec.PasswordSecretRef; ref != nil {
		return []string{ref.Name}
	}
	return nil
}

// Observe reads the user by its name, or by its previous name when a rename is pending; never one that
// Gitea's rename redirect leads to from a name that is no longer its own (findAccount). What Gitea does not
// show (the password, mustChangePassword, maxRepoCreation) is compared with what was last sent.
func (giteaUsers) Observe(ctx context.Context, c *Conn, u *giteav1alpha1.User) (Observation, error) {
	want := string(u.Spec.Username)
	user, renamed, err := findUser(c, want, u.Status.AtProvider.Username, u.Status.ID)
	if err != nil || user == nil {
		return Observation{}, err
	}
	// Gitea answers a user's name with an organization of that name too: never take one for a user.
	if user.ID != u.Status.ID {
		if err := notAnOrganization(c, user.UserName); err != nil {
			return Observation{}, err
		}
	}
	u.Status.AtProvider = giteav1alpha1.UserObservation{
		Username:      user.UserName,
		Email:         user.Email,
		FullName:      user.FullName,
		Admin:         user.IsAdmin,
		Active:        user.IsActive,
		Restricted:    user.Restricted,
		ProhibitLogin: user.ProhibitLogin,
		Visibility:    string(user.Visibility),
		Website:       user.Website,
		Location:      user.Location,
		Description:   user.Description,
		LoginName:     user.LoginName,
		SourceID:      user.SourceID,
	}
	spec, applied := u.Spec, u.Status.Applied
	var d drift
	d.check("username", renamed || user.UserName != want)
	d.check("email", spec.Email != nil && !strings.EqualFold(*spec.Email, user.Email))
	d.str("fullName", spec.FullName, user.FullName)
	d.boolean("admin", spec.Admin, user.IsAdmin)
	d.boolean("active", spec.Active, user.IsActive)
	d.boolean("restricted", spec.Restricted, user.Restricted)
	d.boolean("prohibitLogin", spec.ProhibitLogin, user.ProhibitLogin)
	d.str("visibility", spec.Visibility, string(user.Visibility))
	d.str("website", spec.Website, user.Website)
	d.str("location", spec.Location, user.Location)
	d.str("description", spec.Description, user.Description)
	d.check("mustChangePassword", spec.MustChangePassword != nil && !ptr.Equal(spec.MustChangePassword, applied.MustChangePassword))
	d.check("maxRepoCreation", spec.MaxRepoCreation != nil && !ptr.Equal(spec.MaxRepoCreation, applied.MaxRepoCreation))
	if ref := spec.PasswordSecretRef; ref != nil {
		changed, err := c.SecretChanged(ctx, *ref, applied.Password)
		if err != nil {
			return Observation{}, err
		}
		d.check("password", changed)
	}
	return Observation{Exists: true, ID: user.ID, Drift: d.fields, State: user}, nil
}

// findUser is the user at want, or at previous while a rename is pending (renamed), or nil.
func findUser(c *Conn, want, previous string, id int64) (*sdk.User, bool, error) {
	return findAccount(want, previous, id, func(name string) (*sdk.User, error) {
		user, resp, err := c.SDK.GetUserInfo(name)
		return user, giteaclient.Wrap(resp, err)
	}, func(user *sdk.User) (string, int64) { return user.UserName, user.ID })
}

func notAnOrganization(c *Conn, name string) error {
	_, err := getOrg(c, name)
	switch {
	case err == nil:
		return reasonf(giteav1alpha1.ReasonConflict, "%s is an organization in Gitea, not a user", name)
	case giteaclient.IsNotFound(err):
		return nil
	default:
		return err
	}
}

// createUserOption is Gitea's CreateUserOption, with must_change_password always sent (unsent, Gitea sets
// it) and the login name set to the username (Gitea's admin edit insists on one).
type createUserOption struct {
	Username           string `json:"username"`
	LoginName          string `json:"login_name"`
	Email              string `json:"email"`
	FullName           string `json:"full_name,omitempty"`
	Password           string `json:"password"`
	MustChangePassword bool   `json:"must_change_password"`
	Restricted         *bool  `json:"restricted,omitempty"`
	Visibility         string `json:"visibility,omitempty"`
}

// Create creates the user with what the create call takes; the update that follows sets the rest.
func (giteaUsers) Create(ctx context.Context, c *Conn, u *giteav1alpha1.User) error {
	if u.Spec.Email == nil || u.Spec.PasswordSecretRef == nil {
		return reasonf(giteav1alpha1.ReasonInvalidSpec, "Gitea needs an email and a password (passwordSecretRef) to "+
			"create user %s", u.Spec.Username)
	}
	password, version, err := c.SecretValue(ctx, *u.Spec.PasswordSecretRef)
	if err != nil {
		return err
	}
	opt := createUserOption{
		Username:           string(u.Spec.Username),
		LoginName:          string(u.Spec.Username),
		Email:              *u.Spec.Email,
		FullName:           deref(u.Spec.FullName),
		Password:           password,
		MustChangePassword: deref(u.Spec.MustChangePassword),
		Restricted:         u.Spec.Restricted,
		Visibility:         deref(u.Spec.Visibility),
	}
	if _, err := c.Client.Do(ctx, http.MethodPost, "/admin/users", nil, opt, nil); err != nil {
		return err
	}
	u.Status.Applied.Password = &version
	u.Status.Applied.MustChangePassword = u.Spec.MustChangePassword
	return nil
}

// editUserOption is Gitea's EditUserOption: source_id and a non-empty login_name are required (and set what
// they are sent), the rest is left alone when not sent.
type editUserOption struct {
	SourceID           int64   `json:"source_id"`
	LoginName          string  `json:"login_name"`
	Email              *string `json:"email,omitempty"`
	FullName           *string `json:"full_name,omitempty"`
	Password           string  `json:"password,omitempty"`
	MustChangePassword *bool   `json:"must_change_password,omitempty"`
	Website            *string `json:"website,omitempty"`
	Location           *string `json:"location,omitempty"`
	Description        *string `json:"description,omitempty"`
	Active             *bool   `json:"active,omitempty"`
	Admin              *bool   `json:"admin,omitempty"`
	MaxRepoCreation    *int64  `json:"max_repo_creation,omitempty"`
	ProhibitLogin      *bool   `json:"prohibit_login,omitempty"`
	Restricted         *bool   `json:"restricted,omitempty"`
	Visibility         string  `json:"visibility,omitempty"`
}

// Update renames first (the admin rename call), then edits the managed fields, sending the password only
// when its Secret changed (Gitea signs the user out of its sessions on every password change).
func (giteaUsers) Update(ctx context.Context, c *Conn, u *giteav1alpha1.User, observed Observation) error {
	user, want := observed.State.(*sdk.User), string(u.Spec.Username)
	if user.UserName != want {
		if err := renameUser(ctx, c, user.UserName, want); err != nil {
			return err
		}
	}
	if slices.Equal(observed.Drift, []string{"username"}) {
		return nil
	}
	spec := u.Spec
	opt := editUserOption{
		SourceID:           user.SourceID,
		LoginName:          loginName(user, want),
		Email:              spec.Email,
		FullName:           spec.FullName,
		MustChangePassword: spec.MustChangePassword,
		Website:            spec.Website,
		Location:           spec.Location,
		Description:        spec.Description,
		Active:             spec.Active,
		Admin:              spec.Admin,
		MaxRepoCreation:    spec.MaxRepoCreation,
		ProhibitLogin:      spec.ProhibitLogin,
		Restricted:         spec.Restricted,
		Visibility:         deref(spec.Visibility),
	}
	var version *giteav1alpha1.SecretVersion
	if slices.Contains(observed.Drift, "password") {
		password, v, err := c.SecretValue(ctx, *spec.PasswordSecretRef)
		if err != nil {
			return err
		}
		opt.Password, version = password, &v
	}
	if _, err := c.Client.Do(ctx, http.MethodPatch, "/admin/users/"+url.PathEscape(want), nil, opt, nil); err != nil {
		return err
	}
	applied := &u.Status.Applied
	if version != nil {
		applied.Password = version
	}
	applied.MustChangePassword, applied.MaxRepoCreation = spec.MustChangePassword, spec.MaxRepoCreation
	return nil
}

// loginName is the login name to send back in an edit: the user's, or for a local user without one (which
// Gitea's edit refuses) its username; Gitea's own passwords do not use it.
func loginName(user *sdk.User, username string) string {
	if user.LoginName == "" && user.SourceID == 0 {
		return username
	}
	return user.LoginName
}

func renameUser(ctx context.Context, c *Conn, from, to string) error {
	body := map[string]string{"new_username": to}
	_, err := c.Client.Do(ctx, http.MethodPost, "/admin/users/"+url.PathEscape(from)+"/rename", nil, body, nil)
	if giteaclient.IsValidation(err) {
		return reasonf(giteav1alpha1.ReasonConflict, "cannot rename user %s to %s: %v", from, to, err)
	}
	return err
}

// Delete deletes the user, found as Observe finds it (a name that now only redirects to another account is
// no longer this one's), with what it owns when purge is set. Gitea refuses without purge while the user
// owns repositories, belongs to organizations or owns packages: the refusal is reported and retried.
func (giteaUsers) Delete(ctx context.Context, c *Conn, u *giteav1alpha1.User) error {
	user, _, err := findUser(c, string(u.Spec.Username), u.Status.AtProvider.Username, u.Status.ID)
	if err != nil || user == nil {
		return ignoreNotOurs(err)
	}
	name := user.UserName
	query := url.Values{}
	if u.Spec.Purge {
		query.Set("purge", "true")
	}
	// Gitea rewrites its authorized_keys file after deleting a user: see WithKeyWriteLock.
	err = c.Client.WithKeyWriteLock(ctx, func() error {
		_, err := c.Client.Do(ctx, http.MethodDelete, "/admin/users/"+url.PathEscape(name), query, nil, nil)
		return err
	})
	if giteaclient.IsValidation(err) && !u.Spec.Purge {
		return reasonf(giteav1alpha1.ReasonDeleteRefused, "Gitea refuses to delete user %s: %v; set purge: true to "+
			"delete it with its repositories, organization memberships and packages", name, err)
	}
	return err
}
