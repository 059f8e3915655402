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
	"fmt"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/script"
)

// batcher gathers the objects of a script with `batch` set into `reconcile-batch` runs
// (SCRIPT-PROTOCOL section 8): once one object is ready it waits batchWindow for more, up to batch, and
// hands them all to one nu run. Each object's Reconcile waits for its own entry of the answer, so
// requeues, backoff, write-back, events, metrics and finalizers stay per object; an object is in at
// most one batch at a time because the controller never reconciles one object twice at once.
type batcher struct {
	r     *reconciler
	slots chan struct{} // `concurrency` batch runs at once

	mu      sync.Mutex
	pending []*batchItem
	timer   *time.Timer
}

type batchItem struct {
	obj  *unstructured.Unstructured
	done chan batchAnswer
}

// batchAnswer is one object's share of a batch run, in the shape of a single run's result.
type batchAnswer struct {
	res script.Result
	err error
}

// batchEntry is one line of a reconcile-batch answer.
type batchEntry struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Result    string `json:"result"`
	Object    any    `json:"object"`
	Message   string `json:"message"`
}

func newBatcher(r *reconciler) *batcher {
	return &batcher{r: r, slots: make(chan struct{}, r.sc.script.Config.Concurrency)}
}

// submit adds obj to the next batch and waits for its answer.
func (b *batcher) submit(ctx context.Context, obj *unstructured.Unstructured) (script.Result, error) {
	item := &batchItem{obj: obj, done: make(chan batchAnswer, 1)}
	cfg := b.r.sc.script.Config
	b.mu.Lock()
	b.pending = append(b.pending, item)
	switch {
	case len(b.pending) >= cfg.Batch:
		b.flushLocked()
	case len(b.pending) == 1:
		b.timer = time.AfterFunc(cfg.BatchWindow, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.flushLocked()
		})
	}
	b.mu.Unlock()
	select {
	case a := <-item.done:
		return a.res, a.err
	case <-ctx.Done():
		// The run goes on and answers into the buffered channel; this reconcile ends with shutdown.
		return script.Result{}, ctx.Err()
	}
}

// flushLocked starts a run for what is pending. Call with b.mu held.
func (b *batcher) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.pending) == 0 {
		return
	}
	items := b.pending
	b.pending = nil
	go b.run(items)
}

func (b *batcher) run(items []*batchItem) {
	b.slots <- struct{}{}
	defer func() { <-b.slots }()
	r := b.r
	cfg := r.sc.script.Config
	answer := func(i *batchItem, a batchAnswer) { i.done <- a }

	objects := make([]any, 0, len(items))
	for _, i := range items {
		in := i.obj.DeepCopy()
		unstructured.RemoveNestedField(in.Object, "metadata", "managedFields")
		objects = append(objects, in.Object)
	}
	stdin, err := json.Marshal(objects)
	if err != nil {
		for _, i := range items {
			answer(i, batchAnswer{err: err})
		}
		return
	}
	// Detached from any one object's reconcile: the run serves them all.
	res, err := r.engine.runner.Run(context.Background(), script.Request{
		Dir: r.sc.script.Dir, Operation: script.OpReconcileBatch, Stdin: stdin,
		Timeout: min(cfg.Timeout, r.engine.maxScriptTimeout),
		Env:     []string{"NUOP_SCRIPT=" + cfg.Name, "NUOP_OPERATION=" + string(script.OpReconcileBatch)},
	})
	if err != nil {
		for _, i := range items {
			answer(i, batchAnswer{err: err})
		}
		return
	}
	r.engine.metrics.duration.WithLabelValues(cfg.Name, string(script.OpReconcileBatch)).Observe(res.Duration.Seconds())
	r.log.Info("script run", "operation", script.OpReconcileBatch, "objects", len(items), "exitCode", res.ExitCode,
		"result", resultOf(res), "duration", res.Duration.Round(time.Millisecond).String())
	if len(res.Stderr) > 0 && items[0].obj.GetKind() != "Secret" {
		r.logOutput(items[0].obj, "stderr", res.Stderr)
	}

	var entries map[types.NamespacedName]batchEntry
	var parseErr error
	if res.ExitCode == 0 && !res.TimedOut {
		entries, parseErr = parseBatchAnswer(res.Stdout)
	}
	for _, i := range items {
		answer(i, batchAnswer{res: entryResult(res, entries, parseErr, i.obj)})
	}
}

// entryResult turns an object's entry of the answer into the result of a single run: exit 0 or 2 with
// the object on stdout, or an error. A failed run, an unparsable answer, or a missing entry is an error.
func entryResult(run script.Result, entries map[types.NamespacedName]batchEntry, parseErr error,
	obj *unstructured.Unstructured) script.Result {
	res := script.Result{Duration: run.Duration, CPUTime: run.CPUTime, TimedOut: run.TimedOut, ExitCode: run.ExitCode,
		Signal: run.Signal}
	if run.ExitCode != 0 || run.TimedOut {
		if res.ExitCode == 0 {
			res.ExitCode = -1
		}
		return res
	}
	fail := func(msg string) script.Result {
		res.ExitCode = 1
		res.Stderr = []byte(msg)
		return res
	}
	if parseErr != nil {
		return fail("the reconcile-batch answer is not a YAML list of {namespace, name, result}: " + parseErr.Error())
	}
	e, ok := entries[client.ObjectKeyFromObject(obj)]
	if !ok {
		return fail("the reconcile-batch answer has no entry for this object")
	}
	switch e.Result {
	case resultUnchanged:
		res.ExitCode = 0
	case resultChanged:
		res.ExitCode = 2
		if e.Object != nil {
			res.Stdout, _ = json.Marshal(e.Object) // decoded from YAML into JSON types: always marshals
		}
	case resultError:
		return fail(e.Message)
	default:
		return fail(fmt.Sprintf("unknown result %q (want unchanged, changed or error)", e.Result))
	}
	return res
}

// parseBatchAnswer reads the YAML 1.2 list a reconcile-batch run prints.
func parseBatchAnswer(stdout []byte) (map[types.NamespacedName]batchEntry, error) {
	var doc any
	if err := yaml.NewDecoder(bytes.NewReader(stdout)).Decode(&doc); err != nil {
		return nil, err
	}
	normal, err := jsonCompatible(doc)
	if err != nil {
		return nil, err
	}
	list, ok := normal.([]any)
	if !ok {
		return nil, fmt.Errorf("got %T, want a list", normal)
	}
	raw, _ := json.Marshal(list)
	var entries []batchEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, err
	}
	out := make(map[types.NamespacedName]batchEntry, len(entries))
	for _, e := range entries {
		out[types.NamespacedName{Namespace: e.Namespace, Name: e.Name}] = e
	}
	return out, nil
}
