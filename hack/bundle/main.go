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

// Command bundle makes the OLM bundle where operator-sdk cannot be installed: it reads `kustomize build
// config/manifests` on stdin and writes bundle/ and bundle.Dockerfile, taking the flags of `operator-sdk
// generate bundle` that the Makefile passes (internal/olmbundle says what it does).
//
//	kustomize build config/manifests | go run ./hack/bundle -q --overwrite --version 0.1.0 --channels alpha
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/manifest"
	"kemper.buzz/nuop/internal/olmbundle"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bundle:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	flags := flag.NewFlagSet("bundle", flag.ContinueOnError)
	version := flags.String("version", "", "Semantic version of the operator in the bundle (required).")
	channels := flags.String("channels", "alpha", "Comma-separated channels of the bundle.")
	defaultChannel := flags.String("default-channel", "", "The package's default channel, one of --channels.")
	pkg := flags.String("package", "", "Package name (default: projectName of ./PROJECT).")
	outputDir := flags.String("output-dir", "bundle", "Directory of the bundle; bundle.Dockerfile goes in the current one.")
	overwrite := flags.Bool("overwrite", true, "Overwrite the bundle's metadata and bundle.Dockerfile if they exist.")
	quiet := flags.Bool("q", false, "Print nothing on success.")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the manifests come on stdin", flags.Arg(0))
	}
	if *pkg == "" {
		name, err := projectName("PROJECT")
		if err != nil {
			return fmt.Errorf("no --package and %w", err)
		}
		*pkg = name
	}
	objects, err := manifest.Decode(stdin)
	if err != nil {
		return fmt.Errorf("reading the manifests on stdin: %w", err)
	}
	b, err := olmbundle.Build(objects, olmbundle.Options{
		Package: *pkg, Version: *version, Channels: strings.Split(*channels, ","),
		DefaultChannel: *defaultChannel, Dir: filepath.ToSlash(*outputDir),
	})
	if err != nil {
		return err
	}
	if err := write(b, *outputDir, *overwrite); err != nil {
		return err
	}
	if !*quiet {
		_, err = fmt.Fprintf(stdout, "bundle %s.v%s: %d files in %s, and bundle.Dockerfile\n", *pkg, *version,
			len(b.Files), *outputDir)
	}
	return err
}

// write replaces the bundle's manifests and scorecard tests under dir (a stale file would be installed
// too), and its metadata and ./bundle.Dockerfile unless they exist and overwrite is false.
func write(b *olmbundle.Bundle, dir string, overwrite bool) error {
	const dockerfile = "bundle.Dockerfile"
	keepMetadata := !overwrite && exists(filepath.Join(dir, "metadata")) && exists(dockerfile)
	for _, sub := range []string{"manifests", "tests"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	for _, f := range b.Files {
		if keepMetadata && strings.HasPrefix(f.Path, "metadata/") {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return err
		}
	}
	if keepMetadata {
		return nil
	}
	return os.WriteFile(dockerfile, b.Dockerfile, 0o644)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func projectName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var project struct {
		ProjectName string `json:"projectName"`
	}
	if err := yaml.Unmarshal(data, &project); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if project.ProjectName == "" {
		return "", fmt.Errorf("%s has no projectName", path)
	}
	return project.ProjectName, nil
}
