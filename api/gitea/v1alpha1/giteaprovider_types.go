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

// GiteaProviderSpec is a connection to one Gitea: where it is, who to be there and how to talk to it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || !has(self.tls.caBundle) || !self.url.startsWith('http://')",message="tls.caBundle needs an https:// url",fieldPath=".tls"
type GiteaProviderSpec struct {
	// url is the base address of the Gitea, such as https://gitea.example.com or
	// https://example.com/gitea (when Gitea is served under a path). http is accepted (a Gitea inside the
	// cluster); credentials, a query and a fragment are not.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://')",message="url must start with https:// or http://"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^https?://') || (isURL(self) && url(self).getHostname() != '')",message="url must be an absolute URL with a host, such as https://gitea.example.com"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^https?://[^/]*@')",message="url must not carry credentials: put them in the Secret named by credentials.secretRef"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="url must not have a query or a fragment"
	URL string `json:"url"`

	// credentials name the Secret, in the provider's namespace, that holds either a token or a username and
	// a password. With a username and a password the provider creates a token once and keeps it in a
	// Secret it owns (Gitea hashes the password on every call that uses it).
	Credentials ProviderCredentials `json:"credentials"`

	// tls configures how https:// urls are verified. Unset: against the system's trusted CAs.
	// +optional
	TLS *ProviderTLS `json:"tls,omitempty"`

	// timeout of one request to Gitea.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="timeout must be a duration such as 10s or 1m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('5m'))",message="timeout must be between 1s and 5m"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// qps is how many requests per second the operator sends to this Gitea at most, on average.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	QPS int32 `json:"qps,omitempty"`

	// burst is how many requests may go at once above qps before the rate applies.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=2000
	Burst int32 `json:"burst,omitempty"`

	// syncInterval is how often the resources using this provider compare Gitea with their spec (and
	// correct drift), besides reacting to their own changes at once. Between 30s and 168h (a week).
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="syncInterval must be a duration such as 10m or 1h"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('30s') && duration(self) <= duration('168h'))",message="syncInterval must be between 30s and 168h"
	SyncInterval *metav1.Duration `json:"syncInterval,omitempty"`

	// checkInterval is how often the provider checks its connection (server version and login). Between
	// 10s and 24h.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="checkInterval must be a duration such as 5m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))",message="checkInterval must be between 10s and 24h"
	CheckInterval *metav1.Duration `json:"checkInterval,omitempty"`
}

// ProviderCredentials says where the provider's Gitea credentials are. The Secret holds the key tokenKey,
// or the keys usernameKey and passwordKey; when both are there the token is used.
type ProviderCredentials struct {
	// secretRef names a Secret in the provider's own namespace (a provider cannot read another namespace's
	// Secrets: that is what keeps tenants apart).
	SecretRef LocalObjectReference `json:"secretRef"`

	// tokenKey is the Secret's key holding an access token.
	// +optional
	// +kubebuilder:default=token
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	TokenKey string `json:"tokenKey,omitempty"`

	// usernameKey is the Secret's key holding a login name.
	// +optional
	// +kubebuilder:default=username
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	UsernameKey string `json:"usernameKey,omitempty"`

	// passwordKey is the Secret's key holding that login's password.
	// +optional
	// +kubebuilder:default=password
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	PasswordKey string `json:"passwordKey,omitempty"`
}

// ProviderTLS configures certificate verification for an https:// url.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.insecureSkipVerify) && self.insecureSkipVerify && has(self.caBundle))",message="insecureSkipVerify and caBundle are alternatives: a CA bundle is pointless when certificates are not verified"
type ProviderTLS struct {
	// insecureSkipVerify accepts any certificate. For tests only: anyone on the path can read the token.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`

	// caBundle is the PEM bundle of the CAs that sign Gitea's certificate (instead of the system's).
	// +optional
	CABundle *CABundleSource `json:"caBundle,omitempty"`
}

// CABundleSource names a key of a Secret or a ConfigMap in the provider's namespace.
//
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="set exactly one of secretRef and configMapRef"
type CABundleSource struct {
	// secretRef names a Secret key holding the PEM bundle.
	// +optional
	SecretRef *LocalKeyReference `json:"secretRef,omitempty"`

	// configMapRef names a ConfigMap key holding the PEM bundle.
	// +optional
	ConfigMapRef *LocalKeyReference `json:"configMapRef,omitempty"`
}

// LocalObjectReference names an object in the referring object's namespace. It has no namespace field on
// purpose: references never cross namespaces.
type LocalObjectReference struct {
	// name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// LocalKeyReference names a key of a Secret or ConfigMap in the referring object's namespace.
type LocalKeyReference struct {
	// name of the Secret or ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in its data.
	// +optional
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// GiteaProviderStatus is what the provider's last connection check found.
type GiteaProviderStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (can the operator work with this Gitea, and if not why) and InUse (which resources
	// use the provider; while any does, deleting it waits for them).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// version is the Gitea server's version.
	// +optional
	Version string `json:"version,omitempty"`

	// user is the login the provider authenticates as.
	// +optional
	User string `json:"user,omitempty"`

	// siteAdmin is true when that login is a site administrator (needed for User resources and for
	// repositories of other users).
	// +optional
	SiteAdmin bool `json:"siteAdmin,omitempty"`

	// lastCheckTime is when the connection was last checked.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`

	// resources counts the managed resources that use this provider.
	// +optional
	Resources int32 `json:"resources,omitempty"`

	// tokenSecretName names the Secret, owned by this provider, holding the token it created from a
	// username and a password.
	// +optional
	TokenSecretName string `json:"tokenSecretName,omitempty"`
}

// GiteaProvider is a connection to a Gitea server that the Gitea resources of its namespace use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=gitea
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.version`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.status.user`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",fieldPath=".metadata",message="metadata.name must be at most 63 characters: it is used in label values and in the names of the objects the provider owns"
type GiteaProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec GiteaProviderSpec `json:"spec"`

	// +optional
	Status GiteaProviderStatus `json:"status,omitempty"`
}

// GiteaProviderList is a list of GiteaProviders.
//
// +kubebuilder:object:root=true
type GiteaProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GiteaProvider `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &GiteaProvider{}, &GiteaProviderList{})
}
