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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserSpec declares a Gitea user, managed through Gitea's admin API (the provider's user must be a site
// administrator). Only the fields set are managed.
type UserSpec struct {
	ResourceSpec `json:",inline"`

	Account `json:",inline"`

	// email is the user's primary email address. Needed to create the user.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^@\\\\s]+@[^@\\\\s]+$')",message="email must be an address such as someone@example.com"
	Email *string `json:"email,omitempty"`

	// fullName is the user's display name.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	FullName *string `json:"fullName,omitempty"`

	// passwordSecretRef names the Secret key holding the user's password. Needed to create the user. The
	// password is sent again whenever the Secret changes (status.applied.password records which version was
	// sent); Gitea cannot tell the operator whether someone changed it since.
	// +optional
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`

	// mustChangePassword makes the user change the password at the next sign-in. Unset, a created user does
	// not have to (Gitea's own default, true, is always overridden at creation). Gitea does not show it:
	// what was last sent is in status.applied.
	// +optional
	MustChangePassword *bool `json:"mustChangePassword,omitempty"`

	// admin makes the user a site administrator.
	// +optional
	Admin *bool `json:"admin,omitempty"`

	// active: an inactive user cannot sign in until activated.
	// +optional
	Active *bool `json:"active,omitempty"`

	// restricted users see only what they are explicitly given access to.
	// +optional
	Restricted *bool `json:"restricted,omitempty"`

	// prohibitLogin keeps the user from signing in.
	// +optional
	ProhibitLogin *bool `json:"prohibitLogin,omitempty"`

	// visibility of the user's profile: public, limited (signed-in users) or private.
	// +optional
	// +kubebuilder:validation:Enum=public;limited;private
	Visibility *string `json:"visibility,omitempty"`

	// maxRepoCreation is how many repositories the user may create; -1 is the site's default. Gitea does not
	// show it: what was last sent is in status.applied.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	MaxRepoCreation *int64 `json:"maxRepoCreation,omitempty"`

	// website of the user (an http or https URL, or empty).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == '' || self.matches('^https?://')",message="website must be an http:// or https:// URL"
	Website *string `json:"website,omitempty"`

	// location of the user.
	// +optional
	// +kubebuilder:validation:MaxLength=50
	Location *string `json:"location,omitempty"`

	// description (the profile's bio).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Description *string `json:"description,omitempty"`

	// purge, when the user is deleted in Gitea, deletes what it owns with it (repositories, organization
	// memberships, packages). Without it Gitea refuses to delete a user who owns any, and the resource
	// reports the refusal (DeleteRefused) until they are gone or purge is set.
	// +optional
	Purge bool `json:"purge,omitempty"`
}

// UserObservation is the user as Gitea shows it to an administrator.
type UserObservation struct {
	Username      string `json:"username,omitempty"`
	Email         string `json:"email,omitempty"`
	FullName      string `json:"fullName,omitempty"`
	Admin         bool   `json:"admin,omitempty"`
	Active        bool   `json:"active,omitempty"`
	Restricted    bool   `json:"restricted,omitempty"`
	ProhibitLogin bool   `json:"prohibitLogin,omitempty"`
	Visibility    string `json:"visibility,omitempty"`
	Website       string `json:"website,omitempty"`
	Location      string `json:"location,omitempty"`
	Description   string `json:"description,omitempty"`
	// loginName and sourceID are the user's authentication source (0: Gitea's own passwords).
	LoginName string `json:"loginName,omitempty"`
	SourceID  int64  `json:"sourceID,omitempty"`
}

// UserApplied is what the operator last sent of what Gitea never shows: compared with the spec to know
// whether to send it again.
type UserApplied struct {
	// password is the version of the password Secret last sent.
	// +optional
	Password *SecretVersion `json:"password,omitempty"`
	// +optional
	MustChangePassword *bool `json:"mustChangePassword,omitempty"`
	// +optional
	MaxRepoCreation *int64 `json:"maxRepoCreation,omitempty"`
}

// UserStatus is what the operator found.
type UserStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the user as Gitea has it.
	// +optional
	AtProvider UserObservation `json:"atProvider,omitempty"`

	// applied records what was last sent of the fields Gitea does not show.
	// +optional
	Applied UserApplied `json:"applied,omitempty"`
}

// User is a Gitea user account.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteauser
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type User struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UserSpec `json:"spec"`

	// +optional
	Status UserStatus `json:"status,omitempty"`
}

// UserList is a list of Users.
//
// +kubebuilder:object:root=true
type UserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []User `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (u *User) ManagedSpec() *ResourceSpec { return &u.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (u *User) ManagedStatus() *ResourceStatus { return &u.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &User{}, &UserList{})
}
