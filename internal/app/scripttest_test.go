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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kemper.buzz/nuop/test/utils"
)

// configMap is a ConfigMap in YAML flow style, for object files.
func configMap(name string, labels, annotations string) string {
	return "{apiVersion: v1, kind: ConfigMap, metadata: {namespace: d, name: " + name +
		", labels: {" + labels + "}, annotations: {" + annotations + "}}, data: {k: v}}"
}

// nuAndRepo returns the nu binary the tests run and the repository's root.
func nuAndRepo(t *testing.T) (nu, root string) {
	t.Helper()
	nu, err := utils.Tool("nu")
	if err != nil {
		t.Fatal(err)
	}
	if root, err = utils.RepoRoot(); err != nil {
		t.Fatal(err)
	}
	return nu, root
}

// TestScriptTestBatch runs `manager script test` on batched scripts with the real nu: the file's objects
// go to one reconcile-batch run, and the answer is told object by object.
func TestScriptTestBatch(t *testing.T) {
	nu, root := nuAndRepo(t)
	configHash := filepath.Join(root, "scripts", "config-hash")
	labelEnforcer := filepath.Join(root, "scripts", "label-enforcer")
	answers := filepath.Join("testdata", "answers")
	const badAlgorithm = `"nuop.kemper.buzz/hash-algorithm": crc`

	for _, tc := range []struct {
		name    string
		dir     string
		objects string
		args    []string
		code    int
		// stdout and stderr hold substrings of the output, in order.
		stdout, stderr []string
	}{
		{
			name: "a List, every object answered",
			dir:  configHash,
			objects: "apiVersion: v1\nkind: List\nitems:\n- " + configMap("a", "", "") + "\n- " +
				configMap("b", "", `"nuop.kemper.buzz/hash-algorithm": md5`) + "\n",
			stdout: []string{"batch: 50\n", "batchWindow: 100ms\n",
				"reconcile-batch of 2 objects exited 0 in ", ": the answer, object by object:\n",
				"  d/a: changed: runs again after requeue_after_change\n", "    would write back (-before +after):\n",
				`"nuop.kemper.buzz/content-hash": string("sha256:`,
				"  d/b: changed: ", `string("md5:`, "PASS\n"},
		},
		{
			name:    "several YAML documents, one object an error",
			dir:     configHash,
			objects: configMap("a", "", "") + "\n---\n" + configMap("b", "", badAlgorithm) + "\n",
			code:    1,
			stdout: []string{"reconcile-batch of 2 objects exited 0", "  d/a: changed", "  d/b: error: a Warning event, and a retry with backoff\n",
				"    message (logged):\n      nuop.kemper.buzz/hash-algorithm: 'crc' is not sha256 or md5\n"},
			stderr: []string{"FAIL: 1 of 2 objects would fail"},
		},
		{
			name:    "one object: a batch of one",
			dir:     configHash,
			objects: configMap("a", "", "") + "\n",
			stdout:  []string{"reconcile-batch of 1 objects exited 0", "  d/a: changed", "PASS\n"},
		},
		{
			name:    "an answer that misses one object, gives an unknown result and names an object not in the file",
			dir:     answers,
			objects: "[" + configMap("a", "answer: missing", "") + ", " + configMap("b", "answer: maybe", "") + "]",
			code:    1,
			stdout: []string{"reconcile-batch of 2 objects exited 0", "stderr:\n  got 2 objects\n",
				"  d/a: error: the answer has no entry for it; a Warning event, and a retry with backoff\n",
				"  d/b: error: its entry's result is not unchanged, changed or error; ",
				"entries for objects not in the file, ignored: x/stranger\n"},
			stderr: []string{"FAIL: 2 of 2 objects would fail"},
		},
		{
			name:    "a run that exits 3: no answer, every object fails",
			dir:     answers,
			objects: "[" + configMap("a", "exit: yes", "") + ", " + configMap("b", "", "") + "]",
			code:    1,
			stdout: []string{"reconcile-batch of 2 objects exited 3 in ",
				": the answer is not read; for every object of the batch, error: a Warning event, and a retry with backoff\n",
				"stderr:\n  got 2 objects\n"},
			stderr: []string{"FAIL: reconcile-batch did not succeed (only exit 0 gives an answer)"},
		},
		{
			name:    "more objects than batch: a warning",
			dir:     answers,
			objects: "[" + configMap("a", "", "") + ", " + configMap("b", "", "") + ", " + configMap("c", "", "") + "]",
			stdout: []string{"warning: the file holds 3 objects; the engine gives one run at most batch (2)\n",
				"reconcile-batch of 3 objects exited 0", "  d/c: unchanged: runs again after requeue_after_noop\n", "PASS\n"},
		},
		{
			name:    "an object twice",
			dir:     configHash,
			objects: "[" + configMap("a", "", "") + ", " + configMap("a", "", "") + "]",
			code:    1,
			stderr:  []string{"FAIL: object d/a is in the file twice; the engine never gives one run an object twice"},
		},
		{
			name:    "an object of another kind",
			dir:     configHash,
			objects: "[" + configMap("a", "", "") + ", {apiVersion: v1, kind: Secret, metadata: {name: s, namespace: d}}]",
			code:    1,
			stderr:  []string{"FAIL: object d/s is a /v1, Kind=Secret, but the script watches /v1, Kind=ConfigMap"},
		},
		{
			name:    "not an object",
			dir:     configHash,
			objects: "[" + configMap("a", "", "") + ", 42]",
			code:    1,
			stderr:  []string{"FAIL: item 2 of the object file is not an object"},
		},
		{
			name:    "several objects for finalize",
			dir:     configHash,
			objects: "[" + configMap("a", "", "") + ", " + configMap("b", "", "") + "]",
			args:    []string{"--operation", "finalize"},
			code:    2,
			stderr: []string{"error: the file holds 2 objects, but finalize runs for one object at a time: give it one\n",
				"usage: manager script test"},
		},
		{
			name:    "several objects for a script without batch",
			dir:     labelEnforcer,
			objects: "[" + configMap("a", "", "") + ", " + configMap("b", "", "") + "]",
			code:    2,
			stderr:  []string{"error: the file holds 2 objects, but the script does not set `batch`: give it one\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "objects.yaml")
			if err := os.WriteFile(file, []byte(tc.objects), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"test", tc.dir, "--object", file, "--nu", nu}, tc.args...)
			code := scriptTestMain(context.Background(), args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			assertInOrder(t, "stdout", stdout.String(), tc.stdout)
			assertInOrder(t, "stderr", stderr.String(), tc.stderr)
		})
	}
}

// assertInOrder checks that out holds each of want, one after the other.
func assertInOrder(t *testing.T, name, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (after the previous ones):\n%s", name, w, out)
			return
		}
		rest = rest[i+len(w):]
	}
}

// TestScriptTestOutputPastTheCap: a reconcile whose stdout was cut at the output cap shows no write-back
// (what was kept parses as the object, but it may be cut short) and fails with the reason.
func TestScriptTestOutputPastTheCap(t *testing.T) {
	nu, root := nuAndRepo(t)
	file := filepath.Join(t.TempDir(), "object.yaml")
	if err := os.WriteFile(file, []byte(configMap("big", `"engine-test/oversize": "yes"`, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := scriptTestMain(context.Background(), []string{"test",
		filepath.Join(root, "internal", "engine", "testdata", "scripts", "oversize"), "--object", file, "--nu", nu},
		&stdout, &stderr)
	if code == 0 {
		t.Errorf("exit 0, want a failure\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	assertInOrder(t, "stderr", stderr.String(), []string{"stdout is longer than the output cap of 1048576 bytes"})
	if strings.Contains(stdout.String(), "touched") {
		t.Errorf("a write-back was shown:\n%s", &stdout)
	}
}
