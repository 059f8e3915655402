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

package gitea

import (
	"context"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// ProviderRefIndex indexes managed resources by the name of the GiteaProvider they use (spec.providerRef,
// always in their own namespace).
const ProviderRefIndex = "spec.providerRef.name"

// ManagedKind is a kind of managed resource, listed when a provider counts the resources that use it.
type ManagedKind struct {
	// Kind names the kind in the provider's status.
	Kind string
	// NewObject returns an empty object of the kind.
	NewObject func() client.Object
	// NewList returns an empty list of the kind; its objects are indexed by ProviderRefIndex.
	NewList func() client.ObjectList
}

// users lists the resources that use p, as "Kind/name", sorted.
func (r *ProviderReconciler) users(ctx context.Context, p *giteav1alpha1.GiteaProvider) ([]string, error) {
	var out []string
	for _, kind := range r.opts.ManagedKinds {
		list := kind.NewList()
		if err := r.client.List(ctx, list, client.InNamespace(p.Namespace),
			client.MatchingFields{ProviderRefIndex: p.Name}); err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			if o, ok := item.(client.Object); ok {
				out = append(out, kind.Kind+"/"+o.GetName())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
