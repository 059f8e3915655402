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
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	nuopctrl "kemper.buzz/nuop/internal/controller/nuop"
)

// nuop's guide deploys the manager with NUOP_MODE and RUST_LOG only: no NUOP_IMAGE. Under config/default's
// RBAC, the manager then reads its own Pod for the image its managed operators run.
var _ = Describe("the manager of config/default without NUOP_IMAGE", Ordered, func() {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var (
		managerDep *appsv1.Deployment
		manager    *process
		// repository is the manager's image without its tag (config/default's controller:latest).
		repository string
	)

	BeforeAll(func() {
		var container string
		_, managerDep, container = installManager()

		spec := &managerDep.Spec.Template.Spec
		i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == container })
		c := &spec.Containers[i]
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "NUOP_IMAGE" })

		// The Pod the manager runs in, as the kubelet would report it (envtest has none).
		p := newPod(managerDep, GinkgoT().TempDir())
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: managerDep.Namespace, Name: p.name},
			Spec:       *spec.DeepCopy(),
		}
		Expect(admin.Create(ctx, pod)).To(Succeed())
		repository, _, _ = strings.Cut(c.Image, ":")
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image,
			ImageID: "docker.io/library/" + repository + "@" + digest}}
		Expect(admin.Status().Update(ctx, pod)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(admin.Delete(ctx, pod))).To(Succeed()) })

		manager = p.start(container, "--metrics-bind-address=0")
	})

	It("gives a NuOperator without spec.image its own image, pinned to the digest its Pod reports", func() {
		ns := createNamespace("rbac-own-image")
		n := &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "defaulted"},
			Spec: nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{{Name: "marker", Version: "v1", Kind: "ConfigMap"}}},
		}
		Expect(admin.Create(ctx, n)).To(Succeed())
		Eventually(func(g Gomega) string {
			dep := &appsv1.Deployment{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.DeploymentName()}, dep)).To(Succeed())
			i := slices.IndexFunc(dep.Spec.Template.Spec.Containers,
				func(c corev1.Container) bool { return c.Name == nuopctrl.ManagerContainer })
			g.Expect(i).NotTo(BeNumerically("<", 0))
			return dep.Spec.Template.Spec.Containers[i].Image
		}).WithTimeout(eventually).Should(Equal(repository + "@" + digest))
	})

	AfterAll(func() {
		if manager == nil {
			return // it never ran
		}
		manager.stop()
		expectNoForbidden(serviceAccountUser(serviceAccountOf(managerDep)))
	})
})
