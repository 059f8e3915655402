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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NuOperatorSpec is what a NuOperator asks for: the scripts to run (mappings), where they come from
// (sources and the image's bundled scripts) and how the managed operator's pods run.
//
// The field names are nuop's, so its manifests apply unchanged (including its snake_case requeue fields).
type NuOperatorSpec struct {
	// env is appended to the environment of the managed operator's containers (LOG_LEVEL, LOG_FORMAT, ...).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Env []corev1.EnvVar `json:"env,omitempty"`

	// image is the managed operator's image. Unset means the image the manager itself runs.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image,omitempty"`

	// imagePullPolicy of the managed operator's containers. nuop hard-coded Never.
	// +optional
	// +kubebuilder:default=IfNotPresent
	// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// imagePullSecrets name Secrets in the NuOperator's namespace used to pull the image.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// serviceAccountName is the ServiceAccount the managed operator's pods run as: the scripts act with its
	// permissions, which are yours to grant (as in nuop). Unset, the pods run as <name>-nuop, which the
	// manager creates with only what the managed operator itself needs.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// replicas of the managed operator. Replicas elect a leader among themselves: one runs the scripts, the
	// others stand by. 0 stops the managed operator without deleting the NuOperator.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// resources of the managed operator's main container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// nodeSelector of the managed operator's pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the managed operator's pods.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// mappings name the scripts to run, each with the kind it reconciles. A script runs only where a
	// mapping names it with the same group, version and kind.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	Mappings []Mapping `json:"mappings,omitempty"`

	// sources are git repositories holding scripts, fetched beside the image's bundled scripts. A fetched
	// script shadows a bundled one of the same name.
	// +optional
	// +listType=map
	// +listMapKey=path
	// +kubebuilder:validation:MaxItems=20
	Sources []Source `json:"sources,omitempty"`
}

// Mapping binds a script, by the name its config reports, to the kind it reconciles. Selectors and requeue
// times set here override the script's own.
type Mapping struct {
	// name of the script (its config's name). Unique among the mappings.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// group of the reconciled kind; empty for the core group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`

	// version of the reconciled kind.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Version string `json:"version"`

	// kind reconciled.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// labelSelectors are equality label selectors, ANDed; they replace the script's own.
	// +optional
	LabelSelectors map[string]string `json:"labelSelectors,omitempty"`

	// fieldSelectors are equality field selectors, ANDed; they replace the script's own.
	// +optional
	FieldSelectors map[string]string `json:"fieldSelectors,omitempty"`

	// requeue_after_change is how many seconds after a run that changed something (exit 2) the object is
	// reconciled again.
	// +optional
	// +kubebuilder:validation:Minimum=1
	RequeueAfterChange *int64 `json:"requeue_after_change,omitempty"`

	// requeue_after_noop is how many seconds after a run that changed nothing (exit 0) the object is
	// reconciled again.
	// +optional
	// +kubebuilder:validation:Minimum=1
	RequeueAfterNoop *int64 `json:"requeue_after_noop,omitempty"`
}

// Source is a git repository holding scripts.
type Source struct {
	// location is a git URL: https://, http:// or ssh://host[:port]/path, or scp-style user@host:path
	// (git@github.com:org/repo.git), optionally followed by ?ref=<branch, tag or commit>&dir=<directory
	// in the repository>. ref defaults to the repository's default branch, dir to its root. Credentials go
	// in credentials, never in the URL; an ssh URL may name the user (git@).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^(https?|ssh)://') || self.matches('^[^@/[:space:]]+@[^@/:[:space:]]+:[^[:space:]]+$')",message="location must be a git URL: https://, http:// or ssh://host[:port]/path, or scp-style user@host:path (git@github.com:org/repo.git); local paths, file://, git:// and other schemes are not supported"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^https?://[^/?#]*@') && !self.matches('^(ssh://)?[^/?#@:]+:[^/?#@]*@')",message="location must not carry credentials (an http(s) URL takes no user info, an ssh or scp-style one only a user name such as git@): use credentials instead"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(https?|ssh)://') || self.matches('^(https?|ssh)://([^/?#@[:space:]]+@)?([A-Za-z0-9._-]+|[[][0-9A-Fa-f:.]+[]])(:[0-9]{1,5})?/[^?#[:space:]]+([?][^#[:space:]]*)?$')",message="location must be scheme://host[:port]/path with an optional ?ref=<branch, tag or commit>&dir=<directory>"
	Location string `json:"location"`

	// path is the directory under the sources root where the scripts land, unique among the sources. A
	// leading '/' is accepted and taken as relative (nuop's examples use path: /scripts).
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('[^/]')",message="path must name a directory under the sources root (scripts or /scripts), not be empty or '/'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="path must not contain '..': it stays under the sources root"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.]([^.]|$)')",message="path segments must not start with '.': '.' is the sources root itself, and script discovery skips hidden directories"
	Path string `json:"path"`

	// credentials for the repository, from keys of Secrets in the NuOperator's namespace: a token, a
	// username and password, or an SSH private key with known hosts; caBundle for a private https server.
	// +optional
	Credentials *Credentials `json:"credentials,omitempty"`

	// interval between polls of the repository for a new revision (a Go duration: 30s, 5m, 1h), between
	// 30s and 168h (a week).
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="interval must be a duration such as 30s, 5m or 1h30m"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('30s') && duration(self) <= duration('168h'))",message="interval must be between 30s and 168h"
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// Credentials select Secret keys holding what a source needs to authenticate. The key names are the
// selectors' own (nuop ignored them and required files named token, username and password).
// +kubebuilder:validation:XValidation:rule="!has(self.password) || has(self.username)",message="password needs username",fieldPath=".password"
// +kubebuilder:validation:XValidation:rule="!(has(self.token) && has(self.password))",message="token and password are alternatives: set one",fieldPath=".token"
// +kubebuilder:validation:XValidation:rule="!has(self.sshPrivateKey) || has(self.knownHosts)",message="sshPrivateKey needs knownHosts: host keys are never accepted unverified",fieldPath=".sshPrivateKey"
type Credentials struct {
	// token for https (sent as the password of basic authentication).
	// +optional
	Token *corev1.SecretKeySelector `json:"token,omitempty"`

	// username for https basic authentication.
	// +optional
	Username *corev1.SecretKeySelector `json:"username,omitempty"`

	// password for https basic authentication, with username.
	// +optional
	Password *corev1.SecretKeySelector `json:"password,omitempty"`

	// sshPrivateKey (PEM or OpenSSH format) for ssh and scp-style locations, with knownHosts.
	// +optional
	SSHPrivateKey *corev1.SecretKeySelector `json:"sshPrivateKey,omitempty"`

	// knownHosts in ssh known_hosts format, against which the server's host key is checked.
	// +optional
	KnownHosts *corev1.SecretKeySelector `json:"knownHosts,omitempty"`

	// caBundle of PEM certificates that sign an https server's certificate, added to the system roots.
	// +optional
	CABundle *corev1.SecretKeySelector `json:"caBundle,omitempty"`
}

// NuOperatorStatus is written by two writers with separate field managers: the manager (observedGeneration,
// the Ready and DeploymentAvailable conditions, deploymentName, readyReplicas) and the managed operator
// (the ScriptsLoaded and SourcesFetched conditions, sources, scripts). Each condition's observedGeneration
// says which generation of the spec its writer acted on.
type NuOperatorStatus struct {
	// observedGeneration is the generation the manager last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the summary), DeploymentAvailable, ScriptsLoaded, SourcesFetched.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// deploymentName is the name of the managed operator's Deployment.
	// +optional
	DeploymentName string `json:"deploymentName,omitempty"`

	// readyReplicas of the managed operator's Deployment.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// finalizerReleaseStartTime is when the manager, finding spec.mappings empty, began waiting for the
	// managed operator to release its scripts' finalizers; the Deployment is removed once it has, or two
	// minutes after this time.
	// +optional
	FinalizerReleaseStartTime *metav1.Time `json:"finalizerReleaseStartTime,omitempty"`

	// sources: what each source last fetched.
	// +optional
	// +listType=map
	// +listMapKey=path
	Sources []SourceStatus `json:"sources,omitempty"`

	// scripts: each script a mapping names, as the managed operator loaded it.
	// +optional
	// +listType=map
	// +listMapKey=name
	Scripts []ScriptStatus `json:"scripts,omitempty"`
}

// SourceStatus is the fetch state of one source.
type SourceStatus struct {
	// path of the source (spec.sources[].path).
	// +required
	Path string `json:"path"`

	// location last fetched.
	// +optional
	Location string `json:"location,omitempty"`

	// revision (commit) last fetched and in use.
	// +optional
	Revision string `json:"revision,omitempty"`

	// lastFetchTime is when the revision was last fetched or confirmed current.
	// +optional
	LastFetchTime *metav1.Time `json:"lastFetchTime,omitempty"`

	// lastError of the last fetch; empty when it succeeded. The last good revision stays in use.
	// +optional
	LastError string `json:"lastError,omitempty"`
}

// ScriptStatus is the state of one mapped script in the managed operator.
type ScriptStatus struct {
	// name of the script (and of its mapping).
	// +required
	Name string `json:"name"`

	// group of the kind the script reconciles.
	// +optional
	Group string `json:"group,omitempty"`

	// version of the kind the script reconciles.
	// +optional
	Version string `json:"version,omitempty"`

	// kind the script reconciles.
	// +optional
	Kind string `json:"kind,omitempty"`

	// finalizer the script manages, if any.
	// +optional
	Finalizer string `json:"finalizer,omitempty"`

	// source the script was loaded from: a source's path, or "bundled" for the image's own scripts.
	// +optional
	Source string `json:"source,omitempty"`

	// state: Running, Failed, Degraded (an edit failed to load; the last good version runs), NotFound (no
	// script of that name), Mismatched (the script reconciles another kind than the mapping says) or
	// Pending (its kind is not served yet).
	// +optional
	State ScriptState `json:"state,omitempty"`

	// message says what is wrong and what to do, or what the script is doing.
	// +optional
	Message string `json:"message,omitempty"`
}

// ScriptState is the state of a mapped script.
type ScriptState string

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=nuop
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 58",fieldPath=".metadata",message="metadata.name must be at most 58 characters: the Deployment, ServiceAccount and Role are named <name>-nuop, and the label app: <name>-nuop must fit the 63-character limit of a label value"

// NuOperator is a Nushell operator: the manager runs a managed operator Deployment that loads the mapped
// scripts, from the image and from git sources, and runs them.
type NuOperator struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the NuOperator asks for.
	// +required
	Spec NuOperatorSpec `json:"spec"`

	// status is what the manager and the managed operator observed.
	// +optional
	Status NuOperatorStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// NuOperatorList is a list of NuOperators.
type NuOperatorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NuOperator `json:"items"`
}
