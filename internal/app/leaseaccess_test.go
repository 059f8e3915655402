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
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/utils"
)

var _ = Describe("a replica with leader election on", func() {
	It("is not ready while it may not use its lease, says what to grant, and leads once granted", func() {
		ctx := context.Background()
		const user, lease = "no-lease", "no-lease.nuop.kemper.buzz"
		subject := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}
		// What standard mode needs, but leases: nuop's deployment guide grants no more.
		rbac := clientset.RbacV1()
		_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		limited, err := testEnv.AddUser(envtest.User{Name: user}, cfg)
		Expect(err).NotTo(HaveOccurred())

		r := startManagerWith(nil, limited.Config(), "--mode=standard", "--script-path=../../scripts",
			"--leader-elect", "--leader-election-namespace=default", "--leader-election-id="+lease)
		Expect(utils.WaitForStatus(r.probes+"/healthz", http.StatusOK, 30*time.Second)).To(Succeed())
		Eventually(func() string { _, body := get(r.probes + "/readyz/lease"); return body }).WithTimeout(30 * time.Second).
			Should(ContainSubstring("leader election is on, but this replica may not get, create, update the lease " +
				lease + " in namespace default (leases.coordination.k8s.io), so it can never lead"))
		code, _ := get(r.probes + "/readyz")
		Expect(code).To(Equal(http.StatusServiceUnavailable))
		Expect(leaseHolder(lease)).To(BeEmpty())

		_, err = rbac.Roles("default").Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: user},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
				Verbs: []string{"get", "create", "update"}}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = rbac.RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(utils.WaitForStatus(r.probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())
		Eventually(func() string { return leaseHolder(lease) }).WithTimeout(time.Minute).ShouldNot(BeEmpty())
	})
})
