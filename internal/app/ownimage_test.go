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

package app

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	nuopctrl "kemper.buzz/nuop/internal/controller/nuop"
)

// The manager's own image, as config/manager or nuop's guide would deploy it, and the digest a kubelet
// reports for it.
const (
	ownImage   = "registry.example/nuop:v1"
	ownDigest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ownImageID = "registry.example/nuop@" + ownDigest
	ownPinned  = "registry.example/nuop@" + ownDigest
)

var _ = Describe("the managed operators' image", func() {
	var (
		k8s client.Client
		ns  string
	)

	BeforeEach(func() {
		scheme := runtime.NewScheme()
		utilruntime.Must(clientgoscheme.AddToScheme(scheme))
		utilruntime.Must(nuopv1alpha1.AddToScheme(scheme))
		var err error
		k8s, err = client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "own-image-"}}
		Expect(k8s.Create(context.Background(), namespace)).To(Succeed())
		ns = namespace.Name
	})

	// createPod makes the Pod the manager runs in, with a sidecar before the manager's container so that the
	// container is chosen by name. envtest has no kubelet: reportStatus writes the status one would.
	createPod := func(name string) *corev1.Pod {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "proxy", Image: "registry.example/proxy:v3"},
				{Name: "manager", Image: ownImage},
			}},
		}
		Expect(k8s.Create(context.Background(), pod)).To(Succeed())
		return pod
	}
	reportStatus := func(pod *corev1.Pod) {
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: "proxy", Image: "registry.example/proxy:v3",
				ImageID: "registry.example/proxy@sha256:" + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
			{Name: "manager", Image: ownImage, ImageID: ownImageID},
		}
		Expect(k8s.Status().Update(context.Background(), pod)).To(Succeed())
	}
	managerPod := func(name string) { reportStatus(createPod(name)) }

	createNuOperator := func(name, image string) *nuopv1alpha1.NuOperator {
		n := &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: nuopv1alpha1.NuOperatorSpec{Image: image,
				Mappings: []nuopv1alpha1.Mapping{{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"}}},
		}
		Expect(k8s.Create(context.Background(), n)).To(Succeed())
		return n
	}

	// imageOf is the image of the managed operator's container in n's Deployment, once there is one.
	imageOf := func(n *nuopv1alpha1.NuOperator) func() (string, error) {
		return func() (string, error) {
			dep := &appsv1.Deployment{}
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: n.DeploymentName()}, dep); err != nil {
				return "", err
			}
			for _, c := range dep.Spec.Template.Spec.Containers {
				if c.Name == nuopctrl.ManagerContainer {
					return c.Image, nil
				}
			}
			return "", nil
		}
	}

	// noImage is the message of n's DeploymentAvailable condition when its reason is NoImage.
	noImage := func(n *nuopv1alpha1.NuOperator) func() string {
		return func() string {
			got := &nuopv1alpha1.NuOperator{}
			Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(n), got)).To(Succeed())
			c := meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionDeploymentAvailable)
			if c == nil || c.Reason != nuopv1alpha1.ReasonNoImage {
				return ""
			}
			return c.Message
		}
	}

	It("is, without NUOP_IMAGE, the manager's own container's image pinned to its digest; spec.image still wins", func() {
		managerPod("nuop-manager-5c8d7-abcde")
		// nuop's guide: no NUOP_IMAGE, no POD_NAME; the pod's name is its host name.
		startManagerWith(map[string]string{"NUOP_MODE": "manager", "RUST_LOG": "info",
			"HOSTNAME": "nuop-manager-5c8d7-abcde", "POD_NAMESPACE": ns}, cfg)
		defaulted := createNuOperator("defaulted", "")
		own := createNuOperator("own", "registry.example/scripts:v2")
		Eventually(imageOf(defaulted)).WithTimeout(time.Minute).Should(Equal(ownPinned))
		Eventually(imageOf(own)).WithTimeout(time.Minute).Should(Equal("registry.example/scripts:v2"))
	})

	It("waits for the kubelet to report the container's image digest when the manager starts before it has", func() {
		pod := createPod("nuop-manager-5c8d7-late")
		started := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			startManagerWith(map[string]string{"POD_NAME": pod.Name, "POD_NAMESPACE": ns}, cfg)
			close(started)
		}()
		// The set-up reads the Pod until its status names the image it runs (up to ownimage.DefaultWait).
		Consistently(started).WithTimeout(2 * time.Second).ShouldNot(BeClosed())
		reportStatus(pod)
		Eventually(started).WithTimeout(time.Minute).Should(BeClosed())
		n := createNuOperator("late", "")
		Eventually(imageOf(n)).WithTimeout(time.Minute).Should(Equal(ownPinned))
	})

	It("is NUOP_IMAGE when set, rather than the manager's own", func() {
		managerPod("nuop-manager-5c8d7-fghij")
		startManagerWith(map[string]string{"NUOP_IMAGE": "registry.example/nuop:pinned-by-env",
			"POD_NAME": "nuop-manager-5c8d7-fghij", "POD_NAMESPACE": ns}, cfg)
		n := createNuOperator("env", "")
		Eventually(imageOf(n)).WithTimeout(time.Minute).Should(Equal("registry.example/nuop:pinned-by-env"))
	})

	It("is unknown when the manager's Pod is not found: NoImage says why, and no Deployment is made", func() {
		startManagerWith(map[string]string{"POD_NAME": "not-this-pod", "POD_NAMESPACE": ns}, cfg)
		n := createNuOperator("not-found", "")
		Eventually(noImage(n)).WithTimeout(time.Minute).Should(And(
			ContainSubstring("NUOP_IMAGE"),
			ContainSubstring(`reading its own Pod `+ns+`/not-this-pod: pods "not-this-pod" not found`),
			ContainSubstring("set POD_NAME")))
		_, err := imageOf(n)()
		Expect(err).To(MatchError(ContainSubstring("not found")))
	})

	It("is unknown when the manager may not read its Pod: NoImage says so", func() {
		managerPod("nuop-manager-5c8d7-klmno")
		// Everything the manager mode uses but pods (RBAC cannot deny: it is granted what it needs besides).
		const user = "own-image-no-pods"
		Expect(k8s.Create(context.Background(), &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"kemper.buzz", "gitea.kemper.buzz", "apps", "rbac.authorization.k8s.io",
					"coordination.k8s.io", "events.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"*"}},
				{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "secrets", "configmaps", "events",
					"namespaces"}, Verbs: []string{"*"}},
			},
		})).To(Succeed())
		Expect(k8s.Create(context.Background(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		})).To(Succeed())
		limited, err := testEnv.AddUser(envtest.User{Name: user}, cfg)
		Expect(err).NotTo(HaveOccurred())

		startManagerWith(map[string]string{"POD_NAME": "nuop-manager-5c8d7-klmno", "POD_NAMESPACE": ns}, limited.Config())
		n := createNuOperator("forbidden", "")
		Eventually(noImage(n)).WithTimeout(time.Minute).Should(And(
			ContainSubstring(`cannot get resource "pods"`),
			ContainSubstring("the manager needs get on pods in its namespace")))
	})
})
