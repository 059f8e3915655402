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
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestAPIErrorReason: a write-back's refusal goes into an event by its code, reason and fields, never
// with the API server's message, which quotes the value the script printed.
func TestAPIErrorReason(t *testing.T) {
	const printed = "s3cr3t-printed-by-the-script"
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "example.com", Kind: "Widget"}, "w", field.ErrorList{
		field.Invalid(field.NewPath("spec", "size"), printed, "must be a number"),
		field.Invalid(field.NewPath("spec", "size"), printed+"-again", "must be positive"),
		field.Invalid(field.NewPath("metadata", "labels"), printed, "too long"),
	})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"invalid, each field once", invalid, "the API server refused it: 422 Invalid (spec.size, metadata.labels)"},
		{"wrapped", fmt.Errorf("updating: %w", invalid), "the API server refused it: 422 Invalid (spec.size, metadata.labels)"},
		{"forbidden, no causes", apierrors.NewForbidden(schema.GroupResource{Resource: "widgets"}, "w", errors.New(printed)),
			"the API server refused it: 403 Forbidden"},
		{"not from the API server", errors.New("dial tcp: connection refused"), "dial tcp: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, apiErrorReason(tc.err)); diff != "" {
				t.Errorf("apiErrorReason (-want +got):\n%s", diff)
			}
		})
	}
}
