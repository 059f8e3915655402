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

// Package e2e runs the built binaries as a user would: the manager process against a real API server
// (envtest's kube-apiserver and etcd), signals, exit codes, probes, metrics; and `make demo`'s program.
package e2e

import (
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"

	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

var (
	testEnv    *envtest.Environment
	clientset  *kubernetes.Clientset
	managerBin string
	kubeconfig string
)

func TestE2E(t *testing.T) {
	ginkgorun.Specs(t, "e2e suite")
}

var _ = BeforeSuite(func() {
	dir := GinkgoT().TempDir()
	var err error
	managerBin, err = utils.BuildManager(dir)
	Expect(err).NotTo(HaveOccurred())

	// Manager mode needs its CRDs, as in any install (make install, make deploy).
	testEnv, err = utils.NewEnvironment("config/crd/bases")
	Expect(err).NotTo(HaveOccurred())
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(dir, "kubeconfig")
	Expect(utils.WriteKubeconfig(testEnv, cfg, kubeconfig)).To(Succeed())
})

// nuopClient installs the project's CRDs (idempotent) and returns a client that knows their types.
func nuopClient() client.Client {
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	_, err = envtest.InstallCRDs(testEnv.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases")}})
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(nuopv1alpha1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(testEnv.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
