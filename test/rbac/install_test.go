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
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/test/utils"
)

// render is `kustomize build` of a directory of the repository (config/default, an overlay), as `make
// deploy` renders it.
func render(dir string) ([]*unstructured.Unstructured, error) {
	_, objs, err := utils.KustomizeBuild(dir)
	return objs, err
}

// convertTo converts a rendered object to its typed form.
func convertTo[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
	return out, err
}

// deploymentRunning finds the one Deployment of objs with a container running mode (its --mode flag, else
// its NUOP_MODE, else the binary's default, manager mode), and that container's name.
func deploymentRunning(objs []*unstructured.Unstructured, mode options.Mode) (*appsv1.Deployment, string, error) {
	var found []*appsv1.Deployment
	var container string
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		dep, err := convertTo[appsv1.Deployment](u)
		if err != nil {
			return nil, "", err
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			if modeOf(c) == mode {
				found = append(found, dep)
				container = c.Name
				break
			}
		}
	}
	if len(found) != 1 {
		return nil, "", fmt.Errorf("want one Deployment running %s mode, found %d", mode, len(found))
	}
	return found[0], container, nil
}

// modeOf is the mode a container of the nuop image runs.
func modeOf(c corev1.Container) options.Mode {
	args := append(slices.Clone(c.Command), c.Args...)
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--mode="); ok {
			return options.Mode(v)
		}
		if a == "--mode" && i+1 < len(args) {
			return options.Mode(args[i+1])
		}
	}
	for _, e := range c.Env {
		if e.Name == "NUOP_MODE" {
			return options.Mode(e.Value)
		}
	}
	return options.ModeManager
}

// serviceAccountOf is the namespace and name of the service account a Deployment's pods run as.
func serviceAccountOf(dep *appsv1.Deployment) (string, string) {
	name := dep.Spec.Template.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	return dep.Namespace, name
}

// rbacFor selects from objs what grants permissions to the service account namespace/name: the account
// and its namespace, every RoleBinding and ClusterRoleBinding with it as a subject, and the Roles and
// ClusterRoles they bind, in the order they can be created. It also returns the roles, for their rules.
// A binding of a role the render lacks is an error: it would be a built-in role (or a mistake), and the
// proof covers the rules config/ ships.
func rbacFor(objs []*unstructured.Unstructured, namespace, name string) (install []*unstructured.Unstructured,
	roles []*unstructured.Unstructured, err error) {
	var bindings []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != "RoleBinding" && u.GetKind() != "ClusterRoleBinding" {
			continue
		}
		b, err := convertTo[rbacv1.RoleBinding](u) // a ClusterRoleBinding has the same fields
		if err != nil {
			return nil, nil, err
		}
		if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Name == name && s.Namespace == namespace
		}) {
			continue
		}
		roleNamespace := ""
		if b.RoleRef.Kind == "Role" {
			roleNamespace = b.Namespace
		}
		role := find(objs, b.RoleRef.Kind, roleNamespace, b.RoleRef.Name)
		if role == nil {
			return nil, nil, fmt.Errorf("%s %s binds %s %s, which the render does not hold", u.GetKind(), u.GetName(),
				b.RoleRef.Kind, b.RoleRef.Name)
		}
		if _, aggregated := role.Object["aggregationRule"]; aggregated {
			return nil, nil, fmt.Errorf("%s binds the aggregated ClusterRole %s: envtest runs no aggregation controller",
				u.GetName(), role.GetName())
		}
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
		bindings = append(bindings, u)
	}
	if len(bindings) == 0 {
		return nil, nil, fmt.Errorf("nothing binds a role to the service account %s/%s", namespace, name)
	}
	sa := find(objs, "ServiceAccount", namespace, name)
	if sa == nil {
		return nil, nil, fmt.Errorf("the render has no ServiceAccount %s/%s", namespace, name)
	}
	ns := find(objs, "Namespace", "", namespace)
	if ns == nil {
		// An overlay for an existing namespace: made here, as its user would have.
		ns = &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(namespace)
	}
	install = append(install, ns, sa)
	install = append(install, roles...)
	install = append(install, bindings...)
	return install, roles, nil
}

// install applies objs as the cluster admin running `make deploy` does (server-side).
func install(objs []*unstructured.Unstructured) {
	GinkgoHelper()
	for _, u := range objs {
		Expect(admin.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.FieldOwner("rbac-test"), client.ForceOwnership)).To(Succeed(), "applying %s %s", u.GetKind(), u.GetName())
	}
}

// find is the object of kind and name in objs.
func find(objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetNamespace() == namespace && u.GetName() == name {
			return u
		}
	}
	return nil
}
