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

package v1alpha1_test

import (
	"encoding/json"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// condition is a status condition as a writer applies it.
func condition(conditionType, status, reason, message string) obj {
	return obj{
		"type": conditionType, "status": status, "reason": reason, "message": message,
		"observedGeneration": 1, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	}
}

// applyStatus server-side applies status to the NuOperator name as the field manager owner.
func applyStatus(name, owner string, status obj) {
	u := &unstructured.Unstructured{Object: obj{
		"apiVersion": nuopv1alpha1.GroupVersion.String(),
		"kind":       "NuOperator",
		"metadata":   obj{"name": name, "namespace": testNamespace},
		"status":     status,
	}}
	Expect(k8sClient.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(owner), client.ForceOwnership)).To(Succeed())
}

// table is the API server's table of a NuOperator, as kubectl get shows it.
func table(name string) metav1.Table {
	clientset, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	body, err := clientset.Discovery().RESTClient().Get().
		AbsPath("/apis/kemper.buzz/v1alpha1/namespaces", testNamespace, "nuoperators", name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	Expect(err).NotTo(HaveOccurred(), string(body))
	var t metav1.Table
	Expect(json.Unmarshal(body, &t)).To(Succeed())
	return t
}

var _ = Describe("NuOperator status", func() {
	It("keeps the manager's and the managed operator's writes side by side, and kubectl get shows them", func() {
		nuop := &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Name: "two-writers", Namespace: testNamespace},
			Spec: nuopv1alpha1.NuOperatorSpec{
				Mappings: []nuopv1alpha1.Mapping{{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"}},
			},
		}
		// The Go types make an object the API server admits.
		Expect(k8sClient.Create(ctx, nuop)).To(Succeed())

		manager := func(ready, reason string) obj {
			return obj{
				"observedGeneration": 1,
				"deploymentName":     nuop.DeploymentName(),
				"readyReplicas":      1,
				"conditions": []any{
					condition(nuopv1alpha1.ConditionReady, ready, reason, "summary"),
					condition(nuopv1alpha1.ConditionDeploymentAvailable, "True", nuopv1alpha1.ReasonDeploymentAvailable,
						"1 of 1 replicas ready"),
				},
			}
		}
		applyStatus(nuop.Name, "nuop-manager", manager("False", nuopv1alpha1.ReasonWaitingForManagedOperator))
		applyStatus(nuop.Name, "nuop-managed", obj{
			"conditions": []any{
				condition(nuopv1alpha1.ConditionScriptsLoaded, "True", nuopv1alpha1.ReasonScriptsLoaded, "1 script runs"),
				condition(nuopv1alpha1.ConditionSourcesFetched, "True", nuopv1alpha1.ReasonNoSources, "no sources"),
			},
			"scripts": []any{obj{
				"name": "config-replicator", "version": "v1", "kind": "ConfigMap",
				"finalizer": "nuop.kemper.buzz/config-replicator", "source": nuopv1alpha1.BundledSource,
				"state": string(nuopv1alpha1.ScriptRunning),
			}},
		})
		// The manager's next write changes its conditions only; the managed operator's stay.
		applyStatus(nuop.Name, "nuop-manager", manager("True", nuopv1alpha1.ReasonAvailable))

		got := &nuopv1alpha1.NuOperator{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(nuop), got)).To(Succeed())
		Expect(got.Status.ObservedGeneration).To(BeEquivalentTo(1))
		Expect(got.Status.DeploymentName).To(Equal("two-writers-nuop"))
		Expect(got.Status.ReadyReplicas).To(Equal(ptr.To[int32](1)))
		types := map[string]string{}
		for _, c := range got.Status.Conditions {
			types[c.Type] = string(c.Status) + "/" + c.Reason
		}
		Expect(types).To(Equal(map[string]string{
			"Ready":               "True/Available",
			"DeploymentAvailable": "True/DeploymentAvailable",
			"ScriptsLoaded":       "True/ScriptsLoaded",
			"SourcesFetched":      "True/NoSources",
		}))
		Expect(got.Status.Scripts).To(ConsistOf(nuopv1alpha1.ScriptStatus{
			Name: "config-replicator", Version: "v1", Kind: "ConfigMap",
			Finalizer: "nuop.kemper.buzz/config-replicator", Source: "bundled", State: nuopv1alpha1.ScriptRunning,
		}))
		var managers []string
		for _, m := range got.ManagedFields {
			if m.Subresource == "status" {
				managers = append(managers, m.Manager)
			}
		}
		Expect(managers).To(ConsistOf("nuop-manager", "nuop-managed"))

		// A status write through the main resource is ignored (status subresource).
		got.Status.DeploymentName = "elsewhere"
		got.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Update(ctx, got)).To(Succeed())
		Expect(got.Status.DeploymentName).To(Equal("two-writers-nuop"))

		t := table(nuop.Name)
		columns := make([]string, 0, len(t.ColumnDefinitions))
		for _, c := range t.ColumnDefinitions {
			columns = append(columns, c.Name)
		}
		Expect(columns).To(Equal([]string{"Name", "Ready", "Replicas", "Age"}))
		Expect(t.Rows).To(HaveLen(1))
		Expect(t.Rows[0].Cells[:3]).To(HaveExactElements("two-writers", "True", BeNumerically("==", 1)))
	})

	It("is served as nuoperators, short name nuop, namespaced, with a status subresource", func() {
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		list, err := dc.ServerResourcesForGroupVersion("kemper.buzz/v1alpha1")
		Expect(err).NotTo(HaveOccurred())
		resources := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			resources[r.Name] = r
		}
		Expect(resources).To(HaveKey("nuoperators/status"))
		Expect(resources).To(HaveKey("nuoperators"))
		Expect(resources["nuoperators"].ShortNames).To(ConsistOf("nuop"))
		Expect(resources["nuoperators"].Namespaced).To(BeTrue())
		Expect(resources["nuoperators"].Kind).To(Equal("NuOperator"))
	})
})

var _ = Describe("Helpers", func() {
	It("derives <name>-nuop, and the longest name admitted still makes a valid label value", func() {
		n := &nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Name: "minimal-example"}}
		Expect(n.DeploymentName()).To(Equal("minimal-example-nuop"))
		Expect(n.SelectorLabels()).To(Equal(map[string]string{"app": "minimal-example-nuop"}))

		Expect(nuopv1alpha1.MaxNameLength).To(Equal(58))
		n.Name = strings.Repeat("a", nuopv1alpha1.MaxNameLength)
		Expect(validation.IsValidLabelValue(n.DeploymentName())).To(BeEmpty())
		n.Name += "a"
		Expect(validation.IsValidLabelValue(n.DeploymentName())).NotTo(BeEmpty())

		crd, err := os.ReadFile(repoPath("config", "crd", "bases", "kemper.buzz_nuoperators.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(crd)).To(ContainSubstring("rule: self.metadata.name.size() <= %d", nuopv1alpha1.MaxNameLength))
	})

	It("gives a mapping's kind and a source's poll interval", func() {
		m := nuopv1alpha1.Mapping{Name: "x", Group: "apps", Version: "v1", Kind: "Deployment"}
		Expect(m.GroupVersionKind().String()).To(Equal("apps/v1, Kind=Deployment"))

		s := nuopv1alpha1.Source{}
		Expect(s.PollInterval()).To(Equal(5 * time.Minute))
		s.Interval = &metav1.Duration{Duration: time.Minute}
		Expect(s.PollInterval()).To(Equal(time.Minute))
	})
})
