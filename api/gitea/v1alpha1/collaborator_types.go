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

// CollaboratorSpec declares a user's collaboration on a Gitea repository.
type CollaboratorSpec struct {
	ResourceSpec     `json:",inline"`
	RepositoryParent `json:",inline"`

	// username of the collaborator. Immutable.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="username is immutable: declare another Collaborator for another user"
	Username Username `json:"username"`

	// permission of the collaboration: read, write or admin. Gitea reports only the effective permission
	// (team grants and site admin included): the collaboration is granted when the user is no collaborator,
	// has less, or when this field changed since the operator last granted it (so lowering it lowers the
	// collaboration); a permission raised elsewhere is left alone. Unset: a collaborator with Gitea's
	// default (write).
	// +optional
	// +kubebuilder:validation:Enum=read;write;admin
	Permission *string `json:"permission,omitempty"`
}

// CollaboratorObservation is the collaboration as Gitea has it.
type CollaboratorObservation struct {
	// repository as "owner/name".
	Repository string `json:"repository,omitempty"`
	Username   string `json:"username,omitempty"`
	// permission is the user's effective permission on the repository (none, read, write, admin or
	// owner), team grants and site admin included.
	Permission string `json:"permission,omitempty"`
}

// CollaboratorApplied is what the operator last granted, which Gitea never shows: compared with the spec to
// tell a changed spec from a permission raised elsewhere.
type CollaboratorApplied struct {
	// permission last granted: read, write or admin.
	// +optional
	Permission string `json:"permission,omitempty"`
}

// CollaboratorStatus is what the operator found.
type CollaboratorStatus struct {
	ResourceStatus `json:",inline"`

	// applied is what the operator last granted.
	// +optional
	Applied CollaboratorApplied `json:"applied,omitempty"`

	// atProvider is the collaboration as Gitea has it.
	// +optional
	AtProvider CollaboratorObservation `json:"atProvider,omitempty"`
}

// Collaborator is a user's collaboration on a Gitea repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteacollab
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.status.atProvider.repository`
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Permission",type=string,JSONPath=`.status.atProvider.permission`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Collaborator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CollaboratorSpec `json:"spec"`

	// +optional
	Status CollaboratorStatus `json:"status,omitempty"`
}

// CollaboratorList is a list of Collaborators.
//
// +kubebuilder:object:root=true
type CollaboratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Collaborator `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (c *Collaborator) ManagedSpec() *ResourceSpec { return &c.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (c *Collaborator) ManagedStatus() *ResourceStatus { return &c.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Collaborator{}, &CollaboratorList{})
}
