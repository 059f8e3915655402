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

package deploy

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/test/utils/containeropts"
)

// deployment is a Deployment of a build with the options its container's args and env give the binary.
type deployment struct {
	build *build
	*appsv1.Deployment
	opts *options.Options
}

// deploymentsOf returns the Deployments of the kustomizations that run nuop, each with its options.
func deploymentsOf(t *testing.T) []deployment {
	t.Helper()
	dirs := []string{defaultConfig, productionConfig, standardConfig}
	all := make([]deployment, 0, len(dirs))
	for _, dir := range dirs {
		b := kustomizeBuild(t, root, dir)
		deps := b.all("Deployment")
		if len(deps) != 1 {
			t.Fatalf("%s: %d Deployments, want 1", dir, len(deps))
		}
		d := typed[appsv1.Deployment](t, deps[0])
		all = append(all, deployment{build: b, Deployment: d, opts: containerOptions(t, d, &d.Spec.Template.Spec.Containers[0])})
	}
	return all
}

// containerOptions parses c's args and environment with the binary's own parser (internal/options), as the
// process in the pod will; the pod's namespace is the only field its env may refer to.
func containerOptions(t *testing.T, d *appsv1.Deployment, c *corev1.Container) *options.Options {
	t.Helper()
	o, err := containeropts.Parse(c, containeropts.Run{
		Entrypoint: []string{containeropts.Program}, // nuop's image
		ValueFrom: func(s *corev1.EnvVarSource) (string, bool) {
			return d.Namespace, s.FieldRef != nil && s.FieldRef.FieldPath == "metadata.namespace"
		},
	}, io.Discard)
	if err != nil {
		t.Fatalf("Deployment %s, container %s: %v", d.Name, c.Name, err)
	}
	return o
}

// TestContainersAreLockedDown: every pod runs non-root, under RuntimeDefault seccomp, with no capability,
// no privilege escalation and a read-only root filesystem (a writable emptyDir at /tmp, HOME), with
// requests and limits and both probes on a port the container declares.
func TestContainersAreLockedDown(t *testing.T) {
	for _, d := range deploymentsOf(t) {
		t.Run(d.build.dir, func(t *testing.T) {
			pod := &d.Spec.Template.Spec
			if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
				t.Error("pod: runAsNonRoot is not true")
			}
			if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil ||
				pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Error("pod: seccompProfile is not RuntimeDefault")
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Error("pod: shares a host namespace")
			}
			tmp := false
			for _, v := range pod.Volumes {
				tmp = tmp || (v.EmptyDir != nil && v.Name == "tmp")
			}
			if !tmp {
				t.Error("pod: no emptyDir volume tmp for /tmp")
			}
			for _, c := range append(pod.InitContainers, pod.Containers...) {
				checkContainer(t, &c)
			}
		})
	}
}

func checkContainer(t *testing.T, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatalf("container %s: no securityContext", c.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("container %s: privileged", c.Name)
	case sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 ||
		len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Errorf("container %s: capabilities %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
	case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
		t.Errorf("container %s: runAsNonRoot false", c.Name)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.Name == "tmp" && m.MountPath == "/tmp")
	}
	if !mounted {
		t.Errorf("container %s: /tmp is not mounted from the tmp volume (HOME of nu and kubectl)", c.Name)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("container %s: no %s request", c.Name, r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("container %s: no memory limit", c.Name)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("container %s: no HTTP %s probe", c.Name, name)
			continue
		}
		if containerPort(c, p.HTTPGet.Port.String()) == 0 && p.HTTPGet.Port.IntValue() == 0 {
			t.Errorf("container %s: %s probe port %s is not one of its ports", c.Name, name, p.HTTPGet.Port.String())
		}
	}
}

// containerPort returns the number of c's port named name, or 0.
func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// TestPodsMeetTheRestrictedPodSecurityStandard: each Deployment's namespace enforces the restricted Pod
// Security Standard, and the API server's PodSecurity admission admits a pod made from its template there
// (a server-side dry run). The same pod without its seccomp profile is refused: the check is live.
func TestPodsMeetTheRestrictedPodSecurityStandard(t *testing.T) {
	for _, d := range deploymentsOf(t) {
		t.Run(d.build.dir, func(t *testing.T) {
			ns := d.build.one(t, "Namespace", d.Namespace)
			if got := ns.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
				t.Fatalf("Namespace %s enforces %q, want restricted", d.Namespace, got)
			}
			applyObjects(t, []*unstructured.Unstructured{ns})

			pod := podOf(t, d.Deployment)
			run1(t, kubectl, encode(t, []*unstructured.Unstructured{pod}), "create", "--dry-run=server", "-f", "-")

			unconfined := podOf(t, d.Deployment)
			unstructured.RemoveNestedField(unconfined.Object, "spec", "securityContext", "seccompProfile")
			_, err := runTool(kubectl, encode(t, []*unstructured.Unstructured{unconfined}), "create", "--dry-run=server", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
				t.Errorf("a pod without a seccomp profile was not refused by PodSecurity admission: %v", err)
			}
		})
	}
}

// podOf is a pod made from d's template, as the ReplicaSet controller makes it.
func podOf(t *testing.T, d *appsv1.Deployment) *unstructured.Unstructured {
	t.Helper()
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-pod", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: u}
}

// TestTerminationGraceCoversTheShutdown: the kubelet kills a pod terminationGracePeriodSeconds after
// SIGTERM. The process waits up to --max-script-timeout for script runs, then its margin to kill what is
// left and release the lease: the grace period must be longer, or runs are cut short and the lease is
// left to expire.
func TestTerminationGraceCoversTheShutdown(t *testing.T) {
	for _, d := range deploymentsOf(t) {
		t.Run(d.build.dir, func(t *testing.T) {
			grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
			if grace == nil {
				t.Fatal("no terminationGracePeriodSeconds: the default 30s is below any script time-out")
			}
			shutdown := d.opts.GracefulShutdownTimeout()
			if time.Duration(*grace)*time.Second <= shutdown {
				t.Errorf("terminationGracePeriodSeconds %d is not above the graceful shutdown, %s "+
					"(--max-script-timeout %s + %s)", *grace, shutdown, d.opts.MaxScriptTimeout, options.ShutdownMargin)
			}
		})
	}
}

// TestManagerDeployment: config/default and the production overlay run the manager in manager mode with
// leader election, its probes on the probe port, and the secure metrics endpoint on the port the metrics
// Service targets; production runs two replicas.
func TestManagerDeployment(t *testing.T) {
	for _, d := range deploymentsOf(t) {
		if d.build.dir == standardConfig {
			continue
		}
		t.Run(d.build.dir, func(t *testing.T) {
			c := &d.Spec.Template.Spec.Containers[0]
			if d.opts.Mode != options.ModeManager || !d.opts.LeaderElect {
				t.Errorf("mode %s, leader election %v; want manager mode with leader election", d.opts.Mode, d.opts.LeaderElect)
			}
			if d.opts.LeaderElectionNamespace != d.Namespace {
				t.Errorf("leader election namespace %q, want the pod's, %q", d.opts.LeaderElectionNamespace, d.Namespace)
			}
			checkPorts(t, c, d.opts, "/healthz", "/readyz")
			if !d.opts.MetricsSecure {
				t.Error("the manager's metrics are not served over HTTPS with authentication")
			}
			svc := typed[corev1.Service](t, d.build.one(t, "Service", "nuop-controller-manager-metrics-service"))
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.IntValue() != int(containerPort(c, "metrics")) {
				t.Errorf("metrics Service ports %+v do not target the container's metrics port", svc.Spec.Ports)
			}
			if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
				t.Errorf("metrics Service selector %v does not select the manager's pods %v", svc.Spec.Selector,
					d.Spec.Template.Labels)
			}
			want := int32(1)
			if d.build.dir == productionConfig {
				want = 2
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
				t.Errorf("replicas %v, want %d", d.Spec.Replicas, want)
			}
		})
	}
}

// checkPorts: the container's probes ask the binary's probe address for its paths, and its port named
// metrics is where the binary serves metrics.
func checkPorts(t *testing.T, c *corev1.Container, o *options.Options, liveness, readiness string) {
	t.Helper()
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Fatalf("container %s: no HTTP liveness and readiness probes", c.Name)
	}
	probe := fmt.Sprintf(":%d", containerPort(c, "probes"))
	if o.ProbeAddr != probe {
		t.Errorf("the binary serves probes on %q, the container's port probes is %q", o.ProbeAddr, probe)
	}
	if c.LivenessProbe.HTTPGet.Path != liveness || c.LivenessProbe.HTTPGet.Port.String() != "probes" {
		t.Errorf("liveness probe %+v, want %s on port probes", c.LivenessProbe.HTTPGet, liveness)
	}
	if c.ReadinessProbe.HTTPGet.Path != readiness || c.ReadinessProbe.HTTPGet.Port.String() != "probes" {
		t.Errorf("readiness probe %+v, want %s on port probes", c.ReadinessProbe.HTTPGet, readiness)
	}
	if metrics := fmt.Sprintf(":%d", containerPort(c, "metrics")); o.MetricsAddr != metrics {
		t.Errorf("the binary serves metrics on %q, the container's port metrics is %q", o.MetricsAddr, metrics)
	}
}

// selects tells whether a selector's labels are all among labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
