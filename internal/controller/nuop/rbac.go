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
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// desiredServiceAccount is the ServiceAccount <name>-nuop the managed operator runs as when the spec names
// none: never the namespace's default, which every pod of the namespace runs as.
func desiredServiceAccount(n *nuopv1alpha1.NuOperator) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(n.DeploymentName(), n.Namespace).
		WithLabels(ownedLabels(n)).
		WithOwnerReferences(ownerReference(n))
}

// desiredRole grants the managed operator (and its fetch sidecar) what they need and nothing more: its
// leader election lease, events in its namespace, reading its own NuOperator and writing that
// NuOperator's status. What the scripts do is granted to the ServiceAccount by the user.
//
// resourceNames cannot restrict create (the name is not known to the authorizer before the object exists),
// so create on leases is granted apart. list and watch restricted by resourceNames are allowed only with a
// field selector on metadata.name: the managed operator's cache of its NuOperator must use one.
func desiredRole(n *nuopv1alpha1.NuOperator) *rbacv1ac.RoleApplyConfiguration {
	lease := n.DeploymentName()
	return rbacv1ac.Role(n.DeploymentName(), n.Namespace).
		WithLabels(ownedLabels(n)).
		WithOwnerReferences(ownerReference(n)).
		WithRules(
			rbacv1ac.PolicyRule().
				WithAPIGroups("coordination.k8s.io").
				WithResources("leases").
				WithResourceNames(lease).
				WithVerbs("get", "list", "watch", "update", "patch", "delete"),
			rbacv1ac.PolicyRule().
				WithAPIGroups("coordination.k8s.io").
				WithResources("leases").
				WithVerbs("create"),
			rbacv1ac.PolicyRule().
				WithAPIGroups("", "events.k8s.io").
				WithResources("events").
				WithVerbs("create", "patch"),
			rbacv1ac.PolicyRule().
				WithAPIGroups(nuopv1alpha1.GroupVersion.Group).
				WithResources("nuoperators").
				WithResourceNames(n.Name).
				WithVerbs("get", "list", "watch"),
			rbacv1ac.PolicyRule().
				WithAPIGroups(nuopv1alpha1.GroupVersion.Group).
				WithResources("nuoperators/status").
				WithResourceNames(n.Name).
				WithVerbs("patch", "update"),
		)
}

// desiredRoleBinding binds desiredRole to the ServiceAccount the managed operator's pods run as.
func desiredRoleBinding(n *nuopv1alpha1.NuOperator, serviceAccount string) *rbacv1ac.RoleBindingApplyConfiguration {
	return rbacv1ac.RoleBinding(n.DeploymentName(), n.Namespace).
		WithLabels(ownedLabels(n)).
		WithOwnerReferences(ownerReference(n)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup("rbac.authorization.k8s.io").
			WithKind("Role").
			WithName(n.DeploymentName())).
		WithSubjects(rbacv1ac.Subject().
			WithKind("ServiceAccount").
			WithName(serviceAccount).
			WithNamespace(n.Namespace))
}
