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
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	sigsyaml "sigs.k8s.io/yaml"

	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/script"
)

// exitMeanings explains exit codes as the engine reads them.
var exitMeanings = map[script.Outcome]string{
	script.OutcomeUnchanged: "nothing to change: runs again after requeue_after_noop",
	script.OutcomeChanged:   "changed something: stdout is written back if it is the object; runs again after requeue_after_change",
	script.OutcomeError:     "error: a Warning event, and a retry with backoff",
	script.OutcomeTimeout:   "time-out: the process group was killed; a ScriptTimeout event, and a retry with backoff",
}

// scriptTestMain is `manager script test <dir> --object <file>`: it runs a script's config and one
// operation against an object file, as the engine would, and says what the engine would do.
func scriptTestMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := "usage: manager script test <dir> --object <file> [--operation reconcile|finalize] [--kubeconfig <file>]"
	if len(args) < 2 || args[0] != "test" {
		_, _ = fmt.Fprintln(stderr, usage)
		return ExitUsage
	}
	dir := args[1]
	fs := flag.NewFlagSet("script test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	objectFile := fs.String("object", "", "YAML or JSON file of the object to run against (required)")
	operation := fs.String("operation", string(script.OpReconcile), "reconcile or finalize")
	kubeconfig := fs.String("kubeconfig", "", "a kubeconfig for the script's kubectl and the cluster checks "+
		"(default: none; the script cannot reach any cluster)")
	nu := fs.String("nu", "", "path of nu (default: nu on PATH)")
	if err := fs.Parse(args[2:]); err != nil {
		return ExitUsage
	}
	op := script.Operation(*operation)
	if *objectFile == "" || (op != script.OpReconcile && op != script.OpFinalize) {
		_, _ = fmt.Fprintln(stderr, "error: --object is required and --operation must be reconcile or finalize\n"+usage)
		return ExitUsage
	}
	fail := func(format string, a ...any) int {
		_, _ = fmt.Fprintf(stderr, "FAIL: "+format+"\n", a...)
		return ExitError
	}

	sandbox, err := os.MkdirTemp("", "nuop-script-test-")
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = os.RemoveAll(sandbox) }()
	runner := script.NewRunner(procs.NewSupervisor(time.Second), 1)
	runner.Nu = *nu
	runner.Home = sandbox
	runner.Env = scriptTestEnv(sandbox, *kubeconfig)

	absDir, _ := filepath.Abs(dir)
	s, err := (&script.Loader{Runner: runner}).Load(ctx, absDir)
	if err != nil {
		return fail("config: %v", err)
	}
	_, _ = fmt.Fprintf(stdout, "config of %s: valid\n%s", dir, indent(describeConfig(s.Config)))
	for _, w := range s.Warnings {
		_, _ = fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if *kubeconfig == "" {
		_, _ = fmt.Fprintln(stdout, "cluster checks skipped (no --kubeconfig): kind discovery, field selector probe")
	} else if err := clusterChecks(*kubeconfig, s.Config); err != nil {
		return fail("%v", err)
	} else {
		_, _ = fmt.Fprintf(stdout, "cluster checks passed: the API server serves %s\n", s.Config.GVK())
	}

	data, err := os.ReadFile(*objectFile)
	if err != nil {
		return fail("reading the object: %v", err)
	}
	obj := &unstructured.Unstructured{}
	if err := sigsyaml.Unmarshal(data, &obj.Object); err != nil {
		return fail("the object file is not YAML or JSON: %v", err)
	}
	if obj.GroupVersionKind() != s.Config.GVK() {
		return fail("the object is a %s, but the script watches %s", obj.GroupVersionKind(), s.Config.GVK())
	}
	unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
	stdin, _ := obj.MarshalJSON()

	res, err := runner.Run(ctx, script.Request{
		Dir: absDir, Operation: op, Stdin: stdin, Timeout: s.Config.Timeout,
		Env: []string{
			"NUOP_SCRIPT=" + s.Config.Name, "NUOP_OPERATION=" + string(op),
			"NUOP_OBJECT_API_VERSION=" + obj.GetAPIVersion(), "NUOP_OBJECT_KIND=" + obj.GetKind(),
			"NUOP_OBJECT_NAMESPACE=" + obj.GetNamespace(), "NUOP_OBJECT_NAME=" + obj.GetName(),
		},
	})
	if err != nil {
		return fail("running %s: %v", op, err)
	}
	outcome := res.Outcome()
	_, _ = fmt.Fprintf(stdout, "%s exited %d in %s: %s\n", op, res.ExitCode, res.Duration.Round(1e6), exitMeanings[outcome])
	if len(res.Stderr) > 0 {
		_, _ = fmt.Fprintf(stdout, "stderr:\n%s", indent(string(res.Stderr)))
	}
	if outcome == script.OutcomeChanged && op == script.OpReconcile {
		if out, ok := engine.WrittenBack(obj, res.Stdout); ok {
			_, _ = fmt.Fprintf(stdout, "would write back (-before +after):\n%s", indent(cmp.Diff(obj.Object, out.Object)))
		} else if len(res.Stdout) > 0 {
			_, _ = fmt.Fprintf(stdout, "stdout is not the object (%s %s/%s), so nothing is written back; it is logged:\n%s",
				obj.GetKind(), obj.GetNamespace(), obj.GetName(), indent(string(res.Stdout)))
		}
	} else if len(res.Stdout) > 0 {
		_, _ = fmt.Fprintf(stdout, "stdout (logged):\n%s", indent(string(res.Stdout)))
	}
	if outcome != script.OutcomeUnchanged && outcome != script.OutcomeChanged {
		return fail("%s did not succeed", op)
	}
	_, _ = fmt.Fprintln(stdout, "PASS")
	return ExitOK
}

// scriptTestEnv is the environment of a tested script: without a kubeconfig, one that names no cluster
// and no in-cluster service, so a kubectl in the script cannot touch a real cluster by accident.
func scriptTestEnv(sandbox, kubeconfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "KUBERNETES_SERVICE_") {
			continue
		}
		env = append(env, kv)
	}
	if kubeconfig == "" {
		empty := filepath.Join(sandbox, "no-cluster.kubeconfig")
		_ = os.WriteFile(empty, nil, 0o600)
		kubeconfig = empty
	} else if abs, err := filepath.Abs(kubeconfig); err == nil {
		kubeconfig = abs
	}
	return append(env, "KUBECONFIG="+kubeconfig)
}

func clusterChecks(kubeconfig string, cfg script.Config) error {
	rc, err := restConfig(kubeconfig)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return err
	}
	_, err = engine.Resource(dc, cfg.GVK())
	return err
}

// describeConfig prints a validated config with every default filled in, in the protocol's key names.
func describeConfig(c script.Config) string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s: %v\n", k, v) }
	line("name", c.Name)
	line("group", fmt.Sprintf("%q", c.Group))
	line("version", c.Version)
	line("kind", c.Kind)
	if sel, err := c.LabelSelectorParsed(); err == nil && !sel.Empty() {
		line("label selector", sel.String())
	}
	if sel, err := c.FieldSelectorParsed(); err == nil && !sel.Empty() {
		line("field selector", sel.String())
	}
	if c.Namespace != "" {
		line("namespace", c.Namespace)
	}
	if c.Finalizer != "" {
		line("finalizer", c.Finalizer)
		line("onUnmatch", c.OnUnmatch)
	}
	line("requeue_after_change", c.RequeueAfterChange)
	line("requeue_after_noop", c.RequeueAfterNoop)
	line("timeout", c.Timeout)
	line("concurrency", c.Concurrency)
	return b.String()
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
