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
// environment (Env). It refuses what it cannot give as the pod would: another program than
// Program, envFrom, an env source run.ValueFrom does not know, and $(VAR) references, which the
// kubelet expands and this does not. Parse's warnings go to warn.
func Parse(c *corev1.Container, run Run, warn io.Writer) (*options.Options, error) {
	var line []string
	switch {
	case len(c.Command) > 0:
		line = slices.Concat(c.Command, c.Args)
	case len(c.Args) > 0:
		line = slices.Concat(run.Entrypoint, c.Args)
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
		a, err := run.literal(a)
		if err != nil {
			return nil, fmt.Errorf("argument %w", err)
		}
		args = append(args, a)
	}
	args = append(args, run.Args...)

	env, err := Env(c, run)
	if err != nil {
		return nil, err
	}
	o, err := options.Parse(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, warn)
	if err != nil {
		return nil, fmt.Errorf("the manager refuses its arguments %q and environment: %w", args, err)
	}
	return o, nil
}

// Env is the environment of container c's process: run.Env, then c's entries in order, their
// sources' values from run.ValueFrom. It refuses envFrom, a source run.ValueFrom does not know and $(VAR)
// references.
func Env(c *corev1.Container, run Run) (map[string]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, errors.New("envFrom: the test cannot tell which variables it sets")
	}
	env := make(map[string]string, len(run.Env)+len(c.Env))
	maps.Copy(env, run.Env)
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			v, err := run.literal(e.Value)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			env[e.Name] = v
			continue
		}
		var v string
		ok := run.ValueFrom != nil
		if ok {
			v, ok = run.ValueFrom(e.ValueFrom)
		}
		if !ok {
			return nil, fmt.Errorf("env %s: the test cannot tell the value of its source %s", e.Name, e.ValueFrom)
		}
		env[e.Name] = v
	}
	return env, nil
}

// literal is an argument or env value as the process gets it.
func (run Run) literal(s string) (string, error) {
	if strings.Contains(s, "$(") {
		return "", fmt.Errorf("%q holds a $(VAR) reference, which the kubelet expands and the test does not", s)
	}
	if run.Literal != nil {
		return run.Literal(s), nil
	}
	return s, nil
}
