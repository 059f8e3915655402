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
	"slices"
	"strings"
)

// What the adapters compare the spec with Gitea by. Only what the spec sets is managed: a nil field is left
// as Gitea has it.

// drift collects the managed fields that differ.
type drift struct{ fields []string }

func (d *drift) check(field string, differs bool) {
	if differs {
		d.fields = append(d.fields, field)
	}
}

// str compares a managed string (nil: unmanaged).
func (d *drift) str(field string, want *string, got string) {
	d.check(field, want != nil && *want != got)
}

// boolean compares a managed bool (nil: unmanaged).
func (d *drift) boolean(field string, want *bool, got bool) {
	d.check(field, want != nil && *want != got)
}

func deref[V any](p *V) V {
	var zero V
	if p == nil {
		return zero
	}
	return *p
}

// or is the managed value when set, else what Gitea has.
func or[V any](want *V, got V) V {
	if want == nil {
		return got
	}
	return *want
}

// sortedSet is in sorted, without repeats: a list compared as a set.
func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// stringsOf is a list of names as plain strings.
func stringsOf[S ~string](in []S) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, string(s))
	}
	return out
}

func containsFold(names []string, name string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

// sameNames compares two name lists as sets, ignoring case (as Gitea compares user, team and repository
// names).
func sameNames(a, b []string) bool {
	return !slices.ContainsFunc(a, func(n string) bool { return !containsFold(b, n) }) &&
		!slices.ContainsFunc(b, func(n string) bool { return !containsFold(a, n) })
}
