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

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"kemper.buzz/nuop/test/utils"
)

var _ = Describe("make demo's program", func() {
	It("brings up a control plane, the manager, the example scripts and a NuOperator fetching from a local git "+
		"repository, prints working commands, and leaves nothing behind on Ctrl-C", func() {
		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		assets, err := utils.EnvtestAssets()
		Expect(err).NotTo(HaveOccurred())
		kubectl, err := utils.Tool("kubectl")
		Expect(err).NotTo(HaveOccurred())
		kustomize, err := utils.Tool("kustomize")
		Expect(err).NotTo(HaveOccurred())
		demoBin := filepath.Join(GinkgoT().TempDir(), "demo")
		build := exec.Command("go", "build", "-o", demoBin, "./hack/demo")
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		cmd := exec.Command(demoBin, "--assets", assets, "--manager", managerBin, "--kubectl", kubectl,
			"--kustomize", kustomize, "--crds", filepath.Join(root, "config/crd/bases"),
			"--samples", filepath.Join(root, "config/samples"), "--scripts", filepath.Join(root, "scripts"),
			"--examples", filepath.Join(root, "hack/demo/examples.yaml"),
			"--git-content", filepath.Join(root, "hack/demo/git"),
			"--git-nuoperator", filepath.Join(root, "hack/demo/git-nuoperator.yaml"))
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { session.Kill() })

		Eventually(session.Out).WithTimeout(2 * time.Minute).Should(gbytes.Say("manager ready"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say("standard ready"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say("config-replicator copied default/demo-settings"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say("greeting wrote status.message"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(
			`serving \S+hack/demo/git as the git repository (http://127\.0\.0\.1:\d+/demo/scripts\.git)`))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say("managed ready"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(
			"fetched-greeter, fetched from git, wrote data.greeting of default/git-demo"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(
			"NuOperator default/git-demo: ScriptsLoaded=True SourcesFetched=True revision=[0-9a-f]{40}"))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say("Press Ctrl-C"))
		printed := string(session.Out.Contents())
		apiPort := regexp.MustCompile(`API server at https://127\.0\.0\.1:(\d+)`).FindStringSubmatch(printed)
		Expect(apiPort).To(HaveLen(2), printed)
		kc := regexp.MustCompile(`--kubeconfig (\S+)`).FindStringSubmatch(printed)
		Expect(kc).To(HaveLen(2), printed)

		// The printed commands work as printed: the manager holds its lease on the demo's API server.
		get := exec.Command(kubectl, "--kubeconfig", kc[1], "-n", "default", "get", "lease",
			"manager.nuop.kemper.buzz", "-o", "jsonpath={.spec.holderIdentity}")
		holder, err := get.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(holder)).NotTo(BeEmpty())
		greeting := exec.Command(kubectl, "--kubeconfig", kc[1], "-n", "default", "get", "configmap", "git-demo",
			"-o", "jsonpath={.data.greeting}")
		out, err = greeting.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(Equal("hello from a script fetched from git"))
		Expect(printed).To(ContainSubstring("get nuoperator git-demo -o jsonpath='{.status}'"))
		Expect(processesMatching(kc[1])).To(HaveLen(3), "the manager, the standard-mode and the managed operator run")

		session.Interrupt()
		Eventually(session).WithTimeout(3 * time.Minute).Should(gexec.Exit(0))
		Expect(processesMatching(kc[1])).To(BeEmpty(), "the manager is gone")
		Expect(processesMatching("--secure-port="+apiPort[1])).To(BeEmpty(), "kube-apiserver is gone")
		_, err = os.Stat(filepath.Dir(kc[1]))
		Expect(os.IsNotExist(err)).To(BeTrue(), "the temporary directory is removed")
	})
})
