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
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The sections of a custom resource a descriptor can describe.
const (
	specSection   = "spec"
	statusSection = "status"
)

const (
	uiPrefix         = "urn:alm:descriptor:com.tectonic.ui:"
	k8sPrefix        = "urn:alm:descriptor:io.kubernetes:"
	conditionsURN    = "urn:alm:descriptor:io.kubernetes.conditions"
	arrayFieldGroupX = uiPrefix + "arrayFieldGroup:"
	selectX          = uiPrefix + "select:"
)

// xDescriptor is one entry of OLM's descriptor vocabulary (the OLM descriptor reference): the sections it
// belongs to, the schema types of the fields it fits (none: any), and what its argument must be when the
// urn is a prefix (ends in ":").
type xDescriptor struct {
	urn      string
	sections []string
	types    []string
	arg      func(d Descriptor, leaf *apiextensionsv1.JSONSchemaProps, arg string) error
}

// JSON schema types.
const (
	stringType  = "string"
	booleanType = "boolean"
	arrayType   = "array"
	integerType = "integer"
)

var (
	specOnly      = []string{specSection}
	statusOnly    = []string{statusSection}
	specAndStatus = []string{specSection, statusSection}
	scalars       = []string{stringType, integerType, "number", booleanType}
	objectType    = []string{"object"}
)

var vocabulary = []xDescriptor{
	{urn: uiPrefix + "podCount", sections: specOnly, types: []string{integerType}},
	{urn: uiPrefix + "resourceRequirements", sections: specOnly, types: objectType},
	{urn: uiPrefix + "booleanSwitch", sections: specOnly, types: []string{booleanType}},
	{urn: uiPrefix + "checkbox", sections: specOnly, types: []string{booleanType}},
	{urn: uiPrefix + "text", sections: specOnly, types: []string{stringType}},
	{urn: uiPrefix + "number", sections: specOnly, types: []string{integerType, "number"}},
	{urn: uiPrefix + "password", sections: specOnly, types: []string{stringType}},
	{urn: uiPrefix + "imagePullPolicy", sections: specOnly, types: []string{stringType}},
	{urn: uiPrefix + "updateStrategy", sections: specOnly, types: objectType},
	{urn: uiPrefix + "nodeAffinity", sections: specOnly, types: objectType},
	{urn: uiPrefix + "podAffinity", sections: specOnly, types: objectType},
	{urn: uiPrefix + "podAntiAffinity", sections: specOnly, types: objectType},
	{urn: uiPrefix + "endpointList", sections: specOnly, types: []string{arrayType}},
	{urn: uiPrefix + "advanced", sections: specOnly},
	{urn: uiPrefix + "hidden", sections: specOnly},
	{urn: uiPrefix + "selector:", sections: specOnly, types: objectType, arg: nonEmpty},
	{urn: uiPrefix + "fieldGroup:", sections: specOnly, arg: nonEmpty},
	{urn: uiPrefix + "fieldDependency:", sections: specOnly, arg: nonEmpty},
	{urn: arrayFieldGroupX, sections: specOnly, arg: arrayInPath},
	{urn: selectX, sections: specOnly, types: []string{stringType}, arg: inEnum},
	{urn: uiPrefix + "podStatuses", sections: statusOnly, types: objectType},
	{urn: conditionsURN, sections: statusOnly, types: []string{arrayType}, arg: conditionItems},
	{urn: "urn:alm:descriptor:io.kubernetes.phase", sections: statusOnly, types: []string{stringType}},
	{urn: "urn:alm:descriptor:io.kubernetes.phase:reason", sections: statusOnly, types: []string{stringType}},
	{urn: "urn:alm:descriptor:text", sections: statusOnly, types: scalars},
	{urn: "urn:alm:descriptor:org.w3:link", sections: statusOnly, types: []string{stringType}},
	// A reference to an object by name: a kind of the core API ("Secret") or group:version:kind.
	{urn: k8sPrefix, sections: specAndStatus, types: []string{stringType}, arg: nonEmpty},
}

// CheckOwnedCRDs reports every way the owned CRDs of a CSV disagree with the CRDs the bundle installs: a
// CRD without an owned entry, an entry without its CRD, and what CheckOwnedCRD finds in each entry.
func CheckOwnedCRDs(owned []CRDDescription, crds []*apiextensionsv1.CustomResourceDefinition) error {
	byName := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, crd := range crds {
		byName[crd.Name] = crd
	}
	var errs []error
	seen := map[string]bool{}
	for _, d := range owned {
		crd, ok := byName[d.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("owned CRD %s: no such CRD is installed", d.Name))
		case seen[d.Name]:
			errs = append(errs, fmt.Errorf("owned CRD %s: listed twice", d.Name))
		default:
			errs = append(errs, CheckOwnedCRD(d, crd))
		}
		seen[d.Name] = true
	}
	for _, crd := range crds {
		if !seen[crd.Name] {
			errs = append(errs, fmt.Errorf("CRD %s (%s) has no owned entry in the CSV", crd.Name, crd.Spec.Names.Kind))
		}
	}
	return errors.Join(errs...)
}

// CheckOwnedCRD checks an owned CRD entry against its CRD: name, kind and a served version agree; it has a
// display name, a description, spec descriptors, status descriptors (the conditions one when the status
// has conditions); every descriptor names a field of that version's schema and fits it.
func CheckOwnedCRD(d CRDDescription, crd *apiextensionsv1.CustomResourceDefinition) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.Name != crd.Name {
		fail("name %q is not the CRD's name %q", d.Name, crd.Name)
	}
	if d.Kind != crd.Spec.Names.Kind {
		fail("kind %q is not the CRD's kind %q", d.Kind, crd.Spec.Names.Kind)
	}
	if d.DisplayName == "" || d.Description == "" {
		fail("displayName and description are required")
	}
	i := slices.IndexFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool {
		return v.Name == d.Version
	})
	if i < 0 || !crd.Spec.Versions[i].Served {
		fail("version %q is not a served version of the CRD", d.Version)
		return wrap(d, errs)
	}
	schema := crd.Spec.Versions[i].Schema
	if schema == nil || schema.OpenAPIV3Schema == nil {
		fail("the CRD's version %s has no schema", d.Version)
		return wrap(d, errs)
	}
	for _, part := range []struct {
		section     string
		descriptors []Descriptor
	}{{specSection, d.SpecDescriptors}, {statusSection, d.StatusDescriptors}} {
		section, descriptors := part.section, part.descriptors
		root, ok := schema.OpenAPIV3Schema.Properties[section]
		if !ok {
			if len(descriptors) > 0 {
				fail("%s descriptors, but the schema has no %s", section, section)
			}
			continue
		}
		if len(descriptors) == 0 {
			fail("no %s descriptors", section)
		}
		paths := map[string]bool{}
		for _, desc := range descriptors {
			if paths[desc.Path] {
				fail("%s descriptor %q: listed twice", section, desc.Path)
			}
			paths[desc.Path] = true
			if err := CheckDescriptor(section, &root, desc); err != nil {
				errs = append(errs, err)
			}
		}
		if _, ok := root.Properties["conditions"]; ok && section == statusSection && !hasConditions(descriptors) {
			fail("no status descriptor of path conditions with %s", conditionsURN)
		}
	}
	return wrap(d, errs)
}

func wrap(d CRDDescription, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("owned CRD %s (%s %s):\n%w", d.Name, d.Kind, d.Version, err)
	}
	return nil
}

func hasConditions(descriptors []Descriptor) bool {
	return slices.ContainsFunc(descriptors, func(d Descriptor) bool {
		return d.Path == "conditions" && slices.Contains(d.XDescriptors, conditionsURN)
	})
}

// CheckDescriptor checks one descriptor of a section (spec or status) against that section's schema: its
// path names a field ("a.b", "list[0].c"), it has a display name and a description, and each x-descriptor
// is one OLM knows, for this section, that fits the field's type.
func CheckDescriptor(section string, root *apiextensionsv1.JSONSchemaProps, d Descriptor) error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s descriptor %q: "+format, append([]any{section, d.Path}, args...)...))
	}
	if d.DisplayName == "" || d.Description == "" {
		fail("displayName and description are required")
	}
	leaf, err := resolve(root, d.Path)
	if err != nil {
		fail("%v in the CRD's %s schema", err, section)
		return errors.Join(errs...)
	}
	for _, x := range d.XDescriptors {
		entry, arg, ok := lookup(x)
		switch {
		case !ok:
			fail("unknown x-descriptor %s", x)
		case !slices.Contains(entry.sections, section):
			fail("x-descriptor %s is not for %s descriptors", x, section)
		case len(entry.types) > 0 && !slices.Contains(entry.types, schemaType(leaf)):
			fail("x-descriptor %s fits a field of type %s, not %s", x, strings.Join(entry.types, " or "), schemaType(leaf))
		case entry.arg != nil:
			if err := entry.arg(d, leaf, arg); err != nil {
				fail("x-descriptor %s: %v", x, err)
			}
		}
	}
	return errors.Join(errs...)
}

// lookup finds an x-descriptor in the vocabulary: an exact urn, else the longest prefix urn (the rest is
// its argument).
func lookup(x string) (xDescriptor, string, bool) {
	best := -1
	for i, e := range vocabulary {
		if e.urn == x {
			return e, "", true
		}
		if strings.HasSuffix(e.urn, ":") && strings.HasPrefix(x, e.urn) && (best < 0 || len(e.urn) > len(vocabulary[best].urn)) {
			best = i
		}
	}
	if best < 0 {
		return xDescriptor{}, "", false
	}
	return vocabulary[best], strings.TrimPrefix(x, vocabulary[best].urn), true
}

var segmentRE = regexp.MustCompile(`^([^.\[\]]+)((?:\[[0-9]+\])*)$`)

// resolve walks a descriptor path ("a.b", "list[0].c") down a schema.
func resolve(root *apiextensionsv1.JSONSchemaProps, path string) (*apiextensionsv1.JSONSchemaProps, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	node := root
	for seg := range strings.SplitSeq(path, ".") {
		m := segmentRE.FindStringSubmatch(seg)
		if m == nil {
			return nil, fmt.Errorf("bad path segment %q", seg)
		}
		child, ok := node.Properties[m[1]]
		if !ok {
			return nil, fmt.Errorf("no field %q", m[1])
		}
		node = &child
		for range strings.Count(m[2], "[") {
			if node.Type != arrayType || node.Items == nil || node.Items.Schema == nil {
				return nil, fmt.Errorf("field %q is not a list", m[1])
			}
			node = node.Items.Schema
		}
	}
	return node, nil
}

func schemaType(s *apiextensionsv1.JSONSchemaProps) string {
	if s.Type == "" && s.XIntOrString {
		return stringType
	}
	return s.Type
}

func nonEmpty(_ Descriptor, _ *apiextensionsv1.JSONSchemaProps, arg string) error {
	if arg == "" {
		return errors.New("needs an argument after the last colon")
	}
	return nil
}

// inEnum: a select option must be one of the values the schema allows, when it lists them.
func inEnum(_ Descriptor, leaf *apiextensionsv1.JSONSchemaProps, arg string) error {
	if arg == "" {
		return errors.New("no option")
	}
	if len(leaf.Enum) == 0 {
		return nil
	}
	for _, v := range leaf.Enum {
		if s, err := strconv.Unquote(string(v.Raw)); err == nil && s == arg {
			return nil
		}
	}
	return fmt.Errorf("option %q is not one of the field's enum values", arg)
}

// arrayInPath: an array field group names a list the path goes through ("list[0].field").
func arrayInPath(d Descriptor, _ *apiextensionsv1.JSONSchemaProps, arg string) error {
	if !strings.Contains("."+d.Path, "."+arg+"[") {
		return fmt.Errorf("the path does not go through a list %q (want %s[0]....)", arg, arg)
	}
	return nil
}

// conditionItems: the conditions descriptor is for a list of conditions (type and status).
func conditionItems(_ Descriptor, leaf *apiextensionsv1.JSONSchemaProps, _ string) error {
	if leaf.Items == nil || leaf.Items.Schema == nil {
		return errors.New("the field's items have no schema")
	}
	for _, p := range []string{"type", "status"} {
		if _, ok := leaf.Items.Schema.Properties[p]; !ok {
			return fmt.Errorf("the field's items have no %q: not conditions", p)
		}
	}
	return nil
}
