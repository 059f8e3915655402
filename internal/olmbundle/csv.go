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

// Package olmbundle makes an OLM registry+v1 bundle out of `kustomize build config/manifests`, laid out as
// `operator-sdk generate bundle` lays it out, and checks a ClusterServiceVersion's owned CRDs against the
// CRDs they describe.
//
// operator-framework/api, which has the ClusterServiceVersion types and OLM's validators, cannot be had
// from the module proxy at a version that builds with this project's Kubernetes libraries; the types below
// are the part of its ClusterServiceVersion this package reads, with the same JSON names. They are no API
// of this project: the marker below keeps controller-gen from making a CRD of CSV.
//
// +kubebuilder:skip
package olmbundle

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// CSV is a ClusterServiceVersion (operators.coreos.com/v1alpha1), the fields this package reads.
type CSV struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              CSVSpec `json:"spec"`
}

// CSVSpec is the part of a ClusterServiceVersion's spec this package reads.
type CSVSpec struct {
	Version                   string                    `json:"version"`
	InstallModes              []InstallMode             `json:"installModes,omitempty"`
	CustomResourceDefinitions CustomResourceDefinitions `json:"customresourcedefinitions"`
	Install                   Install                   `json:"install"`
	RelatedImages             []RelatedImage            `json:"relatedImages,omitempty"`
}

// InstallMode says whether the operator can serve one kind of OperatorGroup.
type InstallMode struct {
	Type      string `json:"type"`
	Supported bool   `json:"supported"`
}

// CustomResourceDefinitions lists the CRDs the operator owns.
type CustomResourceDefinitions struct {
	Owned []CRDDescription `json:"owned,omitempty"`
}

// CRDDescription describes one owned CRD version for OLM and the console.
type CRDDescription struct {
	Name              string                 `json:"name"`
	Version           string                 `json:"version"`
	Kind              string                 `json:"kind"`
	DisplayName       string                 `json:"displayName,omitempty"`
	Description       string                 `json:"description,omitempty"`
	Resources         []APIResourceReference `json:"resources,omitempty"`
	SpecDescriptors   []Descriptor           `json:"specDescriptors,omitempty"`
	StatusDescriptors []Descriptor           `json:"statusDescriptors,omitempty"`
}

// APIResourceReference is a kind of object the operator makes for a custom resource.
type APIResourceReference struct {
	Name    string `json:"name,omitempty"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// Descriptor describes one field of a custom resource's spec or status; XDescriptors say how the console
// shows it.
type Descriptor struct {
	Path         string   `json:"path"`
	DisplayName  string   `json:"displayName,omitempty"`
	Description  string   `json:"description,omitempty"`
	XDescriptors []string `json:"x-descriptors,omitempty"`
}

// Install is the CSV's install strategy.
type Install struct {
	Strategy string      `json:"strategy"`
	Spec     InstallSpec `json:"spec"`
}

// InstallSpec is what OLM creates for the deployment strategy.
type InstallSpec struct {
	Deployments        []StrategyDeployment `json:"deployments"`
	Permissions        []Permission         `json:"permissions,omitempty"`
	ClusterPermissions []Permission         `json:"clusterPermissions,omitempty"`
}

// StrategyDeployment is one Deployment OLM creates in the operator's namespace.
type StrategyDeployment struct {
	Name  string                `json:"name"`
	Label map[string]string     `json:"label,omitempty"`
	Spec  appsv1.DeploymentSpec `json:"spec"`
}

// Permission is the rules OLM grants a service account: in its namespaces (permissions) or cluster-wide
// (clusterPermissions).
type Permission struct {
	ServiceAccountName string              `json:"serviceAccountName"`
	Rules              []rbacv1.PolicyRule `json:"rules"`
}

// RelatedImage is an image the operator uses, listed for disconnected mirroring.
type RelatedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// ReadCSV decodes a ClusterServiceVersion from YAML or JSON.
func ReadCSV(data []byte) (*CSV, error) {
	csv := &CSV{}
	if err := yaml.Unmarshal(data, csv); err != nil {
		return nil, fmt.Errorf("decoding the ClusterServiceVersion: %w", err)
	}
	if csv.Kind != csvKind {
		return nil, fmt.Errorf("want a ClusterServiceVersion, got kind %q", csv.Kind)
	}
	return csv, nil
}

// Owned returns the owned CRD description of a CRD name (plural.group), if the CSV has one.
func (c *CSV) Owned(crdName string) (CRDDescription, bool) {
	for _, d := range c.Spec.CustomResourceDefinitions.Owned {
		if d.Name == crdName {
			return d, true
		}
	}
	return CRDDescription{}, false
}
