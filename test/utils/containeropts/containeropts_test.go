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

package containeropts

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"kemper.buzz/nuop/internal/options"
)

// parsed is what the cases below set of the options.
type parsed struct {
	Mode                    options.Mode
	ScriptPath              string
	LeaderElect             bool
	LeaderElectionNamespace string
	ProbeAddr               string
}

func TestParse(t *testing.T) {
	namespace := func(s *corev1.EnvVarSource) (string, bool) {
		return "pod-ns", s.FieldRef != nil && s.FieldRef.FieldPath == "metadata.namespace"
	}
	fromField := corev1.EnvVar{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}
	nuop := []string{Program}
	for _, tc := range []struct {
		name string
		c    corev1.Container
		run  Run
		want parsed // when wantErr is empty
		// wantErr is part of the error wanted.
		wantErr string
	}{
		{name: "command and args, env from a field",
			c: corev1.Container{Command: []string{"/manager", "--leader-elect"}, Args: []string{"--health-probe-bind-address=:9"},
				Env: []corev1.EnvVar{fromField}},
			run:  Run{ValueFrom: namespace},
			want: parsed{Mode: options.ModeManager, ScriptPath: "/scripts", LeaderElect: true, LeaderElectionNamespace: "pod-ns", ProbeAddr: ":9"}},
		{name: "a command replaces the image's entrypoint and cmd",
			c:    corev1.Container{Command: []string{"/manager"}},
			run:  Run{Entrypoint: []string{"/other"}, Cmd: []string{"--no-such-flag"}},
			want: parsed{Mode: options.ModeManager, ScriptPath: "/scripts", ProbeAddr: ":8081"}},
		{name: "args replace the image's cmd",
			c:    corev1.Container{Args: []string{"--mode=standard"}},
			run:  Run{Entrypoint: nuop, Cmd: []string{"--no-such-flag"}},
			want: parsed{Mode: options.ModeStandard, ScriptPath: "/scripts", ProbeAddr: ":8080"}},
		{name: "the image's entrypoint and cmd",
			run:  Run{Entrypoint: nuop, Cmd: []string{"--mode=standard"}},
			want: parsed{Mode: options.ModeStandard, ScriptPath: "/scripts", ProbeAddr: ":8080"}},
		{name: "the container's env overrides run.Env in order; run.Args win over the container's",
			c: corev1.Container{Args: []string{"--health-probe-bind-address=:1"}, Env: []corev1.EnvVar{
				{Name: "NUOP_SCRIPT_PATH", Value: "/first"}, {Name: "NUOP_SCRIPT_PATH", Value: "/second"}}},
			run: Run{Entrypoint: nuop, Env: map[string]string{"NUOP_MODE": "standard", "NUOP_SCRIPT_PATH": "/image"},
				Args: []string{"--health-probe-bind-address=:2"}},
			want: parsed{Mode: options.ModeStandard, ScriptPath: "/second", ProbeAddr: ":2"}},
		{name: "Literal rewrites the container's args and literal env values, not run.Args or sources",
			c: corev1.Container{Args: []string{"--script-path=/scripts"},
				Env: []corev1.EnvVar{{Name: "NUOP_MODE", Value: "STANDARD"}, fromField}},
			run: Run{Entrypoint: nuop, ValueFrom: namespace, Literal: strings.ToLower,
				Args: []string{"--leader-elect", "--health-probe-bind-address=:X"}},
			want: parsed{Mode: options.ModeStandard, ScriptPath: "/scripts", LeaderElect: true, LeaderElectionNamespace: "pod-ns", ProbeAddr: ":X"}},

		{name: "another program", c: corev1.Container{Command: []string{"/bin/sh", "-c", "/manager"}},
			wantErr: `it runs ["/bin/sh" "-c" "/manager"], not /manager`},
		{name: "args without an entrypoint are the program", c: corev1.Container{Args: []string{"--leader-elect"}},
			wantErr: `it runs ["--leader-elect"], not /manager`},
		{name: "no program", wantErr: "it runs nothing"},
		{name: "a flag the manager does not know", c: corev1.Container{Args: []string{"--no-such-flag"}}, run: Run{Entrypoint: nuop},
			wantErr: `the manager refuses its arguments ["--no-such-flag"] and environment: flag provided but not defined`},
		{name: "a bad env value", c: corev1.Container{Env: []corev1.EnvVar{{Name: "NUOP_MODE", Value: "nope"}}}, run: Run{Entrypoint: nuop},
			wantErr: `unknown mode "nope"`},
		{name: "a source without ValueFrom", c: corev1.Container{Env: []corev1.EnvVar{fromField}}, run: Run{Entrypoint: nuop},
			wantErr: "env POD_NAMESPACE: the test cannot tell the value of its source"},
		{name: "a source ValueFrom does not know",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}},
			run:     Run{Entrypoint: nuop, ValueFrom: namespace},
			wantErr: "env TOKEN: the test cannot tell the value of its source"},
		{name: "envFrom",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}},
			run: Run{Entrypoint: nuop}, wantErr: "envFrom"},
		{name: "$(VAR) in the container's args and env values is expanded from the container's env",
			c: corev1.Container{Args: []string{"--leader-election-namespace=$(NS)", "--health-probe-bind-address=$(PORT)"},
				Env: []corev1.EnvVar{fromField, {Name: "NS", Value: "$(POD_NAMESPACE)-x"}, {Name: "PORT", Value: ":7"},
					{Name: "NUOP_SCRIPT_PATH", Value: "/$(LATER)/$(NS)"}, {Name: "LATER", Value: "y"}}},
			run:  Run{Entrypoint: nuop, ValueFrom: namespace},
			want: parsed{Mode: options.ModeManager, ScriptPath: "/$(LATER)/pod-ns-x", LeaderElectionNamespace: "pod-ns-x", ProbeAddr: ":7"}},
		{name: "$(VAR) in the image's entrypoint and cmd stays as written",
			c:    corev1.Container{Env: []corev1.EnvVar{{Name: "DIR", Value: "/x"}}},
			run:  Run{Entrypoint: nuop, Cmd: []string{"--script-path=$(DIR)"}},
			want: parsed{Mode: options.ModeManager, ScriptPath: "$(DIR)", ProbeAddr: ":8081"}},
		{name: "$(VAR) refers to the container's env, not the image's",
			c:    corev1.Container{Args: []string{"--script-path=$(DIR)"}},
			run:  Run{Entrypoint: nuop, Env: map[string]string{"DIR": "/x"}},
			want: parsed{Mode: options.ModeManager, ScriptPath: "$(DIR)", ProbeAddr: ":8081"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(&tc.c, tc.run, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := parsed{Mode: o.Mode, ScriptPath: o.ScriptPath, LeaderElect: o.LeaderElect,
				LeaderElectionNamespace: o.LeaderElectionNamespace, ProbeAddr: o.ProbeAddr}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExpand pins the kubelet's $(VAR) rules.
func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": "", "B": "$(A)"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"x$(A)y$(A)", "xaya"},
		{"$(EMPTY)", ""},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$(B)", "$(A)"}, // a value is not expanded again
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$a"},
		{"$$", "$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"$(A", "$(A"},
		{"$(A$$", "$(A$"},
		{"$()", "$()"},
	} {
		if got := expand(tc.in, lookup); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Env gives the environment to callers that read it themselves (PATH, HOME), sources resolved.
func TestEnv(t *testing.T) {
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "HOME", Value: "/tmp"},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}}
	got, err := Env(c, Run{
		Env:       map[string]string{"PATH": "/bin", "HOME": "/root"},
		ValueFrom: func(*corev1.EnvVarSource) (string, bool) { return "", true },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PATH": "/bin", "HOME": "/tmp", "POD_NAMESPACE": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}
