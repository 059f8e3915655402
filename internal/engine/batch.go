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
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kemper.buzz/nuop/internal/script"
)

// batcher gathers the reconciles of a script with `batch` set into `reconcile-batch` runs
// (SCRIPT-PROTOCOL section 8): once one object is ready it waits up to batchWindow for more, and a batch
// that reaches `batch` objects starts at once. Each object's Reconcile waits for its own entry of the
// answer, so requeues, backoff, write-back, events, metrics and finalizers stay per object. An object is
// in at most one batch at a time: the controller never reconciles one object twice at once, and a
// reconcile returns only once its object has left its batch (answered, or withdrawn before the run).
type batcher struct {
	r      *reconciler
	size   int
	window time.Duration
	// ctx is the controller's, set before its first reconcile. Like a single run's, it bounds the wait
	// for a run slot, never a run that has started.
	ctx context.Context

	mu      sync.Mutex
	pending []*batchItem
	timer   *time.Timer
	// gen counts the batches started, so that the window timer of a batch that started full cannot cut
	// the next batch's window short.
	gen uint64
}

type batchItem struct {
	obj  *unstructured.Unstructured
	done chan batchReply
}

// batchReply is one object's share of a batch run.
type batchReply struct {
	out outcome
	err error
}

func newBatcher(r *reconciler, cfg script.Config) *batcher {
	return &batcher{r: r, size: cfg.Batch, window: cfg.BatchWindow}
}

// submit adds obj to the next batch and waits for its share of the answer. When ctx ends first, an
// object whose batch has not started leaves it; one whose run has started waits for the run, which
// ends within its time-out (or is killed by the shutdown drain), so its answer is acted on as a single
// run's would be.
func (b *batcher) submit(ctx context.Context, obj *unstructured.Unstructured) (outcome, error) {
	item := &batchItem{obj: obj, done: make(chan batchReply, 1)}
	b.add(item)
	select {
	case a := <-item.done:
		return a.out, a.err
	case <-ctx.Done():
	}
	if b.withdraw(item) {
		return outcome{}, ctx.Err()
	}
	a := <-item.done
	return a.out, a.err
}

func (b *batcher) add(item *batchItem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, item)
	switch {
	case len(b.pending) >= b.size:
		b.startLocked()
	case len(b.pending) == 1:
		gen := b.gen
		b.timer = time.AfterFunc(b.window, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.gen == gen {
				b.startLocked()
			}
		})
	}
}

// withdraw takes item out of the batch being gathered; false when its batch has started.
func (b *batcher) withdraw(item *batchItem) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.pending, item)
	if i < 0 {
		return false
	}
	b.pending = slices.Delete(b.pending, i, i+1)
	if len(b.pending) == 0 {
		b.startLocked() // starts nothing; ends the window
	}
	return true
}

// startLocked starts a run for the objects gathered and begins the next batch. Call with b.mu held.
func (b *batcher) startLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.gen++
	items := b.pending
	b.pending = nil
	if len(items) > 0 {
		go b.run(items)
	}
}

// run runs reconcile-batch for items and hands each its share of the answer.
func (b *batcher) run(items []*batchItem) {
	r := b.r
	cfg := r.sc.script.Config
	// answered counts the items replied to, in order: a panic below must still answer the rest, or their
	// reconciles would wait forever (controller-runtime recovers panics in Reconcile, not in this goroutine).
	answered := 0
	reply := func(it *batchItem, rep batchReply) {
		it.done <- rep
		answered++
	}
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("the batch run failed: %v", p)
			r.log.Error(err, "recovered a panic in a reconcile-batch run", "objects", len(items))
			for _, it := range items[answered:] {
				it.done <- batchReply{err: err}
			}
		}
	}()
	replyAll := func(out outcome, err error) {
		for _, it := range items {
			reply(it, batchReply{out: out, err: err})
		}
	}
	objs := make([]*unstructured.Unstructured, len(items))
	inputs := make([]any, len(items))
	for i, it := range items {
		objs[i] = it.obj
		inputs[i] = scriptView(it.obj).Object
	}
	stdin, err := encodeInput(inputs)
	if err != nil {
		replyAll(outcome{}, err)
		return
	}
	res, err := r.runScript(b.ctx, script.OpReconcileBatch, stdin)
	if err != nil {
		replyAll(outcome{}, err)
		return
	}
	r.engine.metrics.duration.WithLabelValues(cfg.Name, string(script.OpReconcileBatch)).Observe(res.Duration.Seconds())
	r.engine.metrics.batchSize.WithLabelValues(cfg.Name).Observe(float64(len(items)))
	r.log.Info("script run", "operation", script.OpReconcileBatch, "objects", len(items), "exitCode", res.ExitCode,
		"result", batchRunResult(res), "duration", res.Duration.Round(time.Millisecond).String())
	r.logOutput("stderr", res.Stderr, "objects", len(items))

	base := outcome{op: script.OpReconcileBatch, batch: len(items)}
	if res.Outcome() != script.OutcomeUnchanged {
		// Any exit but 0, a signal or the time-out: the answer is not one, and every object fails.
		r.logOutput("stdout", res.Stdout, "objects", len(items))
		failed := base
		failed.TimedOut = res.TimedOut
		if !res.TimedOut {
			failed.failure = exitReason(res)
		}
		replyAll(failed, nil)
		return
	}
	answer := ReadBatchAnswer(objs, res)
	if answer.Detail != nil {
		r.outputLog().Info("the reconcile-batch answer cannot be read: every object of the batch fails",
			"reason", answer.Detail.Error(), "objects", len(items))
		r.logOutput("stdout", res.Stdout, "objects", len(items))
	}
	if len(answer.Unknown) > 0 {
		r.outputLog().Info("the reconcile-batch answer has entries for objects not in the batch; they are ignored",
			"unknown", answer.Unknown)
	}
	for i, it := range items {
		reply(it, batchReply{out: entryOutcome(base, answer.Entries[i])})
	}
}

// entryOutcome is an object's entry of an answer as the result of a single run: exit 0, or exit 2 with
// the object to write back on stdout, or a failure.
func entryOutcome(base outcome, e BatchEntry) outcome {
	o := base
	switch {
	case e.Problem != "":
		o.failure = e.Problem
	case e.Result == resultError:
		o.failure = "the answer marks it as an error (its message is in the log)"
		o.Stderr = []byte(e.Message)
	case e.Result == resultChanged:
		o.ExitCode = 2
		o.object = e.Object
	}
	return o
}

// batchRunResult names how a batch run ended, for its log line.
func batchRunResult(res script.Result) string {
	switch res.Outcome() {
	case script.OutcomeUnchanged:
		return "answered"
	case script.OutcomeTimeout:
		return resultTimeout
	default:
		return resultError
	}
}

// exitReason says how a run that did not exit 0 or 2 ended, without its output.
func exitReason(res script.Result) string {
	if res.Signal != "" {
		return "killed by signal " + res.Signal
	}
	return fmt.Sprintf("exit code %d", res.ExitCode)
}
