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
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"kemper.buzz/nuop/internal/script"
)

// Backoff of a failing object: 1 s doubling, capped at 5 minutes (SCRIPT-PROTOCOL section 3).
const (
	backoffBase = time.Second
	backoffMax  = 5 * time.Minute
)

// sweepQueue bounds the objects one sweep hands over at once; the rest wait for the next sweep.
const sweepQueue = 1024

// scriptController is one loaded script running: its own cache (its selectors, its namespace, managed
// fields stripped) and an unmanaged controller, so that it can be stopped and replaced on reload.
type scriptController struct {
	script *script.Script
	kind   kindInfo
	cache  cache.Cache
	rec    *reconciler

	cancel context.CancelFunc
	// stopped is closed once the cache and the controller have returned: no run of this script is left.
	stopped chan struct{}
	// swept is set once a sweep for its finalizer went through (Engine.sweep; read and set by sync only).
	swept bool
}

// runs reports whether sc runs s as it is now: the same configuration from the same directory.
func (sc *scriptController) runs(s *script.Script) bool {
	return reflect.DeepEqual(s.Config, sc.script.Config) && s.Dir == sc.script.Dir
}

func (e *Engine) newScriptController(s *script.Script, kind kindInfo) (*scriptController, error) {
	cfg := s.Config
	ls, err := cfg.LabelSelectorParsed()
	if err != nil {
		return nil, err
	}
	fs, err := cfg.FieldSelectorParsed()
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(kind.gvk)
	opts := cache.Options{
		Scheme: e.scheme,
		Mapper: e.mapper,
		ByObject: map[client.Object]cache.ByObject{obj: {
			Label: ls,
			Field: fs,
		}},
		// The cache holds only this script's objects; managed fields are the biggest part of most objects
		// and scripts never see them.
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	if cfg.Namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{cfg.Namespace: {}}
	}
	c, err := cache.New(e.config, opts)
	if err != nil {
		return nil, fmt.Errorf("creating the cache of script %s: %w", cfg.Name, err)
	}
	sc := &scriptController{script: s, kind: kind, cache: c}
	sc.rec = &reconciler{engine: e, sc: sc, log: e.log.WithValues("script", cfg.Name), own: newOwnWrites(),
		sweepCh: make(chan event.GenericEvent, sweepQueue), slots: make(chan struct{}, cfg.Concurrency)}
	if cfg.Batch > 0 {
		sc.rec.batch = newBatcher(sc.rec, cfg)
	}
	return sc, nil
}

// start runs the cache and the controller until stop. It returns once the cache has synced.
func (sc *scriptController) start(parent context.Context, log logr.Logger) error {
	cfg := sc.script.Config
	skip := true
	ctrl, err := controller.NewUnmanaged("script-"+cfg.Name, controller.Options{
		Reconciler: sc.rec,
		// The script's slots keep its nu runs to `concurrency`; the workers are more, so that a run can start
		// while other objects' write-backs are in flight (one worker per slot would leave a core idle for
		// each write), and, with batches, so that while `concurrency` batches run the next one can fill.
		MaxConcurrentReconciles: max(2*cfg.Concurrency, (cfg.Concurrency+1)*cfg.Batch),
		// Reloads create a controller of the same name again.
		SkipNameValidation: &skip,
		RateLimiter:        workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](backoffBase, backoffMax),
		Logger:             log,
	})
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(sc.kind.gvk)
	// The informer feeds the controller directly (source.Informer), not through source.Kind: Kind makes the
	// controller wait for the cache and then for its handler to sync, each by polling every 100 ms, which
	// left every script start (and reload) 200 ms without work. Without the wait, workers start at once and
	// take objects as the informer delivers them: an event only ever names an object already in the cache.
	inf, err := sc.cache.GetInformer(parent, obj)
	if err != nil {
		return fmt.Errorf("the informer of script %s: %w", cfg.Name, err)
	}
	if err := ctrl.Watch(&source.Informer{Informer: inf, Handler: &handler.EnqueueRequestForObject{},
		Predicates: []predicate.Predicate{predicate.Funcs{UpdateFunc: changedBeyondVersion}}}); err != nil {
		return err
	}
	if err := ctrl.Watch(source.Channel(sc.rec.sweepCh, &handler.EnqueueRequestForObject{})); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	sc.cancel = cancel
	if sc.rec.batch != nil {
		// Before the controller starts: its reconciles read it.
		sc.rec.batch.ctx = ctx
	}
	sc.stopped = make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sc.cache.Start(ctx); err != nil {
			log.Error(err, "script cache stopped")
		}
	})
	wg.Go(func() {
		if err := ctrl.Start(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "script controller stopped")
		}
	})
	go func() {
		wg.Wait()
		close(sc.stopped)
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer syncCancel()
	if !waitForSync(syncCtx, inf) {
		cancel()
		<-sc.stopped
		return fmt.Errorf("the cache of script %s did not sync", cfg.Name)
	}
	return nil
}

// waitForSync waits until inf has synced, told by the informer itself (client-go's DoneChecker) rather than
// by polling HasSynced every 100 ms.
func waitForSync(ctx context.Context, inf cache.Informer) bool {
	if checker, ok := inf.(interface{ HasSyncedChecker() toolscache.DoneChecker }); ok {
		return toolscache.WaitFor(ctx, "", checker.HasSyncedChecker()) // "": no progress lines in the log
	}
	return toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
}

// changedBeyondVersion drops updates that change only resourceVersion or managedFields (a no-op apply,
// say): the script would see the same object again. It runs on every update event of every watched
// object, so it compares in place rather than on copies with those fields removed.
func changedBeyondVersion(e event.UpdateEvent) bool {
	oldObj, okOld := e.ObjectOld.(*unstructured.Unstructured)
	newObj, okNew := e.ObjectNew.(*unstructured.Unstructured)
	if !okOld || !okNew {
		return true
	}
	return !sameFields(oldObj.Object, newObj.Object, func(key string, a, b any) bool {
		if key != "metadata" {
			return equality.Semantic.DeepEqual(a, b)
		}
		metaA, okA := a.(map[string]any)
		metaB, okB := b.(map[string]any)
		if !okA || !okB {
			return equality.Semantic.DeepEqual(a, b)
		}
		return sameFields(metaA, metaB, func(key string, a, b any) bool {
			return key == "resourceVersion" || key == "managedFields" || equality.Semantic.DeepEqual(a, b)
		})
	})
}

// sameFields reports whether every key of a or b is in both with values same calls equal; a key in only
// one of them counts as the value nil in the other.
func sameFields(a, b map[string]any, same func(key string, a, b any) bool) bool {
	for key, va := range a {
		if !same(key, va, b[key]) {
			return false
		}
	}
	for key, vb := range b {
		if _, both := a[key]; !both && !same(key, nil, vb) {
			return false
		}
	}
	return true
}

// stop ends the controller and waits until no run of it is left (runs finish within their time-out).
func (sc *scriptController) stop() {
	if sc.cancel == nil {
		return
	}
	sc.cancel()
	<-sc.stopped
}

// synced reports whether the cache has synced, without waiting.
func (sc *scriptController) synced(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	return sc.cache.WaitForCacheSync(ctx)
}
