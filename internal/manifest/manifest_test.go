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

package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []string // kind/name of each object, in order
		wantErr bool
	}{
		{name: "empty stream", input: "", want: nil},
		{name: "documents, empty ones skipped", input: "---\nkind: A\nmetadata: {name: a}\n---\n---\nkind: B\nmetadata: {name: b}\n",
			want: []string{"A/a", "B/b"}},
		{name: "JSON", input: `{"kind": "A", "metadata": {"name": "a"}}`, want: []string{"A/a"}},
		{name: "broken YAML", input: "kind: A\n  name: [\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objects, err := Decode(strings.NewReader(tt.input))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Decode() error = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, o := range objects {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode() objects (-want +got):\n%s", diff)
			}
		})
	}
}
