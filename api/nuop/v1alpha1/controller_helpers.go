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

import corev1 "k8s.io/api/core/v1"

// Names the manager's NuOperator controller and the managed operator agree on.
const (
	// ManagerFinalizer is held by the manager on every NuOperator. On deletion it waits for the managed
	// operator to release its scripts' finalizers (ScriptsLoaded with reason FinalizersReleased), for the
	// managed operator to be gone, for FinalizerReleaseTimeout, or for SkipFinalizerReleaseAnnotation, and
	// then removes it (SCRIPT-PROTOCOL section 5).
	ManagerFinalizer = "kemper.buzz/nuoperator"

	// SkipFinalizerReleaseAnnotation set to "true" on a NuOperator being deleted lets it go at once, without
	// waiting for the managed operator to release its scripts' finalizers. A Warning event names the
	// finalizers left behind and the command that releases them.
	SkipFinalizerReleaseAnnotation = "nuop.kemper.buzz/skip-finalizer-release"

	// ManagerFieldManager is the field manager of everything the manager applies: the objects it derives
	// from a NuOperator and its part of the status (observedGeneration, Ready, DeploymentAvailable,
	// deploymentName, readyReplicas).
	ManagerFieldManager = "nuop-manager"

	// NuOperatorLabel on an object the manager derives from a NuOperator names that NuOperator.
	NuOperatorLabel = "nuop.kemper.buzz/nuoperator"
	// ManagedByLabel is the standard managed-by label; its value is ManagerFieldManager on every object the
	// manager derives from a NuOperator (the manager's caches select on it).
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// More condition reasons.
const (
	// ReasonWaitingForScripts (Ready False): the Deployment is available but the managed operator has not
	// reported its scripts (no ScriptsLoaded condition yet).
	ReasonWaitingForScripts = "WaitingForScripts"
	// ReasonNoImage (Ready and DeploymentAvailable False): spec.image is unset and the manager does not know
	// its own image (neither its NUOP_IMAGE environment variable nor its own Pod tells it; the message says
	// why the Pod did not); set either.
	ReasonNoImage = "NoImage"
	// ReasonDefaultServiceAccount (Ready and DeploymentAvailable False): spec.serviceAccountName is
	// "default". The manager never grants the managed operator's permissions to the namespace's default
	// ServiceAccount, which every pod of the namespace runs as: name another one, or leave it empty for one
	// of the manager's own (<name>-nuop).
	ReasonDefaultServiceAccount = "DefaultServiceAccount"
	// ReasonConflict (Ready and DeploymentAvailable False): an object the manager would derive from the
	// NuOperator (<name>-nuop) exists and belongs to someone else; the message names it.
	ReasonConflict = "Conflict"
)

// CredentialSourceFile in a source's credentials directory (the fetch sidecar's --credentials-path/<index
// in spec.sources>) holds the spec.sources[].path the directory's credentials belong to. While a pod made for
// an older spec still runs, the indexes of a newer spec may name other sources: the fetcher compares this
// file with the source's path before it uses the credentials.
const CredentialSourceFile = "source"

// CredentialFiles are the file names each credential key is mounted as in a source's credentials directory,
// in the order the fields appear in the API.
var CredentialFiles = []struct {
	File     string
	Selector func(*Credentials) *corev1.SecretKeySelector
}{
	{"token", func(c *Credentials) *corev1.SecretKeySelector { return c.Token }},
	{"username", func(c *Credentials) *corev1.SecretKeySelector { return c.Username }},
	{"password", func(c *Credentials) *corev1.SecretKeySelector { return c.Password }},
	{"ssh-privatekey", func(c *Credentials) *corev1.SecretKeySelector { return c.SSHPrivateKey }},
	{"known_hosts", func(c *Credentials) *corev1.SecretKeySelector { return c.KnownHosts }},
	{"ca.crt", func(c *Credentials) *corev1.SecretKeySelector { return c.CABundle }},
}
