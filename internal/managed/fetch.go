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
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/health"
	"kemper.buzz/nuop/internal/source"
)

// Credential file names under <credentials path>/<source index>/, as the manager mounts the Secret keys
// a source's credentials select (only into the fetch sidecar).
const (
	credToken         = "token"
	credUsername      = "username"
	credPassword      = "password"
	credSSHPrivateKey = "ssh-privatekey"
	credKnownHosts    = "known_hosts"
	credCABundle      = "ca.crt"
)

// Fetch is the fetch sidecar (`--mode fetch`): it follows its NuOperator's sources and keeps them
// fetched into the shared volume, which the managed operator loads scripts from. It alone reads the
// credentials.
type Fetch struct {
	Key             types.NamespacedName
	Client          client.Client
	Fetcher         *source.Fetcher
	CredentialsPath string
	// Ready opens once every source has been tried at least once.
	Ready *health.Gate
	Log   logr.Logger

	mu  sync.Mutex
	ctx context.Context
	// sources are those the running fetch loop follows.
	sources []nuopv1alpha1.Source
	stopRun context.CancelFunc
	runDone chan struct{}
}

// NeedLeaderElection is false: every pod's sidecar fills its own pod's volume.
func (f *Fetch) NeedLeaderElection() bool { return false }

// Start holds the context the fetch loops run under until the process stops.
func (f *Fetch) Start(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
	<-ctx.Done()
	f.stop()
	return nil
}

// Reconcile restarts the fetch loop when the NuOperator's sources change. Their credentials are read
// before every fetch, so a rotated Secret needs no restart.
func (f *Fetch) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	nuop := &nuopv1alpha1.NuOperator{}
	if err := f.Client.Get(ctx, f.Key, nuop); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	sources := nuop.Spec.Sources
	f.mu.Lock()
	runCtx := f.ctx
	same := f.stopRun != nil && reflect.DeepEqual(sources, f.sources)
	f.mu.Unlock()
	if runCtx == nil {
		return reconcile.Result{RequeueAfter: time.Second}, nil // not started yet: try again soon
	}
	if same {
		return reconcile.Result{}, nil
	}
	f.stop()
	specs := f.specsOf(nuop)
	if len(specs) == 0 {
		f.Ready.Open()
	} else {
		f.Ready.Close("fetching the sources for the first time")
	}
	ctx, cancel := context.WithCancel(runCtx)
	done := make(chan struct{})
	f.mu.Lock()
	f.sources, f.stopRun, f.runDone = sources, cancel, done
	f.mu.Unlock()
	f.Log.Info("fetching sources", "count", len(specs))
	go func() {
		defer close(done)
		if err := f.Fetcher.Run(ctx, specs); err != nil {
			f.Log.Error(err, "fetching sources")
		}
	}()
	return reconcile.Result{}, nil
}

// OnChange opens the readiness gate once every source has a revision or an error to report.
func (f *Fetch) OnChange(states []source.State) {
	for _, s := range states {
		if s.Revision == "" && s.LastError == "" {
			return
		}
	}
	f.Ready.Open()
}

func (f *Fetch) stop() {
	f.mu.Lock()
	cancel, done := f.stopRun, f.runDone
	f.stopRun, f.runDone, f.sources = nil, nil, nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// specsOf turns the NuOperator's sources into fetch specs, whose credentials are read from the files the
// manager mounted for each source before every fetch: the kubelet updates a Secret volume in place.
func (f *Fetch) specsOf(nuop *nuopv1alpha1.NuOperator) []source.Spec {
	specs := make([]source.Spec, 0, len(nuop.Spec.Sources))
	for i, s := range nuop.Spec.Sources {
		spec := source.Spec{Location: s.Location, Path: s.Path, Interval: s.PollInterval()}
		if s.Credentials != nil {
			dir := filepath.Join(f.CredentialsPath, strconv.Itoa(i))
			spec.LoadCredentials = func(context.Context) (*source.Credentials, error) { return readCredentials(dir) }
		}
		specs = append(specs, spec)
	}
	return specs
}

func readCredentials(dir string) (*source.Credentials, error) {
	c := &source.Credentials{}
	for name, target := range map[string]*[]byte{
		credToken: &c.Token, credUsername: &c.Username, credPassword: &c.Password,
		credSSHPrivateKey: &c.SSHPrivateKey, credKnownHosts: &c.KnownHosts, credCABundle: &c.CABundle,
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		*target = data
	}
	return c, nil
}

// SourceStatuses reads the fetch sidecar's state file for the managed operator's status report.
func SourceStatuses(sourcesPath string) []nuopv1alpha1.SourceStatus {
	states, err := source.ReadState(sourcesPath)
	if err != nil {
		return nil
	}
	out := make([]nuopv1alpha1.SourceStatus, 0, len(states))
	for _, s := range states {
		st := nuopv1alpha1.SourceStatus{Path: s.Path, Location: s.Location, Revision: s.Revision, LastError: s.LastError}
		if !s.FetchedAt.IsZero() {
			t := metav1.NewTime(s.FetchedAt)
			st.LastFetchTime = &t
		}
		out = append(out, st)
	}
	return out
}
