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

package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/script"
)

// Event reasons (SCRIPT-PROTOCOL section 6).
const (
	ReasonScriptFailed      = "ScriptFailed"
	ReasonScriptTimeout     = "ScriptTimeout"
	ReasonFinalized         = "Finalized"
	ReasonFinalizerReleased = "FinalizerReleased"
)

// runAgainNow is the result after a conflict: someone else changed the object, so the script runs again
// on the new version at once, without the failure backoff.
var runAgainNow = reconcile.Result{RequeueAfter: 10 * time.Millisecond}

// writeTimeout bounds the API writes of one step (see write).
const writeTimeout = 30 * time.Second

// maxWrites bounds the engine's API writes in flight. A batch's answers arrive at once: writing all of
// them at once only piles requests and their responses up in memory (300 objects in batches of 150: the
// anonymous memory at the end 37-40 MiB against 20-23 MiB with 2 to 32 at once) and buys no speed from a
// busy API server; 16 keep one busy, and are far above what the client rate limit lets through elsewhere.
// A slot is held for one step's writes only, never across a script run.
const maxWrites = 16

// reconciler runs one script for the objects of its controller.
type reconciler struct {
	engine *Engine
	sc     *scriptController
	log    logr.Logger
	own    *ownWrites
	// sweepCh carries objects a sweep found to the controller's queue.
	sweepCh chan event.GenericEvent
	// batch gathers reconciles into reconcile-batch runs when the script sets `batch`; nil otherwise.
	batch *batcher
	// slots holds one token per nu run of this script: at most `concurrency` at once, batch runs
	// included (with `batch`, the controller has more workers than that, to fill the batches; a batch is
	// sealed only once it holds a slot).
	slots chan struct{}
}

// outcome is a run's result for one object: a single run's, or the object's share of a batch run's.
type outcome struct {
	script.Result
	// op is the operation that ran: reconcile, finalize or reconcile-batch.
	op script.Operation
	// batch is how many objects the run served; 0 for a single run.
	batch int
	// failure, when set, is why the object failed although the run's exit does not say so (a batch run's
	// answer), in words for an event: never the script's output.
	failure string
	// object is what a changed entry of a batch run's answer gives to write back, already decoded.
	object map[string]any
}

// writtenBack is the object to write back for in: the entry's object, or the object printed on stdout;
// false when it is not in itself (SCRIPT-PROTOCOL section 3).
func (o outcome) writtenBack(in *unstructured.Unstructured) (*unstructured.Unstructured, bool) {
	if o.object != nil {
		return WrittenBackObject(in, o.object)
	}
	return WrittenBack(in, o.Stdout)
}

// Outcome is the result's, unless the object failed in a batch.
func (o outcome) Outcome() script.Outcome {
	if o.failure != "" {
		return script.OutcomeError
	}
	return o.Result.Outcome()
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	cfg := r.sc.script.Config
	obj := r.newObject()
	if err := r.sc.cache.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return r.unmatched(ctx, req)
		}
		return reconcile.Result{}, err
	}
	if r.own.consume(req.NamespacedName, obj.GetResourceVersion()) {
		// The event of our own finalizer patch, write-back or status update: the run that made it has
		// already set the next requeue.
		return reconcile.Result{}, nil
	}

	if cfg.Finalizer != "" {
		deleting := obj.GetDeletionTimestamp() != nil
		switch {
		case deleting && (ownsFinalizer(obj, cfg.Finalizer, r.engine.instance) || unowned(obj, cfg.Finalizer)):
			return r.finalize(ctx, obj, ReasonFinalized)
		case deleting:
			// Not ours to finalize; and no finalizer may be added to an object being deleted.
			return reconcile.Result{}, nil
		case !slices.Contains(obj.GetFinalizers(), cfg.Finalizer) || unowned(obj, cfg.Finalizer):
			err := r.engine.write(ctx, func(wctx context.Context) error {
				return claimFinalizer(wctx, r.engine.client, obj, cfg.Finalizer, r.engine.instance)
			})
			if err != nil {
				if apierrors.IsConflict(err) {
					return runAgainNow, nil
				}
				return reconcile.Result{}, fmt.Errorf("adding finalizer %s or its owner entry: %w", cfg.Finalizer, err)
			}
			r.own.add(req.NamespacedName, obj.GetResourceVersion())
		}
	}
	return r.reconcile(ctx, obj)
}

func (r *reconciler) newObject() *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.sc.kind.gvk)
	return obj
}

// reconcile runs `reconcile` and acts on its result.
func (r *reconciler) reconcile(ctx context.Context, obj *unstructured.Unstructured) (reconcile.Result, error) {
	cfg := r.sc.script.Config
	res, done, err := r.run(ctx, obj, script.OpReconcile)
	if done {
		return reconcile.Result{}, err
	}
	switch res.Outcome() {
	case script.OutcomeUnchanged:
		r.logOutput("stdout", res.Stdout, "object", objectRef(obj))
		return reconcile.Result{RequeueAfter: cfg.RequeueAfterNoop}, nil
	case script.OutcomeChanged:
		if err := res.StdoutCut(); err != nil && res.object == nil {
			r.engine.event(obj, corev1.EventTypeWarning, ReasonScriptFailed, "reconcile",
				"the object printed by the script could not be written back: %v", err)
			return reconcile.Result{}, err
		}
		out, ok := res.writtenBack(obj)
		if !ok {
			// The script made its own changes (with kubectl) and printed something else.
			r.logOutput("stdout", res.Stdout, "object", objectRef(obj))
			if res.object != nil {
				r.outputLog().Info("the object of its entry in the reconcile-batch answer names another object; "+
					"nothing is written back", "object", objectRef(obj))
			}
			return reconcile.Result{RequeueAfter: cfg.RequeueAfterChange}, nil
		}
		err := r.writeBack(ctx, obj, out)
		if apierrors.IsConflict(err) {
			// Someone else changed the object while the script ran: run again on the new version, at once.
			return runAgainNow, nil
		}
		if err != nil {
			r.engine.event(obj, corev1.EventTypeWarning, ReasonScriptFailed, "reconcile",
				"the object printed by the script could not be written back: %s", apiErrorReason(err))
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: cfg.RequeueAfterChange}, nil
	default:
		return reconcile.Result{}, r.failed(obj, script.OpReconcile, res)
	}
}

// finalize runs `finalize` and removes the finalizer when it succeeds.
func (r *reconciler) finalize(ctx context.Context, obj *unstructured.Unstructured, reason string) (reconcile.Result, error) {
	cfg := r.sc.script.Config
	res, done, err := r.run(ctx, obj, script.OpFinalize)
	if done {
		return reconcile.Result{}, err
	}
	if o := res.Outcome(); o != script.OutcomeUnchanged && o != script.OutcomeChanged {
		return reconcile.Result{}, r.failed(obj, script.OpFinalize, res)
	}
	r.logOutput("stdout", res.Stdout, "object", objectRef(obj))
	return r.release(ctx, obj, reason, fmt.Sprintf("finalize of script %s succeeded; finalizer %s removed", cfg.Name, cfg.Finalizer))
}

// release removes the finalizer without running anything more.
func (r *reconciler) release(ctx context.Context, obj *unstructured.Unstructured, reason, note string) (reconcile.Result, error) {
	err := r.engine.write(ctx, func(wctx context.Context) error {
		return removeFinalizer(wctx, r.engine.client, obj, r.sc.script.Config.Finalizer)
	})
	if err != nil {
		if apierrors.IsConflict(err) {
			return runAgainNow, nil
		}
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("removing finalizer: %w", err)
	}
	r.engine.event(obj, corev1.EventTypeNormal, reason, "finalize", "%s", note)
	return reconcile.Result{}, nil
}

// unmatched handles an object the script's cache does not hold: deleted, or no longer matching the
// selectors. A live read tells which; an object that carries this instance's finalizer gets onUnmatch.
func (r *reconciler) unmatched(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	cfg := r.sc.script.Config
	r.own.forget(req.NamespacedName)
	if cfg.Finalizer == "" {
		return reconcile.Result{}, nil
	}
	obj := r.newObject()
	if err := r.engine.apiReader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !ownsFinalizer(obj, cfg.Finalizer, r.engine.instance) {
		return reconcile.Result{}, nil
	}
	if r.stillMatches(obj) {
		// The cache has not seen the object yet (or the removal of a label was undone): look again soon.
		return reconcile.Result{RequeueAfter: time.Second}, nil
	}
	if cfg.OnUnmatch == script.OnUnmatchFinalize {
		return r.finalize(ctx, obj, ReasonFinalizerReleased)
	}
	return r.release(ctx, obj, ReasonFinalizerReleased,
		fmt.Sprintf("the object no longer matches script %s; finalizer %s released without finalize (onUnmatch: release)",
			cfg.Name, cfg.Finalizer))
}

// stillMatches tells whether obj is within the script's namespace and label selector. Field selectors
// cannot be evaluated here; an object only they exclude counts as not matching.
func (r *reconciler) stillMatches(obj *unstructured.Unstructured) bool {
	cfg := r.sc.script.Config
	if cfg.Namespace != "" && obj.GetNamespace() != cfg.Namespace {
		return false
	}
	if len(cfg.FieldSelectors) > 0 {
		return false
	}
	sel, err := cfg.LabelSelectorParsed()
	return err == nil && sel.Matches(labels.Set(obj.GetLabels()))
}

// run executes one operation of the script for obj (reconcile in a batch when the script batches),
// records its metrics and log line. done is true when the reconcile must end here (the process could
// not be started), with err as its error.
func (r *reconciler) run(ctx context.Context, obj *unstructured.Unstructured, op script.Operation) (outcome, bool, error) {
	cfg := r.sc.script.Config
	var res outcome
	var err error
	if op == script.OpReconcile && r.batch != nil {
		res, err = r.batch.submit(ctx, obj)
	} else {
		res, err = r.runOne(ctx, obj, op)
	}
	if err != nil {
		if errors.Is(err, procs.ErrShuttingDown) || ctx.Err() != nil {
			// Shutting down: the next leader runs it.
			return res, true, nil
		}
		r.engine.event(obj, corev1.EventTypeWarning, ReasonScriptFailed, string(op), "could not start nu: %v", err)
		r.engine.metrics.runs.WithLabelValues(cfg.Name, string(op), resultError).Inc()
		return res, true, fmt.Errorf("starting %s of script %s: %w", op, cfg.Name, err)
	}
	result := resultOf(res.Outcome())
	r.engine.metrics.runs.WithLabelValues(cfg.Name, string(op), result).Inc()
	if res.batch > 0 {
		// The batch run has logged itself and its output, and its duration is recorded once per run; what
		// is left is this object's error message, if the answer gave one.
		r.logOutput("message", res.Stderr, "object", objectRef(obj))
		return res, false, nil
	}
	r.engine.metrics.duration.WithLabelValues(cfg.Name, string(op)).Observe(res.Duration.Seconds())
	kv := []any{"operation", op, "object", objectRef(obj), "exitCode", res.ExitCode,
		"result", result, "duration", res.Duration.Round(time.Millisecond).String()}
	if res.StdoutDropped > 0 || res.StderrDropped > 0 {
		kv = append(kv, "stdoutDropped", res.StdoutDropped, "stderrDropped", res.StderrDropped)
	}
	r.log.Info("script run", kv...)
	r.logOutput("stderr", res.Stderr, "object", objectRef(obj))
	return res, false, nil
}

// runOne runs one operation of the script for one object.
func (r *reconciler) runOne(ctx context.Context, obj *unstructured.Unstructured, op script.Operation) (outcome, error) {
	stdin, err := encodeInput(scriptView(obj).Object)
	if err != nil {
		return outcome{}, err
	}
	res, err := r.runScript(ctx, op, stdin,
		"NUOP_OBJECT_API_VERSION="+obj.GetAPIVersion(),
		"NUOP_OBJECT_KIND="+obj.GetKind(),
		"NUOP_OBJECT_NAMESPACE="+obj.GetNamespace(),
		"NUOP_OBJECT_NAME="+obj.GetName(),
	)
	return outcome{Result: res, op: op}, err
}

// runScript runs an operation of the script once a slot of its concurrency is free. ctx bounds the wait
// for a slot (the script's and the runner's), not the run: that ends at its exit or its time-out.
func (r *reconciler) runScript(ctx context.Context, op script.Operation, stdin []byte, env ...string) (script.Result, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return script.Result{}, ctx.Err()
	}
	defer func() { <-r.slots }()
	return r.exec(ctx, op, stdin, env...)
}

// exec runs an operation of the script in a slot of its concurrency that the caller holds (a batch run's
// is taken before its objects are: see batcher.seal).
func (r *reconciler) exec(ctx context.Context, op script.Operation, stdin []byte, env ...string) (script.Result, error) {
	cfg := r.sc.script.Config
	return r.engine.runner.Run(ctx, script.Request{
		Dir:       r.sc.script.Dir,
		Operation: op,
		Stdin:     stdin,
		Timeout:   min(cfg.Timeout, r.engine.maxScriptTimeout),
		Env:       append([]string{"NUOP_SCRIPT=" + cfg.Name, "NUOP_OPERATION=" + string(op)}, env...),
	})
}

// failed records an error or time-out: a Warning event with the exit code or reason, never output
// (it may hold secrets), and an error so the object is retried with backoff.
func (r *reconciler) failed(obj *unstructured.Unstructured, action script.Operation, res outcome) error {
	r.logOutput("stdout", res.Stdout, "object", objectRef(obj))
	what := fmt.Sprintf("%s of script %s", res.op, r.sc.script.Config.Name)
	if res.batch > 0 {
		what += fmt.Sprintf(" (a batch of %d objects)", res.batch)
	}
	if res.TimedOut {
		r.engine.event(obj, corev1.EventTypeWarning, ReasonScriptTimeout, string(action), "%s was killed after its time-out", what)
		return fmt.Errorf("%s timed out", what)
	}
	reason := res.failure
	if reason == "" {
		reason = exitReason(res.Result)
	}
	r.engine.event(obj, corev1.EventTypeWarning, ReasonScriptFailed, string(action), "%s failed: %s", what, reason)
	return fmt.Errorf("%s failed: %s", what, reason)
}

// outputLog is where script output goes: info, or debug for a script on Secrets, since a script may
// print what it read.
func (r *reconciler) outputLog() logr.Logger {
	if gvk := r.sc.kind.gvk; gvk.Kind == "Secret" && gvk.Group == "" {
		return r.log.V(1)
	}
	return r.log.V(0)
}

// logOutput logs a stream of a run line by line, with keysAndValues naming what the run was for.
func (r *reconciler) logOutput(stream string, out []byte, keysAndValues ...any) {
	if len(out) == 0 {
		return
	}
	log := r.outputLog()
	if !log.Enabled() {
		return
	}
	kv := append([]any{"stream", stream}, keysAndValues...)
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		log.Info(line, kv...)
	}
}

func resultOf(o script.Outcome) string {
	switch o {
	case script.OutcomeUnchanged:
		return resultUnchanged
	case script.OutcomeChanged:
		return resultChanged
	case script.OutcomeTimeout:
		return resultTimeout
	default:
		return resultError
	}
}

// scriptView is the object as a script reads it: apiVersion and kind always set, managed fields removed.
func scriptView(obj *unstructured.Unstructured) *unstructured.Unstructured {
	in := obj.DeepCopy()
	unstructured.RemoveNestedField(in.Object, "metadata", "managedFields")
	return in
}

// encodeInput is a script's stdin: JSON, which is YAML.
func encodeInput(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the input of the script: %w", err)
	}
	return buf.Bytes(), nil
}

func objectRef(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// write runs fn, the engine's API writes of one step, once one of the engine's write slots is free. The
// wait for a slot is not bounded: each holder keeps its slot at most writeTimeout, so slots come free, and a
// queue of writes behind the client's rate limit (a large batch's answers all arrive at once) must not time
// out the last of them. The writes themselves are bounded by writeTimeout from when the slot is taken; their
// context is detached from shutdown, so a script's finished work is written even while the controller stops.
func (e *Engine) write(ctx context.Context, fn func(context.Context) error) error {
	e.writes <- struct{}{}
	defer func() { <-e.writes }()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return fn(wctx)
}

func apiErrorReason(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err.Error()
	}
	// Not the API server's message: a validation message quotes the rejected value, which is the
	// script's output, and events never carry output. The fields say where to look; the log has the rest.
	st := status.Status()
	reason := fmt.Sprintf("the API server refused it: %d %s", st.Code, st.Reason)
	if st.Details != nil {
		var fields []string
		for _, c := range st.Details.Causes {
			if c.Field != "" && !slices.Contains(fields, c.Field) {
				fields = append(fields, c.Field)
			}
		}
		if len(fields) > 0 {
			reason += " (" + strings.Join(fields, ", ") + ")"
		}
	}
	return reason
}

// ownWrites remembers, per object, the resourceVersions the engine's own writes produced, so the watch
// events they cause do not run the script again (checked in Reconcile: a predicate would race the watch).
type ownWrites struct {
	mu sync.Mutex
	m  map[types.NamespacedName]map[string]struct{}
}

func newOwnWrites() *ownWrites {
	return &ownWrites{m: map[types.NamespacedName]map[string]struct{}{}}
}

func (o *ownWrites) add(key types.NamespacedName, rv string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m[key] == nil {
		o.m[key] = map[string]struct{}{}
	}
	o.m[key][rv] = struct{}{}
}

// consume reports whether rv is one of ours. A newer version (someone else's write) clears what we
// remembered, since our older versions can no longer arrive.
func (o *ownWrites) consume(key types.NamespacedName, rv string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	set := o.m[key]
	if _, ok := set[rv]; ok {
		delete(set, rv)
		if len(set) == 0 {
			delete(o.m, key)
		}
		return true
	}
	delete(o.m, key)
	return false
}

func (o *ownWrites) forget(key types.NamespacedName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, key)
}

var _ reconcile.Reconciler = &reconciler{}
