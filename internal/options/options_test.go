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

package options

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zapcore"
)

// view is the part of Options a test compares; the zap options hold functions cmp cannot compare.
type view struct {
	Mode                    Mode
	ScriptPath              string
	MappingsPath            string
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	ProbeAddr               string
	MetricsAddr             string
	MetricsSecure           bool
	WatchNamespaces         []string
	MaxScriptTimeout        time.Duration
	NuOperator              string
	Instance                string
	FetchInProcess          bool
	Image                   string
	PodName                 string
	PodNamespace            string
	Level                   zapcore.Level
	Warnings                []string
}

func viewOf(o *Options) view {
	return view{
		Mode: o.Mode, ScriptPath: o.ScriptPath, MappingsPath: o.MappingsPath,
		LeaderElect: o.LeaderElect, LeaderElectionNamespace: o.LeaderElectionNamespace,
		LeaderElectionID: o.LeaderElectionID, ProbeAddr: o.ProbeAddr, MetricsAddr: o.MetricsAddr,
		MetricsSecure: o.MetricsSecure, WatchNamespaces: o.WatchNamespaces,
		MaxScriptTimeout: o.MaxScriptTimeout, Level: lowestEnabled(o.Zap.Level), Warnings: o.Warnings,
		NuOperator: nuoperatorOf(o), Instance: o.Instance, FetchInProcess: o.FetchInProcess,
		Image: o.Image, PodName: o.PodName, PodNamespace: o.PodNamespace,
	}
}

// lowestEnabled is the most verbose level a logger lets through (zapcore.LevelOf stops at debug).
func lowestEnabled(e zapcore.LevelEnabler) zapcore.Level {
	for l := zapcore.Level(-10); l < zapcore.FatalLevel; l++ {
		if e.Enabled(l) {
			return l
		}
	}
	return zapcore.FatalLevel
}

func nuoperatorOf(o *Options) string {
	if o.NuOperator.Name == "" {
		return ""
	}
	return o.NuOperator.String()
}

func defaults(mode Mode, probe string) view {
	return view{
		Mode: mode, ScriptPath: "/scripts", MappingsPath: "/config/mappings",
		LeaderElectionID: string(mode) + ".nuop.kemper.buzz", ProbeAddr: probe, MetricsAddr: "0",
		MetricsSecure: true, MaxScriptTimeout: 2 * time.Minute, Level: zapcore.InfoLevel, Instance: "standard",
	}
}

func with(v view, change func(*view)) view {
	change(&v)
	return v
}

func envOf(m map[string]string) Getenv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// noLeaderElection is the warning of a replica in a pod without leader election.
const noLeaderElection = "leader election is off (--leader-elect, ENABLE_LEADER_ELECTION=true): run one replica " +
	"only, since each replica reconciles everything (scripts run twice, Gitea is written twice)"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want view
	}{
		{name: "no flags, no env: manager mode on Kubebuilder's probe port",
			want: defaults(ModeManager, ":8081")},
		{name: "nuop's standard-mode Deployment: env only, probes on 8080",
			env:  map[string]string{"NUOP_MODE": "standard", "NUOP_SCRIPT_PATH": "/scripts", "RUST_LOG": "info"},
			want: defaults(ModeStandard, ":8080")},
		{name: "managed mode probes on 8080", env: map[string]string{"NUOP_MODE": "managed"},
			want: defaults(ModeManaged, ":8080")},
		{name: "fetch sidecar gets a probe port of its own", args: []string{"--mode", "fetch", "--nuoperator", "ops/demo"},
			want: with(defaults(ModeFetch, ":8082"), func(v *view) { v.NuOperator, v.Instance = "ops/demo", "ops/demo" })},
		{name: "a managed operator's instance is its NuOperator; in a pod the sidecar fetches",
			args: []string{"--mode=managed", "--nuoperator=ops/demo"}, env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"},
			want: with(defaults(ModeManaged, ":8080"), func(v *view) {
				v.NuOperator, v.Instance, v.Warnings = "ops/demo", "ops/demo", []string{noLeaderElection}
			})},
		{name: "in a pod with leader election on, no warning",
			env:  map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "NUOP_MODE": "standard", "ENABLE_LEADER_ELECTION": "true"},
			want: with(defaults(ModeStandard, ":8080"), func(v *view) { v.LeaderElect = true })},
		{name: "in a pod, the fetch sidecar elects no leader and is not warned",
			args: []string{"--mode", "fetch", "--nuoperator", "ops/demo"}, env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"},
			want: with(defaults(ModeFetch, ":8082"), func(v *view) { v.NuOperator, v.Instance = "ops/demo", "ops/demo" })},
		{name: "out of a cluster a managed operator fetches in-process", args: []string{"--mode=managed", "--nuoperator=ops/demo"},
			want: with(defaults(ModeManaged, ":8080"), func(v *view) {
				v.NuOperator, v.Instance, v.FetchInProcess = "ops/demo", "ops/demo", true
			})},
		{name: "--fetch-in-process=false leaves fetching to a sidecar out of a cluster too",
			args: []string{"--mode=managed", "--nuoperator=ops/demo", "--fetch-in-process=false"},
			want: with(defaults(ModeManaged, ":8080"), func(v *view) { v.NuOperator, v.Instance = "ops/demo", "ops/demo" })},
		{name: "--fetch-in-process in a pod", args: []string{"--mode=managed", "--nuoperator=ops/demo", "--fetch-in-process"},
			env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"},
			want: with(defaults(ModeManaged, ":8080"), func(v *view) {
				v.NuOperator, v.Instance, v.FetchInProcess = "ops/demo", "ops/demo", true
				v.Warnings = []string{noLeaderElection}
			})},
		{name: "mode is case-insensitive", env: map[string]string{"NUOP_MODE": "Standard"},
			want: defaults(ModeStandard, ":8080")},
		{name: "flag wins over env",
			args: []string{"--mode=manager", "--script-path=/other"},
			env:  map[string]string{"NUOP_MODE": "standard", "NUOP_SCRIPT_PATH": "/scripts"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.ScriptPath = "/other" })},
		{name: "explicit probe address wins over the mode's default",
			args: []string{"--mode=standard", "--health-probe-bind-address=:9000"},
			want: defaults(ModeStandard, ":9000")},
		{name: "leader election from nuop's env",
			env: map[string]string{"ENABLE_LEADER_ELECTION": "true", "LEADER_ELECTION_NAMESPACE": "ops", "POD_NAMESPACE": "pod-ns"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.LeaderElect, v.LeaderElectionNamespace, v.PodNamespace = true, "ops", "pod-ns"
			})},
		{name: "leader election namespace falls back to POD_NAMESPACE",
			args: []string{"--leader-elect"}, env: map[string]string{"POD_NAMESPACE": "pod-ns"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.LeaderElect, v.LeaderElectionNamespace, v.PodNamespace = true, "pod-ns", "pod-ns"
			})},
		{name: "the managed operators' image from NUOP_IMAGE", env: map[string]string{"NUOP_IMAGE": "registry.example/nuop:v1"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Image = "registry.example/nuop:v1" })},
		{name: "--image wins over NUOP_IMAGE", args: []string{"--image=registry.example/nuop:v2"},
			env:  map[string]string{"NUOP_IMAGE": "registry.example/nuop:v1"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Image = "registry.example/nuop:v2" })},
		{name: "the own Pod is POD_NAME in POD_NAMESPACE",
			env: map[string]string{"POD_NAME": "nuop-manager-7d9-x2", "HOSTNAME": "other", "POD_NAMESPACE": "nuop-system"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.PodName, v.PodNamespace, v.LeaderElectionNamespace = "nuop-manager-7d9-x2", "nuop-system", "nuop-system"
			})},
		{name: "the own Pod's name falls back to HOSTNAME", env: map[string]string{"HOSTNAME": "nuop-manager-7d9-x2"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.PodName = "nuop-manager-7d9-x2" })},
		{name: "--leader-elect=false wins over ENABLE_LEADER_ELECTION",
			args: []string{"--leader-elect=false"}, env: map[string]string{"ENABLE_LEADER_ELECTION": "true"},
			want: defaults(ModeManager, ":8081")},
		{name: "lease name from LEADER_ELECTION_ID", env: map[string]string{"ENABLE_LEADER_ELECTION": "true", "LEADER_ELECTION_ID": "team-a"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.LeaderElect, v.LeaderElectionID = true, "team-a" })},
		{name: "--leader-election-id wins over LEADER_ELECTION_ID",
			args: []string{"--leader-election-id=flag-id"}, env: map[string]string{"LEADER_ELECTION_ID": "env-id"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.LeaderElectionID = "flag-id" })},
		{name: "mappings path from env", env: map[string]string{"NUOP_MAPPINGS_PATH": "/m"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.MappingsPath = "/m" })},
		{name: "watch namespaces are split and trimmed", args: []string{"--watch-namespaces", "a, b,,c"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.WatchNamespaces = []string{"a", "b", "c"} })},
		{name: "LOG_LEVEL in any case", env: map[string]string{"LOG_LEVEL": "DEBUG"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.DebugLevel })},
		{name: "LOG_LEVEL trace is logr V(2)", env: map[string]string{"LOG_LEVEL": "trace"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.Level(-2) })},
		{name: "LOG_LEVEL warn", env: map[string]string{"LOG_LEVEL": "warn"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.WarnLevel })},
		{name: "RUST_LOG's global level is used", env: map[string]string{"RUST_LOG": "your_operator=trace,error"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.ErrorLevel })},
		{name: "RUST_LOG with only per-target levels keeps info", env: map[string]string{"RUST_LOG": "my_op=debug"},
			want: defaults(ModeManager, ":8081")},
		{name: "LOG_LEVEL wins over RUST_LOG", env: map[string]string{"LOG_LEVEL": "error", "RUST_LOG": "debug"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.ErrorLevel })},
		{name: "zap flag wins over LOG_LEVEL", args: []string{"--zap-log-level=debug"}, env: map[string]string{"LOG_LEVEL": "error"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) { v.Level = zapcore.DebugLevel })},
		{name: "invalid LOG_LEVEL is a warning and info is used", env: map[string]string{"LOG_LEVEL": "loud"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.Warnings = []string{`ignoring LOG_LEVEL="loud": want one of trace, debug, info, warn, error; logging at info`}
			})},
		{name: "invalid RUST_LOG global level is a warning", env: map[string]string{"RUST_LOG": "verbose"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.Warnings = []string{`ignoring RUST_LOG="verbose": want one of trace, debug, info, warn, error; logging at info`}
			})},
		{name: "invalid LOG_FORMAT is a warning", env: map[string]string{"LOG_FORMAT": "xml"},
			want: with(defaults(ModeManager, ":8081"), func(v *view) {
				v.Warnings = []string{`ignoring LOG_FORMAT="xml": want json or plain; logging plain`}
			})},
		{name: "LOG_FORMAT json is accepted", env: map[string]string{"LOG_FORMAT": "JSON"},
			want: defaults(ModeManager, ":8081")},
		{name: "empty env values are unset", env: map[string]string{"NUOP_MODE": "", "LOG_LEVEL": "", "ENABLE_LEADER_ELECTION": ""},
			want: defaults(ModeManager, ":8081")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o, err := Parse(tt.args, envOf(tt.env), &out)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, viewOf(o)); diff != "" {
				t.Errorf("options differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown mode flag names the valid modes", args: []string{"--mode", "nonsense"},
			want: `unknown mode "nonsense" (from --mode): valid modes are manager, standard, managed, fetch`},
		{name: "unknown NUOP_MODE names the variable", env: map[string]string{"NUOP_MODE": "operator"},
			want: `unknown mode "operator" (from NUOP_MODE): valid modes are manager, standard, managed, fetch`},
		{name: "unknown flag", args: []string{"--no-such-flag"},
			want: "flag provided but not defined: -no-such-flag"},
		{name: "bad boolean flag", args: []string{"--leader-elect=maybe"},
			want: `invalid boolean value "maybe" for -leader-elect: parse error`},
		{name: "bad ENABLE_LEADER_ELECTION", env: map[string]string{"ENABLE_LEADER_ELECTION": "yes please"},
			want: `invalid ENABLE_LEADER_ELECTION "yes please": want true or false`},
		{name: "bad duration", args: []string{"--max-script-timeout=soon"},
			want: `invalid value "soon" for flag -max-script-timeout: parse error`},
		{name: "non-positive script timeout", args: []string{"--max-script-timeout=0s"},
			want: "invalid --max-script-timeout 0s: must be positive"},
		{name: "negative qps", args: []string{"--kube-api-qps=-1"},
			want: "invalid --kube-api-qps -1: must be positive, or 0 for no client-side limit"},
		{name: "burst below 1", args: []string{"--kube-api-burst=0"},
			want: "invalid --kube-api-burst 0: must be at least 1"},
		{name: "invalid namespace", args: []string{"--watch-namespaces=ok,Not_OK"},
			want: `invalid --watch-namespaces entry "Not_OK"`},
		{name: "invalid lease name", args: []string{"--leader-elect", "--leader-election-id=Bad Name"},
			want: `invalid --leader-election-id "Bad Name"`},
		{name: "invalid lease name from the environment names the variable",
			env:  map[string]string{"ENABLE_LEADER_ELECTION": "true", "LEADER_ELECTION_ID": "Bad_Name"},
			want: `invalid LEADER_ELECTION_ID "Bad_Name"`},
		{name: "bad zap level flag", args: []string{"--zap-log-level=loud"},
			want: `invalid value "loud" for flag -zap-log-level`},
		{name: "fetch mode without its NuOperator", args: []string{"--mode=fetch"},
			want: "fetch mode needs --nuoperator <namespace>/<name>"},
		{name: "fetching in-process without a NuOperator", args: []string{"--mode=managed", "--fetch-in-process"},
			want: "--fetch-in-process needs managed mode and --nuoperator <namespace>/<name>"},
		{name: "fetching in-process in fetch mode", args: []string{"--mode=fetch", "--nuoperator=ops/demo", "--fetch-in-process"},
			want: "--fetch-in-process needs managed mode and --nuoperator <namespace>/<name>"},
		{name: "a NuOperator without a namespace", args: []string{"--nuoperator=demo"},
			want: `invalid --nuoperator "demo": want <namespace>/<name>`},
		{name: "a Gitea allowed host that is none", args: []string{"--gitea-allowed-hosts=gitea.example.com, 10.0.0.0/8,not a host"},
			want: `--gitea-allowed-hosts: "not a host" is not a host name, an IP address or a CIDR`},
		{name: "positional argument", args: []string{"standard"},
			want: `unexpected argument "standard": this command takes flags only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Parse(tt.args, envOf(tt.env), &out)
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("want a *UsageError, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("an error must not print the usage; printed %q", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, envOf(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("want ErrHelp, got %v", err)
	}
	for _, flagName := range []string{
		"-mode", "-script-path", "-mappings-path", "-leader-elect", "-leader-election-namespace",
		"-health-probe-bind-address", "-metrics-bind-address", "-metrics-secure", "-watch-namespaces",
		"-enable-http2", "-zap-log-level", "-kubeconfig", "LOG_LEVEL", "LOG_FORMAT", "NUOP_MODE",
		"-image", "NUOP_IMAGE", "POD_NAME",
	} {
		if !strings.Contains(out.String(), flagName) {
			t.Errorf("usage does not mention %s", flagName)
		}
	}
}

func TestGracefulShutdownTimeout(t *testing.T) {
	o, err := Parse([]string{"--max-script-timeout=30s"}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.GracefulShutdownTimeout(), 30*time.Second+ShutdownMargin; got != want {
		t.Errorf("GracefulShutdownTimeout = %s, want %s", got, want)
	}
}
