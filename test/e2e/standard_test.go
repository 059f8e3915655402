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
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/utils"
)

// copyTree copies the example scripts so a test may edit them.
func copyTree(src, dst string) {
	Expect(filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})).To(Succeed())
}

var _ = Describe("standard mode", Ordered, func() {
	var (
		scriptRoot string
		// tmpDir is the manager's TMPDIR, where it keeps the copies of the loaded scripts.
		tmpDir  string
		session *gexec.Session
		dyn     *dynamic.DynamicClient
	)
	greetings := schema.GroupVersionResource{Group: "examples.kemper.buzz", Version: "v1alpha1", Resource: "greetings"}

	BeforeAll(func() {
		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		_, err = envtest.InstallCRDs(testEnv.Config, envtest.CRDInstallOptions{
			Paths: []string{filepath.Join(root, "scripts", "greeting", "crd")}})
		Expect(err).NotTo(HaveOccurred())
		dyn, err = dynamic.NewForConfig(testEnv.Config)
		Expect(err).NotTo(HaveOccurred())

		scriptRoot = filepath.Join(GinkgoT().TempDir(), "scripts")
		copyTree(filepath.Join(root, "scripts"), scriptRoot)

		// Port 8080 is what nuop's Deployment probes; say plainly if something on this machine holds it.
		ln, err := net.Listen("tcp", ":8080")
		Expect(err).NotTo(HaveOccurred(), "this test runs nuop's standard-mode Deployment as written, which "+
			"serves its probes on :8080; free that port on this machine")
		Expect(ln.Close()).To(Succeed())

		bin, err := utils.BinDir()
		Expect(err).NotTo(HaveOccurred())
		tmpDir = GinkgoT().TempDir()
		cmd := exec.Command(managerBin) // no flags: exactly as the production deployment guide runs it
		cmd.Env = append(os.Environ(),
			"NUOP_MODE=standard", "NUOP_SCRIPT_PATH="+scriptRoot, "RUST_LOG=info",
			// Out of a cluster the API server comes from a kubeconfig (in-cluster config in the pod).
			"KUBECONFIG="+kubeconfig,
			// The image has nu and kubectl on PATH.
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"HOME="+GinkgoT().TempDir(), "TMPDIR="+tmpDir)
		session, err = gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { session.Terminate().Wait(time.Minute) })
	})

	It("serves /health and /ready on :8080 and becomes ready once the scripts are loaded", func() {
		Expect(utils.WaitForStatus("http://127.0.0.1:8080/health", http.StatusOK, time.Minute)).To(Succeed())
		Expect(utils.WaitForStatus("http://127.0.0.1:8080/ready", http.StatusOK, time.Minute)).To(Succeed())
		Eventually(session.Err).Should(gbytesSay(`scripts loaded.*"loaded": 4, "failed": 0`))
	})

	It("runs the bundled greeting script: status written through the status subresource", func() {
		ns := createNamespace()
		g := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "examples.kemper.buzz/v1alpha1", "kind": "Greeting",
			"metadata": map[string]any{"name": "world", "namespace": ns},
			"spec":     map[string]any{"name": "World"},
		}}
		_, err := dyn.Resource(greetings).Namespace(ns).Create(context.Background(), g, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() string {
			got, err := dyn.Resource(greetings).Namespace(ns).Get(context.Background(), "world", metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			msg, _, _ := unstructured.NestedString(got.Object, "status", "message")
			return msg
		}).WithTimeout(time.Minute).Should(Equal("Hello, World"))
	})

	It("runs the bundled config-replicator: kubectl from the script, a finalizer with nuop's owner annotation", func() {
		src, dst := createNamespace(), createNamespace()
		ctx := context.Background()
		_, err := clientset.CoreV1().ConfigMaps(src).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "shared", Labels: map[string]string{"nuop.kemper.buzz/replicate": "yes"},
				Annotations: map[string]string{"nuop.kemper.buzz/replicate-to": dst}},
			Data: map[string]string{"greeting": "hello"},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() map[string]string {
			cm, err := clientset.CoreV1().ConfigMaps(dst).Get(ctx, "shared", metav1.GetOptions{})
			if err != nil {
				return nil
			}
			return cm.Data
		}).WithTimeout(time.Minute).Should(HaveKeyWithValue("greeting", "hello"))
		source, err := clientset.CoreV1().ConfigMaps(src).Get(ctx, "shared", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(source.Finalizers).To(ContainElement("nuop.kemper.buzz/config-replicator"))
		Expect(source.Annotations).To(HaveKeyWithValue("nuop.kemper.buzz/finalizer-owners",
			`{"nuop.kemper.buzz/config-replicator":"standard"}`))
	})

	It("reloads an added script, and restarts an edited one only after its old controller has stopped", func() {
		// Added: a copy of label-enforcer under another name.
		enforcer, err := os.ReadFile(filepath.Join(scriptRoot, "label-enforcer", "mod.nu"))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.MkdirAll(filepath.Join(scriptRoot, "extra"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(scriptRoot, "extra", "mod.nu"),
			[]byte(strings.Replace(string(enforcer), `name: "label-enforcer"`, `name: "label-enforcer-extra"`, 1)), 0o644)).To(Succeed())
		Eventually(session.Err).WithTimeout(time.Minute).Should(gbytesSay(`scripts loaded.*"loaded": 5, "failed": 0`))
		Eventually(session.Err).Should(gbytesSay(`script started.*"script": "label-enforcer-extra"`))

		// Edited: its selector changes, so its controller is replaced: the old one stops completely first.
		mark := len(session.Err.Contents())
		edited := strings.Replace(string(enforcer), `name: "label-enforcer"`, `name: "label-enforcer-extra"`, 1)
		edited = strings.Replace(edited, `labelSelectors: { $SELECT_LABEL: "yes" }`, `labelSelectors: { $SELECT_LABEL: "extra" }`, 1)
		Expect(edited).NotTo(Equal(string(enforcer)))
		Expect(os.WriteFile(filepath.Join(scriptRoot, "extra", "mod.nu"), []byte(edited), 0o644)).To(Succeed())
		after := func() string { return string(session.Err.Contents()[mark:]) }
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`script started.*"script": "label-enforcer-extra"`))
		stopped := regexp.MustCompile(`All workers finished.*"script": "label-enforcer-extra"`).FindStringIndex(after())
		started := regexp.MustCompile(`script started.*"script": "label-enforcer-extra"`).FindStringIndex(after())
		Expect(stopped).NotTo(BeNil(), "the old controller stopped")
		Expect(stopped[0]).To(BeNumerically("<", started[0]), "before the new one started")

		mark = len(session.Err.Contents())
		Expect(os.RemoveAll(filepath.Join(scriptRoot, "extra"))).To(Succeed())
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`scripts loaded.*"loaded": 4, "failed": 0`))
	})

	It("runs the code that loaded: an edit that fails to load never runs, and the copies do not pile up", func() {
		dir := filepath.Join(scriptRoot, "versioned")
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		// The script labels the ConfigMaps it selects with its version; the broken edit also sets a finalizer
		// without a finalize command, so it fails to load.
		write := func(version, extraConfig string) {
			src := fmt.Sprintf(`def main [] { help main }
def "main config" [] {
    { name: "versioned", version: "v1", kind: "ConfigMap", labelSelectors: { "e2e.nuop.kemper.buzz/versioned": "yes" } %s } | to yaml
}
def "main reconcile" [] {
    let obj = $in | from yaml
    if ($obj.metadata.labels? | default {} | get -o version) == %q { exit 0 }
    print ($obj | upsert metadata.labels.version %q | to yaml)
    exit 2
}
`, extraConfig, version, version)
			Expect(os.WriteFile(filepath.Join(dir, "mod.nu"), []byte(src), 0o644)).To(Succeed())
		}
		ns := createNamespace()
		versionOf := func(name string) func() string {
			_, err := clientset.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2e.nuop.kemper.buzz/versioned": "yes"}},
			}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			return func() string {
				cm, err := clientset.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
				Expect(err).NotTo(HaveOccurred())
				return cm.Labels["version"]
			}
		}
		copies := func() int {
			dirs, err := filepath.Glob(filepath.Join(tmpDir, "nuop-scripts-*", "*"))
			Expect(err).NotTo(HaveOccurred())
			return len(dirs)
		}
		mark := len(session.Err.Contents())
		after := func() string { return string(session.Err.Contents()[mark:]) }

		write("v1", "")
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`scripts loaded.*"loaded": 5, "failed": 0`))
		Eventually(versionOf("first")).WithTimeout(time.Minute).Should(Equal("v1"))

		mark = len(session.Err.Contents())
		write("v2", `, finalizer: "e2e.nuop.kemper.buzz/versioned"`)
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`script failed to load; its last good version keeps running`))
		Eventually(after).Should(MatchRegexp(`scripts loaded.*"loaded": 5, "failed": 1`))
		Eventually(versionOf("during-the-broken-edit")).WithTimeout(time.Minute).Should(Equal("v1"),
			"the last good version labels new objects, not the edit that failed to load")

		mark = len(session.Err.Contents())
		write("v3", "")
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`scripts loaded.*"loaded": 5, "failed": 0`))
		Eventually(versionOf("after-a-good-edit")).WithTimeout(time.Minute).Should(Equal("v3"))
		Eventually(copies).Should(Equal(5), "one copy per loaded script, however many reloads")

		mark = len(session.Err.Contents())
		Expect(os.RemoveAll(dir)).To(Succeed())
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`scripts loaded.*"loaded": 4, "failed": 0`))
		Eventually(copies).Should(Equal(4))
	})

	It("reloads on edits: a broken edit keeps the last good version, a removed script lets go of its finalizers", func() {
		// A broken edit of the greeting script: it keeps running, reported degraded.
		greeting := filepath.Join(scriptRoot, "greeting", "mod.nu")
		good, err := os.ReadFile(greeting)
		Expect(err).NotTo(HaveOccurred())
		mark := len(session.Err.Contents())
		after := func() string { return string(session.Err.Contents()[mark:]) }
		Expect(os.WriteFile(greeting, []byte("def main [] {}\ndef \"main config\" [] { {name: greeting} | to yaml }\n"), 0o644)).To(Succeed())
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`script failed to load; its last good version keeps running`))
		Eventually(after).Should(MatchRegexp(`scripts loaded.*"loaded": 4, "failed": 1`), "the degraded script still runs")
		mark = len(session.Err.Contents())
		Expect(os.WriteFile(greeting, good, 0o644)).To(Succeed())
		Eventually(after).WithTimeout(time.Minute).Should(MatchRegexp(`scripts loaded.*"loaded": 4, "failed": 0`))

		// Removing the replicator releases its finalizers (this instance's only) without running finalize.
		Expect(os.RemoveAll(filepath.Join(scriptRoot, "config-replicator"))).To(Succeed())
		Eventually(session.Err).WithTimeout(time.Minute).Should(gbytesSay(`released the finalizers of a removed or changed script.*"script": "config-replicator"`))
		Eventually(func() int {
			list, err := clientset.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{})
			Expect(err).NotTo(HaveOccurred())
			n := 0
			for _, cm := range list.Items {
				for _, f := range cm.Finalizers {
					if f == "nuop.kemper.buzz/config-replicator" {
						n++
					}
				}
			}
			return n
		}).Should(BeZero())

		// The old controller was fully stopped (its workers finished) before the script was released.
		log := string(session.Err.Contents())
		stopped := strings.LastIndex(log, `All workers finished	{"script": "config-replicator"`)
		released := strings.LastIndex(log, `released the finalizers of a removed or changed script`)
		Expect(stopped).To(BeNumerically(">=", 0))
		Expect(stopped).To(BeNumerically("<", released))
	})

	It("stops on SIGTERM with exit 0, leaving no copy of a script behind", func() {
		roots, err := filepath.Glob(filepath.Join(tmpDir, "nuop-scripts-*"))
		Expect(err).NotTo(HaveOccurred())
		Expect(roots).To(HaveLen(1), "the running process keeps its copies in one directory")
		session.Signal(syscall.SIGTERM)
		Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
		Expect(roots[0]).NotTo(BeAnExistingFile())
	})
})

func createNamespace() string {
	ns, err := clientset.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "std-"}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return ns.Name
}

// gbytesSay matches a regular expression anywhere in the log so far (gbytes.Say would consume it, and
// these specs read the same log in any order).
func gbytesSay(pattern string) OmegaMatcher {
	re := regexp.MustCompile(pattern)
	return WithTransform(func(b interface{ Contents() []byte }) string {
		if re.Match(b.Contents()) {
			return pattern
		}
		return fmt.Sprintf("no line matching %q yet", pattern)
	}, Equal(pattern))
}
