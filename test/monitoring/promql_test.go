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
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// promQL is Prometheus' parser with its default features, those of a Prometheus without feature flags.
var promQL = parser.NewParser(parser.Options{})

// expression is a PromQL expression of the alerts or the dashboard, and where it is.
type expression struct{ where, expr string }

// ruleExpressions are the expressions of the PrometheusRule's alerts.
func ruleExpressions() []expression {
	var out []expression
	for _, g := range theOne[monitoringv1.PrometheusRule]("PrometheusRule").Spec.Groups {
		for _, r := range g.Rules {
			out = append(out, expression{"alert " + r.Alert, r.Expr.String()})
		}
	}
	return out
}

// grafanaBuiltins are the values Grafana gives its own variables, as it substitutes them before sending a query.
var grafanaBuiltins = map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "6h"}

// grafanaVariable is $name, ${name} or ${name:format}.
var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// labelValues is the variable query label_values(<selector>, <label>) of Grafana's Prometheus data source.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*\w+\s*\)\s*$`)

// dashboard is what the tests read of a Grafana dashboard.
type dashboard struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
	// Templating.List are the dashboard's variables.
	Templating struct {
		List []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Query    any    `json:"query"` // a string, or {query: ...} in newer Grafana versions
			AllValue string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's panels
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardExpressions are the PromQL expressions of the dashboards in the build (ConfigMaps labelled
// grafana_dashboard), with Grafana's variables substituted: its built-in ones, and each of the dashboard's
// own by its "All" value.
func dashboardExpressions() []expression {
	var out []expression
	for _, cm := range builtOf[corev1.ConfigMap]("ConfigMap") {
		if cm.Labels["grafana_dashboard"] == "" {
			continue
		}
		for key, data := range cm.Data {
			var d dashboard
			Expect(json.Unmarshal([]byte(data), &d)).To(Succeed(), "dashboard %s in ConfigMap %s", key, cm.Name)
			values := map[string]string{}
			for k, v := range grafanaBuiltins {
				values[k] = v
			}
			var queries []expression
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				values[v.Name] = v.AllValue
				query, _ := v.Query.(string)
				if q, ok := v.Query.(map[string]any); ok {
					query, _ = q["query"].(string)
				}
				m := labelValues.FindStringSubmatch(query)
				Expect(m).NotTo(BeNil(), "variable %s of dashboard %q: only label_values(<selector>, <label>) is checked; got %q", v.Name, d.Title, query)
				queries = append(queries, expression{fmt.Sprintf("dashboard %q variable %s", d.Title, v.Name), m[1]})
			}
			var walk func(where string, panels []panel)
			walk = func(where string, panels []panel) {
				for _, p := range panels {
					for i, t := range p.Targets {
						queries = append(queries, expression{fmt.Sprintf("%s panel %q query %d", where, p.Title, i+1), t.Expr})
					}
					walk(where, p.Panels)
				}
			}
			walk(fmt.Sprintf("dashboard %q", d.Title), d.Panels)
			for _, q := range queries {
				expr := grafanaVariable.ReplaceAllStringFunc(q.expr, func(v string) string {
					m := grafanaVariable.FindStringSubmatch(v)
					name := m[1] + m[2]
					value, ok := values[name]
					Expect(ok).To(BeTrue(), "%s uses the variable %s, which the dashboard does not define", q.where, v)
					return value
				})
				out = append(out, expression{q.where, expr})
			}
		}
	}
	Expect(out).NotTo(BeEmpty(), "the build holds a dashboard with queries")
	return out
}

// allExpressions are the alerts' and the dashboards' expressions.
func allExpressions() []expression {
	return append(ruleExpressions(), dashboardExpressions()...)
}

// jobs are the job names the monitors give their targets.
func jobs() []string {
	return []string{
		jobOf(theOne[monitoringv1.ServiceMonitor]("ServiceMonitor").Spec.Endpoints[0].RelabelConfigs),
		jobOf(theOne[monitoringv1.PodMonitor]("PodMonitor").Spec.PodMetricsEndpoints[0].RelabelConfigs),
	}
}

// jobsOf are the jobs a selector's job matcher selects, or an error when it has none.
func jobsOf(selector []*labels.Matcher) ([]string, error) {
	for _, m := range selector {
		if m.Name != "job" {
			continue
		}
		var out []string
		for _, j := range jobs() {
			if m.Matches(j) {
				out = append(out, j)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s matches none of the monitors' jobs %v", m, jobs())
		}
		return out, nil
	}
	return nil, fmt.Errorf("it selects no job, so it would also match other processes' series of that name")
}

// selectorString prints a selector's matchers.
func selectorString(selector []*labels.Matcher) string {
	parts := make([]string, 0, len(selector))
	for _, m := range selector {
		parts = append(parts, m.String())
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

var _ = Describe("the alerts and the dashboard", func() {
	It("are a rule file Prometheus loads (its rulefmt, as the Prometheus Operator validates a PrometheusRule)", func() {
		rule := theOne[monitoringv1.PrometheusRule]("PrometheusRule")
		content, err := yaml.Marshal(rule.Spec)
		Expect(err).NotTo(HaveOccurred())
		groups, errs := rulefmt.Parse(content, false, model.LegacyValidation, promQL, slog.New(slog.DiscardHandler))
		Expect(errs).To(BeEmpty())
		var alerts []string
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				Expect(r.Alert).NotTo(BeEmpty(), "group %s holds alerts only", g.Name)
				Expect(r.Labels).To(HaveKey("severity"), "alert %s", r.Alert)
				Expect(r.Annotations).To(HaveKey("summary"), "alert %s", r.Alert)
				Expect(r.Annotations).To(HaveKey("description"), "alert %s", r.Alert)
				alerts = append(alerts, r.Alert)
			}
		}
		Expect(alerts).To(HaveLen(len(ruleExpressions())))
	})

	It("parse with Prometheus' PromQL parser, Grafana's variables substituted", func() {
		exprs := allExpressions()
		var problems []string
		for _, e := range exprs {
			if _, err := promQL.ParseExpr(e.expr); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %q: %v", e.where, e.expr, err))
			}
		}
		Expect(problems).To(BeEmpty())
		Expect(len(exprs)).To(BeNumerically(">", 15), "every alert and dashboard query was read")
	})

	It("select by the jobs the ServiceMonitor and the PodMonitor name", func() {
		Expect(jobs()).To(Equal([]string{managerJob, scriptsJob}))
		var problems []string
		for _, e := range allExpressions() {
			expr, err := promQL.ParseExpr(e.expr)
			Expect(err).NotTo(HaveOccurred())
			for _, selector := range parser.ExtractSelectors(expr) {
				if _, err := jobsOf(selector); err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s: %v", e.where, selectorString(selector), err))
				}
			}
		}
		Expect(problems).To(BeEmpty())
	})

	It("each alert has its runbook in docs/operations.md, and each runbook its alert", func() {
		doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
		Expect(err).NotTo(HaveOccurred())
		_, section, found := strings.Cut(string(doc), "\n## Alerts and runbooks\n")
		Expect(found).To(BeTrue(), `docs/operations.md has a section "## Alerts and runbooks"`)
		section, _, _ = strings.Cut(section, "\n## ")
		headings := regexp.MustCompile(`(?m)^### (\S+)$`).FindAllStringSubmatch(section, -1)
		runbooks := make([]string, 0, len(headings))
		for _, m := range headings {
			runbooks = append(runbooks, m[1])
		}
		rules := ruleExpressions()
		alerts := make([]string, 0, len(rules))
		for _, e := range rules {
			alerts = append(alerts, strings.TrimPrefix(e.where, "alert "))
		}
		slices.Sort(alerts)
		slices.Sort(runbooks)
		Expect(runbooks).To(Equal(alerts))
	})
})
