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

// TeamSpec declares a team of a Gitea organization. Only the fields set are managed.
//
// The organization's Owners team exists with the organization: a Team called Owners adopts it, and manages
// only its description and members (Gitea gives it every permission and repository); the provider's own user
// is never removed from it, nor added to it when it is not an owner.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.includesAllRepositories) && self.includesAllRepositories && has(self.repositories))",message="repositories cannot be listed when includesAllRepositories is true"
// +kubebuilder:validation:XValidation:rule="!(has(self.units) && has(self.permission) && self.permission == 'admin')",message="units cannot be set with permission admin: Gitea gives an admin team every unit"
// +kubebuilder:validation:XValidation:rule="self.name != 'Owners' || !(has(self.permission) || has(self.includesAllRepositories) || has(self.units) || has(self.repositories))",message="the Owners team always has every permission, unit and repository: permission, includesAllRepositories, units and repositories cannot be set on it"
// +kubebuilder:validation:XValidation:rule="self.name != 'Owners' || !has(self.canCreateOrgRepo) || self.canCreateOrgRepo",message="the Owners team can always create repositories: canCreateOrgRepo cannot be false on it"
// +kubebuilder:validation:XValidation:rule="self.name != 'Owners' || !has(self.deletionPolicy) || self.deletionPolicy != 'Delete'",message="the Owners team cannot be deleted: deletionPolicy Delete is refused on it"
type TeamSpec struct {
	ResourceSpec       `json:",inline"`
	OrganizationParent `json:",inline"`

	// name of the team. Changing it renames the team; a team cannot be renamed to or from Owners.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="name must hold only letters, digits, '-', '_' and '.' (Gitea's rule)"
	// +kubebuilder:validation:XValidation:rule="self.lowerAscii() != 'owners' || self == 'Owners'",message="the owners team is called Owners, capitalised"
	// +kubebuilder:validation:XValidation:rule="(self == 'Owners') == (oldSelf == 'Owners')",message="a team cannot be renamed to or from Owners"
	Name string `json:"name"`

	// description of the team.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Description *string `json:"description,omitempty"`

	// permission the team has on its repositories: read, write or admin. Gitea 1.26 keeps only admin as the
	// team's own permission (status.atProvider.permission shows admin, owner for Owners, or none): read and
	// write are the access of its units, given to every unit unless units maps them. Unset, a created team
	// gets read.
	// +optional
	// +kubebuilder:validation:Enum=read;write;admin
	Permission *string `json:"permission,omitempty"`

	// units maps each repository unit the team uses to its access: none, read, write or admin (a unit left
	// out is none). Unset, a created team gets every unit at its permission.
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:XValidation:rule="self.all(u, u in ['repo.code', 'repo.issues', 'repo.ext_issues', 'repo.pulls', 'repo.releases', 'repo.wiki', 'repo.ext_wiki', 'repo.projects', 'repo.packages', 'repo.actions'])",message="units must be among repo.code, repo.issues, repo.ext_issues, repo.pulls, repo.releases, repo.wiki, repo.ext_wiki, repo.projects, repo.packages and repo.actions"
	// +kubebuilder:validation:XValidation:rule="self.all(u, self[u] in ['none', 'read', 'write', 'admin'])",message="a unit's access must be none, read, write or admin"
	Units map[string]string `json:"units,omitempty"`

	// canCreateOrgRepo lets the team's members create repositories in the organization.
	// +optional
	CanCreateOrgRepo *bool `json:"canCreateOrgRepo,omitempty"`

	// includesAllRepositories gives the team every repository of the organization, present and future.
	// +optional
	IncludesAllRepositories *bool `json:"includesAllRepositories,omitempty"`

	// members is the team's exact member list (user names): users not listed are removed. Unset, members are
	// not managed; empty, the team has none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	Members *[]Username `json:"members,omitempty"`

	// repositories is the team's exact repository list (names of the organization's repositories):
	// repositories not listed are removed from the team. Unset, they are not managed; empty, the team has
	// none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	Repositories *[]RepositoryName `json:"repositories,omitempty"`
}

// TeamObservation is the team as Gitea has it. members and repositories are read only when managed.
type TeamObservation struct {
	Organization            string            `json:"organization,omitempty"`
	Name                    string            `json:"name,omitempty"`
	Description             string            `json:"description,omitempty"`
	Permission              string            `json:"permission,omitempty"`
	Units                   map[string]string `json:"units,omitempty"`
	CanCreateOrgRepo        bool              `json:"canCreateOrgRepo,omitempty"`
	IncludesAllRepositories bool              `json:"includesAllRepositories,omitempty"`
	// +listType=atomic
	Members []string `json:"members,omitempty"`
	// +listType=atomic
	Repositories []string `json:"repositories,omitempty"`
}

// TeamStatus is what the operator found.
type TeamStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the team as Gitea has it.
	// +optional
	AtProvider TeamObservation `json:"atProvider,omitempty"`
}

// Team is a team of a Gitea organization.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteateam
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.status.atProvider.organization`
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.spec.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Team struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TeamSpec `json:"spec"`

	// +optional
	Status TeamStatus `json:"status,omitempty"`
}

// TeamList is a list of Teams.
//
// +kubebuilder:object:root=true
type TeamList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Team `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (t *Team) ManagedSpec() *ResourceSpec { return &t.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (t *Team) ManagedStatus() *ResourceStatus { return &t.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Team{}, &TeamList{})
}
