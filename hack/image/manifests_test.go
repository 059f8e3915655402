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
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/containeropts"
)

// Every container of config/ that runs nuop's image (config/default, what make deploy installs, and each
// overlay) can run it as written: its command is in the image, its user is one the kubelet can check
// runAsNonRoot against, nu and kubectl are on its PATH, its scripts are where the image has them, HOME is
// writable.
func TestManifestsRunTheImage(t *testing.T) {
	im := theImage.get(t)
	image := nuopImage(t)
	dirs, err := filepath.Glob(filepath.Join(repo, "config", "overlays", "*", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dirs = append([]string{filepath.Join(repo, "config", "default", "kustomization.yaml")}, dirs...)
	for _, k := range dirs {
		dir, _ := filepath.Rel(repo, filepath.Dir(k))
		t.Run(dir, func(t *testing.T) {
			found := 0
			for _, d := range deployments(t, kustomizeBuild(t, filepath.Dir(k))) {
				for _, c := range d.Spec.Template.Spec.Containers {
					if c.Image != image {
						continue
					}
					found++
					for _, p := range containerProblems(&d.Spec.Template.Spec, &c, im) {
						t.Errorf("Deployment %s, container %s: %s", d.Name, c.Name, p)
					}
				}
			}
			if dir == filepath.Join("config", "default") && found == 0 {
				t.Errorf("no container runs %s", image)
			}
		})
	}
}

// nuop's production guide runs its image in standard mode with the scripts baked in, as another UID
// (1000) and without volumes: a derived image of ours runs that Deployment too.
func TestNuopStandardModeDeploymentRunsTheImage(t *testing.T) {
	im := theImage.get(t)
	ds := deployments(t, readFile(t, filepath.Join("testdata", "nuop-standard-mode.yaml")))
	if len(ds) != 1 {
		t.Fatalf("%d Deployments in the fixture, want 1", len(ds))
	}
	pod := &ds[0].Spec.Template.Spec
	for _, p := range containerProblems(pod, &pod.Containers[0], im) {
		t.Error(p)
	}
}

// containerProblems finds what it should: each change below breaks the manager's Deployment.
func TestContainerProblemsFindsBreakage(t *testing.T) {
	im := theImage.get(t)
	var manager appsv1.Deployment
	for _, d := range deployments(t, kustomizeBuild(t, filepath.Join(repo, "config", "default"))) {
		if d.Name == "nuop-controller-manager" {
			manager = d
		}
	}
	if manager.Name == "" {
		t.Fatal("config/default has no Deployment nuop-controller-manager")
	}
	if p := containerProblems(&manager.Spec.Template.Spec, &manager.Spec.Template.Spec.Containers[0], im); len(p) > 0 {
		t.Fatalf("the unchanged Deployment has problems: %q", p)
	}
	for _, tc := range []struct {
		name   string
		change func(pod *corev1.PodSpec, c *corev1.Container, im *builtImage)
		want   string
	}{
		{"no emptyDir on HOME", func(pod *corev1.PodSpec, c *corev1.Container, _ *builtImage) {
			c.VolumeMounts = nil
		}, "HOME=/tmp is on the read-only root file system"},
		{"a user name", func(_ *corev1.PodSpec, _ *corev1.Container, im *builtImage) {
			im.config.Config.User = "nonroot"
		}, "not numeric"},
		{"root", func(pod *corev1.PodSpec, _ *corev1.Container, _ *builtImage) {
			pod.SecurityContext.RunAsUser = ptr.To[int64](0)
		}, "runs as root"},
		{"a shell", func(_ *corev1.PodSpec, c *corev1.Container, _ *builtImage) {
			c.Command = []string{"/bin/sh", "-c", "/manager"}
		}, "/bin/sh is not in the image"},
		{"no nu on PATH", func(_ *corev1.PodSpec, c *corev1.Container, _ *builtImage) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "PATH", Value: "/bin"})
		}, "nu is not on PATH"},
		{"scripts elsewhere", func(_ *corev1.PodSpec, c *corev1.Container, _ *builtImage) {
			c.Args = append(c.Args, "--mode=standard", "--script-path=/opt/scripts")
		}, "script path /opt/scripts"},
		{"a bad flag", func(_ *corev1.PodSpec, c *corev1.Container, _ *builtImage) {
			c.Args = append(c.Args, "--no-such-flag")
		}, "the manager refuses its arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := manager.DeepCopy()
			changed := *im
			changed.config = im.config.DeepCopy()
			pod := &d.Spec.Template.Spec
			tc.change(pod, &pod.Containers[0], &changed)
			problems := containerProblems(pod, &pod.Containers[0], &changed)
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
}

// containerProblems says what keeps container c of pod from running the image as intended.
func containerProblems(pod *corev1.PodSpec, c *corev1.Container, im *builtImage) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	uid, gid, err := runAs(pod, c, im.config.Config.User)
	if err != nil {
		add("%v", err)
	}
	run := containeropts.Run{
		Entrypoint: im.config.Config.Entrypoint,
		Cmd:        im.config.Config.Cmd,
		Env:        envMap(im.config.Config.Env),
		// A source's value is known only in the cluster: present, value unknown.
		ValueFrom: func(*corev1.EnvVarSource) (string, bool) { return "", true },
	}
	env, err := containeropts.Env(c, run)
	if err != nil {
		return append(problems, err.Error())
	}

	program := c.Command
	if len(program) == 0 {
		program = im.config.Config.Entrypoint
	}
	if len(program) > 0 { // no program: containeropts.Parse below says so
		if err := im.access(program[0], uid, gid, 0o5); err != nil {
			add("its command: %v", err)
		}
	}
	// The script engine runs nu, and scripts run kubectl, from PATH.
	for _, tool := range []string{"nu", "kubectl"} {
		if _, err := im.lookPath(tool, env["PATH"], uid, gid); err != nil {
			add("%v", err)
		}
	}

	o, err := containeropts.Parse(c, run, io.Discard)
	if err != nil {
		add("%v", err)
	} else if o.Mode == options.ModeStandard || o.Mode == options.ModeManaged {
		if mountFor(c, o.ScriptPath) == nil {
			if err := im.scriptsUnder(o.ScriptPath, uid, gid); err != nil {
				add("script path %s (%s mode): %v", o.ScriptPath, o.Mode, err)
			}
		}
	}

	// nu and kubectl write under HOME.
	home := env["HOME"]
	switch m := mountFor(c, home); {
	case home == "":
		add("HOME is not set")
	case m != nil:
		if !writableVolume(pod, m) {
			add("HOME=%s is on volume %s, which is not a writable emptyDir", home, m.Name)
		}
	case c.SecurityContext != nil && ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false):
		add("HOME=%s is on the read-only root file system: mount an emptyDir there", home)
	default:
		if err := im.access(home, uid, gid, 0o3); err != nil {
			add("HOME: %v", err)
		}
	}
	return problems
}

// runAs is the user and group the container runs as. With runAsNonRoot, the kubelet refuses an image
// user it cannot tell is not root: a name, or 0.
func runAs(pod *corev1.PodSpec, c *corev1.Container, imageUser string) (uid, gid int64, err error) {
	var user, group *int64
	var nonRoot bool
	if sc := pod.SecurityContext; sc != nil {
		user, group, nonRoot = sc.RunAsUser, sc.RunAsGroup, ptr.Deref(sc.RunAsNonRoot, false)
	}
	if sc := c.SecurityContext; sc != nil {
		user = cmpOr(sc.RunAsUser, user)
		group = cmpOr(sc.RunAsGroup, group)
		nonRoot = ptr.Deref(cmpOr(sc.RunAsNonRoot, ptr.To(nonRoot)), false)
	}
	u, g, _ := strings.Cut(imageUser, ":")
	if user == nil {
		n, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("the image's user %q is not numeric: the kubelet cannot check runAsNonRoot", imageUser)
		}
		user = &n
	}
	if group == nil {
		n, _ := strconv.ParseInt(g, 10, 64) // no group: 0, as the runtime does without a passwd entry
		group = &n
	}
	if nonRoot && *user == 0 {
		return 0, 0, errors.New("it runs as root, which runAsNonRoot refuses")
	}
	return *user, *group, nil
}

func cmpOr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// access checks that uid:gid may reach p in the image (search permission on every directory above it)
// and has the permission bits want (4 read, 2 write, 1 execute/search) on it.
func (im *builtImage) access(p string, uid, gid int64, want int64) error {
	f, ok := im.files[path.Clean(p)]
	if !ok {
		return fmt.Errorf("%s is not in the image", p)
	}
	for dir := path.Dir(path.Clean(p)); dir != "/"; dir = path.Dir(dir) {
		if d, ok := im.files[dir]; ok && permits(d.hdr, uid, gid)&1 == 0 {
			return fmt.Errorf("%d:%d cannot enter %s (mode %o)", uid, gid, dir, d.hdr.Mode)
		}
	}
	if permits(f.hdr, uid, gid)&want != want {
		return fmt.Errorf("%s (mode %o, owner %d:%d) does not allow %d:%d %o", p, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, uid, gid, want)
	}
	return nil
}

// permits is the rwx bits that apply to uid:gid.
func permits(h *tar.Header, uid, gid int64) int64 {
	switch {
	case uid == 0:
		return 7
	case int64(h.Uid) == uid:
		return h.Mode >> 6 & 7
	case int64(h.Gid) == gid:
		return h.Mode >> 3 & 7
	}
	return h.Mode & 7
}

// lookPath finds an executable as exec does, in the image.
func (im *builtImage) lookPath(name, pathEnv string, uid, gid int64) (string, error) {
	for _, dir := range filepath.SplitList(pathEnv) {
		p := path.Join(dir, name)
		if f, ok := im.files[p]; ok && f.hdr.Typeflag == tar.TypeReg && im.access(p, uid, gid, 0o5) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not on PATH=%s (for %d:%d)", name, pathEnv, uid, gid)
}

// scriptsUnder checks that dir holds at least one script (a directory with mod.nu) that uid:gid can read.
func (im *builtImage) scriptsUnder(dir string, uid, gid int64) error {
	if err := im.access(dir, uid, gid, 0o5); err != nil {
		return err
	}
	for p := range im.files {
		if path.Base(p) == "mod.nu" && path.Dir(path.Dir(p)) == path.Clean(dir) && im.access(p, uid, gid, 0o4) == nil {
			return nil
		}
	}
	return fmt.Errorf("no readable <script>/mod.nu under it in the image")
}

// mountFor is the volume mount p is on, if any.
func mountFor(c *corev1.Container, p string) *corev1.VolumeMount {
	var found *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (found == nil || len(mp) > len(found.MountPath)) {
			found = &c.VolumeMounts[i]
		}
	}
	return found
}

func writableVolume(pod *corev1.PodSpec, m *corev1.VolumeMount) bool {
	for _, v := range pod.Volumes {
		if v.Name == m.Name {
			return v.EmptyDir != nil && !m.ReadOnly
		}
	}
	return false
}

// nuopImage is the image config/manager's kustomization names (what make deploy IMG=... replaces).
func nuopImage(t *testing.T) string {
	t.Helper()
	var k struct {
		Images []struct {
			Name, NewName, NewTag string
		}
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(repo, "config", "manager", "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 {
		t.Fatalf("config/manager/kustomization.yaml names %d images, want 1", len(k.Images))
	}
	return k.Images[0].NewName + ":" + k.Images[0].NewTag
}

func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	out, _, err := utils.KustomizeBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deployments decodes the Deployments of a multi-document YAML stream.
func deployments(t *testing.T, data []byte) []appsv1.Deployment {
	t.Helper()
	var out []appsv1.Deployment
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj map[string]any
		if err := decoder.Decode(&obj); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if obj["kind"] != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, &d, true); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
