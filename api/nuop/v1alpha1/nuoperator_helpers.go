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
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// DerivedNameSuffix is appended to a NuOperator's name to name the objects the manager derives from it:
	// the Deployment, its ServiceAccount and Role, and the value of its selector label.
	DerivedNameSuffix = "-nuop"
	// MaxNameLength is the longest NuOperator name: <name>-nuop must fit a label value (63 characters).
	MaxNameLength = 63 - len(DerivedNameSuffix)
	// SelectorLabel is the label key selecting the managed operator's pods (nuop's).
	SelectorLabel = "app"
	// BundledSource is status.scripts[].source for a script from the image's own script root.
	BundledSource = "bundled"
	// DefaultSourceInterval is a source's poll interval when spec.sources[].interval is unset.
	DefaultSourceInterval = 5 * time.Minute
	// MinSourceInterval is the shortest poll interval admitted.
	MinSourceInterval = 30 * time.Second
)

// DeploymentName is the name of the managed operator's Deployment, ServiceAccount and Role: <name>-nuop.
func (n *NuOperator) DeploymentName() string {
	return n.Name + DerivedNameSuffix
}

// SelectorLabels are the labels selecting the managed operator's pods: app: <name>-nuop.
func (n *NuOperator) SelectorLabels() map[string]string {
	return map[string]string{SelectorLabel: n.DeploymentName()}
}

// GroupVersionKind is the kind a mapping reconciles.
func (m *Mapping) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: m.Group, Version: m.Version, Kind: m.Kind}
}

// PollInterval is the source's interval, or DefaultSourceInterval when unset (the API server defaults it;
// objects built in code may not have it).
func (s *Source) PollInterval() time.Duration {
	if s.Interval == nil {
		return DefaultSourceInterval
	}
	return s.Interval.Duration
}
