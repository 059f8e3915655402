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

package script

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNushellConformance pins the Nushell facts script authors rely on (SCRIPT-PROTOCOL section 3 and
// TOOLCHAIN.md) on the nu we ship. It runs nu directly, not through the Runner, so that it can also show what
// happens without --stdin.
func TestNushellConformance(t *testing.T) {
	t.Parallel()
	nu := nuPath(t)
	conformance := "testdata/conformance/mod.nu"
	tests := []struct {
		name       string
		args       []string
		stdin      string
		env        []string
		wantCode   int
		wantStdout string
		// wantStderr is a substring of stderr; "" means stderr must be empty.
		wantStderr string
	}{
		{"print goes to stdout, print -e to stderr", []string{conformance, "print"}, "", nil, 0, "to stdout\n", "to stderr\n"},
		{"the last value is printed", []string{conformance, "value"}, "", nil, 0, "the object\n", ""},
		{"a value is not printed once exit follows", []string{conformance, "value-then-exit"}, "", nil, 2, "", ""},
		{"a failing external command aborts with its exit code", []string{conformance, "external-fails"}, "", nil, 3, "", ""},
		{"complete captures a failing external command", []string{conformance, "external-complete"}, "", nil, 0, "3\n", ""},
		{"without def main nothing runs and nu exits 0", []string{"testdata/nomain/mod.nu", "reconcile"}, "", nil, 0, "", ""},
		{"a missing sub-command exits 1 with extra_positional", []string{conformance, "no-such-command"}, "", nil, 1, "",
			"nu::parser::extra_positional"},
		{"--help of a missing sub-command exits 1 with extra_positional", []string{conformance, "no-such-command", "--help"},
			"", nil, 1, "", "nu::parser::extra_positional"},
		{"without --stdin $in is empty", []string{conformance, "describe-stdin"}, "a: 1\n", nil, 0, "nothing\n", ""},
		{"with --stdin $in is the input as a string", []string{"--stdin", conformance, "describe-stdin"}, "a: 1\n", nil, 0,
			"string\n", ""},
		{"from yaml keeps yes a string", []string{"--stdin", conformance, "from-yaml"}, "replicate: yes\n", nil, 0,
			"string\n", ""},
		{"to yaml writes yes and no unquoted", []string{conformance, "to-yaml"}, "", nil, 0, "replicate: yes\noff: no\n\n", ""},
		{"get --optional exists", []string{conformance, "get-optional"}, "", nil, 0, "nothing\n", ""},
		{"nu runs with an unwritable HOME", []string{conformance, "value"}, "", []string{"HOME=/nonexistent/home"}, 0,
			"the object\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(nu, tt.args...)
			cmd.Stdin = strings.NewReader(tt.stdin)
			cmd.Env = append(os.Environ(), tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := 0
			if err := cmd.Run(); err != nil {
				var exit *exec.ExitError
				if !errors.As(err, &exit) {
					t.Fatal(err)
				}
				code = exit.ExitCode()
			}
			if diff := cmp.Diff([]any{tt.wantCode, tt.wantStdout}, []any{code, stdout.String()}); diff != "" {
				t.Errorf("exit code, stdout (-want +got):\n%s\nstderr: %s", diff, stderr.String())
			}
			if tt.wantStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestNushellVersion(t *testing.T) {
	out, err := exec.Command(nuPath(t), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The facts above were checked on this version; a new one must be checked again before it ships.
	if got := strings.TrimSpace(string(out)); got != "0.115.1" {
		t.Errorf("nu --version = %s; re-run the conformance tests on it and update this pin", got)
	}
}
