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
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/health"
	"kemper.buzz/nuop/internal/source"
)

// Fetch is the fetch sidecar (`--mode fetch`): it follows its NuOperator's sources and keeps them
// fetched into the shared volume, which the managed operator loads scripts from. It alone reads the
// credentials. Out of a cluster the managed operator runs one itself (fetching in-process).
type Fetch struct {
	Key     types.NamespacedName
	Client  client.Client
	Fetcher *source.Fetcher
	// CredentialsPath is where the manager mounts each source's credentials into the sidecar, one directory
	// per index in spec.sources holding nuopv1alpha1.CredentialFiles.
	CredentialsPath string
	// Secrets, when set, is where the credentials are read from instead: the Secrets the sources select,
	// through the API (fetching in-process, the development path).
	Secrets client.Reader
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

// specsOf turns the NuOperator's sources into fetch specs, whose credentials are read before every fetch:
// the kubelet updates a mounted Secret in place, and a Secret read through the API may change too.
func (f *Fetch) specsOf(nuop *nuopv1alpha1.NuOperator) []source.Spec {
	specs := make([]source.Spec, 0, len(nuop.Spec.Sources))
	for i, s := range nuop.Spec.Sources {
		spec := source.Spec{Location: s.Location, Path: s.Path, Interval: s.PollInterval()}
		if s.Credentials != nil {
			spec.LoadCredentials = f.credentialsOf(nuop.Namespace, i, s.Path, s.Credentials.DeepCopy())
		}
		specs = append(specs, spec)
	}
	return specs
}

// credentialsOf reads the credentials c selects for source i at path: from the Secrets through the API with
// Secrets set, otherwise from the files mounted for index i, which must be that source's.
func (f *Fetch) credentialsOf(namespace string, i int, path string,
	c *nuopv1alpha1.Credentials) func(context.Context) (*source.Credentials, error) {
	if f.Secrets != nil {
		return func(ctx context.Context) (*source.Credentials, error) {
			// Token, user name, password and CA usually sit in one Secret: read each Secret once per load.
			read := map[string]*corev1.Secret{}
			return collect(c, func(sel *corev1.SecretKeySelector, _ string) ([]byte, error) {
				secret, seen := read[sel.Name]
				if !seen {
					secret = &corev1.Secret{}
					err := f.Secrets.Get(ctx, client.ObjectKey{Namespace: namespace, Name: sel.Name}, secret)
					if apierrors.IsNotFound(err) {
						return nil, fs.ErrNotExist
					}
					if err != nil {
						return nil, fmt.Errorf("reading Secret %s: %w", sel.Name, err)
					}
					read[sel.Name] = secret
				}
				data, ok := secret.Data[sel.Key]
				if !ok {
					return nil, fs.ErrNotExist
				}
				return data, nil
			})
		}
	}
	dir := filepath.Join(f.CredentialsPath, strconv.Itoa(i))
	return func(context.Context) (*source.Credentials, error) {
		owner, err := os.ReadFile(filepath.Join(dir, nuopv1alpha1.CredentialSourceFile))
		if err == nil && string(owner) != path {
			return nil, fmt.Errorf("the credentials mounted for source %d are those of source %q: this pod was "+
				"made for an earlier spec, and the next one mounts this source's", i, owner)
		}
		return collect(c, func(_ *corev1.SecretKeySelector, file string) ([]byte, error) {
			return os.ReadFile(filepath.Join(dir, file))
		})
	}
}

// collect reads, with read, every key the credentials select (read returns an error wrapping
// fs.ErrNotExist for a missing Secret or key), into the fetcher's Credentials.
func collect(c *nuopv1alpha1.Credentials,
	read func(sel *corev1.SecretKeySelector, file string) ([]byte, error)) (*source.Credentials, error) {
	out := &source.Credentials{}
	fields := map[string]*[]byte{"token": &out.Token, "username": &out.Username, "password": &out.Password,
		"ssh-privatekey": &out.SSHPrivateKey, "known_hosts": &out.KnownHosts, "ca.crt": &out.CABundle}
	for _, f := range nuopv1alpha1.CredentialFiles {
		sel := f.Selector(c)
		if sel == nil {
			continue
		}
		data, err := read(sel, f.File)
		switch {
		case errors.Is(err, fs.ErrNotExist) && sel.Optional != nil && *sel.Optional:
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("key %s of Secret %s is missing (or the Secret is)", sel.Key, sel.Name)
		case err != nil:
			return nil, err
		}
		*fields[f.File] = data
	}
	return out, nil
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
