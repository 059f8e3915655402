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

package nuop

import (
	"maps"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
)

func reconcileRequest(n *nuopv1alpha1.NuOperator) ctrl.Request {
	return ctrl.Request{NamespacedName: client.ObjectKeyFromObject(n)}
}

var _ = Describe("NuOperator controller", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	Context("without mappings", func() {
		It("runs nothing for an empty spec: NoMappings, no Deployment, no RBAC, but the finalizer", func() {
			n := createNuOperator(ns, "empty", nuopv1alpha1.NuOperatorSpec{})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
			Expect(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable)()).To(Equal("False/NoMappings"))
			got := getNuOperator(n)
			Expect(got.Finalizers).To(ContainElement(nuopv1alpha1.ManagerFinalizer))
			Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			Expect(got.Status.DeploymentName).To(BeEmpty())
			Expect(got.Status.ReadyReplicas).To(BeNil())
			ready := meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionReady)
			Expect(ready.ObservedGeneration).To(Equal(got.Generation))
			Expect(ready.Message).To(ContainSubstring("spec.mappings is empty"))
			for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &rbacv1.Role{},
				&rbacv1.RoleBinding{}} {
				obj.SetNamespace(ns)
				obj.SetName(n.DeploymentName())
				Expect(gone(obj)()).To(BeTrue(), kindOf(obj))
			}
			Eventually(eventsOf(n, nuopv1alpha1.ReasonNoMappings), eventually, poll).Should(
				ConsistOf(HavePrefix("Normal: Ready is False: spec.mappings is empty")))
		})

		It("runs nothing for sources without mappings", func() {
			n := createNuOperator(ns, "sources-only", nuopv1alpha1.NuOperatorSpec{
				Sources: []nuopv1alpha1.Source{{Location: "https://git.example/org/scripts.git", Path: "scripts"}},
			})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
			Expect(gone(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.DeploymentName()}})()).
				To(BeTrue())
		})
	})

	Context("with mappings", func() {
		It("runs the managed operator: a Deployment without sidecar, its ServiceAccount, Role and RoleBinding", func() {
			n := createNuOperator(ns, "mapped", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
			})
			dep := deploymentOf(n)
			n = getNuOperator(n)

			Expect(dep.Labels).To(Equal(map[string]string{
				"app":                          "mapped-nuop",
				"app.kubernetes.io/name":       "nuop",
				"app.kubernetes.io/component":  "managed",
				"app.kubernetes.io/managed-by": "nuop-manager",
				"app.kubernetes.io/instance":   "mapped",
				"nuop.kemper.buzz/nuoperator":  "mapped",
			}))
			Expect(dep.OwnerReferences).To(ConsistOf(metav1.OwnerReference{
				APIVersion: "kemper.buzz/v1alpha1", Kind: "NuOperator", Name: "mapped", UID: n.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}))
			Expect(dep.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "mapped-nuop"}))
			Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](1)))
			Expect(dep.Spec.Template.Labels).To(Equal(dep.Labels))
			Expect(dep.Spec.Template.Annotations).To(Equal(map[string]string{
				"kubectl.kubernetes.io/default-container": "manager"}))

			pod := dep.Spec.Template.Spec
			Expect(pod.InitContainers).To(BeEmpty())
			Expect(pod.ServiceAccountName).To(Equal("mapped-nuop"))
			Expect(pod.TerminationGracePeriodSeconds).To(Equal(ptr.To[int64](120)))
			Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
			Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
			Expect(volumeNames(pod)).To(Equal([]string{"tmp", "sources"}))
			Expect(pod.Volumes[0].EmptyDir).NotTo(BeNil())
			Expect(pod.Volumes[1].EmptyDir).NotTo(BeNil())

			Expect(pod.Containers).To(HaveLen(1))
			c := pod.Containers[0]
			Expect(c.Name).To(Equal("manager"))
			Expect(c.Image).To(Equal(testImage))
			Expect(c.ImagePullPolicy).To(Equal(corev1.PullIfNotPresent))
			Expect(c.Command).To(BeEmpty())
			Expect(c.Args).To(Equal([]string{
				"--mode=managed",
				"--nuoperator=" + ns + "/mapped",
				"--leader-elect",
				"--leader-election-id=mapped-nuop",
				"--health-probe-bind-address=:8080",
				"--metrics-bind-address=:9090",
				"--metrics-secure=false",
				"--sources-path=/var/run/nuop/sources",
				"--max-script-timeout=1m30s",
			}))
			Expect(c.Env).To(Equal([]corev1.EnvVar{
				{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
				{Name: "HOME", Value: "/tmp"},
			}))
			Expect(c.Ports).To(Equal([]corev1.ContainerPort{
				{Name: "probes", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
			}))
			Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
			Expect(c.LivenessProbe.HTTPGet.Port).To(Equal(intstr.FromString("probes")))
			Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
			Expect(c.ReadinessProbe.HTTPGet.Port).To(Equal(intstr.FromString("probes")))
			Expect(*c.SecurityContext).To(Equal(corev1.SecurityContext{
				RunAsNonRoot:             ptr.To(true),
				ReadOnlyRootFilesystem:   ptr.To(true),
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}))
			Expect(c.Resources).To(Equal(corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				},
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			}))
			// The image's bundled scripts stay visible: nothing is mounted over /scripts.
			Expect(mounts(&c)).To(Equal([]string{"tmp:/tmp", "sources:/var/run/nuop/sources:ro"}))

			sa := &corev1.ServiceAccount{}
			Expect(k8sClient.Get(ctx, key(ns, "mapped-nuop"), sa)).To(Succeed())
			Expect(sa.OwnerReferences).To(Equal(dep.OwnerReferences))
			Expect(sa.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "nuop-manager"))
			binding := &rbacv1.RoleBinding{}
			Expect(k8sClient.Get(ctx, key(ns, "mapped-nuop"), binding)).To(Succeed())
			Expect(binding.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "mapped-nuop"}))
			Expect(binding.Subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "mapped-nuop", Namespace: ns}}))

			// Everything derived is owned by the manager's field manager, by server-side apply.
			full := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, key(ns, "mapped-nuop"), full)).To(Succeed())
			var appliers []string
			for _, m := range full.ManagedFields {
				if m.Operation == metav1.ManagedFieldsOperationApply {
					appliers = append(appliers, m.Manager)
				}
			}
			Expect(appliers).To(ConsistOf("nuop-manager"))

			got := getNuOperator(n)
			Expect(got.Status.DeploymentName).To(Equal("mapped-nuop"))
			Expect(got.Status.ReadyReplicas).To(Equal(ptr.To[int32](0)))
		})

		It("adds the fetch sidecar when there are sources, with the sources volume shared", func() {
			n := createNuOperator(ns, "both", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
				Sources:  []nuopv1alpha1.Source{{Location: "https://git.example/org/scripts.git?ref=main", Path: "/scripts"}},
			})
			pod := deploymentOf(n).Spec.Template.Spec
			Expect(pod.InitContainers).To(HaveLen(1))
			fetch := pod.InitContainers[0]
			Expect(fetch.Name).To(Equal("fetch"))
			Expect(fetch.RestartPolicy).To(Equal(ptr.To(corev1.ContainerRestartPolicyAlways)))
			Expect(fetch.Image).To(Equal(testImage))
			Expect(fetch.Args).To(Equal([]string{
				"--mode=fetch",
				"--nuoperator=" + ns + "/both",
				"--sources-path=/var/run/nuop/sources",
				"--health-probe-bind-address=:8082",
				"--credentials-path=/var/run/nuop/credentials",
			}))
			Expect(fetch.Ports).To(Equal([]corev1.ContainerPort{
				{Name: "fetch-probes", ContainerPort: 8082, Protocol: corev1.ProtocolTCP}}))
			Expect(fetch.LivenessProbe.HTTPGet.Port).To(Equal(intstr.FromString("fetch-probes")))
			Expect(fetch.ReadinessProbe.HTTPGet.Port).To(Equal(intstr.FromString("fetch-probes")))
			Expect(fetch.SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
			Expect(mounts(&fetch)).To(Equal([]string{"fetch-tmp:/tmp", "sources:/var/run/nuop/sources"}))
			Expect(volumeNames(pod)).To(Equal([]string{"tmp", "sources", "fetch-tmp"}))
			Expect(mounts(container(pod.Containers, "manager"))).To(
				Equal([]string{"tmp:/tmp", "sources:/var/run/nuop/sources:ro"}))
		})

		It("mounts each credentialed source's Secrets as one volume, in the sidecar only", func() {
			n := createNuOperator(ns, "creds", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
				Sources: []nuopv1alpha1.Source{
					// An absolute path: nuop named the volume after it (-scripts-nuop-secret) and failed.
					{Location: "https://git.example/org/a.git", Path: "/scripts", Credentials: &nuopv1alpha1.Credentials{
						Token: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "tok"},
					}},
					{Location: "https://git.example/org/public.git", Path: "public"},
					{Location: "https://git.example/org/b.git", Path: "team/b", Credentials: &nuopv1alpha1.Credentials{
						Username: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "user"}, Key: "u"},
						Password: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "pass"}, Key: "p"},
						CABundle: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "user"}, Key: "ca"},
					}},
				},
			})
			dep := deploymentOf(n)
			pod := dep.Spec.Template.Spec
			Expect(volumeNames(pod)).To(Equal([]string{"tmp", "sources", "fetch-tmp", "cred-0", "cred-2"}))
			Expect(mounts(&pod.InitContainers[0])).To(Equal([]string{
				"fetch-tmp:/tmp", "sources:/var/run/nuop/sources",
				"cred-0:/var/run/nuop/credentials/0:ro", "cred-2:/var/run/nuop/credentials/2:ro",
			}))
			Expect(mounts(container(pod.Containers, "manager"))).To(
				Equal([]string{"tmp:/tmp", "sources:/var/run/nuop/sources:ro"}))
			Expect(dep.Spec.Template.Annotations).To(Equal(map[string]string{
				"kubectl.kubernetes.io/default-container": "manager",
				"nuop.kemper.buzz/credentials-0":          "/scripts",
				"nuop.kemper.buzz/credentials-2":          "team/b",
			}))

			sourceFile := func(index string) corev1.VolumeProjection {
				return corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
					Path: "source", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1",
						FieldPath: "metadata.annotations['nuop.kemper.buzz/credentials-" + index + "']"},
				}}}}
			}
			Expect(pod.Volumes[3].Projected.Sources).To(Equal([]corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "git"},
					Items: []corev1.KeyToPath{{Key: "tok", Path: "token"}}, Optional: ptr.To(true)}},
				sourceFile("0"),
			}))
			Expect(pod.Volumes[4].Projected.Sources).To(Equal([]corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "user"},
					Items: []corev1.KeyToPath{{Key: "u", Path: "username"}, {Key: "ca", Path: "ca.crt"}}, Optional: ptr.To(true)}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "pass"},
					Items: []corev1.KeyToPath{{Key: "p", Path: "password"}}, Optional: ptr.To(true)}},
				sourceFile("2"),
			}))
		})

		It("runs a custom image as a custom ServiceAccount, with the spec's env and pod settings", func() {
			n := createNuOperator(ns, "custom", nuopv1alpha1.NuOperatorSpec{
				Mappings:           []nuopv1alpha1.Mapping{configMapMapping},
				Image:              "custom-image:v1.0",
				ImagePullPolicy:    corev1.PullAlways,
				ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "regcred"}},
				ServiceAccountName: "custom-sa",
				Replicas:           ptr.To[int32](2),
				Env: []corev1.EnvVar{
					{Name: "CUSTOM_ENV", Value: "custom-value"},
					{Name: "LOG_LEVEL", Value: "debug"},
					// A name given twice, and one of the manager's: the last one wins, as with the kubelet.
					{Name: "HOME", Value: "/home/nu"},
					{Name: "CUSTOM_ENV", Value: "second"},
				},
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				},
				NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
				Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ops",
					Effect: corev1.TaintEffectNoSchedule}},
			})
			dep := deploymentOf(n)
			Expect(dep.Spec.Replicas).To(Equal(ptr.To[int32](2)))
			pod := dep.Spec.Template.Spec
			Expect(pod.ServiceAccountName).To(Equal("custom-sa"))
			Expect(pod.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "regcred"}}))
			Expect(pod.NodeSelector).To(Equal(map[string]string{"kubernetes.io/os": "linux"}))
			Expect(pod.Tolerations).To(Equal(n.Spec.Tolerations))
			c := pod.Containers[0]
			Expect(c.Image).To(Equal("custom-image:v1.0"))
			Expect(c.ImagePullPolicy).To(Equal(corev1.PullAlways))
			Expect(c.Resources).To(Equal(*n.Spec.Resources))
			Expect(c.Env).To(Equal([]corev1.EnvVar{
				{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
				{Name: "LOG_LEVEL", Value: "debug"},
				{Name: "HOME", Value: "/home/nu"},
				{Name: "CUSTOM_ENV", Value: "second"},
			}))

			binding := &rbacv1.RoleBinding{}
			Expect(k8sClient.Get(ctx, key(ns, "custom-nuop"), binding)).To(Succeed())
			Expect(binding.Subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "custom-sa", Namespace: ns}}))
			Expect(gone(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "custom-nuop"}})()).
				To(BeTrue())
		})

		It("makes and uses <name>-nuop when no ServiceAccount is named, and drops it once one is", func() {
			n := createNuOperator(ns, "own-sa", nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
			Expect(deploymentOf(n).Spec.Template.Spec.ServiceAccountName).To(Equal("own-sa-nuop"))
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "own-sa-nuop"}}
			Expect(gone(sa)()).To(BeFalse())

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Spec.ServiceAccountName = "scripts" })
			Eventually(func() string { return deploymentOf(n).Spec.Template.Spec.ServiceAccountName },
				eventually, poll).Should(Equal("scripts"))
			Eventually(gone(sa), eventually, poll).Should(BeTrue())
			binding := &rbacv1.RoleBinding{}
			Expect(k8sClient.Get(ctx, key(ns, "own-sa-nuop"), binding)).To(Succeed())
			Expect(binding.Subjects[0].Name).To(Equal("scripts"))
		})

		It("never grants to the namespace's default ServiceAccount", func() {
			n := createNuOperator(ns, "default-sa", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping}, ServiceAccountName: "default"})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).
				Should(Equal("False/DefaultServiceAccount"))
			Expect(gone(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-sa-nuop"}})()).
				To(BeTrue())
			Expect(gone(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-sa-nuop"}})()).
				To(BeTrue())
		})

		It("says so when no image is known", func() {
			n := createNuOperator(ns, "no-image", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping}}, pausedLabel, "true")
			r := *testReconciler
			r.opts.Image = ""
			// The cache may not hold the new NuOperator yet: a pass then finds nothing to do.
			Eventually(func() string {
				_, err := r.Reconcile(ctx, reconcileRequest(n))
				Expect(err).NotTo(HaveOccurred())
				return conditionOf(n, nuopv1alpha1.ConditionReady)()
			}, eventually, poll).Should(Equal("False/NoImage"))
			Expect(gone(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-image-nuop"}})()).
				To(BeTrue())
		})

		It("grants the managed operator its lease, events and own NuOperator, and nothing more", func() {
			n := createNuOperator(ns, "rbac", nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
			deploymentOf(n)
			role := &rbacv1.Role{}
			Expect(k8sClient.Get(ctx, key(ns, "rbac-nuop"), role)).To(Succeed())
			Expect(role.Rules).To(Equal([]rbacv1.PolicyRule{
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"rbac-nuop"},
					Verbs: []string{"get", "list", "watch", "update", "patch", "delete"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
				{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
				{APIGroups: []string{"kemper.buzz"}, Resources: []string{"nuoperators"}, ResourceNames: []string{"rbac"},
					Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"kemper.buzz"}, Resources: []string{"nuoperators/status"}, ResourceNames: []string{"rbac"},
					Verbs: []string{"patch", "update"}},
			}))

			sa := "system:serviceaccount:" + ns + ":rbac-nuop"
			can := func(verb, group, resource, subresource, name string) bool {
				return allowed(sa, ns, verb, group, resource, subresource, name)
			}
			Expect(can("get", "kemper.buzz", "nuoperators", "", "rbac")).To(BeTrue())
			Expect(can("watch", "kemper.buzz", "nuoperators", "", "rbac")).To(BeTrue())
			Expect(can("patch", "kemper.buzz", "nuoperators", "status", "rbac")).To(BeTrue())
			Expect(can("get", "kemper.buzz", "nuoperators", "", "other")).To(BeFalse())
			Expect(can("patch", "kemper.buzz", "nuoperators", "status", "other")).To(BeFalse())
			Expect(can("update", "kemper.buzz", "nuoperators", "", "rbac")).To(BeFalse())
			Expect(can("create", "coordination.k8s.io", "leases", "", "")).To(BeTrue())
			Expect(can("update", "coordination.k8s.io", "leases", "", "rbac-nuop")).To(BeTrue())
			Expect(can("update", "coordination.k8s.io", "leases", "", "manager.nuop.kemper.buzz")).To(BeFalse())
			Expect(can("create", "", "events", "", "")).To(BeTrue())
			Expect(can("create", "events.k8s.io", "events", "", "")).To(BeTrue())
			Expect(can("get", "", "secrets", "", "")).To(BeFalse())
			Expect(can("get", "", "configmaps", "", "")).To(BeFalse())
		})

		It("lets its ServiceAccount read its own NuOperator, and refuses it the credential Secret (403)", func() {
			Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git"},
				StringData: map[string]string{"token": "s3cret"}})).To(Succeed())
			n := createNuOperator(ns, "creds", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
				Sources: []nuopv1alpha1.Source{{Location: "https://git.example/org/a.git", Path: "a",
					Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}}}},
			})
			deploymentOf(n)

			// What a pod of the Deployment sends with its token.
			impersonated := rest.CopyConfig(cfg)
			impersonated.Impersonate = rest.ImpersonationConfig{
				UserName: "system:serviceaccount:" + ns + ":creds-nuop",
				Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			}
			sa, err := client.New(impersonated, client.Options{Scheme: scheme})
			Expect(err).NotTo(HaveOccurred())
			// The authorizer learns of new RoleBindings through a watch.
			Eventually(func() error { return sa.Get(ctx, client.ObjectKeyFromObject(n), &nuopv1alpha1.NuOperator{}) },
				eventually, poll).Should(Succeed())

			err = sa.Get(ctx, key(ns, "git"), &corev1.Secret{})
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "get the credential Secret: %v", err)
			err = sa.List(ctx, &corev1.SecretList{}, client.InNamespace(ns))
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "list Secrets: %v", err)
			other := createNuOperator(ns, "other", nuopv1alpha1.NuOperatorSpec{})
			err = sa.Get(ctx, client.ObjectKeyFromObject(other), &nuopv1alpha1.NuOperator{})
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "get another NuOperator: %v", err)
		})
	})

	Context("changes", func() {
		It("propagates a spec change, removes the sidecar with the sources, and everything with the mappings", func() {
			n := createNuOperator(ns, "changes", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
				Sources: []nuopv1alpha1.Source{{Location: "https://git.example/org/a.git", Path: "a",
					Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}}}},
			})
			Expect(deploymentOf(n).Spec.Template.Spec.InitContainers).To(HaveLen(1))

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) {
				n.Spec.Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}}
			})
			Eventually(func() []corev1.EnvVar { return deploymentOf(n).Spec.Template.Spec.Containers[0].Env },
				eventually, poll).Should(ContainElement(corev1.EnvVar{Name: "LOG_LEVEL", Value: "debug"}))
			Expect(deploymentOf(n).Spec.Template.Spec.InitContainers[0].Env).To(
				ContainElement(corev1.EnvVar{Name: "LOG_LEVEL", Value: "debug"}))

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Spec.Sources = nil })
			Eventually(func() []corev1.Container { return deploymentOf(n).Spec.Template.Spec.InitContainers },
				eventually, poll).Should(BeEmpty())
			dep := deploymentOf(n)
			Expect(volumeNames(dep.Spec.Template.Spec)).To(Equal([]string{"tmp", "sources"}))
			Expect(dep.Spec.Template.Annotations).To(Equal(map[string]string{
				"kubectl.kubernetes.io/default-container": "manager"}))

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { n.Spec.Mappings = nil })
			managedStatus(n, map[string]any{"conditions": []any{
				scriptsLoaded("False", nuopv1alpha1.ReasonFinalizersReleased, getNuOperator(n).Generation)}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NoMappings"))
			for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &rbacv1.Role{},
				&rbacv1.RoleBinding{}} {
				obj.SetNamespace(ns)
				obj.SetName(n.DeploymentName())
				Eventually(gone(obj), eventually, poll).Should(BeTrue(), kindOf(obj))
			}
			Expect(getNuOperator(n).Status.DeploymentName).To(BeEmpty())
			Eventually(eventsOf(n, "Deleted"), eventually, poll).Should(ContainElement(
				"Normal: deleted Deployment changes-nuop: spec.mappings is empty"))
		})

		It("restores a hand-edited field it owns, and an owned object deleted by hand", func() {
			n := createNuOperator(ns, "edited", nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
			dep := deploymentOf(n)
			dep.Spec.Template.Spec.Containers[0].Image = "someone/else:latest"
			dep.Spec.Replicas = ptr.To[int32](5)
			Expect(k8sClient.Update(ctx, dep, client.FieldOwner("kubectl-edit"))).To(Succeed())
			Eventually(func() string { return deploymentOf(n).Spec.Template.Spec.Containers[0].Image },
				eventually, poll).Should(Equal(testImage))
			Expect(deploymentOf(n).Spec.Replicas).To(Equal(ptr.To[int32](1)))

			role := &rbacv1.Role{}
			Expect(k8sClient.Get(ctx, key(ns, "edited-nuop"), role)).To(Succeed())
			role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
				Verbs: []string{"get"}})
			Expect(k8sClient.Update(ctx, role)).To(Succeed())
			Eventually(func() int {
				Expect(k8sClient.Get(ctx, key(ns, "edited-nuop"), role)).To(Succeed())
				return len(role.Rules)
			}, eventually, poll).Should(Equal(5))

			sa := &corev1.ServiceAccount{}
			Expect(k8sClient.Get(ctx, key(ns, "edited-nuop"), sa)).To(Succeed())
			uid := sa.UID
			Expect(k8sClient.Delete(ctx, sa)).To(Succeed())
			Eventually(func() bool {
				err := k8sClient.Get(ctx, key(ns, "edited-nuop"), sa)
				return err == nil && sa.UID != uid
			}, eventually, poll).Should(BeTrue())
		})

		It("writes nothing when nothing changed", func() {
			n := createNuOperator(ns, "steady", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping},
				Sources: []nuopv1alpha1.Source{{Location: "https://git.example/org/a.git", Path: "a",
					Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}}}},
				Env:       []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
				Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
			})
			deploymentOf(n)
			setDeploymentStatus(n, 1, available()...)
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/WaitingForScripts"))
			// Let the passes the writes above caused settle.
			var before map[string]string
			Eventually(func() bool {
				first := resourceVersions(n)
				time.Sleep(500 * time.Millisecond)
				before = resourceVersions(n)
				return maps.Equal(first, before)
			}, eventually, poll).Should(BeTrue())

			for range 3 {
				forceReconcile(n)
			}
			Expect(resourceVersions(n)).To(Equal(before))
		})
	})

	Context("status", func() {
		It("follows the Deployment's availability and the managed operator's ScriptsLoaded", func() {
			n := createNuOperator(ns, "status", nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
			deploymentOf(n)
			Eventually(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable), eventually, poll).
				Should(Equal("False/DeploymentProgressing"))
			Expect(conditionOf(n, nuopv1alpha1.ConditionReady)()).To(Equal("False/DeploymentProgressing"))

			setDeploymentStatus(n, 1, available()...)
			Eventually(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable), eventually, poll).
				Should(Equal("True/DeploymentAvailable"))
			Expect(conditionOf(n, nuopv1alpha1.ConditionReady)()).To(Equal("False/WaitingForScripts"))
			got := getNuOperator(n)
			Expect(got.Status.ReadyReplicas).To(Equal(ptr.To[int32](1)))
			Expect(meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionDeploymentAvailable).Message).
				To(Equal("1 of 1 replicas ready"))

			managedStatus(n, map[string]any{"conditions": []any{
				scriptsLoaded("True", nuopv1alpha1.ReasonScriptsLoaded, got.Generation)}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
			Eventually(eventsOf(n, nuopv1alpha1.ReasonAvailable), eventually, poll).Should(ConsistOf(
				"Normal: Ready is True: the managed operator runs and its mapped scripts are loaded"))
			Expect(readyOf(n)).To(Equal("true"))
			Expect(gauge("true")).To(BeNumerically(">=", 1))
			// The two writers' conditions stay side by side.
			got = getNuOperator(n)
			Expect(meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded)).NotTo(BeNil())
			var statusManagers []string
			for _, m := range got.ManagedFields {
				if m.Subresource == "status" {
					statusManagers = append(statusManagers, m.Manager+"/"+string(m.Operation))
				}
			}
			Expect(statusManagers).To(ContainElements("nuop-manager/Apply", "nuop-managed/Apply"))
			readySince := meta.FindStatusCondition(got.Status.Conditions, nuopv1alpha1.ConditionReady).LastTransitionTime

			// A spec change: Ready waits for the managed operator to load the new generation.
			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) {
				n.Spec.Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}}
			})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).
				Should(Equal("False/WaitingForManagedOperator"))
			got = getNuOperator(n)
			Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			managedStatus(n, map[string]any{"conditions": []any{
				scriptsLoaded("True", nuopv1alpha1.ReasonScriptsLoaded, got.Generation)}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
			Expect(meta.FindStatusCondition(getNuOperator(n).Status.Conditions, nuopv1alpha1.ConditionReady).
				LastTransitionTime.Before(&readySince)).To(BeFalse())

			// A failing script: Ready takes the managed operator's reason.
			managedStatus(n, map[string]any{"conditions": []any{
				scriptsLoaded("False", nuopv1alpha1.ReasonScriptNotFound, got.Generation)}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ScriptNotFound"))
			Expect(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable)()).To(Equal("True/DeploymentAvailable"))
			managedStatus(n, map[string]any{"conditions": []any{
				scriptsLoaded("True", nuopv1alpha1.ReasonScriptsLoaded, got.Generation)}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))

			// The pods go away after the rollout: unavailable; then the rollout fails: failed.
			setDeploymentStatus(n, 0,
				deploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable",
					"Deployment does not have minimum availability."),
				deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable",
					"ReplicaSet has successfully progressed."))
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DeploymentUnavailable"))
			Expect(conditionOf(n, nuopv1alpha1.ConditionDeploymentAvailable)()).To(Equal("False/DeploymentUnavailable"))
			Eventually(eventsOf(n, nuopv1alpha1.ReasonDeploymentUnavailable), eventually, poll).Should(
				ConsistOf(HavePrefix("Warning: Ready is False: 0 of 1 replicas ready: Deployment does not have minimum availability.")))
			Expect(readyOf(n)).To(Equal("false"))
			unavailableSince := meta.FindStatusCondition(getNuOperator(n).Status.Conditions,
				nuopv1alpha1.ConditionReady).LastTransitionTime

			setDeploymentStatus(n, 0,
				deploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable",
					"Deployment does not have minimum availability."),
				deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded",
					`ReplicaSet "status-nuop-abc" has timed out progressing.`))
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DeploymentFailed"))
			// Still False: the transition time stays.
			Expect(meta.FindStatusCondition(getNuOperator(n).Status.Conditions, nuopv1alpha1.ConditionReady).
				LastTransitionTime).To(Equal(unavailableSince))
		})

		It("reports a Deployment scaled to zero", func() {
			n := createNuOperator(ns, "zero", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping}, Replicas: ptr.To[int32](0)})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ScaledToZero"))
			Expect(deploymentOf(n).Spec.Replicas).To(Equal(ptr.To[int32](0)))
		})
	})

	Context("Deployments it did not make", func() {
		It("takes over the Deployment nuop made, dropping nuop's containers, volumes and annotations", func() {
			n := createNuOperator(ns, "legacy", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping}}, pausedLabel, "true")
			nuopDeployment := legacyDeployment(n, map[string]string{"app": "legacy-nuop"})
			Expect(k8sClient.Create(ctx, nuopDeployment, client.FieldOwner("nureconciler"))).To(Succeed())

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { delete(n.Labels, pausedLabel) })
			Eventually(func() []string {
				containers := deploymentOf(n).Spec.Template.Spec.Containers
				names := make([]string, 0, len(containers))
				for _, c := range containers {
					names = append(names, c.Name)
				}
				return names
			}, eventually, poll).Should(Equal([]string{"manager"}))
			dep := deploymentOf(n)
			Expect(dep.UID).To(Equal(nuopDeployment.UID))
			Expect(dep.Spec.Template.Spec.InitContainers).To(BeEmpty())
			Expect(volumeNames(dep.Spec.Template.Spec)).To(Equal([]string{"tmp", "sources"}))
			Expect(dep.Annotations).NotTo(HaveKey("nuop.hash"))
			Expect(dep.Spec.Template.Annotations).To(Equal(map[string]string{
				"kubectl.kubernetes.io/default-container": "manager"}))
			Expect(dep.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "nuop-manager"))
			Eventually(eventsOf(n, "TakingOver"), eventually, poll).Should(HaveLen(1))
		})

		It("recreates a Deployment whose selector differs", func() {
			n := createNuOperator(ns, "selector", nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{configMapMapping}}, pausedLabel, "true")
			old := legacyDeployment(n, map[string]string{"app": "selector-nuop", "tier": "scripts"})
			Expect(k8sClient.Create(ctx, old)).To(Succeed())

			updateNuOperator(n, func(n *nuopv1alpha1.NuOperator) { delete(n.Labels, pausedLabel) })
			Eventually(func() types.UID { return deploymentOf(n).UID }, eventually, poll).ShouldNot(Equal(old.UID))
			Expect(deploymentOf(n).Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "selector-nuop"}))
			Eventually(eventsOf(n, "Recreating"), eventually, poll).Should(HaveLen(1))
		})

		It("leaves someone else's Deployment alone and says so", func() {
			dep := legacyDeployment(&nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}},
				map[string]string{"app": "taken-nuop"})
			dep.OwnerReferences = nil
			Expect(k8sClient.Create(ctx, dep)).To(Succeed())
			n := createNuOperator(ns, "taken", nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}})
			Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
			Expect(meta.FindStatusCondition(getNuOperator(n).Status.Conditions, nuopv1alpha1.ConditionReady).Message).
				To(Equal("Deployment " + ns + "/taken-nuop exists and this NuOperator does not control it: delete it, " +
					"or give the NuOperator another name"))
			Expect(deploymentOf(n).Spec.Template.Spec.Containers[0].Name).To(Equal("nureconciler"))
		})

		It("replaces what an earlier NuOperator of the same name left", func() {
			spec := nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{configMapMapping}}
			first := createNuOperator(ns, "again", spec)
			deploymentOf(first)
			first = getNuOperator(first)
			updateNuOperator(first, func(n *nuopv1alpha1.NuOperator) {
				n.Annotations = map[string]string{nuopv1alpha1.SkipFinalizerReleaseAnnotation: "true"}
			})
			Expect(k8sClient.Delete(ctx, first)).To(Succeed())
			Eventually(gone(&nuopv1alpha1.NuOperator{ObjectMeta: first.ObjectMeta}), eventually, poll).Should(BeTrue())

			// envtest has no garbage collector: the first one's objects are still there.
			second := createNuOperator(ns, "again", spec)
			second = getNuOperator(second)
			Expect(second.UID).NotTo(Equal(first.UID))
			for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &rbacv1.Role{},
				&rbacv1.RoleBinding{}} {
				Eventually(func() types.UID {
					if err := k8sClient.Get(ctx, key(ns, "again-nuop"), obj); err != nil {
						return ""
					}
					return metav1.GetControllerOf(obj).UID
				}, eventually, poll).Should(Equal(second.UID), kindOf(obj))
			}
		})
	})

	Context("nuop's example manifests", func() {
		It("apply unchanged and each give a Deployment running the managed operator and the fetch sidecar", func() {
			root, err := utils.RepoRoot()
			Expect(err).NotTo(HaveOccurred())
			files, err := filepath.Glob(filepath.Join(root, "config", "samples", "nuop-compat", "*.yaml"))
			Expect(err).NotTo(HaveOccurred())
			var names []string
			for _, f := range files {
				objects, err := utils.ReadObjects(f)
				Expect(err).NotTo(HaveOccurred())
				for _, u := range objects {
					Expect(k8sClient.Create(ctx, u)).To(Succeed(), "%s: %s %s", f, u.GetKind(), u.GetName())
					if u.GetKind() == "NuOperator" {
						names = append(names, u.GetName())
					}
				}
			}
			// Their ServiceAccount: the one they name, or the manager's own instead of the namespace's default.
			serviceAccounts := map[string]string{"minimal-example": "minimal-example-nuop",
				"config-replicator": "config-replicator-sa", "secret-cloner": "secret-cloner-sa"}
			Expect(names).To(ConsistOf(slices.Collect(maps.Keys(serviceAccounts))))
			for name, sa := range serviceAccounts {
				n := &nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
				pod := deploymentOf(n).Spec.Template.Spec
				Expect(pod.ServiceAccountName).To(Equal(sa), name)
				Expect(container(pod.Containers, "manager")).To(HaveField("Image", testImage), name)
				Expect(container(pod.InitContainers, "fetch")).NotTo(BeNil(), name)
				Eventually(conditionOf(n, nuopv1alpha1.ConditionReady), eventually, poll).
					Should(Equal("False/DeploymentProgressing"), name)
			}
		})
	})
})

// legacyDeployment is a Deployment as nuop made it for n.
func legacyDeployment(n *nuopv1alpha1.NuOperator, selector map[string]string) *appsv1.Deployment {
	volume := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.DeploymentName(), Namespace: n.Namespace,
			Annotations: map[string]string{"nuop.hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "kemper.buzz/v1alpha1", Kind: "NuOperator",
				Name: n.Name, UID: n.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: selector, Annotations: map[string]string{"nuop.hash": "e3b0"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init-container", Image: "ghcr.io/ck3mp3r/nuop:latest",
						ImagePullPolicy: corev1.PullNever, Env: []corev1.EnvVar{{Name: "NUOP_MODE", Value: "init"}},
						VolumeMounts: []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}}}},
					Containers: []corev1.Container{{Name: "nureconciler", Image: "ghcr.io/ck3mp3r/nuop:latest",
						ImagePullPolicy: corev1.PullNever, Env: []corev1.EnvVar{{Name: "NUOP_MODE", Value: "managed"}},
						VolumeMounts: []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"},
							{Name: "config-mappings", MountPath: "/config/mappings"}}}},
					Volumes: []corev1.Volume{volume("scripts"), volume("config-mappings")},
				},
			},
		},
	}
}
