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

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/test/bench/benchproc"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// Names of the benchmark's objects.
const (
	namespace    = "bench"
	providerName = "gitea"
	secretName   = "gitea-credentials"
	orgName      = "bench"
	pollEvery    = 250 * time.Millisecond
)

// The kinds, in the order their sync cycles are measured.
var kinds = []string{"Organization", "Repository", "Webhook", "Label"}

// harness holds the parts of one run.
type harness struct {
	c          config
	tmp        string
	kubeconfig string
	env        *envtest.Environment
	kube       client.Client
	gitea      *giteaserver.Server
	mgr        *benchproc.Manager
}

// run sets everything up, measures, and tears everything down again, whatever happened (Ctrl-C included:
// ctx is then cancelled and every wait returns).
func run(ctx context.Context, c config) (res *result, err error) {
	tmp, err := os.MkdirTemp("", "nuop-bench-gitea-")
	if err != nil {
		return nil, err
	}
	h := &harness{c: c, tmp: tmp, kubeconfig: filepath.Join(tmp, "kubeconfig")}
	defer func() {
		if h.gitea != nil {
			if c.keep || err != nil {
				// Gitea's work path is removed by Close: keep its log beside the manager's.
				if data, readErr := os.ReadFile(filepath.Join(h.gitea.WorkPath, "gitea.log")); readErr == nil {
					_ = os.WriteFile(filepath.Join(tmp, "gitea.log"), data, 0o644)
				}
			}
			benchproc.Step("closing gitea")
			if closeErr := h.gitea.Close(); closeErr != nil && err == nil {
				err = fmt.Errorf("closing gitea: %w", closeErr)
			}
		}
		if c.keep || err != nil {
			fmt.Fprintf(os.Stderr, "bench-gitea: kept %s (kubeconfig, manager.log, gitea.log)\n", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()

	manager := c.manager
	if manager == "" {
		benchproc.Step("building the manager (go build ./cmd)")
		if manager, err = utils.BuildManager(tmp); err != nil {
			return nil, err
		}
	}
	benchproc.Step("starting envtest (kube-apiserver, etcd) with the CRDs")
	defer func() {
		if h.env == nil {
			return
		}
		benchproc.Step("stopping envtest")
		if stopErr := h.env.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping envtest: %w", stopErr)
		}
	}()
	if err := h.startCluster(); err != nil {
		return nil, err
	}
	benchproc.Step(fmt.Sprintf("starting gitea (API page size %d)", c.pageSize))
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	h.gitea, err = giteaserver.Start(startCtx, giteaserver.Options{PageSize: c.pageSize})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("starting gitea: %w", err)
	}
	if h.mgr, err = startManager(ctx, manager, h.kubeconfig, tmp); err != nil {
		return nil, err
	}
	defer h.mgr.Stop()
	return h.measure(ctx)
}

func (h *harness) startCluster() error {
	env, err := utils.NewEnvironment("config/crd/bases")
	if err != nil {
		return err
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting envtest: %w", err)
	}
	h.env = env
	if err := utils.WriteKubeconfig(env, cfg, h.kubeconfig); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := giteav1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	// The harness's own client is not what is measured: no client-side rate limit.
	hc := rest.CopyConfig(cfg)
	hc.QPS, hc.Burst = -1, 0
	h.kube, err = client.New(hc, client.Options{Scheme: scheme})
	return err
}

// measure runs the benchmark proper on the running parts.
func (h *harness) measure(ctx context.Context) (*result, error) {
	res := &result{c: h.c, giteaVersion: h.gitea.Version, cycle: map[string]requests{}}
	if err := h.setUp(ctx, res); err != nil {
		return nil, err
	}
	if err := h.applyAll(ctx, res); err != nil {
		return nil, err
	}
	// One sync cycle with nothing changed, kind by kind, so that the requests can be told apart by kind.
	for _, kind := range kinds {
		if err := h.syncCycle(ctx, res, kind); err != nil {
			return nil, err
		}
	}
	for _, k := range kinds {
		n, err := h.ready(ctx, k)
		if err != nil {
			return nil, err
		}
		res.readyAtEnd += n
	}
	return res, nil
}

// setUp creates the namespace, the token Secret, the GiteaProvider and the Organization, and waits for
// them to be Ready.
func (h *harness) setUp(ctx context.Context, res *result) error {
	if err := h.kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	if err := h.kube.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace},
		StringData: map[string]string{"token": h.gitea.AdminToken}}); err != nil {
		return err
	}
	provider := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Name: providerName, Namespace: namespace},
		Spec: giteav1alpha1.GiteaProviderSpec{URL: h.gitea.URL,
			Credentials: giteav1alpha1.ProviderCredentials{SecretRef: giteav1alpha1.LocalObjectReference{Name: secretName}}}}
	// Unset: the CRD's defaults.
	provider.Spec.QPS, provider.Spec.Burst = int32(h.c.qps), int32(h.c.burst) //nolint:gosec // small flag values
	if err := h.kube.Create(ctx, provider); err != nil {
		return err
	}
	benchproc.Step("waiting for the GiteaProvider to be Ready")
	if err := h.waitFor(ctx, "the GiteaProvider to be Ready", func() (bool, error) {
		err := h.kube.Get(ctx, client.ObjectKeyFromObject(provider), provider)
		return err == nil && meta.IsStatusConditionTrue(provider.Status.Conditions, giteav1alpha1.ConditionReady), err
	}); err != nil {
		return err
	}
	if provider.Spec.SyncInterval != nil {
		res.syncInterval = provider.Spec.SyncInterval.Duration
	}
	res.qps, res.burst = provider.Spec.QPS, provider.Spec.Burst
	org := &giteav1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: orgName, Namespace: namespace},
		Spec: giteav1alpha1.OrganizationSpec{ResourceSpec: resourceSpec(), Account: giteav1alpha1.Account{Username: orgName}}}
	if err := h.kube.Create(ctx, org); err != nil {
		return err
	}
	benchproc.Step("waiting for the Organization to be Ready")
	return h.waitFor(ctx, "the Organization to be Ready", func() (bool, error) {
		n, err := h.ready(ctx, "Organization")
		return n == 1, err
	})
}

// applyAll applies the Repositories, Webhooks and Labels and waits until all are Ready, counting the
// Gitea requests.
func (h *harness) applyAll(ctx context.Context, res *result) error {
	// Apply: N Repositories, N Webhooks, N Labels, all at once (the dependents wait for their Repository).
	before, err := managerRequests(h.mgr)
	if err != nil {
		return err
	}
	benchproc.Step(fmt.Sprintf("applying %d Repositories, %d Webhooks, %d Labels", h.c.n, h.c.n, h.c.n))
	start := time.Now()
	if err := h.apply(ctx); err != nil {
		return err
	}
	res.applied = time.Since(start)
	total := 3*h.c.n + 1
	last := -1
	if err := h.waitFor(ctx, "the resources to be Ready", func() (bool, error) {
		n := 0
		for _, k := range kinds {
			r, err := h.ready(ctx, k)
			if err != nil {
				return false, err
			}
			n += r
		}
		if n/50 != last/50 || n == total {
			benchproc.Step(fmt.Sprintf("%d of %d resources Ready", n, total))
			last = n
		}
		return n == total, nil
	}); err != nil {
		return err
	}
	res.readyAfter = time.Since(start)
	if err := sleep(ctx, h.c.settle); err != nil {
		return err
	}
	after, err := managerRequests(h.mgr)
	if err != nil {
		return err
	}
	res.apply = after.sub(before)
	return nil
}

// syncCycle requests a sync of every resource of kind, waits until each has synced and counts the Gitea
// requests.
func (h *harness) syncCycle(ctx context.Context, res *result, kind string) error {
	benchproc.Step(fmt.Sprintf("requesting a sync of every %s", kind))
	before, err := managerRequests(h.mgr)
	if err != nil {
		return err
	}
	synced, err := h.lastSyncTimes(ctx, kind)
	if err != nil {
		return err
	}
	// lastSyncTime has a resolution of a second: the new one must be a later second than the old.
	if err := sleep(ctx, time.Until(latest(synced).Add(1100*time.Millisecond))); err != nil {
		return err
	}
	if err := h.requestSync(ctx, kind, synced); err != nil {
		return err
	}
	if err := h.waitFor(ctx, "every "+kind+" to sync", func() (bool, error) {
		now, err := h.lastSyncTimes(ctx, kind)
		if err != nil {
			return false, err
		}
		for name, t := range synced {
			if !now[name].After(t) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	if err := sleep(ctx, h.c.settle); err != nil {
		return err
	}
	after, err := managerRequests(h.mgr)
	if err != nil {
		return err
	}
	res.cycle[kind] = after.sub(before)
	res.counts = append(res.counts, len(synced))
	return nil
}

func resourceSpec() giteav1alpha1.ResourceSpec {
	return giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: providerName}}
}

// apply creates the Repositories, Webhooks and Labels with a few workers.
func (h *harness) apply(ctx context.Context) error {
	objs := make([]client.Object, 0, 3*h.c.n)
	for i := range h.c.n {
		name := fmt.Sprintf("repo-%03d", i)
		ref := giteav1alpha1.RepositoryReference{RepositoryRef: &giteav1alpha1.LocalObjectReference{Name: name}}
		objs = append(objs,
			&giteav1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
				Spec: giteav1alpha1.RepositorySpec{ResourceSpec: resourceSpec(),
					OrganizationRef: &giteav1alpha1.LocalObjectReference{Name: orgName}, Name: giteav1alpha1.RepositoryName(name),
					Description: ptr("benchmark repository " + strconv.Itoa(i))}},
			&giteav1alpha1.Webhook{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
				Spec: giteav1alpha1.WebhookSpec{ResourceSpec: resourceSpec(), RepositoryReference: ref, Type: "gitea",
					URL: "http://127.0.0.1:9/hooks/" + name, ContentType: ptr("json"),
					Events: &[]giteav1alpha1.WebhookEvent{"push"}, Active: ptr(true)}},
			&giteav1alpha1.Label{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
				Spec: giteav1alpha1.LabelSpec{ResourceSpec: resourceSpec(),
					RepositoryParent: giteav1alpha1.RepositoryParent{RepositoryReference: ref}, Name: "kind/bug",
					Color: ptr("#ee0701"), Description: ptr("Something is not working")}})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, h.c.workers)
	for range h.c.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) || ctx.Err() != nil {
					return
				}
				if err := h.kube.Create(ctx, objs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("applying the resources: %w", err)
	}
	return ctx.Err()
}

// list lists the resources of a kind.
func (h *harness) list(ctx context.Context, kind string) ([]giteav1alpha1.Managed, error) {
	var out []giteav1alpha1.Managed
	switch kind {
	case "Organization":
		var l giteav1alpha1.OrganizationList
		if err := h.kube.List(ctx, &l, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "Repository":
		var l giteav1alpha1.RepositoryList
		if err := h.kube.List(ctx, &l, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "Webhook":
		var l giteav1alpha1.WebhookList
		if err := h.kube.List(ctx, &l, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case "Label":
		var l giteav1alpha1.LabelList
		if err := h.kube.List(ctx, &l, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unknown kind %s", kind)
	}
	return out, nil
}

// ready counts the resources of a kind that are Ready.
func (h *harness) ready(ctx context.Context, kind string) (int, error) {
	objs, err := h.list(ctx, kind)
	n := 0
	for _, o := range objs {
		if meta.IsStatusConditionTrue(o.ManagedStatus().Conditions, giteav1alpha1.ConditionReady) {
			n++
		}
	}
	return n, err
}

// lastSyncTimes is every resource's status.lastSyncTime of a kind, by name.
func (h *harness) lastSyncTimes(ctx context.Context, kind string) (map[string]time.Time, error) {
	objs, err := h.list(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(objs))
	for _, o := range objs {
		var t time.Time
		if s := o.ManagedStatus().LastSyncTime; s != nil {
			t = s.Time
		}
		out[o.GetName()] = t
	}
	return out, nil
}

// requestSync sets the sync-request annotation on every named resource of a kind.
func (h *harness) requestSync(ctx context.Context, kind string, names map[string]time.Time) error {
	objs, err := h.list(ctx, kind)
	if err != nil {
		return err
	}
	value := strconv.FormatInt(time.Now().UnixNano(), 10)
	patch := client.RawPatch(types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, giteav1alpha1.SyncRequestAnnotation, value))
	for _, o := range objs {
		if _, ok := names[o.GetName()]; !ok {
			continue
		}
		if err := h.kube.Patch(ctx, o.(client.Object), patch); err != nil {
			return fmt.Errorf("annotating %s %s: %w", kind, o.GetName(), err)
		}
	}
	return nil
}

// waitFor polls done until it says true, the timeout passes, the manager exits or ctx ends.
func (h *harness) waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(h.c.timeout)
	for {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w waiting for %s after %s; the manager's log:\n%s", errTimeout, what, h.c.timeout, h.mgr.LogTail())
		}
		select {
		case <-time.After(pollEvery):
		case <-h.mgr.Exited:
			return fmt.Errorf("the manager exited (%v) while waiting for %s; its log:\n%s", h.mgr.Cmd.ProcessState, what, h.mgr.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func latest(ts map[string]time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// errTimeout says something did not happen in time.
var errTimeout = errors.New("timed out")
