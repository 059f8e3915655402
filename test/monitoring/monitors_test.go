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

package monitoring

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kemper.buzz/nuop/test/utils"
)

// The jobs the monitors name their targets (relabelings); the alerts and the dashboard select by them.
const (
	managerJob = "nuop-manager"
	scriptsJob = "nuop-scripts"
)

// builtOf decodes the objects of kind in the build into T.
func builtOf[T any](kind string) []*T {
	var out []*T
	for _, u := range built {
		if u.GetKind() != kind {
			continue
		}
		t := new(T)
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t)).To(Succeed(), "decoding %s %s", kind, u.GetName())
		out = append(out, t)
	}
	return out
}

// theOne is the single object of kind in the build.
func theOne[T any](kind string) *T {
	all := builtOf[T](kind)
	Expect(all).To(HaveLen(1), "the build holds one %s", kind)
	return all[0]
}

// jobOf is the job name the relabelings give a monitor's targets, "" when they set none.
func jobOf(relabelings []monitoringv1.RelabelConfig) string {
	job := ""
	for _, r := range relabelings {
		if r.TargetLabel == "job" && (r.Action == "" || strings.EqualFold(r.Action, "replace")) && r.Replacement != nil {
			job = *r.Replacement
		}
	}
	return job
}

// selects reports whether a monitor's label selector selects objects labelled l.
func selects(s metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(&s)
	Expect(err).NotTo(HaveOccurred())
	return !sel.Empty() && sel.Matches(labels.Set(l))
}

// flagValue is the value of --name in args (--name=value or --name value); a bare boolean flag is "true".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "--"+name+"="):
			return strings.TrimPrefix(a, "--"+name+"="), true
		case a == "--"+name && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
			return args[i+1], true
		case a == "--"+name:
			return "true", true
		}
	}
	return "", false
}

// checkServesMetrics checks that a container of pod serves metrics on port (a container port's name or
// number) as a monitor scrapes them with scheme: --metrics-bind-address on that port, HTTPS unless
// --metrics-secure=false.
func checkServesMetrics(pod corev1.PodSpec, port intstr.IntOrString, scheme string) error {
	if scheme == "" {
		scheme = "http" // Prometheus' default
	}
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if p.Name != port.String() && strconv.Itoa(int(p.ContainerPort)) != port.String() {
				continue
			}
			addr, ok := flagValue(c.Args, "metrics-bind-address")
			if !ok {
				return fmt.Errorf("container %s has port %s but no --metrics-bind-address", c.Name, port.String())
			}
			if _, listen, err := net.SplitHostPort(addr); err != nil || listen != strconv.Itoa(int(p.ContainerPort)) {
				return fmt.Errorf("container %s serves metrics on %q, not on its port %s (%d)", c.Name, addr, port.String(), p.ContainerPort)
			}
			serves := "https"
			if secure, ok := flagValue(c.Args, "metrics-secure"); ok && secure == "false" {
				serves = "http"
			}
			if serves != scheme {
				return fmt.Errorf("container %s serves metrics over %s, the monitor scrapes %s", c.Name, serves, scheme)
			}
			return nil
		}
	}
	return fmt.Errorf("no container has the port %s", port.String())
}

var _ = Describe("the ServiceMonitor", func() {
	It("selects the manager's metrics Service and scrapes its port the way the manager serves it", func() {
		monitor := theOne[monitoringv1.ServiceMonitor]("ServiceMonitor")
		Expect(monitor.Spec.NamespaceSelector.Any).To(BeFalse())
		Expect(monitor.Spec.NamespaceSelector.MatchNames).To(BeEmpty(), "the Service is in the monitor's namespace")
		var services []*corev1.Service
		for _, s := range builtOf[corev1.Service]("Service") {
			if s.Namespace == monitor.Namespace && selects(monitor.Spec.Selector, s.Labels) {
				services = append(services, s)
			}
		}
		Expect(services).To(HaveLen(1), "the ServiceMonitor selects one Service")
		svc := services[0]

		Expect(monitor.Spec.Endpoints).To(HaveLen(1))
		ep := monitor.Spec.Endpoints[0]
		Expect(jobOf(ep.RelabelConfigs)).To(Equal(managerJob))
		// Deprecated in favour of authorization, which can only read a Secret: Prometheus' own token is a file.
		Expect(ep.BearerTokenFile).To(Equal("/var/run/secrets/kubernetes.io/serviceaccount/token"), //nolint:staticcheck
			"the manager authenticates Prometheus by its service account token")
		var target *intstr.IntOrString
		for _, p := range svc.Spec.Ports {
			if p.Name == ep.Port {
				target = &p.TargetPort
			}
		}
		Expect(target).NotTo(BeNil(), "Service %s has a port named %q", svc.Name, ep.Port)

		var pods []appsv1.Deployment
		for _, d := range builtOf[appsv1.Deployment]("Deployment") {
			if d.Namespace == svc.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				pods = append(pods, *d)
			}
		}
		Expect(pods).To(HaveLen(1), "the Service selects the manager's pods")
		Expect(checkServesMetrics(pods[0].Spec.Template.Spec, *target, ep.Scheme)).To(Succeed())
	})
})

var _ = Describe("the PodMonitor", func() {
	It("selects the standard-mode overlay's pods and scrapes them the way they serve metrics", func() {
		monitor := theOne[monitoringv1.PodMonitor]("PodMonitor")
		ep := monitor.Spec.PodMetricsEndpoints[0]
		Expect(ep.Port).NotTo(BeNil())

		_, objects, err := utils.KustomizeBuild("config/overlays/standard-mode")
		Expect(err).NotTo(HaveOccurred())
		var deployments []*appsv1.Deployment
		for _, u := range objects {
			if u.GetKind() == "Deployment" {
				d := &appsv1.Deployment{}
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d)).To(Succeed())
				deployments = append(deployments, d)
			}
		}
		Expect(deployments).To(HaveLen(1), "the standard-mode overlay runs one Deployment")
		d := deployments[0]
		Expect(selects(monitor.Spec.Selector, d.Spec.Template.Labels)).To(BeTrue(),
			"the PodMonitor selects pods labelled %v", d.Spec.Template.Labels)
		Expect(checkServesMetrics(d.Spec.Template.Spec, intstr.FromString(*ep.Port), ep.Scheme)).To(Succeed())
		for _, label := range monitor.Spec.PodTargetLabels {
			Expect(d.Spec.Template.Labels).To(HaveKey(label), "the alerts group the pods by it")
		}
	})
})
