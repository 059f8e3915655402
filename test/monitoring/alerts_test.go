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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"sigs.k8s.io/yaml"
)

// What promtool's rule tests do, on Prometheus' own rule evaluation: each alert of the PrometheusRule is
// evaluated every minute over series written in promqltest's load syntax (one sample a minute, the first at
// minute 0), and the tests say when it fires. Each alert fires on the failure it names, with the labels
// its summary uses, and stays quiet for a healthy system and for a failure too short to act on.

// evaluation is how one alert went over a scenario.
type evaluation struct {
	// firstFiring is the first minute it fired at; -1 if it never did.
	firstFiring int
	// labels are those of its firing alerts at the last minute, without alertname and severity, as
	// Prometheus prints label sets ({a="1", b="2"}), one per alert.
	labels []string
}

// alertRules are the rules of config/prometheus/prometheusrule.yaml by alert name.
func alertRules(t *testing.T) map[string]monitoringv1.Rule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(data, &pr); err != nil {
		t.Fatal(err)
	}
	out := map[string]monitoringv1.Rule{}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r
		}
	}
	return out
}

// ruleLookup returns the lookup of the PrometheusRule's alerts by name, for subtests, and fails t at its end
// for each alert never looked up (it has no scenario <kind of scenario>).
func ruleLookup(t *testing.T, scenario string) func(t *testing.T, alert string) monitoringv1.Rule {
	all := alertRules(t)
	tested := map[string]bool{}
	t.Cleanup(func() {
		for name := range all {
			if !tested[name] {
				t.Errorf("alert %s has no scenario %s", name, scenario)
			}
		}
	})
	return func(t *testing.T, alert string) monitoringv1.Rule {
		rule, ok := all[alert]
		if !ok {
			t.Fatalf("the PrometheusRule has no alert %s", alert)
		}
		tested[alert] = true
		return rule
	}
}

// evaluate runs rule every minute from 0 to minutes over series.
func evaluate(t *testing.T, rule monitoringv1.Rule, series string, minutes int) evaluation {
	t.Helper()
	expr, err := promQL.ParseExpr(rule.Expr.String())
	if err != nil {
		t.Fatal(err)
	}
	var hold time.Duration
	if rule.For != nil {
		d, err := model.ParseDuration(string(*rule.For))
		if err != nil {
			t.Fatal(err)
		}
		hold = time.Duration(d)
	}
	r := rules.NewAlertingRule(rule.Alert, expr, hold, 0, labels.FromMap(rule.Labels), labels.EmptyLabels(),
		labels.EmptyLabels(), "", false, slog.New(slog.DiscardHandler))
	storage := promqltest.LoadedStorage(t, "load 1m\n"+series)
	t.Cleanup(func() { _ = storage.Close() })
	query := rules.EngineQueryFunc(promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery), storage)

	out := evaluation{firstFiring: -1}
	for minute := 0; minute <= minutes; minute++ {
		if _, err := r.Eval(context.Background(), 0, time.Unix(0, 0).Add(time.Duration(minute)*time.Minute), query, nil, 0); err != nil {
			t.Fatalf("minute %d: %v", minute, err)
		}
		out.labels = nil
		for _, a := range r.ActiveAlerts() {
			if a.State != rules.StateFiring {
				continue
			}
			if out.firstFiring < 0 {
				out.firstFiring = minute
			}
			out.labels = append(out.labels, a.Labels.MatchLabels(false, "alertname", "severity").String())
		}
	}
	slices.Sort(out.labels)
	return out
}

// series joins lines of promqltest's load syntax.
func series(lines ...string) string { return "  " + strings.Join(lines, "\n  ") + "\n" }

// Each scenario runs an hour unless it says otherwise.
const hour = 60

// failing is a scenario an alert must fire on: by minute firesBy, with these labels.
type failing struct {
	alert, series string
	firesBy       int
	labels        []string
}

// healthy is a scenario an alert must stay quiet in.
type healthy struct{ name, alert, series string }

// TestAlertsFireOnTheFailureTheyName: by the minute the alert's for and its range allow, with the labels its
// summary uses, and only for what fails.
func TestAlertsFireOnTheFailureTheyName(t *testing.T) {
	ruleOf := ruleLookup(t, "it fires in")
	for _, tt := range failures {
		t.Run(tt.alert, func(t *testing.T) {
			got := evaluate(t, ruleOf(t, tt.alert), tt.series, hour)
			if got.firstFiring < 0 || got.firstFiring > tt.firesBy {
				t.Errorf("first fired at minute %d, want by minute %d (-1: never)", got.firstFiring, tt.firesBy)
			}
			if diff := cmp.Diff(tt.labels, got.labels); diff != "" {
				t.Errorf("firing alerts' labels (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlertsStayQuiet for a healthy system and for a failure too short to act on.
func TestAlertsStayQuiet(t *testing.T) {
	ruleOf := ruleLookup(t, "it stays quiet in")
	for _, tt := range quiet {
		t.Run(tt.name, func(t *testing.T) {
			if got := evaluate(t, ruleOf(t, tt.alert), tt.series, hour); got.firstFiring >= 0 {
				t.Errorf("fired at minute %d with %v", got.firstFiring, got.labels)
			}
		})
	}
}

var failures = []failing{
	{"NuopScriptErrors", series(
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="ok"} 0+10x60`,
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="error"} 0+5x60`,
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="fine", pod="p", result="ok"} 0+10x60`,
	), 20, []string{`{namespace="team-a", script="cm"}`}},
	{"NuopScriptTimeouts", series(
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="slow", pod="p", result="timeout"} 0+1x60`,
	), 20, []string{`{namespace="team-a", script="slow"}`}},
	{"NuopScriptsNoLeader", series(
		`up{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p1"} 1x60`,
		`up{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p2"} 1x60`,
		`leader_election_master_status{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p1", name="op"} 0x60`,
		`leader_election_master_status{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p2", name="op"} 0x60`,
		`up{job="nuop-scripts", namespace="team-b", app_kubernetes_io_instance="led", pod="p3"} 1x60`,
		`leader_election_master_status{job="nuop-scripts", namespace="team-b", app_kubernetes_io_instance="led", pod="p3", name="led"} 1x60`,
	), 6, []string{`{app_kubernetes_io_instance="op", namespace="team-a"}`}},
	{"NuopManagerNoLeader", series(
		`leader_election_master_status{job="nuop-manager", pod="m1", name="manager"} 0x60`,
		`leader_election_master_status{job="nuop-manager", pod="m2", name="manager"} 0x60`,
	), 6, []string{`{}`}},
	{"NuopReconcileErrors", series(
		`controller_runtime_reconcile_errors_total{job="nuop-manager", controller="nuoperator", pod="m1"} 0+1x60`,
		`controller_runtime_reconcile_errors_total{job="nuop-manager", controller="organization", pod="m1"} 0x60`,
	), 20, []string{`{controller="nuoperator"}`}},
	{"NuopNuOperatorsNotReady", series(
		`nuop_nuoperators{job="nuop-manager", pod="m1", ready="false"} 2x60`,
		`nuop_nuoperators{job="nuop-manager", pod="m1", ready="true"} 5x60`,
	), 16, []string{`{}`}},
	{"NuopGiteaUnauthorized", series(
		// A revoked token: the provider's checks back off to one every 5 minutes, and every one is refused.
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="401"} 0+1x10 10+0.2x50`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-b/gitea", method="GET", code="200"} 0+10x60`,
	), 30, []string{`{provider="team-a/gitea"}`}},
	{"NuopGiteaRequestErrors", series(
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="error"} 0+3x60`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="200"} 0+10x60`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-b/gitea", method="GET", code="200"} 0+10x60`,
	), 20, []string{`{provider="team-a/gitea"}`}},
	{"NuopGiteaResourcesNotReady", series(
		`gitea_resources{job="nuop-manager", pod="m1", kind="Repository", ready="false"} 1x60`,
		`gitea_resources{job="nuop-manager", pod="m1", kind="Team", ready="false"} 0x60`,
		`gitea_resources{job="nuop-manager", pod="m1", kind="Team", ready="true"} 3x60`,
	), 31, []string{`{kind="Repository"}`}},
	{"NuopGiteaProviderNotReady", series(
		`gitea_providers{job="nuop-manager", pod="m1", provider="team-a/gitea", ready="false", reason="Unauthorized"} 1x60`,
		`gitea_providers{job="nuop-manager", pod="m1", provider="team-b/gitea", ready="true", reason="Connected"} 1x60`,
	), 11, []string{`{provider="team-a/gitea", reason="Unauthorized"}`}},
	{"NuopGiteaSlowRequests", series(
		// Half the requests take 5 to 10 seconds.
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="1"} 0+10x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="5"} 0+10x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="10"} 0+20x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="+Inf"} 0+20x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-b/gitea", le="1"} 0+20x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-b/gitea", le="+Inf"} 0+20x60`,
	), 20, []string{`{provider="team-a/gitea"}`}},
	{"NuopGiteaRateLimited", series(
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="429"} 0+2x60`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="200"} 0+10x60`,
	), 20, []string{`{provider="team-a/gitea"}`}},
	{"NuopGiteaOperationErrors", series(
		`gitea_resource_operations_total{job="nuop-manager", pod="m1", kind="Repository", operation="create", result="error"} 0+1x60`,
		`gitea_resource_operations_total{job="nuop-manager", pod="m1", kind="Repository", operation="create", result="success"} 0x60`,
		`gitea_resource_operations_total{job="nuop-manager", pod="m1", kind="Team", operation="update", result="success"} 0+1x60`,
	), 20, []string{`{kind="Repository", operation="create"}`}},
}

var quiet = []healthy{
	{"NuopScriptErrors: three minutes of errors", "NuopScriptErrors", series(
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="ok"} 0+10x60`,
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="error"} 0x10 5 10 15 15x47`,
	)},
	{"NuopScriptErrors: one error in a hundred runs", "NuopScriptErrors", series(
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="ok"} 0+99x60`,
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="cm", pod="p", result="error"} 0+1x60`,
	)},
	{"NuopScriptTimeouts: one time-out", "NuopScriptTimeouts", series(
		`nuop_script_runs_total{job="nuop-scripts", namespace="team-a", script="slow", pod="p", result="timeout"} 0x10 1x50`,
	)},
	{"NuopScriptsNoLeader: a two-minute handover", "NuopScriptsNoLeader", series(
		`up{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p1"} 1x60`,
		`leader_election_master_status{job="nuop-scripts", namespace="team-a", app_kubernetes_io_instance="op", pod="p1", name="op"} 1x20 0 0 1x38`,
	)},
	{"NuopManagerNoLeader: one manager of two leads", "NuopManagerNoLeader", series(
		`leader_election_master_status{job="nuop-manager", pod="m1", name="manager"} 1x60`,
		`leader_election_master_status{job="nuop-manager", pod="m2", name="manager"} 0x60`,
	)},
	{"NuopReconcileErrors: one failed reconcile", "NuopReconcileErrors", series(
		`controller_runtime_reconcile_errors_total{job="nuop-manager", controller="nuoperator", pod="m1"} 0x10 1x50`,
	)},
	{"NuopNuOperatorsNotReady: ten minutes not Ready", "NuopNuOperatorsNotReady", series(
		`nuop_nuoperators{job="nuop-manager", pod="m1", ready="false"} 0x10 1x10 0x40`,
	)},
	{"NuopGiteaUnauthorized: one 401 while a token is rotated", "NuopGiteaUnauthorized", series(
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="401"} 0x10 1x50`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="200"} 0+10x60`,
	)},
	{"NuopGiteaRequestErrors: one request in a hundred fails", "NuopGiteaRequestErrors", series(
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="500"} 0+1x60`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="200"} 0+99x60`,
	)},
	{"NuopGiteaResourcesNotReady: twenty minutes not Ready", "NuopGiteaResourcesNotReady", series(
		`gitea_resources{job="nuop-manager", pod="m1", kind="Repository", ready="false"} 0x10 1x20 0x30`,
	)},
	{"NuopGiteaProviderNotReady: Gitea restarts for five minutes", "NuopGiteaProviderNotReady", series(
		`gitea_providers{job="nuop-manager", pod="m1", provider="team-a/gitea", ready="false", reason="Unreachable"} 0x10 1x5 0x45`,
	)},
	{"NuopGiteaSlowRequests: answers within a second", "NuopGiteaSlowRequests", series(
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="1"} 0+20x60`,
		`gitea_client_request_duration_seconds_bucket{job="nuop-manager", pod="m1", provider="team-a/gitea", le="+Inf"} 0+20x60`,
	)},
	{"NuopGiteaRateLimited: one 429 in a hundred requests", "NuopGiteaRateLimited", series(
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="429"} 0+1x60`,
		`gitea_client_requests_total{job="nuop-manager", pod="m1", provider="team-a/gitea", method="GET", code="200"} 0+99x60`,
	)},
	{"NuopGiteaOperationErrors: one failed create, retried successfully", "NuopGiteaOperationErrors", series(
		`gitea_resource_operations_total{job="nuop-manager", pod="m1", kind="Repository", operation="create", result="error"} 0x10 1x50`,
		`gitea_resource_operations_total{job="nuop-manager", pod="m1", kind="Repository", operation="create", result="success"} 0x11 1x49`,
	)},
}
