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

package monitoring

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/strutil"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// sample is one series of a scrape as Prometheus ingests it (its name in __name__) and its value.
type sample struct {
	labels labels.Labels
	value  float64
}

// scrape GETs a metrics endpoint, with token as the bearer token unless empty, and parses the answer with
// Prometheus' own exposition parser.
func scrape(url, token string, insecureTLS bool) ([]sample, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: insecureTLS}}} //nolint:gosec // as the ServiceMonitor says
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{resp.StatusCode}
	}
	p, err := textparse.New(body, resp.Header.Get("Content-Type"), labels.NewSymbolTable(), textparse.ParserOptions{})
	if p == nil {
		return nil, fmt.Errorf("cannot parse a %q answer: %v", resp.Header.Get("Content-Type"), err)
	}
	var out []sample
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if entry != textparse.EntrySeries {
			continue
		}
		var s sample
		_, _, s.value = p.Series()
		p.Labels(&s.labels)
		out = append(out, s)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("answered %d", e.code) }

// matching are the samples matching every matcher.
func matching(samples []sample, matchers ...*labels.Matcher) []sample {
	var out []sample
	for _, s := range samples {
		if all(matchers, s.labels) {
			out = append(out, s)
		}
	}
	return out
}

func all(matchers []*labels.Matcher, l labels.Labels) bool {
	for _, m := range matchers {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// total is the sum of the series of metric with the label values want.
func total(samples []sample, metric string, want ...string) float64 {
	matchers := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, metric)}
	for i := 0; i+1 < len(want); i += 2 {
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, want[i], want[i+1]))
	}
	var sum float64
	for _, s := range matching(samples, matchers...) {
		sum += s.value
	}
	return sum
}

// targetLabels are the labels Prometheus gives the series of a target of the monitors (the Prometheus
// Operator's, and the pod and Service labels the monitors copy), not the process.
func targetLabels() map[string]bool {
	out := map[string]bool{"job": true, "instance": true, "namespace": true, "service": true, "pod": true,
		"container": true, "endpoint": true}
	for _, l := range theOne[monitoringv1.PodMonitor]("PodMonitor").Spec.PodTargetLabels {
		out[strutil.SanitizeLabelName(l)] = true
	}
	sm := theOne[monitoringv1.ServiceMonitor]("ServiceMonitor").Spec
	for _, l := range append(append([]string{}, sm.TargetLabels...), sm.PodTargetLabels...) {
		out[strutil.SanitizeLabelName(l)] = true
	}
	return out
}

// up is Prometheus' own series, one per target.
const up = "up"

// checkSelector checks that a selector matches series of the processes behind the jobs it selects: each of
// those jobs' scrapes has a series matching its matchers on the labels the process sets.
func checkSelector(selector []*labels.Matcher, scrapes map[string][]sample, target map[string]bool) error {
	jobs, err := jobsOf(selector)
	if err != nil {
		return err
	}
	var own []*labels.Matcher
	for _, m := range selector {
		if m.Name == model.MetricNameLabel && m.Matches(up) && m.Type == labels.MatchEqual {
			return nil
		}
		if !target[m.Name] {
			own = append(own, m)
		}
	}
	for _, job := range jobs {
		if len(matching(scrapes[job], own...)) == 0 {
			return fmt.Errorf("no series of job %s matches %s", job, selectorString(own))
		}
	}
	return nil
}

// labelsUsed are the label names an expression groups or matches by.
func labelsUsed(expr parser.Expr) []string {
	var out []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.AggregateExpr:
			out = append(out, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				out = append(out, n.VectorMatching.MatchingLabels...)
				out = append(out, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	return out
}

// docsSiteOverlay is the example kustomization of docs/operations.md's section Monitoring, its paths (from
// config/overlays/<site>) made relative to dir.
func docsSiteOverlay(dir string) string {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	Expect(err).NotTo(HaveOccurred())
	_, section, found := strings.Cut(string(doc), "\n## Monitoring\n")
	Expect(found).To(BeTrue(), `docs/operations.md has a section "## Monitoring"`)
	section, _, _ = strings.Cut(section, "\n## ")
	_, example, found := strings.Cut(section, "\n```yaml\n")
	Expect(found).To(BeTrue(), "the section Monitoring shows an overlay")
	example, _, _ = strings.Cut(example, "\n```\n")
	Expect(example).To(ContainSubstring("- ../../default"))
	config, err := filepath.Rel(dir, filepath.Join(repoRoot, "config"))
	Expect(err).NotTo(HaveOccurred())
	return strings.ReplaceAll(example, "../../", config+"/")
}

// docsTwoReplicaInstall is the kustomization of docs/operations.md's "From nothing to a monitored two-replica
// install" (written there next to a clone in nuop/), pointed at this repository from dir.
func docsTwoReplicaInstall(dir string) string {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	Expect(err).NotTo(HaveOccurred())
	_, section, found := strings.Cut(string(doc), "\n### From nothing to a monitored two-replica install\n")
	Expect(found).To(BeTrue(), `docs/operations.md has a section "From nothing to a monitored two-replica install"`)
	_, example, found := strings.Cut(section, "cat > nuop-install/kustomization.yaml <<'YAML'\n")
	Expect(found).To(BeTrue(), "the section writes nuop-install/kustomization.yaml")
	example, _, found = strings.Cut(example, "\n   YAML\n")
	Expect(found).To(BeTrue(), "the kustomization ends with YAML")
	lines := strings.Split(example, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "   ")
	}
	example = strings.Join(lines, "\n") + "\n"
	Expect(example).To(ContainSubstring("../nuop/config/overlays/production"))
	root, err := filepath.Rel(dir, repoRoot)
	Expect(err).NotTo(HaveOccurred())
	return strings.ReplaceAll(example, "../nuop/", root+"/")
}

// startProcess runs the manager binary against the test API server and stops it (SIGTERM) after the
// container's specs.
func startProcess(name string, env []string, args ...string) {
	cmd := exec.Command(managerBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out := gexec.NewPrefixedWriter("["+name+"] ", GinkgoWriter)
	session, err := gexec.Start(cmd, out, out)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait(time.Minute) })
}

// serviceAccountToken creates the service account (and its namespace) unless it exists, and returns a token
// of it.
func serviceAccountToken(ctx context.Context, namespace, name string) string {
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}},
	} {
		if err := k8sClient.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
	tr, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{},
		metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

var _ = Describe("the monitoring overlay on a real API server", Ordered, ContinueOnFailure, func() {
	It("is accepted as a fresh install (server-side dry run)", func() {
		// A dry run creates nothing, so the namespaces the build creates must exist for the objects in them.
		created := builtOf[corev1.Namespace]("Namespace")
		namespaces := make([]string, 0, len(created))
		for _, ns := range created {
			namespaces = append(namespaces, ns.Name)
		}
		Expect(namespaces).NotTo(BeEmpty())
		kubectlRun(append([]string{"create", "namespace"}, namespaces...)...)

		out := kubectlRun("apply", "--server-side", "--dry-run=server", "-f", buildFile)
		Expect(strings.Count(out, "serverside-applied (server dry run)")).To(Equal(len(built)), out)
		for _, kind := range []string{"servicemonitor", "podmonitor", "prometheusrule"} {
			Expect(out).To(ContainSubstring(kind+".monitoring.coreos.com/"), out)
		}
	})

	It("and the site overlay docs/operations.md shows are accepted too (server-side dry run)", func() {
		dir := GinkgoT().TempDir()
		kustomization := docsSiteOverlay(dir)
		Expect(os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o600)).To(Succeed())
		out, objects, err := utils.KustomizeBuild(dir)
		Expect(err).NotTo(HaveOccurred(), "kustomize build of the example:\n%s", kustomization)
		site := filepath.Join(dir, "site.yaml")
		Expect(os.WriteFile(site, out, 0o600)).To(Succeed())
		Expect(objects).To(HaveLen(len(built)), "the example patches the monitoring overlay's objects, adds none")

		dryRun := kubectlRun("apply", "--server-side", "--dry-run=server", "-f", site)
		Expect(strings.Count(dryRun, "serverside-applied (server dry run)")).To(Equal(len(objects)), dryRun)
	})

	It("and the monitored two-replica install docs/operations.md walks through is accepted too (server-side dry run)", func() {
		dir := GinkgoT().TempDir()
		kustomization := docsTwoReplicaInstall(dir)
		Expect(os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o600)).To(Succeed())
		out, objects, err := utils.KustomizeBuild(dir)
		Expect(err).NotTo(HaveOccurred(), "kustomize build of the install:\n%s", kustomization)
		kinds := map[string]int{}
		for _, o := range objects {
			kinds[o.GetKind()]++
			if o.GetKind() == "Deployment" {
				Expect(o.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("replicas", BeEquivalentTo(2))), "two replicas")
			}
		}
		for _, kind := range []string{"Deployment", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PodMonitor", "PrometheusRule"} {
			Expect(kinds).To(HaveKey(kind), "the install has a %s", kind)
		}
		install := filepath.Join(dir, "install.yaml")
		Expect(os.WriteFile(install, out, 0o600)).To(Succeed())
		dryRun := kubectlRun("apply", "--server-side", "--dry-run=server", "-f", install)
		Expect(strings.Count(dryRun, "serverside-applied (server dry run)")).To(Equal(len(objects)), dryRun)
	})

	It("installs (server-side apply)", func() {
		kubectlRun("apply", "--server-side", "-f", buildFile)
		kubectlRun("wait", "--for=condition=Established", "--timeout=1m", "crd", "--all")
	})

	Context("with nuop running, driven into every alert's condition", func() {
		var (
			managerMetrics, scriptsMetrics string // URLs, as the monitors scrape
			insecureTLS                    bool   // as the ServiceMonitor says
			prometheusToken                string // of the service account the build lets read the manager's metrics
		)
		ctx := context.Background()

		BeforeAll(func() {
			gitea := giteaserver.StartT(GinkgoT(), giteaserver.Options{})
			unreachable, err := utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			// A rate limiter in front of Gitea (as a proxy or an API gateway puts there) whose budget is spent:
			// it answers every request 429, as such a limiter does, before passing any on.
			rateLimited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "rate limit exceeded", http.StatusTooManyRequests)
			}))
			DeferCleanup(rateLimited.Close)

			// The manager, as config/default runs it: secure metrics, leader election.
			sm := theOne[monitoringv1.ServiceMonitor]("ServiceMonitor").Spec.Endpoints[0]
			Expect(sm.Scheme).To(Equal("https"))
			insecureTLS = sm.TLSConfig != nil && sm.TLSConfig.InsecureSkipVerify != nil && *sm.TLSConfig.InsecureSkipVerify
			metrics, err := utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			probes, err := utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			managerMetrics = sm.Scheme + "://" + metrics + sm.Path
			startProcess("manager", []string{"NUOP_IMAGE=registry.example/nuop:test"},
				"--mode=manager", "--metrics-bind-address="+metrics, "--health-probe-bind-address="+probes,
				"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=monitoring-manager")
			Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())

			// A standard-mode process with the scripts of testdata/scripts: plain-HTTP metrics, as the
			// PodMonitor scrapes the script pods.
			pm := theOne[monitoringv1.PodMonitor]("PodMonitor").Spec.PodMetricsEndpoints[0]
			Expect(pm.Scheme).To(Equal("http"))
			metrics, err = utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			probes, err = utils.FreeAddr()
			Expect(err).NotTo(HaveOccurred())
			scriptsMetrics = pm.Scheme + "://" + metrics + pm.Path
			bin, err := utils.BinDir()
			Expect(err).NotTo(HaveOccurred())
			scripts, err := filepath.Abs(filepath.Join("testdata", "scripts"))
			Expect(err).NotTo(HaveOccurred())
			startProcess("standard", []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOME=" + GinkgoT().TempDir()},
				"--mode=standard", "--script-path="+scripts, "--max-script-timeout=10s",
				"--metrics-bind-address="+metrics, "--metrics-secure=false", "--health-probe-bind-address="+probes,
				"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=monitoring-standard")
			Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())

			// The service account the build binds to the metrics-reader ClusterRole: Prometheus'.
			var subjects []rbacv1.Subject
			for _, b := range builtOf[rbacv1.ClusterRoleBinding]("ClusterRoleBinding") {
				if b.Name == "nuop-metrics-reader-prometheus" {
					subjects = b.Subjects
				}
			}
			Expect(subjects).To(HaveLen(1))
			Expect(subjects[0].Kind).To(Equal(rbacv1.ServiceAccountKind))
			prometheusToken = serviceAccountToken(ctx, subjects[0].Namespace, subjects[0].Name)

			drive, err := os.ReadFile(filepath.Join("testdata", "drive.yaml"))
			Expect(err).NotTo(HaveOccurred())
			expanded := os.Expand(string(drive), func(v string) string {
				return map[string]string{"GITEA_URL": gitea.URL, "UNREACHABLE_URL": "http://" + unreachable,
					"GITEA_TOKEN": gitea.AdminToken, "GITEA_ADMIN": gitea.AdminUser, "RATE_LIMITED_URL": rateLimited.URL}[v]
			})
			drivePath := filepath.Join(GinkgoT().TempDir(), "drive.yaml")
			Expect(os.WriteFile(drivePath, []byte(expanded), 0o600)).To(Succeed())
			kubectlRun("apply", "-f", drivePath)
		})

		It("serves the manager's metrics to Prometheus' service account only, as the ServiceMonitor scrapes them", func() {
			other := serviceAccountToken(ctx, "default", "not-prometheus")
			Eventually(func() error { _, err := scrape(managerMetrics, other, insecureTLS); return err }).
				WithTimeout(30 * time.Second).Should(MatchError(&statusError{http.StatusForbidden}))
			Eventually(func() error { _, err := scrape(managerMetrics, prometheusToken, insecureTLS); return err }).
				WithTimeout(30 * time.Second).Should(Succeed())
		})

		It("counts what was driven: script errors and time-outs, a 401, a 429 and no answer from Gitea, providers and resources not Ready, a refused create, a leader each", func() {
			Eventually(func(g Gomega) {
				m, err := scrape(managerMetrics, prometheusToken, insecureTLS)
				g.Expect(err).NotTo(HaveOccurred())
				s, err := scrape(scriptsMetrics, "", false)
				g.Expect(err).NotTo(HaveOccurred())

				g.Expect(total(s, "nuop_script_runs_total", "script", "failing", "result", "error")).To(BeNumerically(">=", 1))
				g.Expect(total(s, "nuop_script_runs_total", "script", "slow", "result", "timeout")).To(BeNumerically(">=", 1))
				g.Expect(total(s, "leader_election_master_status", "name", "monitoring-standard")).To(Equal(1.0))

				g.Expect(total(m, "gitea_client_requests_total", "provider", "monitoring-drive/bad-token", "code", "401")).
					To(BeNumerically(">=", 1))
				g.Expect(total(m, "gitea_client_requests_total", "provider", "monitoring-drive/unreachable", "code", "error")).
					To(BeNumerically(">=", 1))
				g.Expect(total(m, "gitea_client_requests_total", "provider", "monitoring-drive/rate-limited", "code", "429")).
					To(BeNumerically(">=", 1))
				g.Expect(total(m, "gitea_resources", "kind", "Organization", "ready", "false")).To(Equal(2.0))
				g.Expect(total(m, "gitea_providers", "provider", "monitoring-drive/bad-token", "ready", "false",
					"reason", "Unauthorized")).To(Equal(1.0))
				g.Expect(total(m, "gitea_providers", "provider", "monitoring-drive/admin", "ready", "true")).To(Equal(1.0))
				g.Expect(total(m, "gitea_resource_operations_total", "kind", "Organization", "operation", "create",
					"result", "error")).To(BeNumerically(">=", 1))
				g.Expect(total(m, "nuop_nuoperators", "ready", "false")).To(Equal(1.0))
				g.Expect(total(m, "controller_runtime_reconcile_errors_total", "controller", "giteaprovider")).
					To(BeNumerically(">=", 1), "the unreachable provider is retried with an error")
				g.Expect(total(m, "leader_election_master_status", "name", "monitoring-manager")).To(Equal(1.0))
			}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		})

		It("exposes every series the alerts and the dashboard select, with every label they group by", func() {
			scrapes := map[string][]sample{}
			var err error
			scrapes[managerJob], err = scrape(managerMetrics, prometheusToken, insecureTLS)
			Expect(err).NotTo(HaveOccurred())
			scrapes[scriptsJob], err = scrape(scriptsMetrics, "", false)
			Expect(err).NotTo(HaveOccurred())

			target := targetLabels()
			known := map[string]bool{}
			for _, samples := range scrapes {
				for _, s := range samples {
					s.labels.Range(func(l labels.Label) { known[l.Name] = true })
				}
			}
			var problems []string
			for _, e := range allExpressions() {
				expr, err := promQL.ParseExpr(e.expr)
				Expect(err).NotTo(HaveOccurred())
				for _, selector := range parser.ExtractSelectors(expr) {
					if err := checkSelector(selector, scrapes, target); err != nil {
						problems = append(problems, fmt.Sprintf("%s: %s: %v", e.where, selectorString(selector), err))
					}
				}
				for _, l := range labelsUsed(expr) {
					if !target[l] && !known[l] {
						problems = append(problems, fmt.Sprintf("%s: no series has the label %s", e.where, l))
					}
				}
			}
			Expect(problems).To(BeEmpty())
		})

		It("selects a managed operator's pods with the PodMonitor and scrapes them the way they serve metrics", func() {
			monitor := theOne[monitoringv1.PodMonitor]("PodMonitor")
			Expect(monitor.Spec.NamespaceSelector.Any).To(BeTrue(), "a NuOperator's pods run in its namespace")
			ep := monitor.Spec.PodMetricsEndpoints[0]
			Expect(ep.Port).NotTo(BeNil())
			Expect(jobOf(ep.RelabelConfigs)).To(Equal(scriptsJob))

			managed := &appsv1.Deployment{}
			Eventually(func() error {
				return k8sClient.Get(ctx, client.ObjectKey{Namespace: "monitoring-drive", Name: "scripts-nuop"}, managed)
			}).WithTimeout(time.Minute).Should(Succeed())
			Expect(selects(monitor.Spec.Selector, managed.Spec.Template.Labels)).To(BeTrue(),
				"the PodMonitor selects pods labelled %v", managed.Spec.Template.Labels)
			Expect(checkServesMetrics(managed.Spec.Template.Spec, intstr.FromString(*ep.Port), ep.Scheme)).To(Succeed())
			for _, label := range monitor.Spec.PodTargetLabels {
				Expect(managed.Spec.Template.Labels).To(HaveKey(label), "the alerts group the pods by it")
			}

			// Not the manager's: their metrics are HTTPS, for the ServiceMonitor.
			for _, d := range builtOf[appsv1.Deployment]("Deployment") {
				Expect(selects(monitor.Spec.Selector, d.Spec.Template.Labels)).To(BeFalse(), "Deployment %s", d.Name)
			}
		})
	})
})
