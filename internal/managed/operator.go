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

package managed

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/script"
)

// FieldManager owns the managed operator's part of a NuOperator's status (ScriptsLoaded, SourcesFetched,
// scripts, sources); the manager owns the rest under its own.
const FieldManager = "nuop-managed"

// reportInterval is how often the status report is recomputed; it is only written when it changed.
const reportInterval = 2 * time.Second

// Operator ties a managed operator to its NuOperator: the NuOperator's mappings choose what runs, and
// what runs is reported in its status. On the NuOperator's deletion, or when it maps nothing any more, it
// stops every script, which releases their finalizers (SCRIPT-PROTOCOL section 5), and reports that.
type Operator struct {
	Key    types.NamespacedName
	Client client.Client
	Engine *engine.Engine
	// Reload is called when the mappings change.
	Reload func()
	// FileMappings are nuop-style mapping files, used when the NuOperator has none.
	FileMappings []Mapping
	// Sources reports the fetcher's state; nil when sources are not fetched by this build.
	Sources func() []nuopv1alpha1.SourceStatus
	Log     logr.Logger

	mu       sync.Mutex
	mappings []Mapping
	spec     bool // the NuOperator has been read at least once
	deleting bool
	last     map[string]any
}

// Select is the reload hook: the scripts the current mappings name. Nothing runs while the NuOperator
// is being deleted.
func (o *Operator) Select(loaded []*script.Script) ([]*script.Script, []engine.ScriptStatus) {
	o.mu.Lock()
	mappings, deleting := o.mappings, o.deleting
	if !o.spec {
		mappings = o.FileMappings
	}
	o.mu.Unlock()
	if deleting {
		return nil, nil
	}
	return Select(loaded, mappings)
}

// Reconcile follows the NuOperator: a change of its mappings reloads, its deletion stops every script.
func (o *Operator) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	nuop := &nuopv1alpha1.NuOperator{}
	err := o.Client.Get(ctx, o.Key, nuop)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	mappings := o.FileMappings
	deleting := apierrors.IsNotFound(err) || nuop.DeletionTimestamp != nil
	if err == nil && len(nuop.Spec.Mappings) > 0 {
		mappings = fromAPI(nuop.Spec.Mappings)
	}
	o.mu.Lock()
	changed := !o.spec || o.deleting != deleting || !reflect.DeepEqual(o.mappings, mappings)
	o.mappings, o.deleting, o.spec = mappings, deleting, true
	o.mu.Unlock()
	if changed {
		o.Log.Info("mappings changed; reloading", "mappings", len(mappings), "deleting", deleting)
		o.Reload()
	}
	return reconcile.Result{}, nil
}

func fromAPI(in []nuopv1alpha1.Mapping) []Mapping {
	out := make([]Mapping, 0, len(in))
	for _, m := range in {
		out = append(out, Mapping{Name: m.Name, Group: m.Group, Version: m.Version, Kind: m.Kind,
			LabelSelectors: m.LabelSelectors, FieldSelectors: m.FieldSelectors,
			RequeueAfterChange: m.RequeueAfterChange, RequeueAfterNoop: m.RequeueAfterNoop})
	}
	return out
}

// NeedLeaderElection: only the leader reports, as only the leader runs the scripts.
func (o *Operator) NeedLeaderElection() bool { return true }

// Start reports the scripts' state in the NuOperator's status until ctx ends.
func (o *Operator) Start(ctx context.Context) error {
	ticker := time.NewTicker(reportInterval)
	defer ticker.Stop()
	for {
		if err := o.report(ctx); err != nil && ctx.Err() == nil {
			o.Log.Error(err, "reporting status in the NuOperator")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// report applies the managed operator's part of the status when it changed.
func (o *Operator) report(ctx context.Context) error {
	nuop := &nuopv1alpha1.NuOperator{}
	if err := o.Client.Get(ctx, o.Key, nuop); err != nil {
		return client.IgnoreNotFound(err)
	}
	o.mu.Lock()
	deleting, unmapped := o.deleting, o.spec && len(o.mappings) == 0
	o.mu.Unlock()

	scripts, loaded := o.scriptStatuses()
	var sources []nuopv1alpha1.SourceStatus
	if o.Sources != nil {
		sources = o.Sources()
	}
	conditions := []metav1.Condition{
		o.condition(nuop, nuopv1alpha1.ConditionScriptsLoaded, loaded),
		o.condition(nuop, nuopv1alpha1.ConditionSourcesFetched, sourcesCondition(nuop, sources)),
	}
	switch {
	case deleting:
		conditions[0] = o.releaseCondition(nuop, "the NuOperator is being deleted", nuopv1alpha1.ReasonDeleting)
	case unmapped:
		conditions[0] = o.releaseCondition(nuop, "spec.mappings is empty", nuopv1alpha1.ReasonReleasingFinalizers)
	}
	// A field left out of an apply is released (and so removed): an empty list is left out, never null.
	status := map[string]any{"conditions": toUnstructured(conditions)}
	if len(scripts) > 0 {
		status["scripts"] = toUnstructured(scripts)
	}
	if len(sources) > 0 {
		status["sources"] = toUnstructured(sources)
	}
	o.mu.Lock()
	unchanged := reflect.DeepEqual(o.last, status)
	o.mu.Unlock()
	if unchanged {
		return nil
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": nuopv1alpha1.GroupVersion.String(), "kind": "NuOperator",
		"metadata": map[string]any{"name": o.Key.Name, "namespace": o.Key.Namespace},
		"status":   status,
	}}
	if err := o.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return err
	}
	o.mu.Lock()
	o.last = status
	o.mu.Unlock()
	return nil
}

// releaseCondition is ScriptsLoaded when nothing is to run any more (why): FinalizersReleased once the
// engine has stopped every script and released their finalizers, the manager's cue to remove what runs
// this operator; until then the reason busy.
func (o *Operator) releaseCondition(nuop *nuopv1alpha1.NuOperator, why, busy string) metav1.Condition {
	c := metav1.Condition{Status: metav1.ConditionFalse, Reason: nuopv1alpha1.ReasonFinalizersReleased,
		Message: why + ": every script is stopped and its finalizers released"}
	if !o.Engine.Released() {
		c.Reason, c.Message = busy, why+": stopping the scripts and releasing their finalizers"
	}
	return o.condition(nuop, nuopv1alpha1.ConditionScriptsLoaded, c)
}

// condition fills in what every condition carries: the generation it describes, and the time it last
// changed (kept while its status stays the same).
func (o *Operator) condition(nuop *nuopv1alpha1.NuOperator, typ string, c metav1.Condition) metav1.Condition {
	c.Type = typ
	c.ObservedGeneration = nuop.Generation
	c.LastTransitionTime = metav1.Now()
	if old := meta.FindStatusCondition(nuop.Status.Conditions, typ); old != nil && old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
	}
	return c
}

// scriptStatuses maps the engine's report to the API's, and sums it up as the ScriptsLoaded condition.
func (o *Operator) scriptStatuses() ([]nuopv1alpha1.ScriptStatus, metav1.Condition) {
	statuses := o.Engine.Statuses()
	out := make([]nuopv1alpha1.ScriptStatus, 0, len(statuses))
	worst := metav1.Condition{Status: metav1.ConditionTrue, Reason: nuopv1alpha1.ReasonScriptsLoaded,
		Message: "every mapped script is loaded and runs"}
	var problems []string
	for _, s := range statuses {
		gv, kind, _ := strings.Cut(s.GVK, ", Kind=")
		group, version, found := strings.Cut(gv, "/")
		if !found {
			group, version = "", gv
		}
		st := nuopv1alpha1.ScriptStatus{Name: s.Name, Group: group, Version: version, Kind: kind,
			Finalizer: s.Finalizer, Source: s.Dir, State: apiState(s), Message: s.Message}
		if st.Name == "" {
			st.Name = s.Dir
		}
		out = append(out, st)
		if st.State != nuopv1alpha1.ScriptRunning {
			problems = append(problems, fmt.Sprintf("%s: %s", st.Name, s.Message))
			worst.Status, worst.Reason = metav1.ConditionFalse, reasonFor(st.State)
		}
	}
	if len(out) == 0 {
		return nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: nuopv1alpha1.ReasonLoading,
			Message: "no mapped script is loaded yet"}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(problems) > 0 {
		worst.Message = strings.Join(problems, "; ")
	}
	return out, worst
}

func apiState(s engine.ScriptStatus) nuopv1alpha1.ScriptState {
	switch s.State {
	case engine.StateReady:
		return nuopv1alpha1.ScriptRunning
	case engine.StatePending:
		return nuopv1alpha1.ScriptPending
	case engine.StateDegraded:
		return nuopv1alpha1.ScriptDegraded
	case engine.StateNotFound:
		return nuopv1alpha1.ScriptNotFound
	case engine.StateMismatched:
		return nuopv1alpha1.ScriptMismatched
	default:
		return nuopv1alpha1.ScriptFailed
	}
}

func reasonFor(s nuopv1alpha1.ScriptState) string {
	switch s {
	case nuopv1alpha1.ScriptPending:
		return nuopv1alpha1.ReasonKindNotServed
	case nuopv1alpha1.ScriptDegraded:
		return nuopv1alpha1.ReasonScriptDegraded
	case nuopv1alpha1.ScriptNotFound:
		return nuopv1alpha1.ReasonScriptNotFound
	case nuopv1alpha1.ScriptMismatched:
		return nuopv1alpha1.ReasonScriptMismatched
	default:
		return nuopv1alpha1.ReasonScriptFailed
	}
}

func sourcesCondition(nuop *nuopv1alpha1.NuOperator, sources []nuopv1alpha1.SourceStatus) metav1.Condition {
	if len(nuop.Spec.Sources) == 0 {
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: nuopv1alpha1.ReasonNoSources,
			Message: "no sources: the image's bundled scripts are used"}
	}
	fetched := map[string]nuopv1alpha1.SourceStatus{}
	for _, s := range sources {
		fetched[s.Path] = s
	}
	for _, want := range nuop.Spec.Sources {
		got, ok := fetched[want.Path]
		switch {
		case !ok || (got.Revision == "" && got.LastError == ""):
			return metav1.Condition{Status: metav1.ConditionFalse, Reason: nuopv1alpha1.ReasonFetching,
				Message: fmt.Sprintf("source %s has not been fetched yet", want.Path)}
		case got.LastError != "":
			return metav1.Condition{Status: metav1.ConditionFalse, Reason: nuopv1alpha1.ReasonFetchFailed,
				Message: fmt.Sprintf("source %s: %s", want.Path, got.LastError)}
		}
	}
	return metav1.Condition{Status: metav1.ConditionTrue, Reason: nuopv1alpha1.ReasonSourcesFetched,
		Message: "every source is fetched"}
}

// toUnstructured turns typed status parts into the plain values an unstructured apply carries.
func toUnstructured(v any) any {
	out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&struct {
		V any `json:"v"`
	}{v})
	if err != nil {
		panic(err) // API types always convert
	}
	return out["v"]
}
