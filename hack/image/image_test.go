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
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"kemper.buzz/nuop/test/utils"
)

// tmpDir holds what the tests build once (the manager, a tiny program, the image); removed by TestMain.
// repo is the repository's root.
var tmpDir, repo string

func TestMain(m *testing.M) {
	var err error
	if repo, err = utils.RepoRoot(); err == nil {
		tmpDir, err = os.MkdirTemp("", "nuop-image-test-")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(tmpDir)
	os.Exit(code)
}

// sources are the files make image puts into the image: the manager built as make image builds it,
// nu and kubectl as make tools provisions them.
type sources struct{ manager, nu, kubectl string }

var imageSources = onceForTests(func() (sources, error) {
	s := sources{manager: filepath.Join(tmpDir, "manager")}
	var err error
	if s.nu, err = utils.Tool("nu"); err != nil {
		return s, err
	}
	if s.kubectl, err = utils.Tool("kubectl"); err != nil {
		return s, err
	}
	return s, goBuild(filepath.Join(repo, "cmd"), s.manager, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
})

// tinyStatic is a small static linux/amd64 program standing for the three binaries, where their size
// would only slow a test down.
var tinyStatic = onceForTests(func() (sources, error) {
	dir := filepath.Join(tmpDir, "tiny")
	tiny := filepath.Join(dir, "tiny")
	err := writeFiles(dir, map[string]string{"go.mod": "module tiny.test\n\ngo 1.26\n", "main.go": "package main\n\nfunc main() {}\n"})
	if err == nil {
		err = goBuild(dir, tiny, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	}
	return sources{manager: tiny, nu: tiny, kubectl: tiny}, err
})

// theImage is the project's image as make image writes it (the stand-in base), read back from its
// layout: assembled once for all the tests of this package.
var theImage = onceForTests(func() (*builtImage, error) {
	s, err := imageSources.value()
	if err != nil {
		return nil, err
	}
	return buildAndRead(buildOptions(s), filepath.Join(tmpDir, "image"))
})

// onceForTests computes a fixture the first time a test asks for it; a failure fails every test asking.
func onceForTests[T any](f func() (T, error)) fixture[T] {
	return fixture[T]{value: sync.OnceValues(f)}
}

type fixture[T any] struct{ value func() (T, error) }

func (f fixture[T]) get(t *testing.T) T {
	t.Helper()
	v, err := f.value()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goBuild builds the package in dir into out, -trimpath as make image does.
func goBuild(dir, out string, env ...string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %v\n%s", dir, err, b)
	}
	return nil
}

// writeFiles writes files (relative slash-separated paths) under dir.
func writeFiles(dir string, files map[string]string) error {
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func buildOptions(s sources) Options {
	return Options{
		Dockerfile: filepath.Join(repo, "Dockerfile"),
		Context:    repo,
		From:       map[string]string{"builder": s.manager, "nushell": s.nu, "kubectl": s.kubectl},
		BuildArgs:  map[string]string{"VERSION": "v1.2.3", "REVISION": "abc123"},
		CACerts:    "/etc/ssl/certs/ca-certificates.crt",
		Created:    time.Unix(1700000000, 0).UTC(),
	}
}

// builtImage is an image read back from the layout the generator wrote.
type builtImage struct {
	dir    string
	img    v1.Image
	config *v1.ConfigFile
	files  map[string]imageFile // by absolute path, the layers flattened
}

type imageFile struct {
	hdr    *tar.Header
	sha256 string // of a regular file's content
}

// buildAndRead runs the generator as make image does, then reads what it wrote back from disk.
func buildAndRead(o Options, dir string) (*builtImage, error) {
	img, _, err := Build(o)
	if err != nil {
		return nil, err
	}
	if err := WriteLayout(img, dir, "test"); err != nil {
		return nil, err
	}
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(manifest.Manifests) != 1 || manifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" {
		return nil, fmt.Errorf("the layout's index holds %+v, want one image named test", manifest.Manifests)
	}
	read, err := index.Image(manifest.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	config, err := read.ConfigFile()
	if err != nil {
		return nil, err
	}
	files, err := flatten(read)
	if err != nil {
		return nil, err
	}
	return &builtImage{dir: dir, img: read, config: config, files: files}, nil
}

// flatten reads the image's file system as a container runtime unpacks it.
func flatten(img v1.Image) (map[string]imageFile, error) {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	files := map[string]imageFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		f := imageFile{hdr: hdr}
		if hdr.Typeflag == tar.TypeReg {
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return nil, err
			}
			f.sha256 = hex.EncodeToString(h.Sum(nil))
		}
		files[path.Clean("/"+hdr.Name)] = f
	}
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// What make image writes is a valid image: the manifest agrees with the configuration, and each layer's
// blob with its digest, size and diff ID (read once each: validate.Image's full check reads them many
// times, too slow for 190 MB of binaries).
func TestImageLayoutIsValid(t *testing.T) {
	img := theImage.get(t).img
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff IDs", len(layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range layers {
		digest, size, err := hashOf(l.Compressed)
		if err != nil {
			t.Fatal(err)
		}
		wantDigest, _ := l.Digest()
		wantSize, _ := l.Size()
		if digest != wantDigest || size != wantSize {
			t.Errorf("layer %d: blob %s of %d bytes, the manifest says %s of %d", i, digest, size, wantDigest, wantSize)
		}
		diffID, _, err := hashOf(l.Uncompressed)
		if err != nil {
			t.Fatal(err)
		}
		if diffID != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: content %s, the configuration says %s", i, diffID, cfg.RootFS.DiffIDs[i])
		}
	}
}

func hashOf(open func() (io.ReadCloser, error)) (v1.Hash, int64, error) {
	rc, err := open()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer func() { _ = rc.Close() }()
	return v1.SHA256(rc)
}

// The three binaries of the image run on a distroless static base: no loader, no shared library.
func TestBinariesAreStatic(t *testing.T) {
	s := imageSources.get(t)
	for p, origin := range map[string]string{
		s.manager: "built with CGO_ENABLED=0",
		s.nu:      "make nu provisions it",
		s.kubectl: "make kubectl provisions it, built without cgo",
	} {
		if err := checkStatic(p); err != nil {
			t.Errorf("%v (%s)", err, origin)
		}
	}
}

// checkStatic refuses what the image could not run.
func TestCheckStaticRefuses(t *testing.T) {
	dir := t.TempDir()
	// With cgo, the program links the C library dynamically.
	if err := writeFiles(dir, map[string]string{
		"go.mod":  "module cgo.test\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() {}\n",
		"cgo.go":  "//go:build cgo\n\npackage main\n\nimport \"C\"\n",
	}); err != nil {
		t.Fatal(err)
	}
	dynamic, arm := filepath.Join(dir, "dynamic"), filepath.Join(dir, "arm")
	if err := goBuild(dir, dynamic, "CGO_ENABLED=1", "GOOS=linux", "GOARCH=amd64"); err != nil {
		t.Fatalf("%v (cgo needs gcc)", err)
	}
	if err := goBuild(dir, arm, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{dynamic: "is dynamically linked (its loader is /", arm: "is built for EM_AARCH64"} {
		if err := checkStatic(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkStatic(%s) = %v, want an error containing %q", filepath.Base(p), err, want)
		}
	}
	// Build refuses to put it into the image.
	o := buildOptions(tinyStatic.get(t))
	o.From["kubectl"] = dynamic
	if _, _, err := Build(o); err == nil || !strings.Contains(err.Error(), "COPY --from=kubectl") ||
		!strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("Build with a dynamic kubectl: %v, want the COPY and the reason named", err)
	}
}

func TestImageConfig(t *testing.T) {
	im := theImage.get(t)
	c := im.config
	if c.OS != "linux" || c.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", c.OS, c.Architecture)
	}
	if diff := cmp.Diff([]string{"/manager"}, c.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if c.Config.Cmd != nil {
		t.Errorf("cmd %q, want none: the manifests give the arguments", c.Config.Cmd)
	}
	for got, want := range map[string]string{c.Config.User: "65532:65532", c.Config.WorkingDir: "/scripts"} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	env := envMap(c.Config.Env)
	if env["HOME"] != "/tmp" {
		t.Errorf("HOME=%q, want /tmp", env["HOME"])
	}
	if !slices.Contains(strings.Split(env["PATH"], ":"), "/usr/local/bin") {
		t.Errorf("PATH=%q lacks /usr/local/bin, where nu and kubectl are", env["PATH"])
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.title":    "nuop",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.revision": "abc123",
	} {
		if got := c.Config.Labels[k]; got != want {
			t.Errorf("label %s=%q, want %q", k, got, want)
		}
	}
	// A layer per COPY over the base's, each with its instruction in the history.
	createdBy := make([]string, 0, len(c.History))
	for _, h := range c.History {
		createdBy = append(createdBy, h.CreatedBy)
	}
	want := []string{
		"make image: stand-in for gcr.io/distroless/static:nonroot",
		"COPY --from=builder /workspace/manager /manager",
		"COPY --from=nushell /nu/nu /usr/local/bin/nu",
		"COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl",
		"COPY scripts/ /scripts/",
	}
	if diff := cmp.Diff(want, createdBy); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestImageFiles(t *testing.T) {
	im, s := theImage.get(t), imageSources.get(t)
	for p, src := range map[string]string{"/manager": s.manager, "/usr/local/bin/nu": s.nu, "/usr/local/bin/kubectl": s.kubectl} {
		f, ok := im.files[p]
		switch {
		case !ok:
			t.Errorf("%s is missing", p)
		case f.hdr.Typeflag != tar.TypeReg || f.hdr.Mode != 0o755 || f.hdr.Uid != 0 || f.hdr.Gid != 0:
			t.Errorf("%s: type %c mode %o owner %d:%d, want a root-owned 0755 file", p, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid)
		case f.sha256 != fileSHA256(t, src):
			t.Errorf("%s differs from %s", p, src)
		}
	}

	// Every file of the repository's scripts/ is in /scripts, readable by any user (pods may run as
	// another UID), and nothing else is.
	var want []string
	err := filepath.WalkDir(filepath.Join(repo, "scripts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(repo, p)
			want = append(want, "/"+filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p, f := range im.files {
		if !strings.HasPrefix(p, "/scripts/") {
			continue
		}
		if f.hdr.Typeflag == tar.TypeDir {
			if f.hdr.Mode != 0o755 {
				t.Errorf("%s: mode %o, want 0755", p, f.hdr.Mode)
			}
			continue
		}
		got = append(got, p)
		if f.hdr.Mode&0o644 != 0o644 || f.hdr.Uid != 0 {
			t.Errorf("%s: mode %o owner %d, want root's and readable by all", p, f.hdr.Mode, f.hdr.Uid)
		}
		if f.sha256 != fileSHA256(t, filepath.Join(repo, filepath.FromSlash(p))) {
			t.Errorf("%s differs from the repository's", p)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/scripts (-repository +image):\n%s", diff)
	}
	if d, ok := im.files["/scripts"]; !ok || d.hdr.Typeflag != tar.TypeDir {
		t.Error("/scripts (the WORKDIR) is not a directory")
	}

	// The stand-in base: the nonroot user, CA certificates, a /tmp any user can write to.
	for p, want := range map[string]string{
		"/etc/passwd": "nonroot:x:65532:65532:",
		"/etc/group":  "nonroot:x:65532:",
	} {
		if !strings.Contains(fileContent(t, im, p), want) {
			t.Errorf("%s lacks %q", p, want)
		}
	}
	if ca := im.files["/etc/ssl/certs/ca-certificates.crt"]; ca.sha256 != fileSHA256(t, "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("/etc/ssl/certs/ca-certificates.crt is not the CA bundle given")
	}
	if tmp := im.files["/tmp"]; tmp.hdr == nil || tmp.hdr.Typeflag != tar.TypeDir || tmp.hdr.Mode != 0o1777 {
		t.Errorf("/tmp is %+v, want a directory with mode 1777", tmp.hdr)
	}
}

// fileContent reads one file of the image.
func fileContent(t *testing.T, im *builtImage, p string) string {
	t.Helper()
	rc := mutate.Extract(im.img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found: %v", p, err)
		}
		if path.Clean("/"+hdr.Name) == p {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

// The same inputs make the same image, so a rebuild changes nothing a registry would store again.
func TestImageIsReproducible(t *testing.T) {
	digests := make([]v1.Hash, 0, 2)
	for range 2 {
		img, _, err := Build(buildOptions(tinyStatic.get(t)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same inputs: %s and %s", digests[0], digests[1])
	}
}

// With -base, the Dockerfile is applied to the layout's linux/amd64 image: its layers and environment
// stay, the Dockerfile's settings win, the layers added are of the base's media type.
func TestBuildOnABaseLayout(t *testing.T) {
	files := layerFiles{{path: "/etc/passwd", mode: 0o644, data: []byte("nonroot:x:65532:65532:from the base\n")}}
	baseLayer, err := files.layer(time.Unix(0, 0), types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	platformBase := func(arch string) v1.Image {
		img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: baseLayer})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		cfg.Config.Env = []string{"PATH=/bin", "FROM_BASE=yes"}
		cfg.Config.User = "1234"
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		return img
	}
	// An index of two platforms inside the layout's index, as docker buildx writes a multi-platform base.
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformBase("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: platformBase("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	baseDir := filepath.Join(t.TempDir(), "base")
	p, err := layout.Write(baseDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(multi); err != nil {
		t.Fatal(err)
	}

	o := buildOptions(tinyStatic.get(t))
	o.Base = baseDir
	im, err := buildAndRead(o, filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fileContent(t, im, "/etc/passwd"); !strings.Contains(got, "from the base") {
		t.Errorf("/etc/passwd is %q, want the base's", got)
	}
	if _, ok := im.files["/etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("the stand-in base's files are in an image built on another base")
	}
	env := envMap(im.config.Config.Env)
	if env["FROM_BASE"] != "yes" || env["HOME"] != "/tmp" || !strings.Contains(env["PATH"], "/usr/local/bin") {
		t.Errorf("env %q: want the base's FROM_BASE, the Dockerfile's HOME and PATH", im.config.Config.Env)
	}
	if im.config.Config.User != "65532:65532" || im.config.Architecture != "amd64" {
		t.Errorf("user %q on %s, want the Dockerfile's 65532:65532 on amd64", im.config.Config.User, im.config.Architecture)
	}
	layers, _ := im.img.Layers()
	for _, l := range layers {
		if mt, _ := l.MediaType(); mt != types.DockerLayer {
			t.Errorf("a layer of type %s on a Docker-typed base", mt)
		}
	}
	if len(layers) != 5 {
		t.Errorf("%d layers, want the base's one and one per COPY (4)", len(layers))
	}

	// A base without linux/amd64 is refused.
	armOnly := filepath.Join(t.TempDir(), "arm")
	if p, err = layout.Write(armOnly, empty.Index); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(platformBase("arm64")); err != nil {
		t.Fatal(err)
	}
	o.Base = armOnly
	if _, _, err := Build(o); err == nil || !strings.Contains(err.Error(), "no linux/amd64 image") {
		t.Errorf("Build on an arm64-only base: %v, want no linux/amd64 image", err)
	}
}

// A derived image (nuop's guide: FROM nuop's image, COPY scripts) builds on make image's layout, and
// keeps nuop's user, entrypoint and environment.
func TestDerivedImage(t *testing.T) {
	im := theImage.get(t)
	ctx := t.TempDir()
	if err := writeFiles(ctx, map[string]string{
		"Dockerfile":          "FROM registry.example.com/nuop:v0.1.0\nCOPY scripts/ /operator/\n",
		"scripts/mine/mod.nu": "def main [] {}\n",
		"scripts/mine/lib.nu": "export def f [] {}\n",
	}); err != nil {
		t.Fatal(err)
	}
	derived, err := buildAndRead(Options{
		Dockerfile: filepath.Join(ctx, "Dockerfile"),
		Context:    ctx,
		Base:       im.dir,
		Created:    time.Unix(0, 0),
	}, filepath.Join(t.TempDir(), "derived"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/operator/mine/mod.nu", "/operator/mine/lib.nu", "/scripts/greeting/mod.nu", "/manager"} {
		if _, ok := derived.files[p]; !ok {
			t.Errorf("%s is missing", p)
		}
	}
	if diff := cmp.Diff(im.config.Config, derived.config.Config); diff != "" {
		t.Errorf("the derived image's configuration differs (-nuop +derived):\n%s", diff)
	}
}

// COPY from the context honours .dockerignore as Docker does: a pattern excludes, a later ! lets back in.
func TestCopyFromContextHonoursDockerignore(t *testing.T) {
	ctx := t.TempDir()
	for p, content := range map[string]string{
		".dockerignore":              "*\n!scripts/\n**/testdata/\n**/*_test.nu\n",
		"secret.txt":                 "no",
		"scripts/a/mod.nu":           "def main [] {}",
		"scripts/a/run.sh":           "#!/bin/sh",
		"scripts/a/mod_test.nu":      "no",
		"scripts/a/testdata/in.yaml": "no",
	} {
		full := filepath.Join(ctx, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o600) // a private checkout: the image still gets 0644
		if strings.HasSuffix(p, ".sh") {
			mode = 0o700
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	include, err := dockerignore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Context: ctx}
	files, err := copySource(Copy{Src: "scripts/", Dest: "/scripts/"}, o, include)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range files.withParents() {
		got[e.path] = e.mode
	}
	want := map[string]int64{"/scripts": 0o755, "/scripts/a": 0o755, "/scripts/a/mod.nu": 0o644, "/scripts/a/run.sh": 0o755}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copied (-want +got):\n%s", diff)
	}
	if _, err := copySource(Copy{Src: "secret.txt", Dest: "/"}, o, include); err == nil ||
		!strings.Contains(err.Error(), "excluded by .dockerignore") {
		t.Errorf("COPY of an excluded file: %v, want excluded by .dockerignore", err)
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
