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

// BranchProtectionRules are the settings of a branch protection rule. In the spec, each is managed only
// when set (a list set to [] means: nobody); in the status, each is what Gitea has.
type BranchProtectionRules struct {
	// enablePush lets pushes to the protected branches happen at all (false: nobody pushes).
	// +optional
	EnablePush *bool `json:"enablePush,omitempty"`
	// enablePushAllowlist restricts pushes to the push allow-list (with enablePush).
	// +optional
	EnablePushAllowlist *bool `json:"enablePushAllowlist,omitempty"`
	// pushAllowlistUsers may push (with enablePushAllowlist).
	// +optional
	// +listType=set
	PushAllowlistUsers *[]string `json:"pushAllowlistUsers,omitempty"`
	// pushAllowlistTeams may push (teams of the repository's organization).
	// +optional
	// +listType=set
	PushAllowlistTeams *[]string `json:"pushAllowlistTeams,omitempty"`
	// pushAllowlistDeployKeys lets deploy keys with write access push.
	// +optional
	PushAllowlistDeployKeys *bool `json:"pushAllowlistDeployKeys,omitempty"`

	// enableForcePush lets force-pushes happen (false: nobody force-pushes).
	// +optional
	EnableForcePush *bool `json:"enableForcePush,omitempty"`
	// enableForcePushAllowlist restricts force-pushes to the force-push allow-list (with enableForcePush).
	// +optional
	EnableForcePushAllowlist *bool `json:"enableForcePushAllowlist,omitempty"`
	// forcePushAllowlistUsers may force-push.
	// +optional
	// +listType=set
	ForcePushAllowlistUsers *[]string `json:"forcePushAllowlistUsers,omitempty"`
	// forcePushAllowlistTeams may force-push.
	// +optional
	// +listType=set
	ForcePushAllowlistTeams *[]string `json:"forcePushAllowlistTeams,omitempty"`
	// forcePushAllowlistDeployKeys lets deploy keys with write access force-push.
	// +optional
	ForcePushAllowlistDeployKeys *bool `json:"forcePushAllowlistDeployKeys,omitempty"`

	// enableMergeAllowlist restricts merging pull requests to the merge allow-list.
	// +optional
	EnableMergeAllowlist *bool `json:"enableMergeAllowlist,omitempty"`
	// mergeAllowlistUsers may merge.
	// +optional
	// +listType=set
	MergeAllowlistUsers *[]string `json:"mergeAllowlistUsers,omitempty"`
	// mergeAllowlistTeams may merge.
	// +optional
	// +listType=set
	MergeAllowlistTeams *[]string `json:"mergeAllowlistTeams,omitempty"`

	// enableStatusCheck requires the status checks to pass before a merge.
	// +optional
	EnableStatusCheck *bool `json:"enableStatusCheck,omitempty"`
	// statusCheckContexts are the status checks (globs) that must pass.
	// +optional
	// +listType=set
	StatusCheckContexts *[]string `json:"statusCheckContexts,omitempty"`

	// requiredApprovals before a merge.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	RequiredApprovals *int64 `json:"requiredApprovals,omitempty"`
	// enableApprovalsAllowlist counts only the approvals of the approvals allow-list.
	// +optional
	EnableApprovalsAllowlist *bool `json:"enableApprovalsAllowlist,omitempty"`
	// approvalsAllowlistUsers whose approvals count.
	// +optional
	// +listType=set
	ApprovalsAllowlistUsers *[]string `json:"approvalsAllowlistUsers,omitempty"`
	// approvalsAllowlistTeams whose approvals count.
	// +optional
	// +listType=set
	ApprovalsAllowlistTeams *[]string `json:"approvalsAllowlistTeams,omitempty"`

	// blockOnRejectedReviews blocks a merge while changes are requested.
	// +optional
	BlockOnRejectedReviews *bool `json:"blockOnRejectedReviews,omitempty"`
	// blockOnOfficialReviewRequests blocks a merge while official reviews are requested.
	// +optional
	BlockOnOfficialReviewRequests *bool `json:"blockOnOfficialReviewRequests,omitempty"`
	// blockOnOutdatedBranch blocks a merge while the head branch is behind the base.
	// +optional
	BlockOnOutdatedBranch *bool `json:"blockOnOutdatedBranch,omitempty"`
	// blockAdminMergeOverride keeps administrators from merging past the rule.
	// +optional
	BlockAdminMergeOverride *bool `json:"blockAdminMergeOverride,omitempty"`
	// dismissStaleApprovals dismisses approvals when new commits are pushed.
	// +optional
	DismissStaleApprovals *bool `json:"dismissStaleApprovals,omitempty"`
	// ignoreStaleApprovals does not count approvals of older commits.
	// +optional
	IgnoreStaleApprovals *bool `json:"ignoreStaleApprovals,omitempty"`
	// requireSignedCommits refuses unsigned commits.
	// +optional
	RequireSignedCommits *bool `json:"requireSignedCommits,omitempty"`

	// protectedFilePatterns: files (globs separated by ';') nobody may change by push, even with push
	// access.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	ProtectedFilePatterns *string `json:"protectedFilePatterns,omitempty"`
	// unprotectedFilePatterns: files (globs separated by ';') anyone with write access may push despite
	// the rule.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	UnprotectedFilePatterns *string `json:"unprotectedFilePatterns,omitempty"`

	// priority of the rule among the repository's rules that match a branch (lower first).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Priority *int64 `json:"priority,omitempty"`
}

// BranchProtectionSpec declares a branch protection rule of a repository. Only the settings set are
// managed.
type BranchProtectionSpec struct {
	ResourceSpec     `json:",inline"`
	RepositoryParent `json:",inline"`

	// ruleName is the rule's name, which is also the glob of the branches it protects ("main",
	// "release/*"). Changing it creates the new rule, then deletes the old one.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="!self.matches('^\\\\s|\\\\s$')",message="ruleName must not start or end with a space"
	RuleName string `json:"ruleName"`

	BranchProtectionRules `json:",inline"`
}

// BranchProtectionObservation is the rule as Gitea has it.
type BranchProtectionObservation struct {
	// repository ("owner/name") of the rule, as resolved when last seen.
	Repository string `json:"repository,omitempty"`
	// ruleName of the rule the resource manages (during a rename, the old one until it is deleted).
	RuleName              string `json:"ruleName,omitempty"`
	BranchProtectionRules `json:",inline"`
}

// BranchProtectionStatus is what the operator found.
type BranchProtectionStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the rule as Gitea has it.
	// +optional
	AtProvider BranchProtectionObservation `json:"atProvider,omitempty"`
}

// BranchProtection is a branch protection rule of a Gitea repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteabp
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.status.atProvider.repository`
// +kubebuilder:printcolumn:name="Rule",type=string,JSONPath=`.spec.ruleName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BranchProtection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec BranchProtectionSpec `json:"spec"`

	// +optional
	Status BranchProtectionStatus `json:"status,omitempty"`
}

// BranchProtectionList is a list of BranchProtections.
//
// +kubebuilder:object:root=true
type BranchProtectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BranchProtection `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (b *BranchProtection) ManagedSpec() *ResourceSpec { return &b.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (b *BranchProtection) ManagedStatus() *ResourceStatus { return &b.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &BranchProtection{}, &BranchProtectionList{})
}
