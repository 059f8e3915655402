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

// Package scripts_test runs the example scripts under scripts/ the way the engine runs them (`nu --stdin
// <dir>/mod.nu reconcile|finalize`, the object as YAML on stdin, the NUOP_* environment) against a real
// API server (envtest), and checks their exit codes, their stdout and what they did to the cluster.
package scripts_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	clientset  *kubernetes.Clientset
	dyn        *dynamic.DynamicClient
	nuPath     string
	binDir     string
	scriptsDir string
	kubeconfig string
	homeDir    string
)

func TestScripts(t *testing.T) {
	ginkgorun.Specs(t, "Example Scripts Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	nuPath, err = utils.Tool("nu")
	Expect(err).NotTo(HaveOccurred())
	_, err = utils.Tool("kubectl")
	Expect(err).NotTo(HaveOccurred())
	binDir, err = utils.BinDir()
	Expect(err).NotTo(HaveOccurred())
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	scriptsDir = filepath.Join(root, "scripts")

	testEnv, err = utils.NewEnvironment("scripts/greeting/crd")
	Expect(err).NotTo(HaveOccurred())
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	dyn, err = dynamic.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())

	tmp, err := os.MkdirTemp("", "nuop-scripts-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, tmp)
	kubeconfig = filepath.Join(tmp, "kubeconfig")
	Expect(utils.WriteKubeconfig(testEnv, cfg, kubeconfig)).To(Succeed())
	homeDir = filepath.Join(tmp, "home")
	Expect(os.Mkdir(homeDir, 0o700)).To(Succeed())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
