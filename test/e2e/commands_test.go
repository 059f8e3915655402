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
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kemper.buzz/nuop/test/utils"
)

// runManager runs a manager command to its end.
func runManager(env []string, args ...string) *gexec.Session {
	cmd := exec.Command(managerBin, args...)
	cmd.Env = append(os.Environ(), env...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit())
	return session
}

var _ = Describe("manager finalizers release", func() {
	const fin = "example.com/stuck"

	It("removes a finalizer from this instance's objects of a kind, printing each one", func() {
		ns := createNamespace()
		ctx := context.Background()
		for name, owner := range map[string]string{"ours": "team-a", "theirs": "team-b"} {
			_, err := clientset.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: name, Finalizers: []string{fin, "other.example.com/keep"},
				Annotations: map[string]string{"nuop.kemper.buzz/finalizer-owners": `{"` + fin + `":"` + owner + `"}`},
			}}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		s := runManager(nil, "finalizers", "release", "--finalizer", fin, "--kind", "v1/ConfigMap",
			"--namespace", ns, "--instance", "team-a", "--kubeconfig", kubeconfig)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		Expect(string(s.Out.Contents())).To(ContainSubstring("released " + fin + " from ConfigMap " + ns + "/ours"))
		Expect(string(s.Out.Contents())).To(ContainSubstring("1 object(s) released"))

		ours, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "ours", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(ours.Finalizers).To(ConsistOf("other.example.com/keep"))
		theirs, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "theirs", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(theirs.Finalizers).To(ContainElement(fin), "another instance's object is left alone")
	})

	DescribeTable("refuses bad input with exit 2 and the reason",
		func(args []string, reason string) {
			s := runManager(nil, append([]string{"finalizers"}, args...)...)
			Expect(s.ExitCode()).To(Equal(2))
			Expect(string(s.Err.Contents())).To(ContainSubstring(reason))
		},
		Entry("no sub-command", []string{}, "usage: manager finalizers release"),
		Entry("a kind without a version", []string{"release", "--finalizer", fin, "--kind", "ConfigMap"},
			`invalid --kind "ConfigMap": want group/version/kind`),
		Entry("no finalizer", []string{"release", "--kind", "apps/v1/Deployment"}, "--finalizer is required"),
	)
})

var _ = Describe("manager script test", func() {
	var root, objectFile string

	BeforeEach(func() {
		var err error
		root, err = utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		objectFile = filepath.Join(GinkgoT().TempDir(), "cm.yaml")
		Expect(os.WriteFile(objectFile, []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
  labels:
    nuop.kemper.buzz/enforce-labels: "yes"
  annotations:
    nuop.kemper.buzz/required-labels: team=platform
`), 0o644)).To(Succeed())
	})

	nuEnv := func() []string {
		bin, err := utils.BinDir()
		Expect(err).NotTo(HaveOccurred())
		return []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	}

	It("prints the validated config, the exit code and its meaning, and the diff it would write back", func() {
		s := runManager(nuEnv(), "script", "test", filepath.Join(root, "scripts", "label-enforcer"), "--object", objectFile)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		out := string(s.Out.Contents())
		Expect(out).To(ContainSubstring("name: label-enforcer"))
		Expect(out).To(ContainSubstring("requeue_after_noop: 5m0s"))
		Expect(out).To(ContainSubstring("cluster checks skipped (no --kubeconfig)"))
		Expect(out).To(ContainSubstring("reconcile exited 2"))
		Expect(out).To(ContainSubstring("would write back"))
		Expect(out).To(ContainSubstring(`"team"`))
		Expect(out).To(ContainSubstring("PASS"))
	})

	It("gives a script no cluster without --kubeconfig", func() {
		Expect(os.WriteFile(objectFile, []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
  labels:
    nuop.kemper.buzz/replicate: "yes"
  annotations:
    nuop.kemper.buzz/replicate-to: elsewhere
`), 0o644)).To(Succeed())
		// The user's own kubeconfig must not be reached, even though KUBECONFIG points at it.
		s := runManager(append(nuEnv(), "KUBECONFIG="+kubeconfig), "script", "test",
			filepath.Join(root, "scripts", "config-replicator"), "--object", objectFile)
		Expect(s.ExitCode()).To(Equal(1))
		Expect(string(s.Out.Contents())).To(ContainSubstring("reconcile exited 1"))
		Expect(string(s.Err.Contents())).To(ContainSubstring("FAIL: reconcile did not succeed"))
	})

	It("says what is wrong with a script that has no def main", func() {
		dir := filepath.Join(GinkgoT().TempDir(), "broken")
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "mod.nu"), []byte(`def "main config" [] { {name: x} | to yaml }`), 0o644)).To(Succeed())
		s := runManager(nuEnv(), "script", "test", dir, "--object", objectFile)
		Expect(s.ExitCode()).To(Equal(1))
		Expect(string(s.Err.Contents())).To(ContainSubstring("def main"))
	})
})
