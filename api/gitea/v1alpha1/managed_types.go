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
	"k8s.io/apimachinery/pkg/runtime"
)

// ManagementPolicy says whether the operator may write to Gitea.
// +kubebuilder:validation:Enum=Full;ObserveOnly
type ManagementPolicy string

const (
	// ManagementFull creates, updates and (per deletionPolicy) deletes the Gitea object.
	ManagementFull ManagementPolicy = "Full"
	// ManagementObserveOnly never writes: it reports whether the object exists and how it differs from the
	// spec. The safe way to adopt an existing object: observe first, then switch to Full.
	ManagementObserveOnly ManagementPolicy = "ObserveOnly"
)

// DeletionPolicy says what happens to the Gitea object when its resource is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionDelete deletes the Gitea object with the resource.
	DeletionDelete DeletionPolicy = "Delete"
	// DeletionOrphan leaves the Gitea object where it is.
	DeletionOrphan DeletionPolicy = "Orphan"
)

// Origin says whether the resource created its Gitea object or found it there.
type Origin string

const (
	// OriginCreated: the operator created the object for this resource.
	OriginCreated Origin = "Created"
	// OriginAdopted: the object existed; the resource took it over.
	OriginAdopted Origin = "Adopted"
)

// ResourceSpec is what every managed resource has: which provider it uses and what the operator may do.
type ResourceSpec struct {
	// providerRef names the GiteaProvider, in the resource's namespace, whose Gitea holds the object.
	ProviderRef LocalObjectReference `json:"providerRef"`

	// managementPolicy: Full (default) writes to Gitea; ObserveOnly only reports.
	// +optional
	// +kubebuilder:default=Full
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// deletionPolicy: Delete removes the Gitea object with the resource, Orphan leaves it. Unset: Delete
	// when the resource created the object, Orphan when it adopted one.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// ResourceStatus is what every managed resource reports.
type ResourceStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the object exists in Gitea and can be used) and Synced (Gitea matches the spec).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// id is Gitea's id of the object.
	// +optional
	ID int64 `json:"id,omitempty"`

	// origin says whether the resource created the object or adopted it.
	// +optional
	// +kubebuilder:validation:Enum=Created;Adopted
	Origin Origin `json:"origin,omitempty"`

	// identity is the Gitea object the resource claims: the provider's url, the kind and the natural key.
	// Two resources claiming one object: the later-created one gets Conflict.
	// +optional
	Identity string `json:"identity,omitempty"`

	// drift lists the managed fields where Gitea differs from the spec (what ObserveOnly would correct).
	// +optional
	// +listType=atomic
	Drift []string `json:"drift,omitempty"`

	// lastSyncTime is when Gitea was last compared with the spec.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
}

// Managed is a managed resource: a Kubernetes object declaring one Gitea object.
// +kubebuilder:object:generate=false
type Managed interface {
	metav1.Object
	runtime.Object
	// ManagedSpec is the resource's common spec.
	ManagedSpec() *ResourceSpec
	// ManagedStatus is the resource's common status.
	ManagedStatus() *ResourceStatus
}

// Condition types of a managed resource.
const (
	// ConditionSynced is True when Gitea matches the spec.
	ConditionSynced = "Synced"
)

// Reasons of a managed resource's conditions (Ready and Synced), beside the provider's (Unauthorized,
// Unreachable, InvalidSpec, Deleting).
const (
	// ReasonAvailable (Ready): the object exists in Gitea.
	ReasonAvailable = "Available"
	// ReasonUpToDate (Synced): Gitea matches the spec.
	ReasonUpToDate = "UpToDate"
	// ReasonCreating: the object is being created.
	ReasonCreating = "Creating"
	// ReasonDrifted (Synced, ObserveOnly): Gitea differs from the spec; status.drift says where.
	ReasonDrifted = "Drifted"
	// ReasonNotFound: the object does not exist in Gitea (ObserveOnly never creates it), or something it
	// needs (an owner, a user, a team) does not; the message names it.
	ReasonNotFound = "NotFound"
	// ReasonProviderNotReady: the GiteaProvider is missing or not Ready.
	ReasonProviderNotReady = "ProviderNotReady"
	// ReasonDependencyNotReady: a resource this one refers to (organizationRef, repositoryRef, ...) is
	// missing or not Ready.
	ReasonDependencyNotReady = "DependencyNotReady"
	// ReasonForbidden: the provider's user may not do this.
	ReasonForbidden = "Forbidden"
	// ReasonConflict: another resource claims the same Gitea object, or a rename's new name is taken.
	ReasonConflict = "Conflict"
	// ReasonRateLimited: Gitea asked to slow down.
	ReasonRateLimited = "RateLimited"
	// ReasonLocked (Synced): Gitea refuses to change the object in its present state (the repository that
	// holds it is archived); the spec is applied again at the next sync.
	ReasonLocked = "Locked"
	// ReasonDeleteRefused: Gitea refused the delete (an organization that still owns repositories); it is
	// retried.
	ReasonDeleteRefused = "DeleteRefused"
)

// ResourceFinalizer keeps a managed resource until its Gitea object is deleted or orphaned.
const ResourceFinalizer = "gitea.kemper.buzz/managed"

// CreatePendingAnnotation is set on a resource just before its object is created, and removed once the
// status records the origin, or at once when the create was refused: an object found while it is there was
// created by us, with Gitea's answer or the status write lost.
const CreatePendingAnnotation = "gitea.kemper.buzz/create-pending"

// SyncRequestAnnotation, set or changed on a resource (to any value, such as the time), makes the operator
// compare it with Gitea at once instead of at the next sync interval:
//
//	kubectl annotate organization acme gitea.kemper.buzz/sync-requested-at="$(date +%s)" --overwrite
const SyncRequestAnnotation = "gitea.kemper.buzz/sync-requested-at"
