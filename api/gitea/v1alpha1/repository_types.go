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

// RepositorySpec declares a Gitea repository. Only the fields set are managed.
//
// +kubebuilder:validation:XValidation:rule="has(self.owner) != has(self.organizationRef)",message="exactly one of owner and organizationRef must be set"
// +kubebuilder:validation:XValidation:rule="has(self.owner) == has(oldSelf.owner) && (!has(self.owner) || self.owner == oldSelf.owner) && has(self.organizationRef) == has(oldSelf.organizationRef) && (!has(self.organizationRef) || self.organizationRef.name == oldSelf.organizationRef.name)",message="owner and organizationRef are immutable: a repository cannot move to another owner"
// +kubebuilder:validation:XValidation:rule="!has(self.gitignores) && !has(self.license) && !has(self.readme) || (has(self.autoInit) && self.autoInit)",message="gitignores, license and readme need autoInit: true"
// +kubebuilder:validation:XValidation:rule="has(self.autoInit) == has(oldSelf.autoInit) && (!has(self.autoInit) || self.autoInit == oldSelf.autoInit) && has(self.gitignores) == has(oldSelf.gitignores) && (!has(self.gitignores) || self.gitignores == oldSelf.gitignores) && has(self.license) == has(oldSelf.license) && (!has(self.license) || self.license == oldSelf.license) && has(self.readme) == has(oldSelf.readme) && (!has(self.readme) || self.readme == oldSelf.readme)",message="autoInit, gitignores, license and readme are used only when the repository is created: they cannot change"
type RepositorySpec struct {
	ResourceSpec `json:",inline"`

	// owner is the user or organization that owns the repository, by its Gitea name. Immutable. A Gitea
	// rename of the owner is followed through Gitea's redirect; organizationRef follows it by name.
	// +optional
	Owner *Username `json:"owner,omitempty"`

	// organizationRef names the Organization resource, in this namespace, that owns the repository; the
	// repository waits until it is Ready. Immutable.
	// +optional
	OrganizationRef *LocalObjectReference `json:"organizationRef,omitempty"`

	// name of the repository. Changing it renames the repository.
	Name RepositoryName `json:"name"`

	// description of the repository.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description *string `json:"description,omitempty"`

	// website of the repository (an http or https URL, or empty).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self == '' || self.matches('^https?://')",message="website must be an http:// or https:// URL"
	Website *string `json:"website,omitempty"`

	// private hides the repository from those without access.
	// +optional
	Private *bool `json:"private,omitempty"`

	// template marks the repository as a template for new ones.
	// +optional
	Template *bool `json:"template,omitempty"`

	// defaultBranch is the default branch. It must exist, unless the repository is empty.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	DefaultBranch *string `json:"defaultBranch,omitempty"`

	// archived makes the repository read-only. The operator unarchives before any other change and
	// archives after all of them.
	// +optional
	Archived *bool `json:"archived,omitempty"`

	// topics of the repository, compared as a set; an empty list means none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=25
	// +kubebuilder:validation:items:MaxLength=35
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9][-.a-z0-9]*$`
	Topics *[]string `json:"topics,omitempty"`

	// hasIssues enables the issue tracker.
	// +optional
	HasIssues *bool `json:"hasIssues,omitempty"`
	// hasWiki enables the wiki.
	// +optional
	HasWiki *bool `json:"hasWiki,omitempty"`
	// hasPullRequests enables pull requests. The merge settings below are kept in the pull-request unit:
	// they are compared only while it is enabled (or asked for here).
	// +optional
	HasPullRequests *bool `json:"hasPullRequests,omitempty"`
	// hasProjects enables projects.
	// +optional
	HasProjects *bool `json:"hasProjects,omitempty"`
	// hasReleases enables releases.
	// +optional
	HasReleases *bool `json:"hasReleases,omitempty"`
	// hasPackages enables packages.
	// +optional
	HasPackages *bool `json:"hasPackages,omitempty"`
	// hasActions enables Actions.
	// +optional
	HasActions *bool `json:"hasActions,omitempty"`

	// allowMergeCommits allows merging pull requests with a merge commit.
	// +optional
	AllowMergeCommits *bool `json:"allowMergeCommits,omitempty"`
	// allowRebase allows rebasing pull requests onto the base branch.
	// +optional
	AllowRebase *bool `json:"allowRebase,omitempty"`
	// allowRebaseExplicit allows rebasing with an explicit merge commit (--no-ff).
	// +optional
	AllowRebaseExplicit *bool `json:"allowRebaseExplicit,omitempty"`
	// allowSquashMerge allows squash merges.
	// +optional
	AllowSquashMerge *bool `json:"allowSquashMerge,omitempty"`
	// allowFastForwardOnlyMerge allows fast-forward-only merges.
	// +optional
	AllowFastForwardOnlyMerge *bool `json:"allowFastForwardOnlyMerge,omitempty"`
	// defaultMergeStyle is the merge style the pull request page offers first.
	// +optional
	// +kubebuilder:validation:Enum=merge;rebase;rebase-merge;squash;fast-forward-only
	DefaultMergeStyle *string `json:"defaultMergeStyle,omitempty"`
	// defaultDeleteBranchAfterMerge deletes a pull request's branch after its merge, by default.
	// +optional
	DefaultDeleteBranchAfterMerge *bool `json:"defaultDeleteBranchAfterMerge,omitempty"`

	// autoInit creates the repository with a first commit (README, and gitignores and license if set).
	// Create-time only: ignored for an adopted repository, and immutable.
	// +optional
	AutoInit *bool `json:"autoInit,omitempty"`
	// gitignores names Gitea's .gitignore templates to commit, comma-separated (such as "Go,Node").
	// Create-time only, with autoInit.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Gitignores *string `json:"gitignores,omitempty"`
	// license names Gitea's license template to commit (such as "MIT"). Create-time only, with autoInit.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	License *string `json:"license,omitempty"`
	// readme names Gitea's README template (such as "Default"). Create-time only, with autoInit.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Readme *string `json:"readme,omitempty"`
}

// RepositoryObservation is the repository as Gitea has it.
type RepositoryObservation struct {
	Owner                         string   `json:"owner,omitempty"`
	Name                          string   `json:"name,omitempty"`
	Description                   string   `json:"description,omitempty"`
	Website                       string   `json:"website,omitempty"`
	Private                       bool     `json:"private,omitempty"`
	Template                      bool     `json:"template,omitempty"`
	Empty                         bool     `json:"empty,omitempty"`
	DefaultBranch                 string   `json:"defaultBranch,omitempty"`
	Archived                      bool     `json:"archived,omitempty"`
	Topics                        []string `json:"topics,omitempty"`
	HasIssues                     bool     `json:"hasIssues,omitempty"`
	HasWiki                       bool     `json:"hasWiki,omitempty"`
	HasPullRequests               bool     `json:"hasPullRequests,omitempty"`
	HasProjects                   bool     `json:"hasProjects,omitempty"`
	HasReleases                   bool     `json:"hasReleases,omitempty"`
	HasPackages                   bool     `json:"hasPackages,omitempty"`
	HasActions                    bool     `json:"hasActions,omitempty"`
	AllowMergeCommits             bool     `json:"allowMergeCommits,omitempty"`
	AllowRebase                   bool     `json:"allowRebase,omitempty"`
	AllowRebaseExplicit           bool     `json:"allowRebaseExplicit,omitempty"`
	AllowSquashMerge              bool     `json:"allowSquashMerge,omitempty"`
	AllowFastForwardOnlyMerge     bool     `json:"allowFastForwardOnlyMerge,omitempty"`
	DefaultMergeStyle             string   `json:"defaultMergeStyle,omitempty"`
	DefaultDeleteBranchAfterMerge bool     `json:"defaultDeleteBranchAfterMerge,omitempty"`
	HTMLURL                       string   `json:"htmlURL,omitempty"`
	CloneURL                      string   `json:"cloneURL,omitempty"`
	SSHURL                        string   `json:"sshURL,omitempty"`
}

// RepositoryStatus is what the operator found.
type RepositoryStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the repository as Gitea has it.
	// +optional
	AtProvider RepositoryObservation `json:"atProvider,omitempty"`
}

// Repository is a Gitea repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=gitearepo
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.status.atProvider.owner`
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.spec.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.atProvider.htmlURL`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RepositorySpec `json:"spec"`

	// +optional
	Status RepositoryStatus `json:"status,omitempty"`
}

// RepositoryList is a list of Repositories.
//
// +kubebuilder:object:root=true
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (r *Repository) ManagedSpec() *ResourceSpec { return &r.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (r *Repository) ManagedStatus() *ResourceStatus { return &r.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Repository{}, &RepositoryList{})
}

// GiteaFullName is the repository's owner and name in Gitea as last observed (they follow renames), for
// the resources that refer to it through repositoryRef. Empty until the repository is Ready.
func (r *Repository) GiteaFullName() (owner, name string) {
	return r.Status.AtProvider.Owner, r.Status.AtProvider.Name
}
