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

// Package managed is what runs in a managed operator: the scripts a NuOperator's mappings name, chosen
// among the fetched sources and the image's bundled scripts, with the mappings' overrides
// (SCRIPT-PROTOCOL section 7).
package managed

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/script"
)

// Mapping binds a script, by name and group/version/kind, to this operator, with optional overrides.
// Its fields and YAML names are nuop's mapping file format (and the NuOperator's spec.mappings).
type Mapping struct {
	Name               string            `yaml:"name"`
	Group              string            `yaml:"group"`
	Version            string            `yaml:"version"`
	Kind               string            `yaml:"kind"`
	LabelSelectors     map[string]string `yaml:"labelSelectors"`
	FieldSelectors     map[string]string `yaml:"fieldSelectors"`
	RequeueAfterChange *int64            `yaml:"requeue_after_change"`
	RequeueAfterNoop   *int64            `yaml:"requeue_after_noop"`
}

func (m Mapping) gvk() string {
	return script.Config{Group: m.Group, Version: m.Version, Kind: m.Kind}.GVK().String()
}

// LoadMappingFiles reads every *.yaml and *.yml file under dir, in sorted order, skipping hidden
// directories (a ConfigMap volume's ..data holds every key a second time). A file that cannot be read or
// parsed is an error of its own; the others still load. A key a mapping does not have is a warning, not
// an error, as nuop ignored it: a file nuop read loads unchanged. A missing dir is no mappings.
func LoadMappingFiles(dir string) (mappings []Mapping, warnings []string, errs []error) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		var doc yaml.Node
		var m Mapping
		decodeErr := yaml.Unmarshal(data, &doc)
		switch {
		case decodeErr != nil:
		case len(doc.Content) == 0:
			decodeErr = errors.New("the file is empty")
		default:
			decodeErr = doc.Decode(&m)
		}
		if decodeErr != nil {
			errs = append(errs, fmt.Errorf("mapping file %s: %w", path, decodeErr))
			return nil
		}
		for _, key := range unknownKeys(&doc) {
			warnings = append(warnings, fmt.Sprintf("mapping file %s: unknown key `%s` ignored", path, key))
		}
		mappings = append(mappings, m)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return mappings, warnings, errs
}

// mappingKeys are the YAML keys of Mapping's fields.
var mappingKeys = func() map[string]bool {
	known := map[string]bool{}
	t := reflect.TypeFor[Mapping]()
	for i := range t.NumField() {
		known[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = true
	}
	return known
}()

// unknownKeys lists the keys of a mapping document that Mapping has no field for.
func unknownKeys(doc *yaml.Node) []string {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var unknown []string
	pairs := doc.Content[0].Content
	for i := 0; i+1 < len(pairs); i += 2 {
		if !mappingKeys[pairs[i].Value] {
			unknown = append(unknown, pairs[i].Value)
		}
	}
	return unknown
}

// Select returns the scripts the mappings name, each with its mapping's overrides applied (nuop's rules:
// a non-empty selector map replaces the script's, a requeue replaces the script's; the finalizer cannot
// be changed and a selector cannot be cleared), and a problem for every mapping that names no loaded
// script or the wrong kind. Several mappings may not name one script: the first wins.
func Select(loaded []*script.Script, mappings []Mapping) ([]*script.Script, []engine.ScriptStatus) {
	byName := map[string]*script.Script{}
	for _, s := range loaded {
		byName[s.Config.Name] = s
	}
	var selected []*script.Script
	var problems []engine.ScriptStatus
	mapped := map[string]bool{}
	for _, m := range mappings {
		s, ok := byName[m.Name]
		problem := func(state engine.State, msg string, args ...any) {
			st := engine.ScriptStatus{Name: m.Name, GVK: m.gvk(), State: state, Message: fmt.Sprintf(msg, args...)}
			if s != nil {
				st.Dir = s.Dir
			}
			problems = append(problems, st)
		}
		switch {
		case !ok:
			problem(engine.StateNotFound, "mapping %q names no loaded script (loaded: %s)",
				m.Name, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		case mapped[m.Name]:
			problem(engine.StateFailed, "mapping %q is given twice; the first one is used", m.Name)
		case m.gvk() != s.Config.GVK().String():
			problem(engine.StateMismatched, "mapping %q is for %s, but the script watches %s", m.Name, m.gvk(), s.Config.GVK())
		default:
			overridden, err := override(s, m)
			if err != nil {
				problem(engine.StateFailed, "mapping %q: %v", m.Name, err)
				break
			}
			mapped[m.Name] = true
			selected = append(selected, overridden)
		}
	}
	// Loaded scripts no mapping names are not problems: the image bundles scripts a NuOperator may not use.
	return selected, problems
}

// override returns a copy of s with m's overrides, validated as the script's own config would be.
func override(s *script.Script, m Mapping) (*script.Script, error) {
	out := *s
	cfg := s.Config
	if len(m.LabelSelectors) > 0 {
		cfg.LabelSelectors = maps.Clone(m.LabelSelectors)
	}
	if len(m.FieldSelectors) > 0 {
		cfg.FieldSelectors = maps.Clone(m.FieldSelectors)
	}
	if m.RequeueAfterChange != nil {
		cfg.RequeueAfterChange = time.Duration(*m.RequeueAfterChange) * time.Second
	}
	if m.RequeueAfterNoop != nil {
		cfg.RequeueAfterNoop = time.Duration(*m.RequeueAfterNoop) * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	out.Config = cfg
	return &out, nil
}
