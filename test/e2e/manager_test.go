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
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"kemper.buzz/nuop/test/utils"
)

// startManager runs the manager binary against the test API server with the given args and extra
// environment, and stops it (SIGTERM) when the spec ends.
func startManager(env []string, args ...string) *gexec.Session {
	cmd := exec.Command(managerBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait(time.Minute) })
	return session
}

func leaseHolder(name string) string {
	lease, err := clientset.CoordinationV1().Leases("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

var _ = Describe("the manager binary", func() {
	It("lists its flags on --help and exits 0", func() {
		session := startManager(nil, "--help")
		Eventually(session).Should(gexec.Exit(0))
		for _, f := range []string{"-mode", "-script-path", "-mappings-path", "-leader-elect",
			"-leader-election-namespace", "-health-probe-bind-address", "-metrics-bind-address",
			"-metrics-secure", "-watch-namespaces", "-enable-http2", "-zap-log-level"} {
			Expect(string(session.Err.Contents())).To(ContainSubstring(f))
		}
	})

	It("exits 2 naming the valid modes on an unknown mode", func() {
		session := startManager(nil, "--mode", "nonsense")
		Eventually(session).Should(gexec.Exit(2))
		Expect(session.Err).To(gbytes.Say(`unknown mode "nonsense" \(from --mode\): valid modes are manager, standard, managed, fetch`))
	})

	It("warns about LOG_LEVEL=loud and logs at info", func() {
		probes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		session := startManager([]string{"LOG_LEVEL=loud"}, "--health-probe-bind-address", probes)
		Eventually(session.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`WARN\s+ignoring LOG_LEVEL="loud"`))
		Eventually(session.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`INFO\s+setup\s+starting`))
		Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, 30*time.Second)).To(Succeed())
		Expect(string(session.Err.Contents())).NotTo(ContainSubstring("DEBUG"))
	})

	It("runs nuop's env-only leader election and releases the lease on SIGTERM, exiting 0", func() {
		const lease = "sigterm.nuop.kemper.buzz"
		probes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		// Configured as nuop's production guide does: env, no flags for leader election.
		session := startManager([]string{"ENABLE_LEADER_ELECTION=true", "LEADER_ELECTION_NAMESPACE=default", "RUST_LOG=info"},
			"--leader-election-id", lease, "--health-probe-bind-address", probes)
		Eventually(func() string { return leaseHolder(lease) }).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
		Expect(utils.WaitForStatus("http://"+probes+"/ready", http.StatusOK, 30*time.Second)).To(Succeed())

		session.Signal(syscall.SIGTERM)
		Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
		Expect(leaseHolder(lease)).To(BeEmpty(), "the lease is released on shutdown, so a standby takes over at once")
	})

	Context("with secure metrics (the default)", func() {
		const namespace = "default"
		var metricsURL string
		var client *http.Client

		BeforeEach(func() {
			addr, err := utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			probes, err := utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			metricsURL = "https://" + addr + "/metrics"
			startManager(nil, "--metrics-bind-address", addr, "--health-probe-bind-address", probes,
				"--leader-elect", "--leader-election-namespace", namespace,
				"--leader-election-id", "metrics-"+strings.ToLower(utilrand.String(6))+".nuop.kemper.buzz")
			Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, 30*time.Second)).To(Succeed())
			// The certificate is self-signed when --metrics-cert-path is not given.
			client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test cert
		})

		scrape := func(token string) (int, string) {
			req, err := http.NewRequest(http.MethodGet, metricsURL, nil)
			Expect(err).NotTo(HaveOccurred())
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil { // not listening yet: Eventually tries again
				return 0, err.Error()
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}

		tokenFor := func(sa string) string {
			ctx := context.Background()
			_, err := clientset.CoreV1().ServiceAccounts(namespace).Create(ctx,
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() {
				_ = clientset.CoreV1().ServiceAccounts(namespace).Delete(ctx, sa, metav1.DeleteOptions{})
			})
			tr, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa,
				&authenticationv1.TokenRequest{}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			return tr.Status.Token
		}

		It("refuses a scrape without a token", func() {
			Eventually(func() int { code, _ := scrape(""); return code }).Should(Equal(http.StatusUnauthorized))
		})

		It("refuses a token that lacks the metrics-reader permission", func() {
			token := tokenFor("no-metrics")
			Eventually(func() int { code, _ := scrape(token); return code }).Should(Equal(http.StatusForbidden))
		})

		It("serves controller-runtime's metrics to a token allowed to get /metrics", func() {
			ctx := context.Background()
			token := tokenFor("metrics-scraper")
			role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-metrics-reader"},
				Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
			_, err := clientset.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-metrics-reader"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "metrics-scraper", Namespace: namespace}}}
			_, err = clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() {
				_ = clientset.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
				_ = clientset.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
			})

			var body string
			Eventually(func() int {
				var code int
				code, body = scrape(token)
				return code
			}).Should(Equal(http.StatusOK))
			Expect(body).To(ContainSubstring("rest_client_requests_total"))
			Expect(body).To(ContainSubstring("leader_election_master_status"))
		})
	})
})

// processesMatching lists the pids whose command line contains s.
func processesMatching(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || errors.Is(err, os.ErrNotExist) {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), s) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
