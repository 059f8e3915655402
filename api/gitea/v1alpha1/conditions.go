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

// Condition types of a GiteaProvider.
const (
	// ConditionReady is True when the provider can work with its Gitea; its reason says what is wrong
	// otherwise.
	ConditionReady = "Ready"
	// ConditionInUse is True while managed resources reference the provider; its message names them.
	ConditionInUse = "InUse"
)

// Reasons of a GiteaProvider's Ready condition. Each says what to fix.
const (
	// ReasonConnected: Gitea answered, the credentials work and the version is supported.
	ReasonConnected = "Connected"
	// ReasonUnauthorized: Gitea refused the credentials (a wrong or revoked token, a wrong password).
	ReasonUnauthorized = "Unauthorized"
	// ReasonUnreachable: Gitea did not answer (DNS, connection refused, time-out, 5xx).
	ReasonUnreachable = "Unreachable"
	// ReasonTLSError: Gitea's certificate could not be verified (set tls.caBundle).
	ReasonTLSError = "TLSError"
	// ReasonSecretNotFound: the credentials Secret, one of its keys, or the CA bundle is missing.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonInvalidSpec: the spec cannot be used as it is (the message says which field and why), or the
	// url is outside the operator's --gitea-allowed-hosts.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonUnsupportedVersion: the Gitea is older than the oldest supported version.
	ReasonUnsupportedVersion = "UnsupportedVersion"
	// ReasonDeleting: the provider is being deleted and waits for the resources that use it.
	ReasonDeleting = "Deleting"
)

// Reasons of a GiteaProvider's InUse condition.
const (
	// ReasonResourcesReference: managed resources reference the provider.
	ReasonResourcesReference = "ResourcesReference"
	// ReasonUnused: no managed resource references the provider.
	ReasonUnused = "Unused"
)

// MinimumGiteaVersion is the oldest Gitea the provider works with.
const MinimumGiteaVersion = "1.22.0"

// ProviderFinalizer keeps a GiteaProvider while resources still use it.
const ProviderFinalizer = "gitea.kemper.buzz/provider"
