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
	"encoding/json"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OwnersAnnotation maps each nuop finalizer on an object to the instance that added it, as a JSON object:
// {"<finalizer>": "<instance>"}. Releases, sweeps and onUnmatch act only on objects whose entry names
// this instance, so two instances sharing a script never release each other's objects. A map, not one
// value, because several scripts (and instances) may put finalizers on one object. A script's finalizer
// with no entry at all (put there by the Rust nuop, or an entry lost to a hand edit) is adopted by the
// instance whose script reconciles the object, and finalized by it on deletion: otherwise nothing would
// ever remove it.
const OwnersAnnotation = "nuop.kemper.buzz/finalizer-owners"

func owners(obj client.Object) map[string]string {
	m, _ := parseOwners(obj)
	return m
}

// parseOwners reads the annotation; false when it is there but unparsable.
func parseOwners(obj client.Object) (map[string]string, bool) {
	m := map[string]string{}
	v, ok := obj.GetAnnotations()[OwnersAnnotation]
	if !ok {
		return m, true
	}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		// A hand-edited, unparsable value owns nothing: never act on an object we cannot prove is ours.
		return map[string]string{}, false
	}
	return m, true
}

func setOwners(obj client.Object, m map[string]string) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	if len(m) == 0 {
		delete(ann, OwnersAnnotation)
	} else {
		b, _ := json.Marshal(m) // a map of strings always marshals
		ann[OwnersAnnotation] = string(b)
	}
	obj.SetAnnotations(ann)
}

// ownsFinalizer reports whether obj carries finalizer and this instance added it.
func ownsFinalizer(obj client.Object, finalizer, instance string) bool {
	return slices.Contains(obj.GetFinalizers(), finalizer) && owners(obj)[finalizer] == instance
}

// unowned reports whether obj carries finalizer with no owner entry for it (and a readable annotation):
// one this instance may adopt.
func unowned(obj client.Object, finalizer string) bool {
	m, readable := parseOwners(obj)
	_, owned := m[finalizer]
	return readable && !owned && slices.Contains(obj.GetFinalizers(), finalizer)
}

// claimFinalizer puts finalizer on obj, if it is not there yet, with this instance's owner entry (which
// adopts a finalizer without one). It is a merge patch carrying the resourceVersion, so a concurrent
// change (another controller's finalizer, another instance adopting) makes it fail with a conflict
// instead of being overwritten. It updates obj in place.
func claimFinalizer(ctx context.Context, c client.Client, obj *unstructured.Unstructured, finalizer, instance string) error {
	orig := obj.DeepCopy()
	if !slices.Contains(obj.GetFinalizers(), finalizer) {
		obj.SetFinalizers(append(obj.GetFinalizers(), finalizer))
	}
	m := owners(obj)
	m[finalizer] = instance
	setOwners(obj, m)
	return c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// removeFinalizer removes finalizer and its owner entry, with the same optimistic lock.
func removeFinalizer(ctx context.Context, c client.Client, obj *unstructured.Unstructured, finalizer string) error {
	orig := obj.DeepCopy()
	obj.SetFinalizers(slices.DeleteFunc(obj.GetFinalizers(), func(f string) bool { return f == finalizer }))
	m := owners(obj)
	delete(m, finalizer)
	setOwners(obj, m)
	return c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}
