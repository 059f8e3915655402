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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/test/utils"
)

// standardOverlay is the standard-mode example: a Deployment running the image's scripts with its own RBAC.
const standardOverlay = "config/overlays/standard-mode"

var _ = Describe("the standard-mode example of "+standardOverlay, Ordered, func() {
	var (
		proc *process
		user string
	)

	BeforeAll(func() {
		rendered, err := render(standardOverlay)
		Expect(err).NotTo(HaveOccurred(), "the standard-mode overlay (issue 7's deploy work) renders")
		dep, container, err := deploymentRunning(rendered, options.ModeStandard)
		Expect(err).NotTo(HaveOccurred())
		namespace, sa := serviceAccountOf(dep)
		objs, _, err := rbacFor(rendered, namespace, sa)
		Expect(err).NotTo(HaveOccurred())
		for _, u := range rendered {
			if u.GetKind() == "CustomResourceDefinition" {
				objs = append(objs, u) // the greeting script's Greeting
			}
		}
		install(objs)
		user = serviceAccountUser(namespace, sa)
		// The image's scripts are the repository's scripts/.
		proc = newPod(dep, GinkgoT().TempDir()).start(container, "--metrics-bind-address=0", "--script-path="+repoPath("scripts"))
	})

	AfterAll(func() {
		if proc == nil {
			return // it never ran
		}
		proc.stop()
		expectNoForbidden(user)
	})

	It("runs the example scripts on the objects make demo applies for them", func() {
		examples, err := utils.ReadObjects(repoPath("hack", "demo", "examples.yaml"))
		Expect(err).NotTo(HaveOccurred())
		for _, u := range examples {
			Expect(admin.Create(ctx, u)).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
		}
		// config-replicator copies demo-settings into demo-a and demo-b with kubectl.
		for _, ns := range []string{"demo-a", "demo-b"} {
			Eventually(func(g Gomega) {
				cm := &corev1.ConfigMap{}
				g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-settings"}, cm)).To(Succeed())
				g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "hello from the demo"))
			}).WithTimeout(eventually).Should(Succeed(), "the copy in %s", ns)
		}
		// label-enforcer writes the labels back.
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "default", Name: "demo-labelled"}, cm)).To(Succeed())
			g.Expect(cm.Labels).To(And(HaveKeyWithValue("team", "platform"), HaveKeyWithValue("tier", "demo")))
		}).WithTimeout(eventually).Should(Succeed())
		// greeting writes the status through the status subresource.
		Eventually(func(g Gomega) {
			greeting := &unstructured.Unstructured{}
			greeting.SetAPIVersion("examples.kemper.buzz/v1alpha1")
			greeting.SetKind("Greeting")
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "default", Name: "world"}, greeting)).To(Succeed())
			message, _, _ := unstructured.NestedString(greeting.Object, "status", "message")
			g.Expect(message).To(Equal("Hello, World"))
		}).WithTimeout(eventually).Should(Succeed())
	})

	It("deletes config-replicator's copies when their source is deleted (its finalize)", func() {
		source := client.ObjectKey{Namespace: "default", Name: "demo-settings"}
		Expect(admin.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: source.Namespace, Name: source.Name}})).To(Succeed())
		for _, key := range []client.ObjectKey{source, {Namespace: "demo-a", Name: source.Name}, {Namespace: "demo-b", Name: source.Name}} {
			Eventually(func() bool { return apierrors.IsNotFound(admin.Get(ctx, key, &corev1.ConfigMap{})) }).
				WithTimeout(eventually).Should(BeTrue(), "%s is deleted", key)
		}
	})
})
