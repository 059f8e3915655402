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

package rbac

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/app"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/containeropts"
)

// pod is a Deployment's pod run in this process the way a kubelet would start it, since envtest has none:
// each container's command line and environment as the pod template has them (field references resolved,
// the API server's service address added), its volumes as directories (empty dirs; Secret and downward API
// files written from the API) mounted by links in a directory standing for the container's file system,
// paths in its flags and environment moved there, and the pod's service account as the identity,
// impersonated. What the test changes is named in start's arguments: only the addresses, and paths inside
// the image.
type pod struct {
	dep *appsv1.Deployment
	// dir holds the pod's volumes, its containers' file systems and its kubeconfig.
	dir     string
	name    string
	volumes map[string]string
}

// newPod prepares the volumes of a pod of dep under dir, which must outlive the pod's processes.
func newPod(dep *appsv1.Deployment, dir string) *pod {
	GinkgoHelper()
	p := &pod{dep: dep, dir: dir, name: dep.Name + "-rbac-test", volumes: map[string]string{}}
	spec := dep.Spec.Template.Spec
	for _, v := range spec.Volumes {
		dir := filepath.Join(p.dir, "volumes", v.Name)
		Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
		p.volumes[v.Name] = dir
		switch {
		case v.EmptyDir != nil:
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				switch {
				case src.Secret != nil:
					p.writeSecret(dir, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
				case src.DownwardAPI != nil:
					p.writeDownwardAPI(dir, src.DownwardAPI.Items)
				default:
					Fail(fmt.Sprintf("volume %s: the test's pod runs only Secret and downward API projections", v.Name))
				}
			}
		case v.Secret != nil:
			p.writeSecret(dir, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
		default:
			Fail(fmt.Sprintf("volume %s: the test's pod has empty dirs, Secrets and projected volumes only", v.Name))
		}
	}
	return p
}

// writeSecret writes the Secret's items (every key without items) into dir, as the kubelet projects them.
func (p *pod) writeSecret(dir, name string, items []corev1.KeyToPath, optional *bool) {
	GinkgoHelper()
	s := &corev1.Secret{}
	err := admin.Get(ctx, client.ObjectKey{Namespace: p.dep.Namespace, Name: name}, s)
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return
	}
	Expect(err).NotTo(HaveOccurred())
	if len(items) == 0 {
		for k := range s.Data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		data, ok := s.Data[it.Key]
		if !ok {
			Expect(optional != nil && *optional).To(BeTrue(), "Secret %s has no key %s", name, it.Key)
			continue
		}
		writeFile(filepath.Join(dir, it.Path), data)
	}
}

var annotationRef = regexp.MustCompile(`^metadata\.annotations\['(.+)'\]$`)

// writeDownwardAPI writes the pod fields items select into dir.
func (p *pod) writeDownwardAPI(dir string, items []corev1.DownwardAPIVolumeFile) {
	GinkgoHelper()
	for _, it := range items {
		Expect(it.FieldRef).NotTo(BeNil(), "downward API file %s: only field references are supported", it.Path)
		writeFile(filepath.Join(dir, it.Path), []byte(p.field(it.FieldRef.FieldPath)))
	}
}

// field is the value of a pod field reference.
func (p *pod) field(path string) string {
	GinkgoHelper()
	switch path {
	case "metadata.namespace":
		return p.dep.Namespace
	case "metadata.name":
		return p.name
	case "spec.serviceAccountName":
		_, sa := serviceAccountOf(p.dep)
		return sa
	}
	if m := annotationRef.FindStringSubmatch(path); m != nil {
		return p.dep.Spec.Template.Annotations[m[1]]
	}
	Fail("the test's pod cannot resolve the field reference " + path)
	return ""
}

func writeFile(path string, data []byte) {
	GinkgoHelper()
	Expect(os.MkdirAll(filepath.Dir(path), 0o700)).To(Succeed())
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
}

// kubeconfig writes a kubeconfig of the impersonator acting as the pod's service account: what its
// processes and their scripts' kubectl use, as a pod uses its mounted token.
func (p *pod) kubeconfig() string {
	GinkgoHelper()
	data, err := impersonator.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.Load(data)
	Expect(err).NotTo(HaveOccurred())
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = serviceAccountUser(serviceAccountOf(p.dep))
	}
	path := filepath.Join(p.dir, "kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	return path
}

// process is one container of a pod running in this process.
type process struct {
	probes string
	cancel context.CancelFunc
	done   chan error
}

// start runs the container named container (a container or a native sidecar) with app.Run until stop, and
// waits until it is ready. extra flags come after the pod's own, so they win: the test passes its probe
// and metrics addresses and paths inside the image (--script-path); the kubeconfig is the pod's identity.
// The caller stops it (an Ordered container's processes outlive the spec that starts them).
func (p *pod) start(container string, extra ...string) *process {
	GinkgoHelper()
	spec := p.dep.Spec.Template.Spec
	i := slices.IndexFunc(append(slices.Clone(spec.Containers), spec.InitContainers...),
		func(c corev1.Container) bool { return c.Name == container })
	Expect(i).NotTo(BeNumerically("<", 0), "Deployment %s has no container %s", p.dep.Name, container)
	c := append(slices.Clone(spec.Containers), spec.InitContainers...)[i]

	apiServer, err := url.Parse(testEnv.Config.Host)
	Expect(err).NotTo(HaveOccurred())
	root := p.root(c)
	probes, err := utils.FreeAddr()
	Expect(err).NotTo(HaveOccurred())
	o, err := containeropts.Parse(&c, containeropts.Run{
		Entrypoint: []string{containeropts.Program}, // nuop's image
		// The kubelet gives every container the API server's service address (nuop tells a pod by it), and
		// the runtime its HOSTNAME, the pod's name (the manager finds its own Pod by it).
		Env: map[string]string{"KUBERNETES_SERVICE_HOST": apiServer.Hostname(), "KUBERNETES_SERVICE_PORT": apiServer.Port(),
			"HOSTNAME": p.name},
		ValueFrom: func(s *corev1.EnvVarSource) (string, bool) {
			if s.FieldRef == nil {
				return "", false
			}
			return p.field(s.FieldRef.FieldPath), true
		},
		Literal: func(v string) string { return p.inVolumes(c, root, v) },
		Args:    append([]string{"--kubeconfig=" + p.kubeconfig(), "--health-probe-bind-address=" + probes}, extra...),
	}, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred(), "container %s of %s", c.Name, p.dep.Name)

	runCtx, cancel := context.WithCancel(context.Background())
	proc := &process{probes: "http://" + probes, cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer GinkgoRecover()
		proc.done <- app.Run(runCtx, o, app.Hooks{SkipControllerNameValidation: true})
	}()
	Expect(utils.WaitForStatus(proc.probes+"/readyz", http.StatusOK, 2*time.Minute)).To(Succeed(),
		"container %s of %s (mode %s) did not become ready", c.Name, p.dep.Name, o.Mode)
	return proc
}

// inVolumes maps a value naming a path at, under or above one of the container's mounts to the same path
// in root, the container's file system, where each mount is a link to its volume's directory.
func (p *pod) inVolumes(c corev1.Container, root, value string) string {
	flag, path, isFlag := strings.Cut(value, "=")
	if !isFlag {
		flag, path = "", value
	}
	within := func(dir, path string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }
	if !filepath.IsAbs(path) || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return within(m.MountPath, path) || within(path, m.MountPath)
	}) {
		return value
	}
	if isFlag {
		return flag + "=" + root + path
	}
	return root + path
}

// root makes the file system of container c: a directory where each of its mounts is a link to the volume.
func (p *pod) root(c corev1.Container) string {
	GinkgoHelper()
	root := filepath.Join(p.dir, "containers", c.Name)
	Expect(os.MkdirAll(root, 0o700)).To(Succeed())
	for _, m := range c.VolumeMounts {
		Expect(m.SubPath).To(BeEmpty(), "container %s: subPath mounts are not supported by the test's pod", c.Name)
		link := filepath.Join(root, m.MountPath)
		Expect(os.MkdirAll(filepath.Dir(link), 0o700)).To(Succeed())
		Expect(os.Symlink(p.volumes[m.Name], link)).To(Succeed())
	}
	return root
}

// stop ends the process (SIGTERM's path: a clean shutdown) and waits for it; it may be called again.
func (proc *process) stop() {
	GinkgoHelper()
	if proc.cancel == nil {
		return
	}
	proc.cancel()
	proc.cancel = nil
	Eventually(proc.done).WithTimeout(3 * time.Minute).Should(Receive(BeNil()))
}
