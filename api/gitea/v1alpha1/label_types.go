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

// LabelSpec declares a label of a Gitea repository. Only the fields set are managed. Gitea keeps labels
// only in repositories with the issues or pull-requests unit enabled.
type LabelSpec struct {
	ResourceSpec     `json:",inline"`
	RepositoryParent `json:",inline"`

	// name of the label; "scope/name" makes it scoped. Changing it renames the label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.trim() == self",message="name may not start or end with white space"
	Name string `json:"name"`

	// color as "#rrggbb" or "#rgb" (the "#" optional). A label the operator creates without one gets
	// #e4e4e4, since Gitea needs a color.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$')",message="color must be a hex color such as #00aabb or #0ab"
	Color *string `json:"color,omitempty"`

	// description of the label.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	Description *string `json:"description,omitempty"`

	// exclusive makes a scoped label ("scope/name") exclusive within its scope.
	// +optional
	Exclusive *bool `json:"exclusive,omitempty"`

	// archived hides the label from the label pickers.
	// +optional
	Archived *bool `json:"archived,omitempty"`
}

// LabelObservation is the label as Gitea has it.
type LabelObservation struct {
	// repository is the label's repository as "owner/name".
	Repository  string `json:"repository,omitempty"`
	Name        string `json:"name,omitempty"`
	Color       string `json:"color,omitempty"`
	Description string `json:"description,omitempty"`
	Exclusive   bool   `json:"exclusive,omitempty"`
	Archived    bool   `json:"archived,omitempty"`
}

// LabelStatus is what the operator found.
type LabelStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the label as Gitea has it.
	// +optional
	AtProvider LabelObservation `json:"atProvider,omitempty"`
}

// Label is a label of a Gitea repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=gitealabel
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.status.atProvider.repository`
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.spec.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Label struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec LabelSpec `json:"spec"`

	// +optional
	Status LabelStatus `json:"status,omitempty"`
}

// LabelList is a list of Labels.
//
// +kubebuilder:object:root=true
type LabelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Label `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (l *Label) ManagedSpec() *ResourceSpec { return &l.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (l *Label) ManagedStatus() *ResourceStatus { return &l.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Label{}, &LabelList{})
}
