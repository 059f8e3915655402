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
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonrootUID is the nonroot user of distroless images, which the stand-in base has too.
const NonrootUID = 65532

// standInBase is built when no base image layout is given: gcr.io/distroless/static:nonroot cannot be
// pulled here. It holds what of distroless static matters to nuop: the users root, nonroot (65532) and
// nobody, CA certificates (the manager talks HTTPS to Gitea and git servers), a world-writable /tmp, and
// distroless' configuration (PATH, SSL_CERT_FILE, user nonroot). It has no time zone data: nuop logs and
// stamps in UTC.
func standInBase(caCerts string, created time.Time) (v1.Image, error) {
	files := layerFiles{
		{path: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{path: "/etc/ssl/certs/ca-certificates.crt", mode: 0o644, src: caCerts},
		dirEntry("/tmp", 0o1777),
		{path: "/home/nonroot", mode: 0o700, uid: NonrootUID, gid: NonrootUID, dir: true},
	}
	layer, err := files.layer(created, types.OCILayer)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: created},
		CreatedBy: "make image: stand-in for gcr.io/distroless/static:nonroot",
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = PlatformOS, PlatformArch
	cfg.Config.User = fmt.Sprint(NonrootUID)
	cfg.Config.WorkingDir = "/home/nonroot"
	cfg.Config.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}
	return mutate.ConfigFile(img, cfg)
}

// layoutBase is the Platform image of an OCI image layout (as `crane pull --format=oci`, `skopeo copy
// ... oci:DIR` or `docker buildx build --output type=oci,tar=false` write it), looked for through nested
// indexes.
func layoutBase(dir string) (v1.Image, error) {
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the base image layout %s: %w", dir, err)
	}
	img, err := platformImage(index)
	if err != nil {
		return nil, fmt.Errorf("base image layout %s: %w", dir, err)
	}
	return img, nil
}

var errNoPlatformImage = errors.New("no " + PlatformOS + "/" + PlatformArch + " image in it")

func platformImage(index v1.ImageIndex) (v1.Image, error) {
	manifest, err := index.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range manifest.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := index.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			img, err := platformImage(child)
			if !errors.Is(err, errNoPlatformImage) {
				return img, err
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && (d.Platform.OS != PlatformOS || d.Platform.Architecture != PlatformArch) {
				continue
			}
			img, err := index.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, err
			}
			if cfg.OS == PlatformOS && cfg.Architecture == PlatformArch {
				return img, nil
			}
		}
	}
	return nil, errNoPlatformImage
}
