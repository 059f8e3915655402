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
// (SCRIPT-PROTOCOL section 8): once one object is ready it waits batchWindow for more, and a batch
// that reaches `batch` objects is ready at once. A ready batch is sealed only when one of the script's run
// slots is free for it: while all `concurrency` runs are in flight, the objects that come keep gathering
// into it (up to `batch`; beyond that, into the next one), so a busy script runs a few large batches
// rather than one small batch per window queued behind the slots, each paying a `nu` start-up. Each
// object's Reconcile waits for its own entry of the answer, so requeues, backoff, write-back, events,
// metrics and finalizers stay per object. An object is in at most one batch at a time: the controller
// never reconciles one object twice at once, and a reconcile returns only once its object has left its
// batch (answered, or withdrawn before the run).
type batcher struct {
	r      *reconciler
	size   int
	window time.Duration
	// ctx is the controller's, set before its first reconcile. Like a single run's, it bounds the wait
	// for a run slot, never a run that has started.
	ctx context.Context

	mu sync.Mutex
	// pending are the objects gathered and not yet in a run, oldest first: the next batch is the first
	// `size` of them.
	pending []*batchItem
	// due is set once the next batch's window has ended.
	due   bool
	timer *time.Timer
	// gen counts the windows closed, so that the timer of a window whose batch has started (or whose
	// objects have all left) cannot end the next batch's window early.
	gen uint64
	// sealing is set while a goroutine waits for a run slot for the next batch. There is one at a time:
	// the slot it gets serves the batch gathered by then, and the objects beyond it wait for the next.
	sealing bool
}

type batchItem struct {
	obj *unstructured.Unstructured
	// at is when it joined: a batch's window runs from its first object's.
	at   time.Time
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
	item := &batchItem{obj: obj, at: time.Now(), done: make(chan batchReply, 1)}
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
	if len(b.pending) == 1 {
		b.openWindowLocked()
	}
	b.sealLocked()
}

// withdraw takes item out of the objects gathered; false when its batch has started.
func (b *batcher) withdraw(item *batchItem) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.pending, item)
	if i < 0 {
		return false
	}
	b.pending = slices.Delete(b.pending, i, i+1)
	if len(b.pending) == 0 {
		b.closeWindowLocked()
	}
	return true
}

// openWindowLocked starts the window of the next batch, from when its first object joined: for objects
// left over from a batch that was full, it may have ended already. Call with b.mu held.
func (b *batcher) openWindowLocked() {
	gen := b.gen
	b.timer = time.AfterFunc(time.Until(b.pending[0].at.Add(b.window)), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.gen == gen {
			b.due = true
			b.sealLocked()
		}
	})
}

// closeWindowLocked ends the window of the next batch: it has started, or has no objects left. Call
// with b.mu held.
func (b *batcher) closeWindowLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.gen++
	b.due = false
}

// readyLocked tells whether the next batch is to start as soon as a run slot is free. Call with b.mu held.
func (b *batcher) readyLocked() bool {
	return b.due || len(b.pending) >= b.size
}

// sealLocked sends a goroutine to wait for a run slot for the next batch once it is ready, unless one
// waits already. Call with b.mu held.
func (b *batcher) sealLocked() {
	if !b.sealing && b.readyLocked() {
		b.sealing = true
		go b.seal()
	}
}

// seal waits for one of the script's run slots, takes the next batch into it and runs it, then frees the
// slot. When the controller stops first, its objects stay gathered: their reconciles end too and withdraw
// them.
func (b *batcher) seal() {
	slots := b.r.slots
	held := false
	select {
	case slots <- struct{}{}:
		held = true
	case <-b.ctx.Done():
	}
	items := b.take(held)
	if items == nil {
		if held {
			<-slots
		}
		return
	}
	defer func() { <-slots }()
	b.run(items)
}

// take ends the wait for a slot and, with one held and the controller running, takes the next batch: the
// objects gathered, up to `size`. The rest become the batch after it, whose window runs from its own first
// object. nil when nothing is to start: no slot, or the objects that made the batch ready have left (the
// next ones' window or a full batch sends for a slot again).
func (b *batcher) take(held bool) []*batchItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sealing = false
	if !held || b.ctx.Err() != nil || !b.readyLocked() {
		return nil
	}
	n := min(len(b.pending), b.size)
	items := slices.Clone(b.pending[:n])
	b.pending = slices.Delete(b.pending, 0, n)
	b.closeWindowLocked()
	if len(b.pending) > 0 {
		b.openWindowLocked()
		b.sealLocked()
	}
	return items
}

// run runs reconcile-batch for items, in the run slot its caller holds, and hands each its share of the
// answer.
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
	res, err := r.exec(b.ctx, script.OpReconcileBatch, stdin)
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
