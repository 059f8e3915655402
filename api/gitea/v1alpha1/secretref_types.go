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

import "k8s.io/apimachinery/pkg/types"

// SecretKeyReference names a key of a Secret in the referring resource's namespace: how a managed resource
// takes a secret value (a password, a webhook secret), never from a plain spec field.
type SecretKeyReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// SecretVersion is the version of a Secret whose value was last sent to Gitea. Gitea cannot show a
// write-only value back, so a new version of the Secret (a new uid or resourceVersion) is what says that
// the value must be sent again. It never holds the value, nor a hash of it.
type SecretVersion struct {
	// name of the Secret.
	Name string `json:"name"`
	// uid of the Secret (a Secret deleted and created again is a new one).
	UID types.UID `json:"uid"`
	// resourceVersion of the Secret.
	ResourceVersion string `json:"resourceVersion"`
}
