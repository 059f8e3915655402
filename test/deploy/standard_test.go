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
	"context"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/utils"
)

// The standard-mode overlay's Deployment, ServiceAccount and namespace.
const standardName = "nuop-standard"

// TestStandardModeDeployment: the standard-mode overlay runs the image's scripts as nuop's production
// deployment guide does (NUOP_MODE=standard, NUOP_SCRIPT_PATH=/scripts, probes /health and /ready on
// 8080), with leader election, plain-HTTP metrics on the port named metrics, the labels a PodMonitor
// selects on, its own ServiceAccount, and the Greeting CRD its example script watches.
func TestStandardModeDeployment(t *testing.T) {
	b := kustomizeBuild(t, root, standardConfig)
	d := typed[appsv1.Deployment](t, b.one(t, "Deployment", standardName))
	c := &d.Spec.Template.Spec.Containers[0]
	o := containerOptions(t, d, c)

	if envValue(c.Env, "NUOP_MODE") != "standard" || envValue(c.Env, "NUOP_SCRIPT_PATH") != "/scripts" {
		t.Errorf("env %v: want nuop's NUOP_MODE=standard and NUOP_SCRIPT_PATH=/scripts", c.Env)
	}
	if o.Mode != options.ModeStandard || o.ScriptPath != "/scripts" {
		t.Errorf("the binary runs mode %s on %s, want standard on /scripts", o.Mode, o.ScriptPath)
	}
	if !o.LeaderElect || o.LeaderElectionNamespace != d.Namespace {
		t.Errorf("leader election %v in %q, want on, in the pod's namespace %q", o.LeaderElect,
			o.LeaderElectionNamespace, d.Namespace)
	}
	checkPorts(t, c, o, "/health", "/ready")
	if p := containerPort(c, "probes"); p != 8080 {
		t.Errorf("probes on port %d, want nuop's 8080", p)
	}
	if o.MetricsSecure || containerPort(c, "metrics") == 0 {
		t.Error("want plain-HTTP metrics on a port named metrics")
	}

	podLabels := d.Spec.Template.Labels
	if podLabels["app.kubernetes.io/name"] != "nuop" || podLabels["app.kubernetes.io/component"] != "standard" ||
		podLabels["app.kubernetes.io/instance"] != o.Instance {
		t.Errorf("pod labels %v, want app.kubernetes.io/name=nuop, app.kubernetes.io/component=standard and "+
			"app.kubernetes.io/instance=%s (--instance)", podLabels, o.Instance)
	}
	if !matches(t, d.Spec.Selector, podLabels) {
		t.Errorf("selector %v does not select the pods %v", d.Spec.Selector, podLabels)
	}
	if sa := b.one(t, "ServiceAccount", standardName); d.Spec.Template.Spec.ServiceAccountName != sa.GetName() ||
		sa.GetNamespace() != d.Namespace {
		t.Errorf("the pods run as %q, want the overlay's ServiceAccount %s/%s", d.Spec.Template.Spec.ServiceAccountName,
			sa.GetNamespace(), sa.GetName())
	}
	b.one(t, "CustomResourceDefinition", "greetings.examples.kemper.buzz")
}

// TestStandardModePermissions: with the overlay's RBAC applied to a real API server, its authorizer allows
// the ServiceAccount what the engine needs on the kind of every script under scripts/ (from each script's
// own config, loaded by the engine's loader with the real nu), what the examples do beyond it, events and
// its lease; and it denies what no example needs.
func TestStandardModePermissions(t *testing.T) {
	b := kustomizeBuild(t, root, standardConfig)
	var rbac []*unstructured.Unstructured
	for _, o := range b.objects {
		if o.GetKind() != "Deployment" {
			rbac = append(rbac, o)
		}
	}
	applyObjects(t, rbac)
	sa := b.one(t, "ServiceAccount", standardName)
	ns := sa.GetNamespace()

	nu, err := utils.Tool("nu")
	if err != nil {
		t.Fatal(err)
	}
	runner := script.NewRunner(procs.NewSupervisor(10*time.Second), 2)
	runner.Nu = nu
	dirs, warnings, err := script.Discover(filepath.Join(root, "scripts"))
	if err != nil || len(warnings) > 0 || len(dirs) == 0 {
		t.Fatalf("finding the example scripts: %v %v %v", dirs, warnings, err)
	}
	httpClient, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(restConfig, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	clientset := kubernetes.NewForConfigOrDie(restConfig)
	may := func(allowed bool, namespace, verb, group, resource string) {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + ns + ":" + sa.GetName(),
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: group, Resource: resource},
		}}
		res, err := clientset.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != allowed {
			t.Errorf("%s %s.%s in namespace %q: allowed %v, want %v", verb, resource, group, namespace,
				res.Status.Allowed, allowed)
		}
	}

	for _, dir := range dirs {
		s, err := (&script.Loader{Runner: runner}).Load(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		gvk := s.Config.GVK()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("script %s watches %s, which the API server does not serve: %v", s.Config.Name, gvk, err)
		}
		// The engine: its cache and live reads, write-back and finalizers, cluster-wide (namespace "").
		for _, verb := range []string{"get", "list", "watch", "update", "patch"} {
			may(true, s.Config.Namespace, verb, m.Resource.Group, m.Resource.Resource)
		}
	}
	// What the examples do beyond the engine (scripts/README.md).
	for _, r := range []struct{ verb, group, resource string }{
		{"create", "", "configmaps"}, {"delete", "", "configmaps"}, {"list", "", "namespaces"}, // config-replicator
		{"update", "examples.kemper.buzz", "greetings/status"}, // greeting
		{"create", "", "events"}, {"patch", "", "events"}, {"create", "events.k8s.io", "events"}, {"patch", "events.k8s.io", "events"},
	} {
		may(true, "", r.verb, r.group, r.resource)
	}
	lease := schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	for _, verb := range []string{"get", "create", "update"} {
		may(true, ns, verb, lease.Group, lease.Resource)
		may(false, "default", verb, lease.Group, lease.Resource)
	}
	// Nothing it does not need.
	may(false, "", "get", "", "secrets")
	may(false, "", "create", "", "pods")
	may(false, "", "update", "", "namespaces")
	may(false, "", "update", "apiextensions.k8s.io", "customresourcedefinitions")
}
