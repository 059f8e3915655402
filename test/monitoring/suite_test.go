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

// Package monitoring tests the monitoring nuop ships (the Component config/prometheus, built through
// config/overlays/monitoring): a real API server with the Prometheus Operator's CRDs accepts it, every
// PromQL expression of the alerts and the Grafana dashboard parses with Prometheus' own parser, and every
// series they select is one nuop's processes expose, driven (a script error and time-out in a standard-mode
// process; a Gitea 401, an unreachable Gitea, a 429, providers and resources that are not Ready and a create
// Gitea refuses in the manager) and scraped the way the ServiceMonitor and the PodMonitor say.
//
// It is a Go module of its own so that Prometheus and the Prometheus Operator stay out of nuop's go.mod.
package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

var (
	repoRoot string
	// buildFile holds `kustomize build config/overlays/monitoring`; built are its objects.
	buildFile string
	built     []*unstructured.Unstructured

	testEnv    *envtest.Environment
	k8sClient  client.Client
	clientset  *kubernetes.Clientset
	kubeconfig string
	kubectl    string
	managerBin string
)

func TestMonitoring(t *testing.T) {
	ginkgorun.Specs(t, "monitoring suite")
}

var _ = BeforeSuite(func() {
	var err error
	repoRoot, err = utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()

	kubectl, err = utils.Tool("kubectl")
	Expect(err).NotTo(HaveOccurred())
	var out []byte
	out, built, err = utils.KustomizeBuild("config/overlays/monitoring")
	Expect(err).NotTo(HaveOccurred())
	buildFile = filepath.Join(dir, "monitoring.yaml")
	Expect(os.WriteFile(buildFile, out, 0o600)).To(Succeed())

	// Only the Prometheus Operator's CRDs: nuop's own come with the build, as in a real install.
	crds, err := prometheusOperatorCRDs()
	Expect(err).NotTo(HaveOccurred())
	testEnv, err = utils.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	testEnv.CRDDirectoryPaths = []string{crds}
	testEnv.ErrorIfCRDPathMissing = true
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(dir, "kubeconfig")
	Expect(utils.WriteKubeconfig(testEnv, cfg, kubeconfig)).To(Succeed())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(nuopv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(giteav1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	managerBin, err = utils.BuildManager(dir)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// stderrOf is what a failed command wrote to stderr (exec.Cmd.Output keeps it in the error).
func stderrOf(err error) string {
	if exit, ok := err.(*exec.ExitError); ok {
		return string(exit.Stderr)
	}
	return ""
}

// kubectlRun runs kubectl against the test API server, failing the spec with its output on an error.
func kubectlRun(args ...string) string {
	out, err := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "kubectl %v:\n%s", args, out)
	return string(out)
}
