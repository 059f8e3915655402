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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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

// usageError is an error in how the command was called (exit 2), as opposed to a script that fails.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// scriptTest is one run of `manager script test`.
type scriptTest struct {
	stdout io.Writer
	runner *script.Runner
	script *script.Script
}

// scriptTestMain is `manager script test <dir> --object <file>`: it runs a script's config and one
// operation against the objects of a file, as the engine would, and says what the engine would do. A
// script that sets `batch` gets the file's objects (one, a list, a `List` or several documents) in one
// reconcile-batch run, and the answer is told object by object.
func scriptTestMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := "usage: manager script test <dir> --object <file> [--operation reconcile|finalize] [--kubeconfig <file>]"
	if len(args) < 2 || args[0] != "test" {
		_, _ = fmt.Fprintln(stderr, usage)
		return ExitUsage
	}
	dir := args[1]
	fs := flag.NewFlagSet("script test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	objectFile := fs.String("object", "", "YAML or JSON file of the object to run against (required); for a script "+
		"that sets batch, it may hold several: a list, a List, or several YAML documents")
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

	sandbox, err := os.MkdirTemp("", "nuop-script-test-")
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return ExitError
	}
	defer func() { _ = os.RemoveAll(sandbox) }()
	runner := script.NewRunner(procs.NewSupervisor(time.Second), 1)
	runner.Nu = *nu
	runner.Home = sandbox
	runner.Env = scriptTestEnv(sandbox, *kubeconfig)
	t := &scriptTest{stdout: stdout, runner: runner}

	err = t.run(ctx, dir, *objectFile, *kubeconfig, op)
	var usageErr usageError
	switch {
	case errors.As(err, &usageErr):
		_, _ = fmt.Fprintf(stderr, "error: %v\n%s\n", err, usage)
		return ExitUsage
	case err != nil:
		_, _ = fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return ExitError
	}
	_, _ = fmt.Fprintln(stdout, "PASS")
	return ExitOK
}

// run loads the script, reads the objects and runs the operation; an error is the test's failure.
func (t *scriptTest) run(ctx context.Context, dir, objectFile, kubeconfig string, op script.Operation) error {
	absDir, _ := filepath.Abs(dir)
	s, err := (&script.Loader{Runner: t.runner}).Load(ctx, absDir)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	t.script = s
	t.printf("config of %s: valid\n%s", dir, indent(describeConfig(s.Config)))
	for _, w := range s.Warnings {
		t.printf("warning: %s\n", w)
	}
	if kubeconfig == "" {
		t.printf("cluster checks skipped (no --kubeconfig): kind discovery, field selector probe\n")
	} else if err := clusterChecks(kubeconfig, s.Config); err != nil {
		return err
	} else {
		t.printf("cluster checks passed: the API server serves %s\n", s.Config.GVK())
	}

	objs, err := readObjects(objectFile, s.Config.GVK())
	if err != nil {
		return err
	}
	if s.Config.Batch > 0 && op == script.OpReconcile {
		if len(objs) > s.Config.Batch {
			t.printf("warning: the file holds %d objects; the engine gives one run at most batch (%d)\n", len(objs), s.Config.Batch)
		}
		return t.batch(ctx, objs)
	}
	if len(objs) != 1 {
		why := "the script does not set `batch`"
		if s.Config.Batch > 0 {
			why = "finalize runs for one object at a time"
		}
		return usageError{fmt.Sprintf("the file holds %d objects, but %s: give it one", len(objs), why)}
	}
	return t.single(ctx, objs[0], op)
}

// single runs reconcile or finalize for one object.
func (t *scriptTest) single(ctx context.Context, obj *unstructured.Unstructured, op script.Operation) error {
	stdin, _ := obj.MarshalJSON()
	res, err := t.runner.Run(ctx, script.Request{
		Dir: t.script.Dir, Operation: op, Stdin: stdin, Timeout: t.script.Config.Timeout,
		Env: []string{
			"NUOP_SCRIPT=" + t.script.Config.Name, "NUOP_OPERATION=" + string(op),
			"NUOP_OBJECT_API_VERSION=" + obj.GetAPIVersion(), "NUOP_OBJECT_KIND=" + obj.GetKind(),
			"NUOP_OBJECT_NAMESPACE=" + obj.GetNamespace(), "NUOP_OBJECT_NAME=" + obj.GetName(),
		},
	})
	if err != nil {
		return fmt.Errorf("running %s: %w", op, err)
	}
	outcome := res.Outcome()
	t.printf("%s exited %d in %s: %s\n", op, res.ExitCode, res.Duration.Round(time.Millisecond), exitMeanings[outcome])
	t.output("stderr", res.Stderr, "")
	if outcome == script.OutcomeChanged && op == script.OpReconcile {
		if err := res.StdoutCut(); err != nil {
			return err
		}
		out, ok := engine.WrittenBack(obj, res.Stdout)
		t.writeBack(obj, out, ok, string(res.Stdout), "")
	} else {
		t.output("stdout (logged)", res.Stdout, "")
	}
	if outcome != script.OutcomeUnchanged && outcome != script.OutcomeChanged {
		return fmt.Errorf("%s did not succeed", op)
	}
	return nil
}

// batch runs reconcile-batch for objs and tells the answer object by object.
func (t *scriptTest) batch(ctx context.Context, objs []*unstructured.Unstructured) error {
	list := make([]any, len(objs))
	for i, obj := range objs {
		list[i] = obj.Object
	}
	stdin, _ := json.Marshal(list)
	op := script.OpReconcileBatch
	res, err := t.runner.Run(ctx, script.Request{
		Dir: t.script.Dir, Operation: op, Stdin: stdin, Timeout: t.script.Config.Timeout,
		Env: []string{"NUOP_SCRIPT=" + t.script.Config.Name, "NUOP_OPERATION=" + string(op)},
	})
	if err != nil {
		return fmt.Errorf("running %s: %w", op, err)
	}
	t.printf("%s of %d objects exited %d in %s", op, len(objs), res.ExitCode, res.Duration.Round(time.Millisecond))
	if o := res.Outcome(); o != script.OutcomeUnchanged {
		t.printf(": the answer is not read; for every object of the batch, %s\n", exitMeanings[script.OutcomeError])
		if o == script.OutcomeTimeout {
			t.printf("(%s)\n", exitMeanings[o])
		}
		t.output("stderr", res.Stderr, "")
		t.output("stdout (logged)", res.Stdout, "")
		return fmt.Errorf("%s did not succeed (only exit 0 gives an answer)", op)
	}
	t.printf(": the answer, object by object:\n")
	t.output("stderr", res.Stderr, "")
	answer := engine.ReadBatchAnswer(objs, res)
	if answer.Detail != nil {
		t.printf("the answer cannot be read: %v\n", answer.Detail)
		t.output("stdout (logged)", res.Stdout, "")
	}
	failed := 0
	for i, obj := range objs {
		if !t.entry(obj, answer.Entries[i]) {
			failed++
		}
	}
	if len(answer.Unknown) > 0 {
		t.printf("entries for objects not in the file, ignored: %s\n", strings.Join(answer.Unknown, ", "))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d objects would fail", failed, len(objs))
	}
	return nil
}

// entry tells what the engine does with one object's entry of an answer; false when the object fails.
func (t *scriptTest) entry(obj *unstructured.Unstructured, e engine.BatchEntry) bool {
	ref := obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		ref = ns + "/" + ref
	}
	switch {
	case e.Problem != "":
		t.printf("  %s: error: %s; a Warning event, and a retry with backoff\n", ref, e.Problem)
	case e.Result == "error":
		t.printf("  %s: %s\n", ref, exitMeanings[script.OutcomeError])
		t.output("message (logged)", []byte(e.Message), "    ")
	case e.Result == "changed":
		t.printf("  %s: changed: runs again after requeue_after_change\n", ref)
		var out *unstructured.Unstructured
		ok, printed := false, ""
		if e.Object != nil {
			out, ok = engine.WrittenBackObject(obj, e.Object)
			text, _ := sigsyaml.Marshal(e.Object)
			printed = string(text)
		}
		t.writeBack(obj, out, ok, printed, "    ")
		return true
	default:
		t.printf("  %s: unchanged: runs again after requeue_after_noop\n", ref)
		return true
	}
	return false
}

// writeBack says what the engine would write back for obj: out when ok, else nothing, and printed (what
// the script printed instead) is logged.
func (t *scriptTest) writeBack(obj, out *unstructured.Unstructured, ok bool, printed, prefix string) {
	switch {
	case ok:
		t.printf("%swould write back (-before +after):\n%s", prefix, indentLines(cmp.Diff(obj.Object, out.Object), prefix+"  "))
	case printed != "":
		t.printf("%sthe printed object is not %s %s/%s, so nothing is written back; it is logged:\n%s", prefix,
			obj.GetKind(), obj.GetNamespace(), obj.GetName(), indentLines(printed, prefix+"  "))
	default:
		t.printf("%snothing to write back: the script made its own changes\n", prefix)
	}
}

// output shows a stream of the run, if it printed anything.
func (t *scriptTest) output(name string, out []byte, prefix string) {
	if len(out) > 0 {
		t.printf("%s%s:\n%s", prefix, name, indentLines(string(out), prefix+"  "))
	}
}

func (t *scriptTest) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(t.stdout, format, args...)
}

// readObjects reads the objects of a file: one, a YAML or JSON list, a `List` (what `kubectl get -o yaml`
// prints for several), or several YAML documents. Each must be of the script's kind, and none twice.
func readObjects(file string, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading the objects: %w", err)
	}
	defer func() { _ = f.Close() }()
	var raws []json.RawMessage
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc json.RawMessage
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("the object file is not YAML or JSON: %w", err)
		}
		items, err := documentItems(doc)
		if err != nil {
			return nil, err
		}
		raws = append(raws, items...)
	}
	if len(raws) == 0 {
		return nil, errors.New("the object file holds no object")
	}
	objs := make([]*unstructured.Unstructured, 0, len(raws))
	seen := map[string]bool{}
	for i, raw := range raws {
		// Through JSON, so numbers are the int64 and float64 that objects from the API server hold.
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("item %d of the object file is not an object: %w", i+1, err)
		}
		if obj.GroupVersionKind() != gvk {
			return nil, fmt.Errorf("%s is a %s, but the script watches %s", describeObject(obj), obj.GroupVersionKind(), gvk)
		}
		key := obj.GetNamespace() + "/" + obj.GetName()
		if seen[key] {
			return nil, fmt.Errorf("%s is in the file twice; the engine never gives one run an object twice", describeObject(obj))
		}
		seen[key] = true
		unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
		objs = append(objs, obj)
	}
	return objs, nil
}

// documentItems are the objects of one document: itself, the elements of a list, or a List's items.
func documentItems(doc json.RawMessage) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(doc)
	switch {
	case len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")):
		return nil, nil
	case trimmed[0] == '[':
		var items []json.RawMessage
		err := json.Unmarshal(trimmed, &items)
		return items, err
	}
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, errors.New("the object file holds neither an object nor a list of objects")
	}
	if list.Kind == "List" {
		return list.Items, nil
	}
	return []json.RawMessage{trimmed}, nil
}

func describeObject(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return "object " + obj.GetName()
	}
	return "object " + obj.GetNamespace() + "/" + obj.GetName()
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
	if c.Batch > 0 {
		line("batch", c.Batch)
		line("batchWindow", c.BatchWindow)
	}
	return b.String()
}

func indent(s string) string {
	return indentLines(s, "  ")
}

// indentLines puts prefix before every line of s and ends it with a newline.
func indentLines(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}
