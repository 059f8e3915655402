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
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"kemper.buzz/nuop/test/utils"
)

var _ = Describe("make demo's program", func() {
	It("brings up a control plane, the manager, the example scripts, a NuOperator fetching from a local git "+
		"repository, a GiteaProvider Ready on a local Gitea and a resource of each core Gitea kind Ready through it, "+
		"prints working commands, and leaves nothing behind on Ctrl-C", func() {
		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		assets, err := utils.EnvtestAssets()
		Expect(err).NotTo(HaveOccurred())
		kubectl, err := utils.Tool("kubectl")
		Expect(err).NotTo(HaveOccurred())
		kustomize, err := utils.Tool("kustomize")
		Expect(err).NotTo(HaveOccurred())
		gitea, err := utils.Tool("gitea")
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
			"--git-nuoperator", filepath.Join(root, "hack/demo/git-nuoperator.yaml"),
			"--gitea", gitea, "--gitea-provider", filepath.Join(root, "hack/demo/gitea-provider.yaml"),
			"--gitea-resources", filepath.Join(root, "hack/demo/gitea-resources.yaml"))
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
		giteaLine := `Gitea (\d+\.\d+\.\d+) at (http://127\.0\.0\.1:\d+) \(site admin (\S+); log: (\S+)/gitea\.log\)`
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(giteaLine))
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(
			`GiteaProvider gitea-demo/gitea: Ready=True reason=Connected version=\d+\.\d+\.\d+ user=\S+ siteAdmin=true`))
		Eventually(session.Out).WithTimeout(3 * time.Minute).Should(gbytes.Say(
			`the Gitea resources of \S+hack/demo/gitea-resources\.yaml are Ready:`))
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

		// Gitea runs from a work path under the demo's temporary directory, and the provider is Ready on it.
		g := regexp.MustCompile(giteaLine).FindStringSubmatch(printed)
		Expect(g).To(HaveLen(5), printed)
		giteaVersion, giteaURL, giteaAdmin, giteaWork := g[1], g[2], g[3], g[4]
		Expect(giteaWork).To(HavePrefix(filepath.Dir(kc[1]) + string(filepath.Separator)))
		Expect(processesMatching(giteaWork)).NotTo(BeEmpty(), "gitea runs")
		Expect(printed).To(ContainSubstring(fmt.Sprintf(
			"GiteaProvider gitea-demo/gitea: Ready=True reason=Connected version=%s user=%s siteAdmin=true",
			giteaVersion, giteaAdmin)))
		providers := exec.Command(kubectl, "--kubeconfig", kc[1], "get", "giteaproviders", "-A", "-o", "wide")
		out, err = providers.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(MatchRegexp(`(?m)^gitea-demo\s+gitea\s+` + regexp.QuoteMeta(giteaURL) +
			`\s+True\s+` + regexp.QuoteMeta(giteaVersion) + `\s+` + regexp.QuoteMeta(giteaAdmin) + `\s+Connected\s`))
		Expect(printed).To(ContainSubstring("get giteaproviders -A -o wide"))
		describe := exec.Command(kubectl, "--kubeconfig", kc[1], "-n", "gitea-demo", "describe", "giteaprovider", "gitea")
		out, err = describe.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("connected to Gitea " + giteaVersion))
		Expect(printed).To(ContainSubstring("-n gitea-demo describe giteaprovider gitea"))
		// The printed password signs in as the printed admin.
		password := regexp.MustCompile(`sign in as \S+, password (\S+)`).FindStringSubmatch(printed)
		Expect(password).To(HaveLen(2), printed)
		req, err := http.NewRequest(http.MethodGet, giteaURL+"/api/v1/user", nil)
		Expect(err).NotTo(HaveOccurred())
		req.SetBasicAuth(giteaAdmin, password[1])
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		var self struct {
			Login string `json:"login"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&self)).To(Succeed())
		Expect(resp.Body.Close()).To(Succeed())
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(self.Login).To(Equal(giteaAdmin))
		Expect(printed).To(ContainSubstring("curl -s " + giteaURL + "/api/v1/version"))

		// A resource of each core kind, Ready and Synced, in the table and in `kubectl get gitea`.
		resources := []struct{ kind, resource, name, inGitea string }{
			{"Organization", "organization", "demo-platform", `organization demo-platform \(id \d+\)`},
			{"Team", "team", "demo-platform-developers", `team developers of demo-platform \(id \d+\)`},
			{"Repository", "repository", "demo-platform-website", `repository demo-platform/website \(id \d+\)`},
			{"BranchProtection", "branchprotection", "demo-platform-website-main", `rule main of demo-platform/website`},
			{"Label", "label", "demo-platform-website-bug", `label kind/bug of demo-platform/website \(id \d+\)`},
			{"Webhook", "webhook", "demo-platform-website-ci",
				`hook \d+ of demo-platform/website to http://127\.0\.0\.1:9/demo-hook`},
		}
		listed := exec.Command(kubectl, "--kubeconfig", kc[1], "get", "gitea", "-n", "gitea-demo")
		out, err = listed.Output()
		Expect(err).NotTo(HaveOccurred())
		for _, r := range resources {
			Expect(printed).To(MatchRegexp(`(?m)^\s+%s\s+%s\s+True\s+True\s+%s$`, r.kind, r.name, r.inGitea))
			// Each kind's columns differ; Ready and Synced are the two True among them.
			Expect(string(out)).To(MatchRegexp(`(?m)^%s\.gitea\.kemper\.buzz/%s\s.*\sTrue\s+True\s`,
				r.resource, regexp.QuoteMeta(r.name)), "kubectl get gitea -n gitea-demo lists %s %s Ready and Synced",
				r.kind, r.name)
		}
		Expect(printed).To(ContainSubstring("get gitea -n gitea-demo "))
		// The printed repository address is the repository's page in Gitea.
		Expect(printed).To(ContainSubstring("The demo's repository is\n  " + giteaURL + "/demo-platform/website\n"))
		page, err := http.Get(giteaURL + "/demo-platform/website")
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Body.Close()).To(Succeed())
		Expect(page.StatusCode).To(Equal(http.StatusOK))

		session.Interrupt()
		Eventually(session).WithTimeout(3 * time.Minute).Should(gexec.Exit(0))
		Expect(processesMatching(kc[1])).To(BeEmpty(), "the manager is gone")
		Expect(processesMatching("--secure-port="+apiPort[1])).To(BeEmpty(), "kube-apiserver is gone")
		Expect(processesMatching(giteaWork)).To(BeEmpty(), "gitea is gone")
		_, err = net.DialTimeout("tcp", strings.TrimPrefix(giteaURL, "http://"), time.Second)
		Expect(err).To(HaveOccurred(), "nothing listens on gitea's port")
		_, err = os.Stat(filepath.Dir(kc[1]))
		Expect(os.IsNotExist(err)).To(BeTrue(), "the temporary directory is removed")
	})
})
