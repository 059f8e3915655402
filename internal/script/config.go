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

package script

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// OnUnmatch says what happens to a finalized object that stops matching the script's selectors.
type OnUnmatch string

const (
	// OnUnmatchRelease removes the finalizer only: removing a label never deletes data.
	OnUnmatchRelease OnUnmatch = "release"
	// OnUnmatchFinalize runs `finalize` before removing the finalizer.
	OnUnmatchFinalize OnUnmatch = "finalize"
)

// Defaults of the config keys a script may leave out (SCRIPT-PROTOCOL section 2).
const (
	DefaultRequeueAfterChange = 10 * time.Second
	DefaultRequeueAfterNoop   = 300 * time.Second
	DefaultTimeout            = 60 * time.Second
	DefaultConcurrency        = 2
	DefaultBatchWindow        = 100 * time.Millisecond
	// MaxBatch bounds `batch`: the engine keeps (concurrency + 1) × batch reconciles waiting to fill batches,
	// and a larger batch's answer would hardly fit the output cap of a run (1 MiB).
	MaxBatch = 1000
)

// Config is a script's validated `config` output (SCRIPT-PROTOCOL section 2), defaults applied.
type Config struct {
	Name                 string
	Group, Version, Kind string
	// LabelSelectors keeps values that YAML 1.2 reads as booleans or numbers as their literal text (`yes`, `true`,
	// `123`): a label value is always text, and converting would make the selector match nothing.
	LabelSelectors map[string]string
	// LabelSelector is a full Kubernetes selector, ANDed with LabelSelectors.
	LabelSelector  string
	FieldSelectors map[string]string
	// Namespace restricts the watch to one namespace; "" watches all.
	Namespace string
	// Finalizer enables finalize handling; "" disables it.
	Finalizer          string
	OnUnmatch          OnUnmatch
	RequeueAfterChange time.Duration
	RequeueAfterNoop   time.Duration
	Timeout            time.Duration
	Concurrency        int
	// Batch is the most objects given to one reconcile-batch run; 0 runs one object per run.
	Batch       int
	BatchWindow time.Duration
}

// GVK is the group, version and kind the script watches.
func (c Config) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: c.Group, Version: c.Version, Kind: c.Kind}
}

// LabelSelectorParsed is LabelSelectors ANDed with LabelSelector.
func (c Config) LabelSelectorParsed() (labels.Selector, error) {
	sel, err := labels.ValidatedSelectorFromSet(c.LabelSelectors)
	if err != nil {
		return nil, fmt.Errorf("labelSelectors: %w", err)
	}
	if c.LabelSelector == "" {
		return sel, nil
	}
	extra, err := labels.Parse(c.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("labelSelector: %w", err)
	}
	reqs, _ := extra.Requirements()
	return sel.Add(reqs...), nil
}

// FieldSelectorParsed is FieldSelectors ANDed. It goes through the selector's text form, since a key holding a
// separator (`a,b`) would otherwise become a different selector than the one written.
func (c Config) FieldSelectorParsed() (fields.Selector, error) {
	for k := range c.FieldSelectors {
		if k == "" {
			return nil, errors.New("fieldSelectors: empty field name")
		}
	}
	sel, err := fields.ParseSelector(fields.SelectorFromSet(c.FieldSelectors).String())
	if err != nil {
		return nil, fmt.Errorf("fieldSelectors: %w", err)
	}
	return sel, nil
}

// Validate reports every problem of c at once, so a script author fixes them in one round.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Name == "" {
		add("missing required key `name`")
	}
	if c.Version == "" {
		add("missing required key `version`")
	}
	if c.Kind == "" {
		add("missing required key `kind`")
	}
	if strings.Contains(c.Group, "/") || strings.Contains(c.Version, "/") {
		add("group %q and version %q must not contain `/`: give the group in `group` and the version in `version`",
			c.Group, c.Version)
	}
	if _, err := c.LabelSelectorParsed(); err != nil {
		add("%v", err)
	}
	if _, err := c.FieldSelectorParsed(); err != nil {
		add("%v", err)
	}
	if c.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(c.Namespace) {
			add("namespace %q: %s", c.Namespace, msg)
		}
	}
	if c.Finalizer != "" {
		for _, msg := range validation.IsQualifiedName(c.Finalizer) {
			add("finalizer %q: %s", c.Finalizer, msg)
		}
	}
	if c.OnUnmatch != OnUnmatchRelease && c.OnUnmatch != OnUnmatchFinalize {
		add("onUnmatch %q: must be %q or %q", c.OnUnmatch, OnUnmatchRelease, OnUnmatchFinalize)
	}
	const hotLoop = " (0 would run the script again at once, in a hot loop)"
	if c.RequeueAfterChange < time.Second {
		add("requeue_after_change must be at least 1 second" + hotLoop)
	}
	if c.RequeueAfterNoop < time.Second {
		add("requeue_after_noop must be at least 1 second" + hotLoop)
	}
	if c.Timeout <= 0 {
		add("timeout must be more than 0 seconds")
	}
	if c.Concurrency < 1 {
		add("concurrency must be at least 1, got %d", c.Concurrency)
	}
	if c.Batch < 0 || c.Batch > MaxBatch {
		add("batch must be 0 (off) to %d, got %d", MaxBatch, c.Batch)
	}
	if c.BatchWindow < 0 {
		add("batchWindow must not be negative")
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// configKey decodes one top-level key of the config output.
type configKey struct {
	// name is the canonical spelling: it names the key in messages and catches one key given under two spellings.
	name string
	set  func(c *Config, n *yaml.Node) error
}

var (
	requeueAfterChangeKey = configKey{"requeue_after_change",
		whole(time.Second, func(c *Config) *time.Duration { return &c.RequeueAfterChange })}
	requeueAfterNoopKey = configKey{"requeue_after_noop",
		whole(time.Second, func(c *Config) *time.Duration { return &c.RequeueAfterNoop })}
)

var configKeys = map[string]configKey{
	"name":                 {"name", text(func(c *Config) *string { return &c.Name })},
	"group":                {"group", text(func(c *Config) *string { return &c.Group })},
	"version":              {"version", text(func(c *Config) *string { return &c.Version })},
	"kind":                 {"kind", text(func(c *Config) *string { return &c.Kind })},
	"labelSelectors":       {"labelSelectors", textMap(func(c *Config) *map[string]string { return &c.LabelSelectors })},
	"labelSelector":        {"labelSelector", text(func(c *Config) *string { return &c.LabelSelector })},
	"fieldSelectors":       {"fieldSelectors", textMap(func(c *Config) *map[string]string { return &c.FieldSelectors })},
	"namespace":            {"namespace", text(func(c *Config) *string { return &c.Namespace })},
	"finalizer":            {"finalizer", text(func(c *Config) *string { return &c.Finalizer })},
	"onUnmatch":            {"onUnmatch", text(func(c *Config) *string { return (*string)(&c.OnUnmatch) })},
	"requeue_after_change": requeueAfterChangeKey,
	"requeueAfterChange":   requeueAfterChangeKey,
	"requeue_after_noop":   requeueAfterNoopKey,
	"requeueAfterNoop":     requeueAfterNoopKey,
	"timeout":              {"timeout", whole(time.Second, func(c *Config) *time.Duration { return &c.Timeout })},
	"concurrency":          {"concurrency", integer(func(c *Config) *int { return &c.Concurrency })},
	"batch":                {"batch", integer(func(c *Config) *int { return &c.Batch })},
	"batchWindow":          {"batchWindow", whole(time.Millisecond, func(c *Config) *time.Duration { return &c.BatchWindow })},
}

// keyHints explain unknown keys that come from nuop's documentation, which named keys nuop never read.
var keyHints = map[string]string{
	"apiVersion":          "give the group in `group` and the version in `version`",
	"requeueAfterSeconds": "use `requeue_after_change` and `requeue_after_noop`",
}

func text(field func(*Config) *string) func(*Config, *yaml.Node) error {
	return func(c *Config, n *yaml.Node) error {
		if n.Kind != yaml.ScalarNode {
			return errors.New("must be a string")
		}
		*field(c) = n.Value
		return nil
	}
}

// textMap keeps every value's literal text, whatever YAML type it resolves to (see Config.LabelSelectors).
func textMap(field func(*Config) *map[string]string) func(*Config, *yaml.Node) error {
	return func(c *Config, n *yaml.Node) error {
		if n.Kind != yaml.MappingNode {
			return errors.New("must be a map of strings")
		}
		m := make(map[string]string, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				return fmt.Errorf("entry at line %d must be `key: value` with a plain value", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return fmt.Errorf("%q is given twice", k.Value)
			}
			m[k.Value] = v.Value
		}
		*field(c) = m
		return nil
	}
}

// whole reads a whole number of units (seconds, milliseconds), the form nuop scripts write.
func whole(unit time.Duration, field func(*Config) *time.Duration) func(*Config, *yaml.Node) error {
	return func(c *Config, n *yaml.Node) error {
		v, err := wholeNumber(n)
		if err != nil {
			return fmt.Errorf("must be a whole number of %s, got %q", unitName(unit), n.Value)
		}
		if v > math.MaxInt64/int64(unit) || v < math.MinInt64/int64(unit) {
			return fmt.Errorf("%d %s is out of range", v, unitName(unit))
		}
		*field(c) = time.Duration(v) * unit
		return nil
	}
}

func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}

func integer(field func(*Config) *int) func(*Config, *yaml.Node) error {
	return func(c *Config, n *yaml.Node) error {
		v, err := wholeNumber(n)
		if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
			return fmt.Errorf("must be a whole number, got %q", n.Value)
		}
		*field(c) = int(v)
		return nil
	}
}

// wholeNumber accepts integers only: decoding 1.5 into an integer would silently truncate it.
func wholeNumber(n *yaml.Node) (int64, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, errors.New("not an integer")
	}
	var v int64
	err := n.Decode(&v)
	return v, err
}

// parseConfig reads a `config` output: YAML 1.2, so that `yes` stays the string nu meant (JSON is YAML too).
// Unknown keys are warnings, not errors: a typo should be visible without breaking a script that works in nuop.
func parseConfig(out []byte) (Config, []string, error) {
	root, err := configMapping(out)
	if err != nil {
		return Config{}, nil, err
	}
	c := Config{
		OnUnmatch:          OnUnmatchRelease,
		RequeueAfterChange: DefaultRequeueAfterChange,
		RequeueAfterNoop:   DefaultRequeueAfterNoop,
		Timeout:            DefaultTimeout,
		Concurrency:        DefaultConcurrency,
		BatchWindow:        DefaultBatchWindow,
	}
	var problems, warnings, unknown []string
	given := map[string]string{} // canonical name -> spelling used
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key, known := configKeys[k.Value]
		switch {
		case !known:
			unknown = append(unknown, k.Value)
			warnings = append(warnings, unknownKeyWarning(k.Value))
		case given[key.name] != "":
			problems = append(problems, fmt.Sprintf("`%s` is given twice (as `%s` and `%s`)", key.name, given[key.name], k.Value))
		case v.ShortTag() == "!!null":
			// nuop's optional keys accepted null as "not set"; `to yaml` writes it for a null record field.
			given[key.name] = k.Value
		default:
			given[key.name] = k.Value
			if err := key.set(&c, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", k.Value, err))
			}
		}
	}
	if err := c.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		if len(unknown) > 0 {
			problems = append(problems, "unknown keys (ignored): "+strings.Join(unknown, ", "))
		}
		return Config{}, nil, errors.New("invalid config: " + strings.Join(problems, "; "))
	}
	return c, append(warnings, noEffectWarnings(c, given)...), nil
}

// configMapping returns the single YAML mapping of a config output.
func configMapping(out []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(out))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("config output is not YAML or JSON: %v%s", err, outputHint(out))
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config output holds more than one YAML document%s", outputHint(out))
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config output is not a YAML or JSON mapping%s", outputHint(out))
	}
	return doc.Content[0], nil
}

// outputHint shows the start of an output that could not be read, and names the usual cause: a record left as
// the last value of `main config` is rendered as a table.
func outputHint(out []byte) string {
	first, _, _ := strings.Cut(strings.TrimSpace(strings.ToValidUTF8(string(out), "?")), "\n")
	const maxLen = 80
	if r := []rune(first); len(r) > maxLen {
		first = string(r[:maxLen]) + "..."
	}
	hint := fmt.Sprintf(" (output starts with %q)", first)
	if bytes.ContainsAny(out, "│╭┌") {
		hint += "; it looks like a nu table: end config with `| to yaml`"
	}
	return hint
}

func unknownKeyWarning(key string) string {
	w := fmt.Sprintf("unknown config key `%s` ignored", key)
	if hint, ok := keyHints[key]; ok {
		return w + ": " + hint
	}
	if near := nearKey(key); near != "" {
		return w + ": did you mean `" + near + "`?"
	}
	return w
}

// nearKey finds the known key that differs from key only in case, `_` or `-`.
func nearKey(key string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	for known := range configKeys {
		if norm(known) == norm(key) {
			return configKeys[known].name
		}
	}
	return ""
}

// noEffectWarnings name keys that were given but change nothing, which usually means a forgotten companion key.
func noEffectWarnings(c Config, given map[string]string) []string {
	var warnings []string
	if given["onUnmatch"] != "" && c.Finalizer == "" {
		warnings = append(warnings, "onUnmatch has no effect without `finalizer`")
	}
	if given["batchWindow"] != "" && c.Batch == 0 {
		warnings = append(warnings, "batchWindow has no effect without `batch`")
	}
	return warnings
}
