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

// Command image assembles nuop's linux/amd64 container image without a Docker engine (`make image`), as
// an OCI image layout. It reads the Dockerfile and applies its final stage to a base image: each COPY
// --from=<stage> takes the file given for that stage with -from (the manager built here, nu and kubectl
// as `make tools` provisions them) instead of running the stage, so the image has the same files, modes
// and configuration a `docker buildx build` of the Dockerfile has. The base is an image layout given with
// -base, else a stand-in for gcr.io/distroless/static:nonroot (which cannot be pulled here).
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	o := Options{From: map[string]string{}, BuildArgs: map[string]string{}}
	var out, tag string
	flag.StringVar(&o.Dockerfile, "dockerfile", "Dockerfile", "the Dockerfile")
	flag.StringVar(&o.Context, "context", ".", "the build context (COPY without --from reads it, minus .dockerignore)")
	flag.Var(keyValues(o.From), "from", "STAGE=PATH: the file or directory COPY --from=STAGE copies (repeatable)")
	flag.Var(keyValues(o.BuildArgs), "build-arg", "NAME=VALUE: a build argument (repeatable)")
	flag.StringVar(&o.Base, "base", "", "an OCI image layout holding the base image (default: a stand-in for distroless static)")
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt",
		"the CA certificates the stand-in base holds (Debian's ca-certificates package)")
	flag.StringVar(&out, "o", "dist/image", "the OCI image layout to write (replaced)")
	flag.StringVar(&tag, "tag", "latest", "the image's reference name in the layout")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	created, err := sourceDateEpoch()
	if err != nil {
		fail(err)
	}
	o.Created = created

	img, plan, err := Build(o)
	if err != nil {
		fail(err)
	}
	if err := WriteLayout(img, out, tag); err != nil {
		fail(err)
	}
	digest, err := img.Digest()
	if err != nil {
		fail(err)
	}
	base := o.Base
	if base == "" {
		base = "a stand-in for " + plan.Base
	}
	fmt.Printf("wrote %s (%s/%s, %s, on %s)\npush it with: crane push %s REGISTRY/NAME:TAG\n",
		out, PlatformOS, PlatformArch, digest, base, out)
}

// sourceDateEpoch is SOURCE_DATE_EPOCH (the reproducible-builds convention), else the Unix epoch: the
// same inputs make the same image digest.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	kv[k] = v
	return nil
}
