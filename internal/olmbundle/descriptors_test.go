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

package olmbundle

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// widgetCRD is a small CRD with the field shapes descriptors meet: scalars, an enum, a nested reference,
// a list of objects and conditions.
const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              enabled: {type: boolean}
              mode: {type: string, enum: [Fast, Slow]}
              secretRef:
                type: object
                properties:
                  name: {type: string}
              items:
                type: array
                items:
                  type: object
                  properties:
                    name: {type: string}
          status:
            type: object
            properties:
              url: {type: string}
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
  - name: v0
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
`

func readWidgetCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal([]byte(widgetCRD), crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

func desc(path string, x ...string) Descriptor {
	return Descriptor{Path: path, DisplayName: path, Description: "the " + path, XDescriptors: x}
}

// goodWidget is an owned entry that fits widgetCRD.
func goodWidget() CRDDescription {
	return CRDDescription{
		Name: "widgets.example.com", Version: "v1", Kind: "Widget", DisplayName: "Widget", Description: "A widget.",
		SpecDescriptors: []Descriptor{
			desc("size", "urn:alm:descriptor:com.tectonic.ui:podCount"),
			desc("enabled", "urn:alm:descriptor:com.tectonic.ui:booleanSwitch"),
			desc("mode", "urn:alm:descriptor:com.tectonic.ui:select:Fast", "urn:alm:descriptor:com.tectonic.ui:select:Slow"),
			desc("secretRef"),
			desc("secretRef.name", "urn:alm:descriptor:io.kubernetes:Secret"),
			desc("items[0].name", "urn:alm:descriptor:com.tectonic.ui:arrayFieldGroup:items",
				"urn:alm:descriptor:com.tectonic.ui:text"),
		},
		StatusDescriptors: []Descriptor{
			desc("conditions", "urn:alm:descriptor:io.kubernetes.conditions"),
			desc("url", "urn:alm:descriptor:org.w3:link"),
		},
	}
}

func TestCheckOwnedCRDAcceptsAFittingEntry(t *testing.T) {
	if err := CheckOwnedCRD(goodWidget(), readWidgetCRD(t)); err != nil {
		t.Fatalf("a fitting entry was refused: %v", err)
	}
}

func TestCheckOwnedCRDFindsEachMistake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *CRDDescription)
		want   string
	}{
		{"another kind", func(d *CRDDescription) { d.Kind = "Gadget" }, `kind "Gadget" is not the CRD's kind "Widget"`},
		{"a version not served", func(d *CRDDescription) { d.Version = "v0" }, `version "v0" is not a served version`},
		{"an unknown version", func(d *CRDDescription) { d.Version = "v2" }, `version "v2" is not a served version`},
		{"no display name", func(d *CRDDescription) { d.DisplayName = "" }, "displayName and description are required"},
		{"no spec descriptors", func(d *CRDDescription) { d.SpecDescriptors = nil }, "no spec descriptors"},
		{"no conditions descriptor", func(d *CRDDescription) { d.StatusDescriptors = d.StatusDescriptors[1:] },
			"no status descriptor of path conditions"},
		{"a path that is not in the schema", func(d *CRDDescription) { d.SpecDescriptors[0].Path = "sizes" },
			`spec descriptor "sizes": no field "sizes" in the CRD's spec schema`},
		{"a nested path that is not in the schema", func(d *CRDDescription) { d.SpecDescriptors[4].Path = "secretRef.key" },
			`no field "key"`},
		{"a status path looked for in the spec", func(d *CRDDescription) { d.SpecDescriptors[0].Path = "url" },
			`no field "url" in the CRD's spec schema`},
		{"an index into something that is not a list", func(d *CRDDescription) { d.SpecDescriptors[4].Path = "secretRef[0].name" },
			`field "secretRef" is not a list`},
		{"a path listed twice", func(d *CRDDescription) { d.SpecDescriptors[1].Path = "size" }, `spec descriptor "size": listed twice`},
		{"a boolean switch on an integer", func(d *CRDDescription) {
			d.SpecDescriptors[0].XDescriptors = []string{"urn:alm:descriptor:com.tectonic.ui:booleanSwitch"}
		}, "fits a field of type boolean, not integer"},
		{"a Secret reference on an object", func(d *CRDDescription) {
			d.SpecDescriptors[3].XDescriptors = []string{"urn:alm:descriptor:io.kubernetes:Secret"}
		}, "fits a field of type string, not object"},
		{"a select option the enum lacks", func(d *CRDDescription) {
			d.SpecDescriptors[2].XDescriptors = []string{"urn:alm:descriptor:com.tectonic.ui:select:Medium"}
		}, `option "Medium" is not one of the field's enum values`},
		{"an array field group the path does not go through", func(d *CRDDescription) {
			d.SpecDescriptors[5].XDescriptors = []string{"urn:alm:descriptor:com.tectonic.ui:arrayFieldGroup:others"}
		}, `the path does not go through a list "others"`},
		{"a misspelt x-descriptor", func(d *CRDDescription) {
			d.SpecDescriptors[1].XDescriptors = []string{"urn:alm:descriptor:com.tectonic.ui:booleanswitch"}
		}, "unknown x-descriptor"},
		{"a spec x-descriptor on status", func(d *CRDDescription) {
			d.StatusDescriptors[1].XDescriptors = []string{"urn:alm:descriptor:com.tectonic.ui:text"}
		}, "is not for status descriptors"},
		{"conditions on a field that holds no conditions", func(d *CRDDescription) {
			d.StatusDescriptors[1].XDescriptors = []string{"urn:alm:descriptor:io.kubernetes.conditions"}
		}, "fits a field of type array, not string"},
		{"a reference without a kind", func(d *CRDDescription) {
			d.SpecDescriptors[4].XDescriptors = []string{"urn:alm:descriptor:io.kubernetes:"}
		}, "needs an argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := goodWidget()
			tc.change(&d)
			err := CheckOwnedCRD(d, readWidgetCRD(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestCheckOwnedCRDsPairsEntriesWithCRDs(t *testing.T) {
	crd := readWidgetCRD(t)
	other := crd.DeepCopy()
	other.Name, other.Spec.Names.Kind = "gadgets.example.com", "Gadget"
	for _, tc := range []struct {
		name  string
		owned []CRDDescription
		crds  []*apiextensionsv1.CustomResourceDefinition
		want  string
	}{
		{"a CRD without an entry", []CRDDescription{goodWidget()}, []*apiextensionsv1.CustomResourceDefinition{crd, other},
			"CRD gadgets.example.com (Gadget) has no owned entry"},
		{"an entry without a CRD", []CRDDescription{goodWidget()}, nil, "owned CRD widgets.example.com: no such CRD"},
		{"an entry twice", []CRDDescription{goodWidget(), goodWidget()}, []*apiextensionsv1.CustomResourceDefinition{crd},
			"listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOwnedCRDs(tc.owned, tc.crds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	if err := CheckOwnedCRDs([]CRDDescription{goodWidget()}, []*apiextensionsv1.CustomResourceDefinition{crd}); err != nil {
		t.Fatalf("one CRD, its entry: %v", err)
	}
}
