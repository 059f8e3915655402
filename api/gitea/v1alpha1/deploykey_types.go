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

// DeployKeySpec declares an SSH deploy key of a repository, found by the key's fingerprint. Gitea cannot
// edit a deploy key: a change of the key, its title or its read-only switch replaces it.
type DeployKeySpec struct {
	ResourceSpec     `json:",inline"`
	RepositoryParent `json:",inline"`

	// key is the public key, in authorized_keys format ("ssh-ed25519 AAAA... comment"). A public key is no
	// secret. Changing it replaces the deploy key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +kubebuilder:validation:XValidation:rule="self.matches('^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh[.]com) [A-Za-z0-9+/]+=*( [^\\\\n]*)?\\\\n?$')",message="key must be one SSH public key in authorized_keys format (type, base64 key, optional comment)"
	Key string `json:"key"`

	// title of the key in Gitea (unique in the repository). Unset: the resource's name when the key is
	// created, and not managed after.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	Title *string `json:"title,omitempty"`

	// readOnly: the key may only pull. Unset: read-only when the key is created, and not managed after.
	// +optional
	ReadOnly *bool `json:"readOnly,omitempty"`
}

// DeployKeyObservation is the deploy key as Gitea has it.
type DeployKeyObservation struct {
	// repository ("owner/name") the key opens, as resolved when last seen.
	Repository  string `json:"repository,omitempty"`
	Title       string `json:"title,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
}

// DeployKeyStatus is what the operator found.
type DeployKeyStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the deploy key as Gitea has it.
	// +optional
	AtProvider DeployKeyObservation `json:"atProvider,omitempty"`
}

// DeployKey is an SSH deploy key of a Gitea repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteadeploykey
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.status.atProvider.repository`
// +kubebuilder:printcolumn:name="Fingerprint",type=string,JSONPath=`.status.atProvider.fingerprint`
// +kubebuilder:printcolumn:name="Read-only",type=boolean,JSONPath=`.status.atProvider.readOnly`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DeployKey struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec DeployKeySpec `json:"spec"`

	// +optional
	Status DeployKeyStatus `json:"status,omitempty"`
}

// DeployKeyList is a list of DeployKeys.
//
// +kubebuilder:object:root=true
type DeployKeyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DeployKey `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (k *DeployKey) ManagedSpec() *ResourceSpec { return &k.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (k *DeployKey) ManagedStatus() *ResourceStatus { return &k.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &DeployKey{}, &DeployKeyList{})
}
