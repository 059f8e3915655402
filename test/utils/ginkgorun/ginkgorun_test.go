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

package ginkgorun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBeforeDeadline(t *testing.T) {
	tests := []struct {
		name                 string
		left, timeout, grace time.Duration
		want                 [2]time.Duration
	}{
		{"make test's 20 minutes", 20 * time.Minute, time.Hour, 30 * time.Second,
			[2]time.Duration{18 * time.Minute, 30 * time.Second}},
		{"a short run keeps a tenth", 40 * time.Second, time.Hour, 30 * time.Second,
			[2]time.Duration{36 * time.Second, 2 * time.Second}},
		{"an hour leaves two minutes", 2 * time.Hour, 3 * time.Hour, 30 * time.Second,
			[2]time.Duration{118 * time.Minute, 30 * time.Second}},
		{"a shorter -ginkgo.timeout is kept", 20 * time.Minute, 5 * time.Minute, 30 * time.Second,
			[2]time.Duration{5 * time.Minute, 30 * time.Second}},
		{"the grace period is never zero", 5 * time.Second, time.Hour, 30 * time.Second,
			[2]time.Duration{4500 * time.Millisecond, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout, grace := beforeDeadline(tt.left, tt.timeout, tt.grace)
			if diff := cmp.Diff(tt.want, [2]time.Duration{timeout, grace}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A suite whose spec never returns, run by go test with a short -timeout, fails on Ginkgo's timeout with
// the spec's name and runs its cleanup, instead of go test's panic.
func TestHungSpecFailsByName(t *testing.T) {
	dir := t.TempDir()
	cleanedUp := filepath.Join(dir, "cleaned-up")
	cmd := exec.Command("go", "test", "./testdata/hangs", "-count=1", "-timeout=20s")
	cmd.Env = append(os.Environ(), "HANGS_CLEANUP_MARK="+cleanedUp)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite with a hung spec passed:\n%s", out)
	}
	for _, want := range []string{"[TIMEDOUT]", "waits for what never comes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "panic: test timed out") {
		t.Errorf("go test's timeout struck first:\n%s", out)
	}
	if _, err := os.Stat(cleanedUp); err != nil {
		t.Errorf("the suite's cleanup did not run: %v\n%s", err, out)
	}
}
