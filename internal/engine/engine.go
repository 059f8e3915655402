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

// Package engine runs loaded scripts as Kubernetes controllers: per script its own cache and an
// unmanaged controller on unstructured objects of a kind resolved through discovery, finalizers limited
// to this instance's objects, write-back of what a script prints, events and metrics
// (SCRIPT-PROTOCOL sections 3 to 6).
package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"kemper.buzz/nuop/internal/script"
)

// recheckInterval is how often kinds that are not served yet (CRD not installed) and kinds of running
// scripts are looked up again in discovery.
const recheckInterval = 5 * time.Second

// State of a script in the engine.
type State string

const (
	// StateReady: the script's controller runs (on the leader) or is loaded (on a standby).
	StateReady State = "Ready"
	// StatePending: its kind is not served yet; it starts when the CRD appears.
	StatePending State = "Pending"
	// StateFailed: it could not be loaded or started (refused, or an error talking to the API server).
	StateFailed State = "Failed"
	// StateDegraded: an edit of it failed to load; its last good version keeps running.
	StateDegraded State = "Degraded"
	// StateNotFound: a mapping names a script that is not loaded (reported by managed mode's selection).
	StateNotFound State = "NotFound"
	// StateMismatched: a mapping's kind differs from its script's (reported by managed mode's selection).
	StateMismatched State = "Mismatched"
)

// ScriptStatus is what the engine reports about one script.
type ScriptStatus struct {
	Name      string
	Dir       string
	GVK       string
	Finalizer string
	State     State
	Message   string
}

// Options configure an Engine.
type Options struct {
	// Instance names this engine's objects in the finalizer owners annotation (`standard`, or the
	// NuOperator's namespace/name).
	Instance string
	// MaxScriptTimeout caps every script's own timeout.
	MaxScriptTimeout time.Duration
	// Registry receives the metrics.
	Registry prometheus.Registerer
}

// Engine runs the scripts it is given. As a manager runnable it needs leader election: only the leader
// runs controllers; every replica keeps the set of scripts so it can take over.
type Engine struct {
	config    *rest.Config
	scheme    *runtime.Scheme
	mapper    meta.RESTMapper
	client    client.Client
	apiReader client.Reader
	discovery discovery.DiscoveryInterface
	metadata  metadata.Interface
	recorder  crrecorder.EventRecorder
	runner    *script.Runner
	metrics   *metrics
	log       logr.Logger

	instance         string
	maxScriptTimeout time.Duration

	mu      sync.Mutex
	desired []*script.Script
	// failed are scripts that did not load at all; they are reported with the others.
	failed  []ScriptStatus
	running map[string]*scriptController
	// releasing are finalizers stopped controllers put on objects that no desired script takes over (the
	// script was removed, or its kind, finalizer or namespace changed) and that are not all released yet:
	// a failed release is tried again at the next pass, not forgotten with objects still carrying them.
	releasing []obligation
	status    map[string]ScriptStatus
	// started is set once Start runs, i.e. on the leader.
	started bool
	wake    chan struct{}
	// writes holds one token per API write in flight (maxWrites).
	writes chan struct{}
}

// New creates an engine on mgr's connection.
func New(mgr manager.Manager, runner *script.Runner, opts Options) (*Engine, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	mc, err := metadata.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	if err := runner.RegisterMetrics(opts.Registry); err != nil {
		return nil, err
	}
	return &Engine{
		config:           mgr.GetConfig(),
		scheme:           mgr.GetScheme(),
		mapper:           mgr.GetRESTMapper(),
		client:           mgr.GetClient(),
		apiReader:        mgr.GetAPIReader(),
		discovery:        dc,
		metadata:         mc,
		recorder:         mgr.GetEventRecorder("nuop"),
		runner:           runner,
		metrics:          m,
		log:              mgr.GetLogger().WithName("engine"),
		instance:         opts.Instance,
		maxScriptTimeout: opts.MaxScriptTimeout,
		running:          map[string]*scriptController{},
		status:           map[string]ScriptStatus{},
		wake:             make(chan struct{}, 1),
		writes:           make(chan struct{}, maxWrites),
	}, nil
}

// SetScripts makes scripts the set the engine runs: new ones start, removed ones stop (their finalizers
// released), changed ones are stopped completely before their replacement starts. Scripts must have
// unique names. failed are scripts that did not load; they are only reported.
func (e *Engine) SetScripts(scripts []*script.Script, failed []ScriptStatus) {
	e.mu.Lock()
	e.desired = slices.Clone(scripts)
	e.failed = slices.Clone(failed)
	if !e.started {
		// A standby reports its scripts as loaded; the leader reports what actually runs.
		status := map[string]ScriptStatus{}
		for _, s := range scripts {
			status[s.Config.Name] = statusOf(s, StateReady, "loaded; runs on the leader")
		}
		e.setStatus(status)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Statuses returns the state of every script given to SetScripts, sorted by name.
func (e *Engine) Statuses() []ScriptStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]ScriptStatus, 0, len(e.status))
	for _, s := range e.status {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ScriptStatus) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Synced reports whether every running script's cache has synced; true on a standby, which runs none.
func (e *Engine) Synced(ctx context.Context) bool {
	e.mu.Lock()
	running := make([]*scriptController, 0, len(e.running))
	for _, sc := range e.running {
		running = append(running, sc)
	}
	e.mu.Unlock()
	for _, sc := range running {
		if !sc.synced(ctx) {
			return false
		}
	}
	return true
}

// NeedLeaderElection: controllers run on the leader only.
func (e *Engine) NeedLeaderElection() bool { return true }

// Start runs the scripts until ctx ends, then stops every controller and waits for their runs.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
	ticker := time.NewTicker(recheckInterval)
	defer ticker.Stop()
	for {
		e.sync(ctx)
		select {
		case <-ctx.Done():
			e.stopAll()
			return nil
		case <-e.wake:
		case <-ticker.C:
		}
	}
}

func (e *Engine) stopAll() {
	e.mu.Lock()
	running := e.running
	e.running = map[string]*scriptController{}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, sc := range running {
		wg.Go(sc.stop)
	}
	wg.Wait()
}

// sync brings the running controllers in line with the desired scripts and with what discovery serves.
func (e *Engine) sync(ctx context.Context) {
	e.mu.Lock()
	desired := slices.Clone(e.desired)
	e.mu.Unlock()

	// Reading discovery fresh each time is how CRDs that appear or disappear are noticed.
	kinds := map[string]kindInfo{}
	status := map[string]ScriptStatus{}
	notes := map[string]string{}   // why a running script's status is not plain "running"
	claimed := map[string]string{} // kind+finalizer -> script that holds it
	resources := memoized(e.discovery)
	for _, s := range desired {
		cfg := s.Config
		info, err := resolveKind(resources, cfg)
		switch {
		case err == nil:
		case IsNotServed(err):
			status[cfg.Name] = statusOf(s, StatePending, err.Error()+"; starts when the kind is served")
			continue
		default:
			// Discovery failing (a time-out, an aggregated API down) says nothing about the kind: a
			// controller that runs this very script keeps running rather than start over with every object.
			sc := e.runningController(cfg.Name)
			if sc == nil || !sc.runs(s) {
				status[cfg.Name] = statusOf(s, StateFailed, err.Error())
				continue
			}
			info = sc.kind
			notes[cfg.Name] = "running; looking its kind up again failed, so it runs as it was: " + err.Error()
		}
		if cfg.Finalizer != "" {
			key := info.gvk.GroupKind().String() + " " + cfg.Finalizer
			if other, taken := claimed[key]; taken {
				status[cfg.Name] = statusOf(s, StateFailed, fmt.Sprintf(
					"refused: script %s already uses finalizer %s on %s; two scripts would fight over it",
					other, cfg.Finalizer, info.gvk.Kind))
				continue
			}
			claimed[key] = cfg.Name
		}
		kinds[cfg.Name] = info
	}

	// Stop what is removed, changed, or no longer served, before anything new starts.
	e.mu.Lock()
	var toStop []*scriptController
	for name, sc := range e.running {
		want := findScript(desired, name)
		if info, ok := kinds[name]; ok && want != nil && sc.runs(want) && info == sc.kind {
			continue
		}
		toStop = append(toStop, sc)
		delete(e.running, name)
		if o, ok := sc.obligation(e.instance); ok {
			// In the same critical section as leaving running: Released must find it in one or the other.
			e.releasing = append(e.releasing, o)
		}
	}
	previous := e.status
	e.mu.Unlock()
	for _, sc := range toStop {
		sc.stop()
	}
	// Series of a script that is gone go with it, whether it was running or not.
	for name := range previous {
		if findScript(desired, name) == nil {
			e.metrics.forget(name)
		}
	}
	e.releasePending(ctx, desired, kinds)

	for _, s := range desired {
		name := s.Config.Name
		info, ok := kinds[name]
		if !ok {
			continue
		}
		if sc := e.runningController(name); sc != nil {
			if !sc.swept {
				e.sweep(ctx, sc)
			}
			status[name] = statusOf(s, StateReady, cmp.Or(notes[name], "running"))
			continue
		}
		if err := probeFieldSelector(ctx, e.metadata, info, s.Config); err != nil {
			status[name] = statusOf(s, StateFailed, err.Error())
			continue
		}
		sc, err := e.newScriptController(s, info)
		if err == nil {
			err = sc.start(ctx, e.log.WithValues("script", name))
		}
		if err != nil {
			status[name] = statusOf(s, StateFailed, err.Error())
			continue
		}
		e.mu.Lock()
		e.running[name] = sc
		e.mu.Unlock()
		status[name] = statusOf(s, StateReady, "running")
		e.log.Info("script started", "script", name, "kind", info.gvk.String(), "resource", info.resource.Resource)
		e.sweep(ctx, sc)
	}
	e.dropTakenOver()

	e.mu.Lock()
	e.setStatus(status)
	e.mu.Unlock()
}

func (e *Engine) runningController(name string) *scriptController {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[name]
}

// setStatus records the scripts' states with the load failures and updates nuop_scripts_loaded. Call
// with e.mu held.
func (e *Engine) setStatus(status map[string]ScriptStatus) {
	for _, f := range e.failed {
		key := f.Name
		if key == "" {
			key = f.Dir
		}
		status[key] = f
	}
	e.status = status
	counts := map[string]float64{stateReady: 0, stateFailed: 0}
	for _, s := range status {
		if s.State == StateReady {
			counts[stateReady]++
		} else {
			counts[stateFailed]++
		}
	}
	for state, n := range counts {
		e.metrics.loaded.WithLabelValues(state).Set(n)
	}
}

// sweep finds objects of the script's kind that carry its finalizer, added by this instance, but are no
// longer in its cache (they stopped matching while nothing watched), and hands them to the controller,
// which applies onUnmatch. Metadata only and paginated, without the selector: the cache cannot know them.
// Within the script's namespace, when it has one: its cache holds no other. A failed sweep is tried again
// at the next pass.
func (e *Engine) sweep(ctx context.Context, sc *scriptController) {
	cfg := sc.script.Config
	if cfg.Finalizer == "" {
		sc.swept = true
		return
	}
	var lister metadata.ResourceInterface = e.metadata.Resource(sc.kind.resource)
	if cfg.Namespace != "" {
		lister = e.metadata.Resource(sc.kind.resource).Namespace(cfg.Namespace)
	}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := lister.List(ctx, opts)
		if err != nil {
			e.log.Error(err, "sweep for finalizers left behind failed; it runs again at the next pass", "script", cfg.Name)
			return
		}
		for i := range list.Items {
			item := &list.Items[i]
			if !ownsFinalizer(item, cfg.Finalizer, e.instance) {
				continue
			}
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(sc.kind.gvk)
			if err := sc.cache.Get(ctx, client.ObjectKeyFromObject(item), obj); err == nil {
				continue
			}
			sc.rec.enqueue(item)
		}
		if list.Continue == "" {
			sc.swept = true
			return
		}
		opts.Continue = list.Continue
	}
}

// obligation is a finalizer a stopped controller put on objects, to be released unless a desired script
// takes those objects over.
type obligation struct {
	script string
	Release
}

// obligation is what stopping sc leaves to release; false when its script has no finalizer.
func (sc *scriptController) obligation(instance string) (obligation, bool) {
	cfg := sc.script.Config
	return obligation{script: cfg.Name, Release: Release{Resource: sc.kind.resource, Kind: sc.kind.gvk,
		Finalizer: cfg.Finalizer, Instance: instance, Namespace: cfg.Namespace}}, cfg.Finalizer != ""
}

// takesOver reports whether a controller of cfg on the kind info would hold the objects o's finalizer is
// on: the same resource (in any version), the same finalizer, and a namespace that includes o's.
func (o obligation) takesOver(cfg *script.Config, info kindInfo) bool {
	return info.resource.GroupResource() == o.Resource.GroupResource() && cfg.Finalizer == o.Finalizer &&
		(cfg.Namespace == "" || cfg.Namespace == o.Namespace)
}

// releasePending releases the finalizers left by stopped controllers, keeping those whose release failed
// for the next pass, and those a desired script takes over (dropped once it runs: dropTakenOver).
func (e *Engine) releasePending(ctx context.Context, desired []*script.Script, kinds map[string]kindInfo) {
	e.mu.Lock()
	pending := slices.Clone(e.releasing)
	e.mu.Unlock()
	var left []obligation
	for _, o := range pending {
		if slices.ContainsFunc(desired, func(s *script.Script) bool {
			info, ok := kinds[s.Config.Name]
			return ok && o.takesOver(&s.Config, info)
		}) || !e.releaseAll(ctx, o) {
			left = append(left, o)
		}
	}
	e.mu.Lock()
	e.releasing = left
	e.mu.Unlock()
}

// dropTakenOver forgets the obligations a running controller has taken over: its own sweep handles the
// objects that no longer match.
func (e *Engine) dropTakenOver() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.releasing = slices.DeleteFunc(e.releasing, func(o obligation) bool {
		for _, sc := range e.running {
			if o.takesOver(&sc.script.Config, sc.kind) {
				return true
			}
		}
		return false
	})
}

// releaseAll removes the finalizer of o from this instance's objects, without running finalize: no code
// of a script that is gone is ever run, and no object is left undeletable. It reports whether every one
// was released.
func (e *Engine) releaseAll(ctx context.Context, o obligation) bool {
	n, err := ReleaseFinalizers(ctx, e.metadata, e.client, o.Release, func(obj client.Object) {
		e.event(obj, "Normal", ReasonFinalizerReleased, "release",
			"script %s was removed or changed; finalizer %s released without finalize", o.script, o.Finalizer)
	})
	if err != nil {
		e.log.Error(err, "releasing the finalizers of a removed or changed script; tried again at the next pass",
			"script", o.script, "finalizer", o.Finalizer, "released", n)
		return false
	}
	e.log.Info("released the finalizers of a removed or changed script", "script", o.script,
		"finalizer", o.Finalizer, "count", n)
	return true
}

// event records an event on obj; the recorder aggregates repeats into series.
func (e *Engine) event(obj runtime.Object, eventType, reason, action, note string, args ...any) {
	e.recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
}

func statusOf(s *script.Script, state State, msg string) ScriptStatus {
	if s.InPlace != "" {
		msg += "; " + s.InPlace
	}
	return ScriptStatus{
		Name: s.Config.Name, Dir: s.Dir, GVK: s.Config.GVK().String(),
		Finalizer: s.Config.Finalizer, State: state, Message: msg,
	}
}

func findScript(scripts []*script.Script, name string) *script.Script {
	for _, s := range scripts {
		if s.Config.Name == name {
			return s
		}
	}
	return nil
}

// queued is what a sweep hands to a controller.
func (r *reconciler) enqueue(obj client.Object) {
	select {
	case r.sweepCh <- event.GenericEvent{Object: obj}:
	default:
		r.log.Info("sweep queue full; the object is picked up at the next sweep", "object", client.ObjectKeyFromObject(obj))
	}
}

// Released reports whether the engine has let go of everything: it is given no script, runs none, and
// every removed script's finalizers are released. The managed operator reports its scripts' finalizers
// released on it (SCRIPT-PROTOCOL section 5).
func (e *Engine) Released() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.desired) == 0 && len(e.running) == 0 && len(e.releasing) == 0
}
