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

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/test/utils"
)

// running is one in-process manager started by startManager.
type running struct {
	probes, metrics string
	supervisor      *procs.Supervisor
	cancel          context.CancelFunc
	// done receives Run's result once; stopped is closed after that.
	done    chan error
	stopped chan struct{}
}

func startManager(extraArgs ...string) *running {
	return startManagerWith(nil, cfg, extraArgs...)
}

// startManagerWith starts a manager with the environment env, as the user of config.
func startManagerWith(env map[string]string, config *rest.Config, extraArgs ...string) *running {
	probes, err := utils.FreeAddr()
	Expect(err).NotTo(HaveOccurred())
	metrics, err := utils.FreeAddr()
	Expect(err).NotTo(HaveOccurred())
	args := append([]string{
		"--health-probe-bind-address=" + probes,
		"--metrics-bind-address=" + metrics, "--metrics-secure=false",
	}, extraArgs...)
	o, err := options.Parse(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
	Expect(err).NotTo(HaveOccurred())

	r := &running{probes: "http://" + probes, metrics: "http://" + metrics + "/metrics",
		done: make(chan error, 1), stopped: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	started := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(r.stopped)
		r.done <- Run(ctx, o, Hooks{Config: config, SkipControllerNameValidation: true, Started: func(s *procs.Supervisor) {
			r.supervisor = s
			close(started)
		}})
	}()
	Eventually(started).WithTimeout(30 * time.Second).Should(BeClosed())
	DeferCleanup(func() {
		cancel()
		Eventually(r.stopped).WithTimeout(time.Minute).Should(BeClosed())
	})
	return r
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func leaseHolder(name string) string {
	lease, err := clientset.CoordinationV1().Leases("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

var _ = Describe("the manager process", func() {
	It("serves the probes on nuop's and Kubebuilder's paths, metrics, and holds the leader lease", func() {
		const lease = "probe-test.nuop.kemper.buzz"
		r := startManager("--leader-elect", "--leader-election-namespace=default", "--leader-election-id="+lease)

		// Ready as a standby first; becoming the leader starts the controllers, and readiness waits again for
		// their caches: every path answers 200 once they have synced.
		Eventually(func() string { return leaseHolder(lease) }).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
		Eventually(func() []string {
			var notReady []string
			for _, path := range []string{"/healthz", "/health", "/readyz", "/ready", "/readyz/loaded", "/readyz/caches", "/readyz/lease"} {
				if code, body := get(r.probes + path); code != http.StatusOK {
					notReady = append(notReady, fmt.Sprintf("%s answered %d: %s", path, code, body))
				}
			}
			return notReady
		}).WithTimeout(30 * time.Second).Should(BeEmpty())

		code, body := get(r.metrics)
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(fmt.Sprintf(`leader_election_master_status{name=%q} 1`, lease)))
		Expect(body).To(ContainSubstring("rest_client_requests_total"))
	})

	It("in manager mode, waits for its CRDs without exiting, saying which, and starts when they are installed", func() {
		// An API server of its own: the suite's has the CRDs.
		bare, err := utils.NewEnvironment()
		Expect(err).NotTo(HaveOccurred())
		bareCfg, err := bare.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(bare.Stop)

		r := startManagerWith(nil, bareCfg)
		Expect(utils.WaitForStatus(r.probes+"/healthz", http.StatusOK, 30*time.Second)).To(Succeed())
		Eventually(func() string { _, body := get(r.probes + "/readyz"); return body }).Should(SatisfyAll(
			ContainSubstring("waiting for the CRDs of"), ContainSubstring("GiteaProvider.gitea.kemper.buzz"),
			ContainSubstring("NuOperator.kemper.buzz"), ContainSubstring("make install")))
		Consistently(r.done).WithTimeout(2 * time.Second).ShouldNot(Receive())

		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		_, err = envtest.InstallCRDs(bareCfg, envtest.CRDInstallOptions{Paths: []string{filepath.Join(root, "config", "crd", "bases")}})
		Expect(err).NotTo(HaveOccurred())
		Expect(utils.WaitForStatus(r.probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())
		Consistently(r.done).WithTimeout(time.Second).ShouldNot(Receive())

		// The controllers run: a NuOperator gets its status.
		scheme := runtime.NewScheme()
		Expect(nuopv1alpha1.AddToScheme(scheme)).To(Succeed())
		c, err := client.New(bareCfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		op := &nuopv1alpha1.NuOperator{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "late"},
			Spec: nuopv1alpha1.NuOperatorSpec{Image: "example.com/nuop:1"}}
		Expect(c.Create(context.Background(), op)).To(Succeed())
		Eventually(func() []metav1.Condition {
			Expect(c.Get(context.Background(), client.ObjectKeyFromObject(op), op)).To(Succeed())
			return op.Status.Conditions
		}).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
	})

	DescribeTable("stays up but not ready, saying why, with nothing to run",
		func(args []string, reason string) {
			r := startManager(args...)
			Expect(utils.WaitForStatus(r.probes+"/healthz", http.StatusOK, 30*time.Second)).To(Succeed())
			Consistently(func() int { code, _ := get(r.probes + "/ready"); return code }).
				WithTimeout(2 * time.Second).Should(Equal(http.StatusServiceUnavailable))
			Eventually(func() string { _, body := get(r.probes + "/readyz"); return body }).Should(ContainSubstring(reason))
			Consistently(r.done).WithTimeout(time.Second).ShouldNot(Receive())
		},
		Entry("standard mode with no script root", []string{"--mode=standard", "--script-path=/nonexistent/scripts"},
			"no script loaded from /nonexistent/scripts: the directory does not exist"),
		Entry("managed mode with no mappings", []string{"--mode=managed", "--script-path=../../scripts", "--sources-path=/nonexistent"},
			"4 script(s) loaded, but no mapping names one: nothing to run"),
	)

	It("drains on shutdown: no new children, running ones bounded, killed, and only then the lease released", func() {
		const lease = "shutdown-test.nuop.kemper.buzz"
		r := startManager("--leader-elect", "--leader-election-namespace=default",
			"--leader-election-id="+lease, "--max-script-timeout=2s")
		Eventually(func() string { return leaseHolder(lease) }).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())

		quick, err := r.supervisor.Spawn(exec.Command("sleep", "0.5"))
		Expect(err).NotTo(HaveOccurred())
		// Ignores SIGTERM: only the SIGKILL after the drain timeout and grace period ends it.
		stubborn, err := r.supervisor.Spawn(exec.Command("sh", "-c", `trap "" TERM; while :; do sleep 0.1; done`))
		Expect(err).NotTo(HaveOccurred())

		r.cancel()
		Eventually(func() error {
			_, err := r.supervisor.Spawn(exec.Command("true"))
			return err
		}).Should(MatchError(procs.ErrShuttingDown))
		Expect(quick.Wait()).To(Succeed(), "a child that ends within the drain timeout runs to completion")
		Expect(leaseHolder(lease)).NotTo(BeEmpty(), "the lease is kept while a child still runs")

		var runErr error
		Eventually(r.done).WithTimeout(time.Minute).Should(Receive(&runErr))
		Expect(runErr).NotTo(HaveOccurred())
		Expect(stubborn.Done()).To(BeClosed())
		Expect(leaseHolder(lease)).To(BeEmpty(), "the lease is released on a clean shutdown")
	})

	It("says how to give leader election a namespace out of a cluster", func() {
		o, err := options.Parse([]string{"--leader-elect", "--health-probe-bind-address=0"},
			func(string) (string, bool) { return "", false }, &bytes.Buffer{})
		Expect(err).NotTo(HaveOccurred())
		err = Run(context.Background(), o, Hooks{Config: cfg})
		Expect(err).To(MatchError(ContainSubstring("set --leader-election-namespace, LEADER_ELECTION_NAMESPACE or POD_NAMESPACE")))
	})
})
