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

// Package rbac proves the RBAC nuop ships: the manager, a managed operator and the standard-mode example
// run in this process against a real API server (envtest) as the service accounts of the rendered
// manifests (impersonated), bound to exactly the roles those manifests install, with the
// OwnerReferencesPermissionEnforcement admission plugin on; the API server's audit log shows every request
// each of them made, and a single 403 fails the test. A golden list bounds the manager's rules from above.
package rbac

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

var (
	testEnv *envtest.Environment
	// admin is the test's own client: a cluster admin, as the user who installs nuop.
	admin client.Client
	// impersonator is the authenticated user behind every impersonating kubeconfig; the audit policy
	// records its requests only.
	impersonator *envtest.AuthenticatedUser
	audit        *auditLog
)

func TestRBAC(t *testing.T) {
	ginkgorun.Specs(t, "RBAC proof")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	dir := GinkgoT().TempDir()
	var err error
	audit, err = newAuditLog(dir, impersonatorName)
	Expect(err).NotTo(HaveOccurred())

	testEnv, err = utils.NewEnvironment("config/crd/bases", "scripts/greeting/crd")
	Expect(err).NotTo(HaveOccurred())
	testEnv.ErrorIfCRDPathMissing = true
	// Setting blockOwnerDeletion in an owner reference needs update on the owner's finalizers: this plugin
	// checks it (OpenShift and many hardened clusters enable it; envtest does not).
	testEnv.ControlPlane.GetAPIServer().Configure().
		Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement").
		Set("audit-policy-file", audit.policyPath).
		Set("audit-log-path", audit.logPath).
		Set("audit-log-format", "json")
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(testEnv.Stop()).To(Succeed()) })

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(nuopv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(giteav1alpha1.AddToScheme(scheme)).To(Succeed())
	admin, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	impersonator, err = testEnv.AddUser(envtest.User{Name: impersonatorName, Groups: []string{"system:masters"}}, cfg)
	Expect(err).NotTo(HaveOccurred())

	// Scripts run nu and kubectl from PATH, as in the image, with a writable HOME for their caches.
	bin, err := utils.BinDir()
	Expect(err).NotTo(HaveOccurred())
	for _, tool := range []string{"nu", "kubectl", "kustomize"} {
		_, err := utils.Tool(tool)
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))).To(Succeed())
	Expect(os.Setenv("HOME", GinkgoT().TempDir())).To(Succeed())
})

// asServiceAccount is a rest.Config of the impersonator acting as the service account namespace/name.
func asServiceAccount(namespace, name string) *rest.Config {
	cfg := rest.CopyConfig(impersonator.Config())
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(namespace, name)}
	return cfg
}

// serviceAccountUser is the user name the API server gives a service account.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// repoPath is a path in the repository.
func repoPath(elem ...string) string {
	GinkgoHelper()
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Join(append([]string{root}, elem...)...)
}

// ctx is the context of the suite's API calls.
var ctx = context.Background()
