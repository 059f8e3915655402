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
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Release selects the objects ReleaseFinalizers acts on.
type Release struct {
	Resource  schema.GroupVersionResource
	Kind      schema.GroupVersionKind
	Finalizer string
	// Instance limits the release to objects whose owner entry names it; "" releases every owner's.
	Instance string
	// Namespace limits the release to one namespace; "" is all.
	Namespace string
}

// ReleaseFinalizers removes a finalizer from the objects r selects, without running anything. It is how
// a removed script lets go of its objects, and what `manager finalizers release` does by hand. released
// is called for each object released; the count is returned even on error.
func ReleaseFinalizers(ctx context.Context, mc metadata.Interface, c client.Client, r Release,
	released func(client.Object)) (int, error) {
	count := 0
	var errs []error
	opts := metav1.ListOptions{Limit: 500}
	var lister metadata.ResourceInterface = mc.Resource(r.Resource)
	if r.Namespace != "" {
		lister = mc.Resource(r.Resource).Namespace(r.Namespace)
	}
	for {
		list, err := lister.List(ctx, opts)
		if apierrors.IsNotFound(err) {
			// The kind is no longer served (its CRD was deleted): no object is left to hold the finalizer.
			return count, nil
		}
		if err != nil {
			return count, fmt.Errorf("listing %s: %w", r.Resource.Resource, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if !slices.Contains(item.GetFinalizers(), r.Finalizer) {
				continue
			}
			if r.Instance != "" && owners(item)[r.Finalizer] != r.Instance {
				continue
			}
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(r.Kind)
			obj.SetNamespace(item.Namespace)
			obj.SetName(item.Name)
			obj.SetResourceVersion(item.ResourceVersion)
			obj.SetFinalizers(item.Finalizers)
			obj.SetAnnotations(item.Annotations)
			if err := removeFinalizer(ctx, c, obj, r.Finalizer); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("%s/%s: %w", item.Namespace, item.Name, err))
				continue
			}
			count++
			if released != nil {
				released(obj)
			}
		}
		if list.Continue == "" {
			return count, errors.Join(errs...)
		}
		opts.Continue = list.Continue
	}
}
