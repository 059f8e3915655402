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

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"

	"kemper.buzz/nuop/internal/script"
)

// kindInfo is what discovery says about a script's kind; nothing is guessed (nuop guessed plurals).
type kindInfo struct {
	gvk        schema.GroupVersionKind
	resource   schema.GroupVersionResource
	namespaced bool
	hasStatus  bool
}

// errKindNotServed means the API server does not serve the kind (yet): its CRD may be installed later.
var errKindNotServed = errors.New("kind not served")

// resourcesFor lists the resources of one group/version: discovery's ServerResourcesForGroupVersion, or
// a memo of it that one sync pass shares among scripts of the same group/version.
type resourcesFor func(groupVersion string) (*metav1.APIResourceList, error)

// memoized asks discovery once per group/version.
func memoized(dc discovery.DiscoveryInterface) resourcesFor {
	type answer struct {
		list *metav1.APIResourceList
		err  error
	}
	seen := map[string]answer{}
	return func(gv string) (*metav1.APIResourceList, error) {
		a, ok := seen[gv]
		if !ok {
			a.list, a.err = dc.ServerResourcesForGroupVersion(gv)
			seen[gv] = a
		}
		return a.list, a.err
	}
}

// resolveKind finds the resource of cfg's kind through discovery.
func resolveKind(resources resourcesFor, cfg script.Config) (kindInfo, error) {
	gvk := cfg.GVK()
	list, err := resources(gvk.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return kindInfo{}, fmt.Errorf("%w: the API server serves no %s", errKindNotServed, gvk.GroupVersion())
	}
	if err != nil {
		return kindInfo{}, fmt.Errorf("discovering %s: %w", gvk.GroupVersion(), err)
	}
	info := kindInfo{gvk: gvk}
	found := false
	for _, r := range list.APIResources {
		if r.Kind == gvk.Kind && !strings.Contains(r.Name, "/") {
			info.resource = gvk.GroupVersion().WithResource(r.Name)
			info.namespaced = r.Namespaced
			found = true
		}
	}
	if !found {
		return kindInfo{}, fmt.Errorf("%w: %s serves no kind %s", errKindNotServed, gvk.GroupVersion(), gvk.Kind)
	}
	for _, r := range list.APIResources {
		if r.Name == info.resource.Resource+"/status" {
			info.hasStatus = true
		}
	}
	if cfg.Namespace != "" && !info.namespaced {
		return kindInfo{}, fmt.Errorf("namespace %q is set but %s is cluster-scoped", cfg.Namespace, gvk.Kind)
	}
	return info, nil
}

// probeFieldSelector lists at most one object with the script's selectors, because an unsupported field
// selector would otherwise leave the watch failing forever, silently.
func probeFieldSelector(ctx context.Context, mc metadata.Interface, info kindInfo, cfg script.Config) error {
	fs, err := cfg.FieldSelectorParsed()
	if err != nil || fs.Empty() {
		return err
	}
	res := mc.Resource(info.resource)
	var lister metadata.ResourceInterface = res
	if cfg.Namespace != "" {
		lister = res.Namespace(cfg.Namespace)
	}
	if _, err := lister.List(ctx, metav1.ListOptions{FieldSelector: fs.String(), Limit: 1}); err != nil {
		return fmt.Errorf("field selector %q is not supported for %s: %w", fs.String(), info.gvk.Kind, err)
	}
	return nil
}

// Resource finds the resource of gvk through discovery.
func Resource(dc discovery.DiscoveryInterface, gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
	return Resources(dc)(gvk)
}

// Resources finds resources of kinds through discovery, asking it once per group/version. An error
// IsNotServed says is a kind the API server does not serve (its CRD is not installed).
func Resources(dc discovery.DiscoveryInterface) func(schema.GroupVersionKind) (schema.GroupVersionResource, error) {
	resources := memoized(dc)
	return func(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
		info, err := resolveKind(resources, script.Config{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind})
		return info.resource, err
	}
}

// IsNotServed reports whether err says the API server does not serve a kind.
func IsNotServed(err error) bool { return errors.Is(err, errKindNotServed) }
