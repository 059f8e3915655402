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

// OrganizationSpec declares a Gitea organization. Only the fields set are managed.
type OrganizationSpec struct {
	ResourceSpec `json:",inline"`

	Account `json:",inline"`

	// fullName is the organization's display name.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	FullName *string `json:"fullName,omitempty"`

	// description of the organization.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Description *string `json:"description,omitempty"`

	// website of the organization (an http or https URL, or empty).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == '' || self.matches('^https?://')",message="website must be an http:// or https:// URL"
	Website *string `json:"website,omitempty"`

	// location of the organization.
	// +optional
	// +kubebuilder:validation:MaxLength=50
	Location *string `json:"location,omitempty"`

	// visibility: public, limited (signed-in users) or private (members).
	// +optional
	// +kubebuilder:validation:Enum=public;limited;private
	Visibility *string `json:"visibility,omitempty"`

	// repoAdminChangeTeamAccess lets repository admins change teams' access to their repositories.
	// +optional
	RepoAdminChangeTeamAccess *bool `json:"repoAdminChangeTeamAccess,omitempty"`
}

// OrganizationObservation is the organization as Gitea has it.
type OrganizationObservation struct {
	Username                  string `json:"username,omitempty"`
	FullName                  string `json:"fullName,omitempty"`
	Description               string `json:"description,omitempty"`
	Website                   string `json:"website,omitempty"`
	Location                  string `json:"location,omitempty"`
	Visibility                string `json:"visibility,omitempty"`
	RepoAdminChangeTeamAccess bool   `json:"repoAdminChangeTeamAccess,omitempty"`
}

// OrganizationStatus is what the operator found.
type OrganizationStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the organization as Gitea has it.
	// +optional
	AtProvider OrganizationObservation `json:"atProvider,omitempty"`
}

// Organization is a Gitea organization.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteaorg
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Organization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec OrganizationSpec `json:"spec"`

	// +optional
	Status OrganizationStatus `json:"status,omitempty"`
}

// OrganizationList is a list of Organizations.
//
// +kubebuilder:object:root=true
type OrganizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Organization `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (o *Organization) ManagedSpec() *ResourceSpec { return &o.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (o *Organization) ManagedStatus() *ResourceStatus { return &o.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Organization{}, &OrganizationList{})
}

// GiteaName is the organization's name in Gitea as last observed (it follows renames), for the resources
// that refer to it through organizationRef. Empty until the organization is Ready.
func (o *Organization) GiteaName() string { return o.Status.AtProvider.Username }
