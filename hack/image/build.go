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
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Options say what to assemble and from what.
type Options struct {
	Dockerfile string
	// Context is the build context: COPY without --from reads it, minus what its .dockerignore excludes.
	Context string
	// From maps a stage (or image) that a COPY --from names to the file or directory on this machine
	// that stands for what it copies: the stage is not run.
	From map[string]string
	// BuildArgs are the Dockerfile's --build-arg values.
	BuildArgs map[string]string
	// Base is an OCI image layout holding the base image; "" builds the stand-in (standInBase) with
	// CACerts in it.
	Base    string
	CACerts string
	// Created is the time stamp of the image and of every file in the layers it adds.
	Created time.Time
}

// Build assembles the image the Dockerfile's final stage describes, for Platform.
func Build(o Options) (v1.Image, *Plan, error) {
	dockerfile, err := os.ReadFile(o.Dockerfile)
	if err != nil {
		return nil, nil, err
	}
	plan, err := ParsePlan(dockerfile, o.BuildArgs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.Dockerfile, err)
	}
	var img v1.Image
	if o.Base != "" {
		img, err = layoutBase(o.Base)
	} else {
		img, err = standInBase(o.CACerts, o.Created)
	}
	if err != nil {
		return nil, nil, err
	}
	// Layers of the base's kind: an OCI manifest with Docker layers (or the other way round) is refused
	// by some registries.
	layerType := types.OCILayer
	if mt, err := img.MediaType(); err != nil {
		return nil, nil, err
	} else if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}

	include, err := dockerignore(o.Context)
	if err != nil {
		return nil, nil, err
	}
	made := map[string]bool{} // paths the added layers hold, to know whether WORKDIR must create its own
	for _, c := range plan.Copies {
		files, err := copySource(c, o, include)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Instruction, err)
		}
		if img, err = appendLayer(img, files, c.Instruction, layerType, o.Created); err != nil {
			return nil, nil, err
		}
		for _, e := range files.withParents() {
			made[e.path] = true
		}
	}
	if plan.WorkingDir != "" && !made[plan.WorkingDir] {
		files := layerFiles{dirEntry(plan.WorkingDir, 0o755)}
		if img, err = appendLayer(img, files, "WORKDIR "+plan.WorkingDir, layerType, o.Created); err != nil {
			return nil, nil, err
		}
	}
	img, err = configure(img, plan, o.Created)
	return img, plan, err
}

// copySource returns the files of one COPY. Every ELF file must be a static executable for Platform:
// the image has no C library.
func copySource(c Copy, o Options, include func(string) (bool, error)) (layerFiles, error) {
	src := o.From[c.From]
	if c.From == "" {
		// As BuildKit does, a source is taken inside the context: ../x is x.
		rel := strings.TrimPrefix(path.Clean("/"+c.Src), "/")
		src = filepath.Join(o.Context, filepath.FromSlash(rel))
		inner := include
		include = func(p string) (bool, error) { return inner(path.Join(rel, p)) }
	} else if src == "" {
		return nil, fmt.Errorf("nothing stands for stage %q: give the file it copies with -from %s=PATH", c.From, c.From)
	} else {
		include = nil
	}
	files, err := copyFiles(src, c.Dest, include)
	if err != nil {
		return nil, err
	}
	for _, e := range files {
		if e.src == "" {
			continue
		}
		if ok, err := isELF(e.src); err != nil {
			return nil, err
		} else if ok {
			if err := checkStatic(e.src); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// dockerignore returns what the context's .dockerignore lets into the build context, as Docker reads it.
func dockerignore(context string) (func(rel string) (bool, error), error) {
	var patterns []string
	f, err := os.Open(filepath.Join(context, ".dockerignore"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		defer func() { _ = f.Close() }()
		if patterns, err = ignorefile.ReadAll(f); err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return func(rel string) (bool, error) {
		excluded, err := pm.MatchesOrParentMatches(rel)
		return !excluded, err
	}, nil
}

func appendLayer(img v1.Image, files layerFiles, createdBy string, mt types.MediaType, created time.Time) (v1.Image, error) {
	layer, err := files.layer(created, mt)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: created},
		CreatedBy: createdBy,
	}})
}

// configure applies the plan's ENV, LABEL, WORKDIR, USER, ENTRYPOINT and CMD over the base's configuration.
func configure(img v1.Image, plan *Plan, created time.Time) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	c := &cfg.Config
	for _, kv := range plan.Env {
		c.Env = setEnv(c.Env, kv)
	}
	if len(plan.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, plan.Labels)
	}
	if plan.WorkingDir != "" {
		c.WorkingDir = plan.WorkingDir
	}
	if plan.User != "" {
		c.User = plan.User
	}
	switch {
	case plan.Entrypoint != nil:
		c.Entrypoint, c.Cmd = plan.Entrypoint, plan.Cmd
	case plan.Cmd != nil:
		c.Cmd = plan.Cmd
	}
	cfg.Created = v1.Time{Time: created}
	return mutate.ConfigFile(img, cfg)
}

// setEnv sets KEY=VALUE in env, in the place of an earlier value of KEY.
func setEnv(env []string, kv string) []string {
	key, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// WriteLayout writes the image as an OCI image layout in dir, replacing what was there only once the
// new one is complete. tag is its org.opencontainers.image.ref.name (oci:DIR:TAG for skopeo).
func WriteLayout(img v1.Image, dir, tag string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return err
	}
	// go-containerregistry writes blobs through private temporary files (0600) and the directory is
	// MkdirTemp's (0700): the layout is no secret, and whoever pushes it may be another user.
	if err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
