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

// Package containeropts reads the options nuop's binary gets in a Kubernetes container, for tests that check
// manifests against the binary's own parser or run a container's process themselves. It is apart from
// test/utils because it imports internal/options, whose dependencies' tests import test/utils.
package containeropts

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"kemper.buzz/nuop/internal/options"
)

// Program is nuop's binary in its image (the Dockerfile's ENTRYPOINT).
const Program = "/manager"

// Run is what a container's process gets from outside its spec.
type Run struct {
	// Entrypoint and Cmd are the image's: the kubelet runs Entrypoint when the container has no command,
	// with Cmd as its arguments when the container has no args either.
	Entrypoint, Cmd []string
	// Env is the environment the container's env entries are added to (and override): the image's ENV,
	// the variables the kubelet sets.
	Env map[string]string
	// ValueFrom is the value of an env entry's source (a field reference, a Secret key); false when the
	// caller cannot tell it. Nil: no entry may have a source.
	ValueFrom func(*corev1.EnvVarSource) (string, bool)
	// Literal rewrites each of the container's arguments and literal env values, as a test that runs it
	// out of a pod moves its paths; nil keeps them.
	Literal func(string) string
	// Args come after the container's own arguments, so their flags win.
	Args []string
}

// Parse parses the options nuop's binary gets in container c, with its own parser
// (internal/options): the arguments after the program as the kubelet runs it (the container's command and
// args, else the image's entrypoint and cmd; args without an entrypoint are the program), and its
// environment (Env). The container's command, args and literal env values get the kubelet's $(VAR)
// expansion. It refuses what it cannot give as the pod would: another program than Program, envFrom, and
// an env source run.ValueFrom does not know. Parse's warnings go to warn.
func Parse(c *corev1.Container, run Run, warn io.Writer) (*options.Options, error) {
	own, err := containerEnv(c, run)
	if err != nil {
		return nil, err
	}
	// The kubelet expands the container's command and args, never the image's entrypoint and cmd.
	expanded := func(words []string) []string {
		out := make([]string, len(words))
		for i, w := range words {
			out[i] = expand(w, own.lookup)
		}
		return out
	}
	var line []string
	switch {
	case len(c.Command) > 0:
		line = slices.Concat(expanded(c.Command), expanded(c.Args))
	case len(c.Args) > 0:
		line = slices.Concat(run.Entrypoint, expanded(c.Args))
	default:
		line = slices.Concat(run.Entrypoint, run.Cmd)
	}
	if len(line) == 0 {
		return nil, errors.New("it runs nothing: no command or args, and the image has no entrypoint or cmd")
	}
	if line[0] != Program {
		return nil, fmt.Errorf("it runs %q, not %s", line, Program)
	}
	args := make([]string, 0, len(line)-1+len(run.Args))
	for _, a := range line[1:] {
		args = append(args, run.rewrite(a))
	}
	args = append(args, run.Args...)

	env := own.over(run)
	o, err := options.Parse(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, warn)
	if err != nil {
		return nil, fmt.Errorf("the manager refuses its arguments %q and environment: %w", args, err)
	}
	return o, nil
}

// Env is the environment of container c's process: run.Env, then c's entries in order, their
// sources' values from run.ValueFrom and their literal values expanded as the kubelet does. It refuses
// envFrom and a source run.ValueFrom does not know.
func Env(c *corev1.Container, run Run) (map[string]string, error) {
	own, err := containerEnv(c, run)
	if err != nil {
		return nil, err
	}
	return own.over(run), nil
}

// podEnv is a container's own variables as the kubelet gives them to its process; only these, not the
// image's, can be referred to with $(VAR).
type podEnv struct {
	values map[string]string
	// literal says which values came from the spec rather than a source: run.Literal rewrites those.
	literal map[string]bool
}

func containerEnv(c *corev1.Container, run Run) (podEnv, error) {
	if len(c.EnvFrom) > 0 {
		return podEnv{}, errors.New("envFrom: the test cannot tell which variables it sets")
	}
	own := podEnv{values: make(map[string]string, len(c.Env)), literal: make(map[string]bool, len(c.Env))}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			// A value may refer to the variables defined before it.
			own.values[e.Name], own.literal[e.Name] = expand(e.Value, own.lookup), true
			continue
		}
		var v string
		ok := run.ValueFrom != nil
		if ok {
			v, ok = run.ValueFrom(e.ValueFrom)
		}
		if !ok {
			return podEnv{}, fmt.Errorf("env %s: the test cannot tell the value of its source %s", e.Name, e.ValueFrom)
		}
		own.values[e.Name], own.literal[e.Name] = v, false
	}
	return own, nil
}

func (own podEnv) lookup(name string) (string, bool) {
	v, ok := own.values[name]
	return v, ok
}

// over is the process's whole environment: run.Env with the container's own variables over it.
func (own podEnv) over(run Run) map[string]string {
	env := make(map[string]string, len(run.Env)+len(own.values))
	maps.Copy(env, run.Env)
	for k, v := range own.values {
		if own.literal[k] {
			v = run.rewrite(v)
		}
		env[k] = v
	}
	return env
}

// rewrite is an argument or literal env value as the test's process gets it.
func (run Run) rewrite(s string) string {
	if run.Literal != nil {
		return run.Literal(s)
	}
	return s
}

// expand replaces the $(NAME) references in s as the kubelet does in a container's command, args and env
// values: with lookup's value when it knows NAME, left as written when it does not; $$ is a literal $
// (so $$(NAME) gives $(NAME)), and any other $, or a $( that is never closed, stays.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
