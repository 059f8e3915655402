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

package utils

import (
	"errors"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// notChecked is the API server's note that it skipped CEL rules because of other errors: not a cause.
const notChecked = "some validation rules were not checked because the object was invalid"

// InvalidCauses are the field errors of an Invalid answer from the API server, as "field: message", so an
// admission test can assert exactly which rule rejected an object and what it said.
func InvalidCauses(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range status.Status().Details.Causes {
		if strings.Contains(c.Message, notChecked) {
			continue
		}
		out = append(out, c.Field+": "+c.Message)
	}
	return out
}
