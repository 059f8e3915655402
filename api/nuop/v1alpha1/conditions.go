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

// Condition types of a NuOperator. The manager writes Ready and DeploymentAvailable, the managed operator
// ScriptsLoaded and SourcesFetched, each with its own field manager.
const (
	// ConditionReady summarises the others: True when the Deployment is available, the mapped scripts are
	// loaded and the sources fetched. When False its reason is the first failing condition's.
	ConditionReady = "Ready"
	// ConditionDeploymentAvailable is True when the managed operator's Deployment has its ready replicas.
	ConditionDeploymentAvailable = "DeploymentAvailable"
	// ConditionScriptsLoaded is True when every mapped script is loaded and runs.
	ConditionScriptsLoaded = "ScriptsLoaded"
	// ConditionSourcesFetched is True when every source is fetched at its current revision.
	ConditionSourcesFetched = "SourcesFetched"
)

// Condition reasons written by the manager (Ready, DeploymentAvailable).
const (
	// ReasonAvailable (Ready True): everything asked for runs.
	ReasonAvailable = "Available"
	// ReasonNoMappings: the spec maps no script, so there is nothing to run; add spec.mappings.
	ReasonNoMappings = "NoMappings"
	// ReasonDeploymentAvailable: the Deployment has its ready replicas.
	ReasonDeploymentAvailable = "DeploymentAvailable"
	// ReasonDeploymentProgressing: the Deployment is rolling out; its pods are not ready yet.
	ReasonDeploymentProgressing = "DeploymentProgressing"
	// ReasonDeploymentUnavailable: no pod of the Deployment is ready (the message says why: image pull,
	// crash loop, scheduling, ...).
	ReasonDeploymentUnavailable = "DeploymentUnavailable"
	// ReasonDeploymentFailed: the rollout exceeded its progress deadline.
	ReasonDeploymentFailed = "DeploymentFailed"
	// ReasonScaledToZero: spec.replicas is 0, so the managed operator is stopped on purpose.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonApplyFailed: the manager could not create or update an object it owns (the message names it).
	ReasonApplyFailed = "ApplyFailed"
	// ReasonForbidden: the manager lacks a permission it needs, or would have to grant one it does not hold.
	ReasonForbidden = "Forbidden"
	// ReasonWaitingForManagedOperator: the Deployment runs but the managed operator has not reported the
	// current generation yet.
	ReasonWaitingForManagedOperator = "WaitingForManagedOperator"
	// ReasonDeleting: the NuOperator is being deleted; the managed operator is releasing its scripts'
	// finalizers.
	ReasonDeleting = "Deleting"
	// ReasonReleasingFinalizers: spec.mappings is empty; the managed operator is releasing its scripts'
	// finalizers (ScriptsLoaded), and the manager keeps its Deployment until it has (Ready).
	ReasonReleasingFinalizers = "ReleasingFinalizers"
)

// Condition reasons written by the managed operator (ScriptsLoaded, SourcesFetched).
const (
	// ReasonScriptsLoaded: every mapped script is loaded and runs.
	ReasonScriptsLoaded = "ScriptsLoaded"
	// ReasonLoading: scripts are being loaded.
	ReasonLoading = "Loading"
	// ReasonScriptNotFound: a mapping names a script that no source and no bundled root holds.
	ReasonScriptNotFound = "ScriptNotFound"
	// ReasonScriptMismatched: a mapping's group, version or kind differs from its script's config.
	ReasonScriptMismatched = "ScriptMismatched"
	// ReasonScriptFailed: a script failed to load (its config, selectors or kind); status.scripts says which.
	ReasonScriptFailed = "ScriptFailed"
	// ReasonScriptDegraded: an edited script failed to load; its last good version keeps running.
	ReasonScriptDegraded = "ScriptDegraded"
	// ReasonKindNotServed: a script's kind is not served (yet); it starts when the CRD appears.
	ReasonKindNotServed = "KindNotServed"
	// ReasonSourcesFetched: every source is fetched at its current revision.
	ReasonSourcesFetched = "SourcesFetched"
	// ReasonNoSources: the spec has no sources; only the image's bundled scripts are used.
	ReasonNoSources = "NoSources"
	// ReasonFetching: a source has not been fetched yet.
	ReasonFetching = "Fetching"
	// ReasonFetchFailed: a fetch failed (the message and status.sources say why); the last good revision
	// stays in use.
	ReasonFetchFailed = "FetchFailed"
	// ReasonAuthenticationFailed: the git server refused the source's credentials, or a host key or
	// certificate did not verify.
	ReasonAuthenticationFailed = "AuthenticationFailed"
	// ReasonSecretNotFound: a Secret or key that credentials select does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonFinalizersReleased (ScriptsLoaded False, on deletion or with spec.mappings empty): the managed
	// operator stopped every script and released its scripts' finalizers; the manager may let the
	// NuOperator go, or remove its Deployment.
	ReasonFinalizersReleased = "FinalizersReleased"
)

// States of a mapped script (status.scripts[].state).
const (
	// ScriptRunning: loaded; its controller runs.
	ScriptRunning ScriptState = "Running"
	// ScriptPending: loaded, but its kind is not served yet.
	ScriptPending ScriptState = "Pending"
	// ScriptFailed: it failed to load and has no earlier good version.
	ScriptFailed ScriptState = "Failed"
	// ScriptDegraded: an edit failed to load; the last good version keeps running.
	ScriptDegraded ScriptState = "Degraded"
	// ScriptNotFound: the mapping names a script that is nowhere.
	ScriptNotFound ScriptState = "NotFound"
	// ScriptMismatched: the script reconciles another group, version or kind than its mapping says.
	ScriptMismatched ScriptState = "Mismatched"
)
