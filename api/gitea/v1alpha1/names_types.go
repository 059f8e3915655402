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

// The names Gitea checks, and the references to a parent object (a repository, an organization), are
// declared once here and used by every kind: their admission rules (CEL) live on these types, so the kinds
// cannot drift apart.

// Username is the name of a Gitea user or organization (they share one namespace and one rule).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-zA-Z][-.\\\\w]*$') && !self.matches('[-._]{2,}|[-._]$')",message="must be a Gitea user or organization name: a letter or digit first, then only letters, digits, '-', '_' and '.', never two of those in a row nor one at the end (Gitea's rule)"
type Username string

// RepositoryName is the name of a Gitea repository, without its owner.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:XValidation:rule="self.matches('^[-.a-zA-Z0-9_]+$') && !self.contains('..')",message="must be a repository name: only letters, digits, '-', '_' and '.', never two dots in a row (Gitea's rule)"
// +kubebuilder:validation:XValidation:rule="!(self in ['.', '-']) && !self.lowerAscii().matches('[.](git|wiki|rss|atom)$')",message="is reserved by Gitea ('.', '-', or ending in .git, .wiki, .rss or .atom)"
type RepositoryName string

// Account is the name of a user or organization the operator creates: Gitea's rule for names, and the names
// it reserves for its own pages.
type Account struct {
	// username is the name in Gitea. Changing it renames the user or organization (Gitea redirects the old
	// name).
	// +kubebuilder:validation:XValidation:rule="!(self.lowerAscii() in ['api', 'metrics', 'v2', 'assets', 'attachments', 'avatar', 'avatars', 'repo-avatars', 'captcha', 'login', 'org', 'repo', 'user', 'explore', 'issues', 'pulls', 'milestones', 'notifications', 'favicon.ico', 'manifest.json', 'robots.txt', 'sitemap.xml', 'ssh_info', 'swagger.v1.json', 'ghost', 'gitea-actions']) && !self.lowerAscii().matches('[.](keys|gpg|rss|atom|png)$')",message="username is reserved by Gitea"
	Username Username `json:"username"`
}

// RepositoryReference names a repository: as "owner/name", or through a Repository resource. Neither can
// change once set.
type RepositoryReference struct {
	// repository is the repository as "owner/name". It is not followed when the repository is renamed:
	// edit it (by recreating the resource), or use repositoryRef. Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=141
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-zA-Z][-.\\\\w]*/[-.\\\\w]+$')",message="repository must be owner/name"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="repository is immutable: create another resource for another repository"
	Repository *string `json:"repository,omitempty"`

	// repositoryRef names the Repository resource, in this namespace; the resource waits until it is Ready,
	// and follows its renames. Immutable.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="repositoryRef is immutable: create another resource for another repository"
	RepositoryRef *LocalObjectReference `json:"repositoryRef,omitempty"`
}

// RepositoryParent is the repository an object belongs to (a label, a deploy key, ...): exactly one of
// repository and repositoryRef, for good.
// +kubebuilder:validation:XValidation:rule="has(self.repository) != has(self.repositoryRef)",message="set exactly one of repository and repositoryRef"
// +kubebuilder:validation:XValidation:rule="has(self.repository) == has(oldSelf.repository) && has(self.repositoryRef) == has(oldSelf.repositoryRef)",message="the repository is immutable: repository and repositoryRef cannot be swapped"
type RepositoryParent struct {
	RepositoryReference `json:",inline"`
}

// OrganizationReference names an organization: by its Gitea name, or through an Organization resource.
// Neither can change once set.
type OrganizationReference struct {
	// organization is the organization's name in Gitea. It is not followed when the organization is
	// renamed: edit it (by recreating the resource), or use organizationRef. Immutable.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable: create another resource for another organization"
	Organization *Username `json:"organization,omitempty"`

	// organizationRef names the Organization resource, in this namespace; the resource waits until it is
	// Ready, and follows its renames. Immutable.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organizationRef is immutable: create another resource for another organization"
	OrganizationRef *LocalObjectReference `json:"organizationRef,omitempty"`
}

// OrganizationParent is the organization an object belongs to (a team): exactly one of organization and
// organizationRef, for good.
// +kubebuilder:validation:XValidation:rule="has(self.organization) != has(self.organizationRef)",message="set exactly one of organization and organizationRef"
// +kubebuilder:validation:XValidation:rule="has(self.organization) == has(oldSelf.organization) && has(self.organizationRef) == has(oldSelf.organizationRef)",message="the organization is immutable: organization and organizationRef cannot be swapped"
type OrganizationParent struct {
	OrganizationReference `json:",inline"`
}
