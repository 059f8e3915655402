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

// WebhookEvent is an event a webhook is sent for. The group names (issues, pull_request) stand for all the
// events of their group; issues_only and pull_request_only for the group's main event alone.
// +kubebuilder:validation:Enum=create;delete;fork;push;issues;issues_only;issue_assign;issue_label;issue_milestone;issue_comment;pull_request;pull_request_only;pull_request_assign;pull_request_label;pull_request_milestone;pull_request_comment;pull_request_review;pull_request_review_request;pull_request_sync;wiki;repository;release;package;status;workflow_run;workflow_job
type WebhookEvent string

// WebhookSpec declares a webhook of a repository or of an organization. Gitea gives a webhook no name: the
// resource finds its hook by the id in its status, and adopts an existing hook only when exactly one of
// the target's hooks has the same type and url. Only the fields set are managed.
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.urlSecretRef)",message="set exactly one of url and urlSecretRef"
// +kubebuilder:validation:XValidation:rule="[has(self.repository), has(self.repositoryRef), has(self.organization), has(self.organizationRef)].filter(x, x).size() == 1",message="set exactly one of repository, repositoryRef, organization and organizationRef"
// +kubebuilder:validation:XValidation:rule="has(self.repository) == has(oldSelf.repository) && has(self.repositoryRef) == has(oldSelf.repositoryRef) && has(self.organization) == has(oldSelf.organization) && has(self.organizationRef) == has(oldSelf.organizationRef)",message="the webhook's repository or organization is immutable: create another Webhook instead"
// +kubebuilder:validation:XValidation:rule="(self.type == 'slack') == has(self.slack)",message="slack is required for, and only for, type slack"
type WebhookSpec struct {
	ResourceSpec          `json:",inline"`
	RepositoryReference   `json:",inline"`
	OrganizationReference `json:",inline"`

	// type of the webhook: the format of what it sends. Changing it replaces the hook (Gitea cannot change
	// a hook's type).
	// +optional
	// +kubebuilder:default=gitea
	// +kubebuilder:validation:Enum=gitea;gogs;slack;discord;dingtalk;telegram;msteams;feishu;wechatwork;packagist
	Type string `json:"type,omitempty"`

	// url the events are sent to, shown in the resource's status. A URL that is itself a credential, as
	// those of slack, discord, msteams, telegram, dingtalk, feishu and wechatwork hooks are (or any URL
	// with a token in it), belongs in a Secret named by urlSecretRef instead. Set exactly one of url and
	// urlSecretRef.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^/?#\\\\s]+')",message="url must be an http:// or https:// URL"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^:]+://[^/?#]*@')",message="url must not hold a user name or password: put the URL in a Secret and name it in urlSecretRef"
	URL string `json:"url,omitempty"`

	// urlSecretRef names the Secret key holding the url the events are sent to (an http:// or https:// URL;
	// surrounding whitespace is ignored). The url is never shown in the resource's status or events; a
	// change to the Secret is applied at once.
	// +optional
	URLSecretRef *SecretKeyReference `json:"urlSecretRef,omitempty"`

	// contentType of what is sent: json or form.
	// +optional
	// +kubebuilder:validation:Enum=json;form
	ContentType *string `json:"contentType,omitempty"`

	// secretRef names the Secret key holding the secret Gitea signs what it sends with. Gitea cannot show
	// it back nor change it: a new version of the Secret replaces the hook (the hook's id changes).
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`

	// authorizationHeaderRef names the Secret key holding the Authorization header Gitea sends (for
	// example "Bearer ..."). Applied again whenever the Secret changes.
	// +optional
	AuthorizationHeaderRef *SecretKeyReference `json:"authorizationHeaderRef,omitempty"`

	// events the webhook is sent for; empty means push only (Gitea's rule). Compared as a set, group names
	// expanded as Gitea expands them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Events *[]WebhookEvent `json:"events,omitempty"`

	// branchFilter is a glob of the branches whose push, create and delete events are sent ("" or "*":
	// all).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	BranchFilter *string `json:"branchFilter,omitempty"`

	// active: whether Gitea sends anything. A hook is created active unless this says false.
	// +optional
	Active *bool `json:"active,omitempty"`

	// slack holds what a slack webhook needs beside its url.
	// +optional
	Slack *SlackWebhook `json:"slack,omitempty"`
}

// SlackWebhook is the configuration of a slack webhook.
type SlackWebhook struct {
	// channel the messages go to, such as "#builds".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=80
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('#') || self.size() > 1",message="channel must name a channel"
	Channel string `json:"channel"`
	// username the messages are posted as.
	// +optional
	// +kubebuilder:validation:MaxLength=80
	Username string `json:"username,omitempty"`
	// iconURL is the avatar of the messages.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	IconURL string `json:"iconURL,omitempty"`
	// color of the messages' attachments.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Color string `json:"color,omitempty"`
}

// WebhookObservation is the webhook as Gitea has it. The Authorization header is never copied here: Gitea
// shows it in clear.
type WebhookObservation struct {
	// repository ("owner/name") or organization the hook belongs to, as resolved when last seen.
	Repository   string `json:"repository,omitempty"`
	Organization string `json:"organization,omitempty"`
	Type         string `json:"type,omitempty"`
	// url of the hook, for a hook whose spec names a plain url (a password in it hidden); empty for one
	// whose url comes from a Secret.
	URL         string `json:"url,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	// events, expanded and sorted.
	// +listType=atomic
	Events       []string `json:"events,omitempty"`
	BranchFilter string   `json:"branchFilter,omitempty"`
	Active       bool     `json:"active,omitempty"`
	// hasAuthorizationHeader says whether the hook sends an Authorization header.
	HasAuthorizationHeader bool          `json:"hasAuthorizationHeader,omitempty"`
	Slack                  *SlackWebhook `json:"slack,omitempty"`
}

// WebhookStatus is what the operator found.
type WebhookStatus struct {
	ResourceStatus `json:",inline"`

	// atProvider is the webhook as Gitea has it.
	// +optional
	AtProvider WebhookObservation `json:"atProvider,omitempty"`

	// secretVersion is the version of the Secret (spec.secretRef) whose value the hook was created with.
	// +optional
	SecretVersion *SecretVersion `json:"secretVersion,omitempty"`
}

// Webhook is a webhook of a Gitea repository or organization.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea,shortName=giteahook
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.status.atProvider.repository`
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.status.atProvider.organization`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="ID",type=integer,JSONPath=`.status.id`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Webhook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec WebhookSpec `json:"spec"`

	// +optional
	Status WebhookStatus `json:"status,omitempty"`
}

// WebhookList is a list of Webhooks.
//
// +kubebuilder:object:root=true
type WebhookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Webhook `json:"items"`
}

// ManagedSpec is the common part of the spec.
func (w *Webhook) ManagedSpec() *ResourceSpec { return &w.Spec.ResourceSpec }

// ManagedStatus is the common part of the status.
func (w *Webhook) ManagedStatus() *ResourceStatus { return &w.Status.ResourceStatus }

func init() {
	knownTypes = append(knownTypes, &Webhook{}, &WebhookList{})
}
