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

package main

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Platform is the one platform `make image` assembles: its binaries come from this machine's build and
// tool cache, which hold linux/amd64 ones.
const (
	PlatformOS   = "linux"
	PlatformArch = "amd64"
)

// Plan is what the Dockerfile's final stage does to its base, its words expanded as BuildKit expands
// them for Platform.
type Plan struct {
	// Base is the image the final stage starts from, followed through the stages that only rename one
	// (FROM base-${TARGETARCH}, FROM gcr.io/distroless/static:nonroot AS base-amd64).
	Base string
	// Copies are the COPY instructions, in order: each makes a layer.
	Copies []Copy
	// Env holds KEY=VALUE of each ENV, in order; they are applied over the base's environment.
	Env    []string
	Labels map[string]string
	// WorkingDir, User, Entrypoint and Cmd are the last values set ("" and nil when never set).
	WorkingDir string
	User       string
	Entrypoint []string
	Cmd        []string
}

// Copy is one COPY: Src is in the build context when From is "", else in the stage (or image) From.
type Copy struct {
	From, Src, Dest string
	// Instruction is the instruction as written, for the image's history.
	Instruction string
}

// ParsePlan reads a Dockerfile and returns what its final stage does. buildArgs are --build-arg values;
// TARGETOS, TARGETARCH and TARGETPLATFORM are set for Platform, as BuildKit does. An instruction this
// program cannot apply without running something (RUN, a COPY with --chown, ...) is an error: an image
// that silently differs from the Dockerfile's would be worse than none.
func ParsePlan(dockerfile []byte, buildArgs map[string]string) (*Plan, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("the Dockerfile has no FROM")
	}
	lex := shell.NewLex(res.EscapeToken)

	// Global ARGs (before the first FROM) are what FROM lines see, and the defaults of a stage's ARG.
	global := vars{
		"TARGETOS":       PlatformOS,
		"TARGETARCH":     PlatformArch,
		"TARGETPLATFORM": PlatformOS + "/" + PlatformArch,
	}
	for _, cmd := range metaArgs {
		for _, a := range cmd.Args {
			if v, ok := buildArgs[a.Key]; ok {
				global[a.Key] = v
			} else if a.Value != nil {
				v, _, err := lex.ProcessWord(*a.Value, global)
				if err != nil {
					return nil, err
				}
				global[a.Key] = v
			}
		}
	}

	final := stages[len(stages)-1]
	base, err := resolveBase(stages, final, lex, global)
	if err != nil {
		return nil, err
	}
	p := &Plan{Base: base, Labels: map[string]string{}}
	// The stage's own variables: ARGs it declares, then ENVs.
	env := vars{}
	expand := func(word string) (string, error) {
		v, _, err := lex.ProcessWord(word, env)
		return v, err
	}
	for _, cmd := range final.Commands {
		if c, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			if _, isArg := cmd.(*instructions.ArgCommand); !isArg {
				if err := c.Expand(expand); err != nil {
					return nil, fmt.Errorf("%s: %w", cmd, err)
				}
			}
		}
		if err := p.apply(cmd, env, global, buildArgs, expand); err != nil {
			return nil, fmt.Errorf("%s (line %d): %w", strings.ToUpper(cmd.Name()), line(cmd), err)
		}
	}
	return p, nil
}

func (p *Plan) apply(cmd instructions.Command, env, global vars, buildArgs map[string]string,
	expand func(string) (string, error)) error {
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		for _, a := range c.Args {
			switch v, ok := buildArgs[a.Key]; {
			case ok:
				env[a.Key] = v
			case a.Value != nil:
				v, err := expand(*a.Value)
				if err != nil {
					return err
				}
				env[a.Key] = v
			default:
				if v, ok := global[a.Key]; ok {
					env[a.Key] = v
				}
			}
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			env[kv.Key] = kv.Value
			p.Env = append(p.Env, kv.Key+"="+kv.Value)
		}
	case *instructions.LabelCommand:
		for _, kv := range c.Labels {
			p.Labels[kv.Key] = kv.Value
		}
	case *instructions.CopyCommand:
		return p.addCopy(c)
	case *instructions.WorkdirCommand:
		p.WorkingDir = path.Join("/", p.WorkingDir, c.Path)
	case *instructions.UserCommand:
		p.User = c.User
	case *instructions.EntrypointCommand:
		if c.PrependShell {
			return fmt.Errorf("the shell form needs a shell, which a distroless image has not: use the exec form [\"...\"]")
		}
		// As Docker does: a new ENTRYPOINT drops the CMD set before it.
		p.Entrypoint, p.Cmd = c.CmdLine, nil
	case *instructions.CmdCommand:
		if c.PrependShell {
			return fmt.Errorf("the shell form needs a shell, which a distroless image has not: use the exec form [\"...\"]")
		}
		p.Cmd = c.CmdLine
	default:
		return fmt.Errorf("make image cannot apply %s without running a build: keep the final stage to "+
			"ARG, ENV, LABEL, COPY, WORKDIR, USER, ENTRYPOINT and CMD", strings.ToUpper(cmd.Name()))
	}
	return nil
}

func (p *Plan) addCopy(c *instructions.CopyCommand) error {
	switch {
	case c.Chown != "" || c.Chmod != "":
		return fmt.Errorf("--chown and --chmod are not supported")
	case c.Parents || len(c.ExcludePatterns) > 0:
		return fmt.Errorf("--parents and --exclude are not supported")
	case len(c.SourceContents) > 0:
		return fmt.Errorf("here-documents are not supported")
	case len(c.SourcePaths) != 1:
		return fmt.Errorf("copy one source per COPY")
	case strings.ContainsAny(c.SourcePaths[0], "*?["):
		return fmt.Errorf("wildcards are not supported")
	}
	p.Copies = append(p.Copies, Copy{From: c.From, Src: c.SourcePaths[0], Dest: c.DestPath, Instruction: c.String()})
	return nil
}

// resolveBase follows the final stage's FROM through stages that have no instructions of their own.
func resolveBase(stages []instructions.Stage, stage instructions.Stage, lex *shell.Lex, global vars) (string, error) {
	seen := map[string]bool{}
	for {
		name, _, err := lex.ProcessWord(stage.BaseName, global)
		if err != nil {
			return "", err
		}
		i := slices.IndexFunc(stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, name) })
		if i < 0 {
			return name, nil
		}
		if seen[name] {
			return "", fmt.Errorf("stage %s starts from itself", name)
		}
		seen[name] = true
		stage = stages[i]
		if len(stage.Commands) > 0 {
			return "", fmt.Errorf("the final stage starts from stage %s, which has instructions: make image "+
				"applies the final stage only", name)
		}
	}
}

func line(cmd instructions.Command) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// vars is the variables a word is expanded with.
type vars map[string]string

func (v vars) Get(key string) (string, bool) { val, ok := v[key]; return val, ok }
func (v vars) Keys() []string                { return slices.Sorted(maps.Keys(v)) }
