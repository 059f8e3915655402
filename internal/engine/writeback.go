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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeBack writes out, the object a script printed on exit 2 or gave in its batch entry (see
// WrittenBack). The update carries the input's resourceVersion, so a concurrent change is a conflict, not
// a lost update; status goes through the status subresource when the kind has one.
func (r *reconciler) writeBack(ctx context.Context, in, out *unstructured.Unstructured) error {
	key := client.ObjectKeyFromObject(in)
	out.SetResourceVersion(in.GetResourceVersion())
	unstructured.RemoveNestedField(out.Object, "metadata", "managedFields")

	inStatus, hadStatus := in.Object["status"]
	outStatus, hasStatus := out.Object["status"]
	statusChanged := hasStatus && (!hadStatus || !reflect.DeepEqual(inStatus, outStatus))

	return r.engine.write(ctx, func(ctx context.Context) error {
		if !sameExceptStatus(in, out, r.sc.kind.hasStatus) {
			if err := r.engine.client.Update(ctx, out); err != nil {
				return err
			}
			r.own.add(key, out.GetResourceVersion())
		}
		if statusChanged && r.sc.kind.hasStatus {
			out.Object["status"] = outStatus
			if err := r.engine.client.Status().Update(ctx, out); err != nil {
				return err
			}
			r.own.add(key, out.GetResourceVersion())
		}
		return nil
	})
}

// sameExceptStatus compares what an update of the main resource would change. Without a status
// subresource, status is part of the main resource.
func sameExceptStatus(in, out *unstructured.Unstructured, separateStatus bool) bool {
	a, b := in.DeepCopy(), out.DeepCopy()
	for _, o := range []*unstructured.Unstructured{a, b} {
		unstructured.RemoveNestedField(o.Object, "metadata", "managedFields")
		unstructured.RemoveNestedField(o.Object, "metadata", "resourceVersion")
		if separateStatus {
			delete(o.Object, "status")
		}
	}
	return reflect.DeepEqual(a.Object, b.Object)
}

// WrittenBack returns the object a script's stdout would write back: stdout decoded as one YAML 1.2
// document (JSON included), accepted when it names the same object as in. YAML 1.2 matters: nu writes
// `yes` unquoted, which YAML 1.1 would turn into true.
func WrittenBack(in *unstructured.Unstructured, stdout []byte) (*unstructured.Unstructured, bool) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(stdout))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, false
	}
	normal, err := jsonCompatible(doc)
	if err != nil {
		return nil, false
	}
	m, ok := normal.(map[string]any)
	if !ok {
		return nil, false
	}
	return WrittenBackObject(in, m)
}

// WrittenBackObject returns printed, a decoded object (in JSON's types), as the object to write back for
// in, when it has in's apiVersion, kind, namespace and name. It does not copy printed.
func WrittenBackObject(in *unstructured.Unstructured, printed map[string]any) (*unstructured.Unstructured, bool) {
	out := &unstructured.Unstructured{Object: printed}
	if out.GetAPIVersion() != in.GetAPIVersion() || out.GetKind() != in.GetKind() ||
		out.GetNamespace() != in.GetNamespace() || out.GetName() != in.GetName() {
		return nil, false
	}
	return out, true
}

// jsonCompatible turns a decoded YAML value into the types unstructured objects hold (JSON's).
func jsonCompatible(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			n, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("non-string key %v", k)
			}
			n, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			m[ks] = n
		}
		return m, nil
	case []any:
		for i, e := range t {
			n, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
		return t, nil
	case int:
		return int64(t), nil
	case uint64:
		if t > math.MaxInt64 {
			return float64(t), nil
		}
		return int64(t), nil
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			// Whole numbers stay integers, as they arrived in the input.
			return int64(t), nil
		}
		return t, nil
	case time.Time:
		return t.UTC().Format(time.RFC3339), nil
	case string, bool, int64, nil:
		return t, nil
	default:
		return nil, fmt.Errorf("unsupported value %T", v)
	}
}
