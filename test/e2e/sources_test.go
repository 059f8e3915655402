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
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
)

// stamper is a script kept in the test's git repository: it stamps ConfigMaps with the version of the
// script that saw them, so a new commit shows in the cluster.
func stamper(version string) string {
	return `def main [] { help main }
def "main config" [] {
  { name: "stamper", version: "v1", kind: "ConfigMap", labelSelectors: { "e2e/stamp": "yes" }, requeue_after_change: 3600 } | to yaml
}
def "main reconcile" [] {
  let obj = $in | from yaml
  if ($obj | get --optional data.stamp) == "` + version + `" { exit 0 }
  print ($obj | upsert data.stamp "` + version + `" | to yaml)
  exit 2
}
`
}

var _ = Describe("a NuOperator with a git source", Ordered, func() {
	const token = "s3cret-token"
	var (
		c       client.Client
		ns      string
		key     client.ObjectKey
		repo    *utils.Repo
		sources string
		fetch   *gexec.Session
	)

	nuop := func() *nuopv1alpha1.NuOperator {
		n := &nuopv1alpha1.NuOperator{}
		Expect(c.Get(context.Background(), key, n)).To(Succeed())
		return n
	}
	stampOf := func(name string) func() string {
		return func() string {
			cm := &corev1.ConfigMap{}
			Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
			return cm.Data["stamp"]
		}
	}

	BeforeAll(func() {
		c = nuopClient()

		// A real git server on loopback, with token authentication, holding the script.
		git := utils.NewGitServer(GinkgoT(), false, "", token)
		repo = utils.NewRepo(GinkgoT(), git.Dir, "org/operators.git")
		repo.Commit("first", map[string]string{"operator/scripts/stamper/mod.nu": stamper("v1")})

		ns = createNamespace()
		key = client.ObjectKey{Namespace: ns, Name: "fetched"}
		Expect(c.Create(context.Background(), &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fetched", Finalizers: []string{"e2e.kemper.buzz/hold"}},
			Spec: nuopv1alpha1.NuOperatorSpec{
				Sources: []nuopv1alpha1.Source{{
					Location: git.URL("org/operators.git") + "?ref=main&dir=operator/scripts", Path: "/scripts",
					Interval:    &metav1.Duration{Duration: 30 * time.Second},
					Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}},
				}},
				Mappings: []nuopv1alpha1.Mapping{{Name: "stamper", Version: "v1", Kind: "ConfigMap"}},
			},
		})).To(Succeed())

		// The volumes of the managed pod: the shared sources volume, and the credentials only the sidecar sees.
		sources = GinkgoT().TempDir()
		credentials := GinkgoT().TempDir()
		Expect(os.MkdirAll(filepath.Join(credentials, "0"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(credentials, "0", "token"), []byte(token), 0o600)).To(Succeed())

		bin, err := utils.BinDir()
		Expect(err).NotTo(HaveOccurred())
		env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+GinkgoT().TempDir())
		start := func(args ...string) *gexec.Session {
			cmd := exec.Command(managerBin, append([]string{"--kubeconfig=" + kubeconfig, "--nuoperator=" + ns + "/fetched"}, args...)...)
			cmd.Env = env
			s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() { s.Terminate().Wait(time.Minute) })
			return s
		}
		fetchProbes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		fetch = start("--mode=fetch", "--sources-path="+sources, "--credentials-path="+credentials,
			"--health-probe-bind-address="+fetchProbes)
		Expect(utils.WaitForStatus("http://"+fetchProbes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())

		managedProbes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		// The image's bundled scripts are not wanted here: an empty script path.
		start("--mode=managed", "--sources-path="+sources, "--script-path="+GinkgoT().TempDir(),
			"--health-probe-bind-address="+managedProbes, "--fetch-in-process=false")
		Expect(utils.WaitForStatus("http://"+managedProbes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())
	})

	It("fetches the script with the token and runs it, reporting the revision", func() {
		Expect(c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "stamped", Labels: map[string]string{"e2e/stamp": "yes"}}})).To(Succeed())
		Eventually(stampOf("stamped")).WithTimeout(time.Minute).Should(Equal("v1"))
		Eventually(func() *metav1.Condition {
			return meta.FindStatusCondition(nuop().Status.Conditions, nuopv1alpha1.ConditionSourcesFetched)
		}).WithTimeout(time.Minute).Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionTrue)))
		Expect(nuop().Status.Sources).To(ConsistOf(And(HaveField("Path", "/scripts"), HaveField("Revision", Not(BeEmpty())))))
	})

	It("keeps no .git and no credential in the fetched tree", func() {
		Expect(filepath.Walk(sources, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			Expect(info.Name()).NotTo(Equal(".git"), path)
			if !info.IsDir() && info.Mode().IsRegular() {
				data, err := os.ReadFile(path)
				Expect(err).NotTo(HaveOccurred())
				Expect(string(data)).NotTo(ContainSubstring(token), path)
			}
			return nil
		})).To(Succeed())
		Expect(string(fetch.Err.Contents())).NotTo(ContainSubstring(token), "nor in the sidecar's log")
	})

	It("picks up a new commit and runs the new version of the script", func() {
		repo.Commit("second", map[string]string{"operator/scripts/stamper/mod.nu": stamper("v2")})
		// Polling is every 30 s at the least; a change of the sources makes the sidecar look again at once.
		n := nuop()
		n.Spec.Sources[0].Interval = &metav1.Duration{Duration: 31 * time.Second}
		Expect(c.Update(context.Background(), n)).To(Succeed())

		head := utils.RunGit(GinkgoT(), repo.Work(), "rev-parse", "HEAD")
		Eventually(func() string {
			for _, s := range nuop().Status.Sources {
				return s.Revision
			}
			return ""
		}).WithTimeout(time.Minute).Should(Equal(head))

		// An object reconciled from now on meets the new version.
		Expect(c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "after-commit", Labels: map[string]string{"e2e/stamp": "yes"}}})).To(Succeed())
		Eventually(stampOf("after-commit")).WithTimeout(time.Minute).Should(Equal("v2"))
	})

	It("reports a missing ref clearly and keeps running the last good revision", func() {
		n := nuop()
		n.Spec.Sources[0].Location = strings.Replace(n.Spec.Sources[0].Location, "ref=main", "ref=no-such-branch", 1)
		Expect(c.Update(context.Background(), n)).To(Succeed())
		Eventually(func() *metav1.Condition {
			return meta.FindStatusCondition(nuop().Status.Conditions, nuopv1alpha1.ConditionSourcesFetched)
		}).WithTimeout(time.Minute).Should(And(Not(BeNil()), HaveField("Reason", nuopv1alpha1.ReasonFetchFailed),
			HaveField("Message", ContainSubstring("no-such-branch"))))
		Expect(c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "still-served", Labels: map[string]string{"e2e/stamp": "yes"}}})).To(Succeed())
		Eventually(stampOf("still-served")).WithTimeout(time.Minute).Should(Equal("v2"))
	})
})

var _ = Describe("a managed operator out of a cluster (the development path)", func() {
	It("fetches its git source itself, with the token read from its Secret, and runs the script", func() {
		const token = "dev-token"
		ctx := context.Background()
		c := nuopClient()
		git := utils.NewGitServer(GinkgoT(), false, "", token)
		repo := utils.NewRepo(GinkgoT(), git.Dir, "org/dev.git")
		head := repo.Commit("first", map[string]string{"scripts/stamper/mod.nu": stamper("in-process")})

		ns := createNamespace()
		Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git"},
			StringData: map[string]string{"token": token}})).To(Succeed())
		key := client.ObjectKey{Namespace: ns, Name: "local"}
		Expect(c.Create(ctx, &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "local"},
			Spec: nuopv1alpha1.NuOperatorSpec{
				Sources: []nuopv1alpha1.Source{{Location: git.URL("org/dev.git") + "?dir=scripts", Path: "dev",
					Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}}}},
				// Its own label: other tests' stamped ConfigMaps are not this operator's.
				Mappings: []nuopv1alpha1.Mapping{{Name: "stamper", Version: "v1", Kind: "ConfigMap",
					LabelSelectors: map[string]string{"e2e/stamp-local": "yes"}}},
			},
		})).To(Succeed())

		bin, err := utils.BinDir()
		Expect(err).NotTo(HaveOccurred())
		probes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		// No --fetch-in-process: out of a cluster it is the default.
		session := startManager([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + GinkgoT().TempDir()},
			"--mode=managed", "--nuoperator="+ns+"/local", "--sources-path="+GinkgoT().TempDir(),
			"--script-path="+GinkgoT().TempDir(), "--health-probe-bind-address="+probes)
		Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())
		Expect(string(session.Err.Contents())).To(ContainSubstring("the development path out of a cluster"))

		Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stamped",
			Labels: map[string]string{"e2e/stamp-local": "yes"}}})).To(Succeed())
		Eventually(func() string {
			cm := &corev1.ConfigMap{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stamped"}, cm)).To(Succeed())
			return cm.Data["stamp"]
		}).WithTimeout(time.Minute).Should(Equal("in-process"))
		Eventually(func() []nuopv1alpha1.SourceStatus {
			n := &nuopv1alpha1.NuOperator{}
			Expect(c.Get(ctx, key, n)).To(Succeed())
			return n.Status.Sources
		}).WithTimeout(time.Minute).Should(ConsistOf(And(HaveField("Path", "dev"), HaveField("Revision", head),
			HaveField("LastError", ""))))
		Expect(string(session.Err.Contents())).NotTo(ContainSubstring(token))
	})
})
