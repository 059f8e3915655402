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

// Package app wires one process: the controller-runtime manager (leader election, probes, metrics,
// caches, graceful shutdown) and the mode that runs on it.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/zapr"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	giteactrl "kemper.buzz/nuop/internal/controller/gitea"
	nuopctrl "kemper.buzz/nuop/internal/controller/nuop"
	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/internal/health"
	"kemper.buzz/nuop/internal/managed"
	"kemper.buzz/nuop/internal/metricsauth"
	"kemper.buzz/nuop/internal/options"
	"kemper.buzz/nuop/internal/ownimage"
	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/reload"
	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/internal/source"
)

// Exit codes of Main.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Main parses args and the environment, sets up logging and runs until SIGTERM or SIGINT. It returns the
// process exit code. `manager finalizers release` and `manager script test` are commands of their own.
func Main(args []string, getenv options.Getenv, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "finalizers":
			return finalizersMain(ctrl.SetupSignalHandler(), args[1:], stdout, stderr)
		case "script":
			return scriptTestMain(ctrl.SetupSignalHandler(), args[1:], stdout, stderr)
		}
	}
	o, err := options.Parse(args, getenv, stderr)
	if errors.Is(err, options.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\nRun with --help to see the flags.\n", err)
		return ExitUsage
	}
	setupLogging(o, stderr)
	if err := Run(ctrl.SetupSignalHandler(), o, Hooks{}); err != nil {
		ctrl.Log.WithName("setup").Error(err, "exiting")
		return ExitError
	}
	return ExitOK
}

func setupLogging(o *options.Options, stderr io.Writer) {
	o.Zap.DestWriter = stderr
	raw := zap.NewRaw(zap.UseFlagOptions(&o.Zap))
	for _, w := range o.Warnings {
		raw.Warn(w)
	}
	logger := zapr.NewLogger(raw)
	ctrl.SetLogger(logger)
	klog.SetLogger(logger.WithName("client-go"))
}

// Hooks let tests reach into a running process; production leaves them empty.
type Hooks struct {
	// Config replaces the kubeconfig lookup.
	Config *rest.Config
	// Started is called with the supervisor once the manager is built, before it starts.
	Started func(*procs.Supervisor)
	// SkipControllerNameValidation lets a test process build several managers with the same controllers.
	SkipControllerNameValidation bool
}

// Run builds the manager for o.Mode and runs it until ctx ends. It returns nil after a clean shutdown.
func Run(ctx context.Context, o *options.Options, hooks Hooks) error {
	setupLog := ctrl.Log.WithName("setup")
	cfg := hooks.Config
	if cfg == nil {
		var err error
		if cfg, err = restConfig(o.Kubeconfig); err != nil {
			return fmt.Errorf("finding the API server: %w", err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(o.KubeAPIQPS), o.KubeAPIBurst
	if o.KubeAPIQPS == 0 {
		cfg.QPS = -1 // client-go's "no limit"; its 0 means a limit of 5
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(nuopv1alpha1.AddToScheme(scheme))
	utilruntime.Must(giteav1alpha1.AddToScheme(scheme))

	metricsOpts, certWatcher, err := metricsServerOptions(o)
	if err != nil {
		return err
	}
	shutdownTimeout := o.GracefulShutdownTimeout()
	mgrOpts := ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsOpts,
		// The probes are served by internal/health, on more paths than controller-runtime's server has.
		HealthProbeBindAddress:  "0",
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        o.LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// Released only after every runnable has returned, so no child process outlives the lease.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &shutdownTimeout,
	}
	if hooks.SkipControllerNameValidation {
		mgrOpts.Controller.SkipNameValidation = &hooks.SkipControllerNameValidation
	}
	if len(o.WatchNamespaces) > 0 {
		mgrOpts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.WatchNamespaces {
			mgrOpts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	if o.Mode == options.ModeManager {
		// Owned Deployments, ServiceAccounts, Roles and RoleBindings: only those the manager made.
		mgrOpts.Cache.ByObject = nuopctrl.CacheByObject()
		maps.Copy(mgrOpts.Cache.ByObject, giteactrl.CacheByObject())
	}
	if o.NuOperator.Name != "" {
		// A managed operator may read its own NuOperator only (RBAC by resource name): its cache holds that
		// one object, listed and watched with a metadata.name field selector.
		mgrOpts.Cache.ByObject = map[client.Object]cache.ByObject{&nuopv1alpha1.NuOperator{}: {
			Namespaces: map[string]cache.Config{o.NuOperator.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", o.NuOperator.Name),
		}}
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		if o.LeaderElect && strings.Contains(err.Error(), "leader election namespace") {
			return fmt.Errorf("leader election needs a namespace out of a cluster: set --leader-election-namespace, "+
				"LEADER_ELECTION_NAMESPACE or POD_NAMESPACE (%w)", err)
		}
		return fmt.Errorf("creating the manager: %w", err)
	}
	if certWatcher != nil {
		if err := mgr.Add(certWatcher); err != nil {
			return err
		}
	}

	supervisor := procs.NewSupervisor(o.MaxScriptTimeout)
	if err := mgr.Add(supervisor); err != nil {
		return err
	}

	probes := health.NewServer()
	probes.AddLivenessCheck("ping", healthz.Ping)
	probes.AddReadinessCheck("caches", health.CacheSynced(mgr.GetCache().WaitForCacheSync))
	loaded := health.NewGate(string(o.Mode) + " mode is starting")
	probes.AddReadinessCheck("loaded", loaded.Check)
	if o.LeaderElect {
		probes.AddReadinessCheck("lease", newLeaseAccess(mgr.GetClient(), o.LeaderElectionNamespace,
			o.LeaderElectionID, setupLog).Check)
	}
	if o.ProbeAddr != "0" && o.ProbeAddr != "" {
		server, err := probes.Runnable(o.ProbeAddr)
		if err != nil {
			return fmt.Errorf("serving probes on %s: %w", o.ProbeAddr, err)
		}
		if err := mgr.Add(server); err != nil {
			return err
		}
	}

	if err := setupMode(ctx, mgr, o, modeDeps{supervisor: supervisor, probes: probes, loaded: loaded}); err != nil {
		return err
	}
	if hooks.Started != nil {
		hooks.Started(supervisor)
	}

	setupLog.Info("starting", "mode", o.Mode, "leaderElection", o.LeaderElect, "probes", o.ProbeAddr,
		"metrics", o.MetricsAddr, "watchNamespaces", o.WatchNamespaces)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	setupLog.Info("stopped cleanly")
	return nil
}

// restConfig loads an explicit kubeconfig, else what controller-runtime finds ($KUBECONFIG, in-cluster,
// ~/.kube/config).
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// modeDeps is what every mode gets from the process.
type modeDeps struct {
	supervisor *procs.Supervisor
	probes     *health.Server
	loaded     *health.Gate
}

// setupMode registers what the mode runs. The gate opens once it is loaded; until then /readyz says why.
func setupMode(ctx context.Context, mgr manager.Manager, o *options.Options, deps modeDeps) error {
	switch o.Mode {
	case options.ModeManager:
		image, noImageReason := managedImage(ctx, mgr.GetAPIReader(), o)
		return whenCRDsServed(mgr, deps.loaded, func() error {
			if err := nuopctrl.SetupWithManager(mgr, nuopctrl.Options{
				Image:            image,
				NoImageReason:    noImageReason,
				MaxScriptTimeout: o.MaxScriptTimeout,
			}); err != nil {
				return err
			}
			if err := setupGitea(mgr, o); err != nil {
				return err
			}
			// Others-group runnables start after the caches have synced: the manager is loaded then.
			return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
				deps.loaded.Open()
				<-ctx.Done()
				return nil
			}))
		})
	case options.ModeStandard:
		_, _, err := setupScripts(mgr, o, deps, []string{o.ScriptPath}, nil)
		return err
	case options.ModeManaged:
		return setupManaged(mgr, o, deps)
	default:
		return setupFetch(mgr, o, deps)
	}
}

// managedImage is the image of the managed operators of NuOperators without spec.image: --image (NUOP_IMAGE),
// else the manager's own, read from its Pod, so that a manager deployed with NUOP_MODE alone (nuop's guide)
// deploys them. When neither is known it returns "" and why, which the NoImage condition repeats.
func managedImage(ctx context.Context, reader client.Reader, o *options.Options) (image, whyNot string) {
	if o.Image != "" {
		return o.Image, ""
	}
	log := ctrl.Log.WithName("setup")
	image, pod, err := ownimage.Lookup{Reader: reader, PodName: o.PodName, PodNamespace: o.PodNamespace}.Image(ctx)
	if err != nil {
		log.Info("NUOP_IMAGE is unset and the manager could not read its own image: a NuOperator without "+
			"spec.image gets Ready=False, reason NoImage", "reason", err.Error())
		return "", err.Error()
	}
	log.Info("NUOP_IMAGE is unset: NuOperators without spec.image run the manager's own image", "image", image,
		"pod", pod.String())
	return image, ""
}

// setupGitea registers the Gitea controllers, which share one client per provider.
func setupGitea(mgr manager.Manager, o *options.Options) error {
	metrics, err := giteaclient.NewMetrics(crmetrics.Registry)
	if err != nil {
		return err
	}
	clients := giteaclient.NewCache()
	err = giteactrl.SetupProviderWithManager(context.Background(), mgr, clients, giteactrl.ProviderOptions{
		AllowedHosts: o.GiteaAllowedHosts,
		Metrics:      metrics,
		ManagedKinds: giteactrl.ManagedKinds(),
	})
	if err == nil {
		err = giteactrl.SetupManagedWithManager(context.Background(), mgr, clients, giteactrl.ManagedOptions{})
	}
	return err
}

// setupFetch is the fetch sidecar: it keeps its NuOperator's sources fetched into --sources-path.
func setupFetch(mgr manager.Manager, o *options.Options, deps modeDeps) error {
	deps.loaded.Close("reading the NuOperator's sources")
	return addFetch(mgr, o, deps.loaded, nil)
}

// addFetch keeps the NuOperator's sources fetched into --sources-path, opening ready once each was tried,
// with the credentials mounted under --credentials-path or, with secrets, read from their Secrets.
func addFetch(mgr manager.Manager, o *options.Options, ready *health.Gate, secrets client.Reader) error {
	log := ctrl.Log.WithName("fetch")
	fetch := &managed.Fetch{
		Key:             o.NuOperator,
		Client:          mgr.GetClient(),
		Fetcher:         &source.Fetcher{Root: o.SourcesPath, Log: log},
		CredentialsPath: o.CredentialsPath,
		Secrets:         secrets,
		Ready:           ready,
		Log:             log,
	}
	fetch.Fetcher.OnChange = fetch.OnChange
	if err := mgr.Add(fetch); err != nil {
		return err
	}
	// Every replica's sidecar fills its own pod's volume: no leader election here.
	everyReplica := false
	return ctrl.NewControllerManagedBy(mgr).Named("nuoperator-sources").
		For(&nuopv1alpha1.NuOperator{}).
		WithOptions(controller.Options{NeedLeaderElection: &everyReplica}).
		Complete(fetch)
}

// setupManaged runs the scripts its NuOperator's mappings name (or, without --nuoperator, nuop-style
// mapping files), from the fetched sources and the image's bundled scripts, and reports them in the
// NuOperator's status.
func setupManaged(mgr manager.Manager, o *options.Options, deps modeDeps) error {
	fileMappings, warnings, errs := managed.LoadMappingFiles(o.MappingsPath)
	for _, w := range warnings {
		ctrl.Log.WithName("setup").Info(w)
	}
	for _, err := range errs {
		ctrl.Log.WithName("setup").Error(err, "mapping file skipped")
	}
	op := &managed.Operator{
		Key:          o.NuOperator,
		Client:       mgr.GetClient(),
		FileMappings: fileMappings,
		Sources:      func() []nuopv1alpha1.SourceStatus { return managed.SourceStatuses(o.SourcesPath) },
		Log:          ctrl.Log.WithName("managed"),
	}
	// A fetched source shadows a bundled script of the same name (nuop's minimal example fetches the
	// replicator the image bundles).
	loader, eng, err := setupScripts(mgr, o, deps, []string{o.SourcesPath, o.ScriptPath}, op.Select)
	if err != nil {
		return err
	}
	op.Engine, op.Reload = eng, loader.Trigger
	if o.NuOperator.Name == "" {
		return nil
	}
	// Every replica follows the mappings (a standby must load what it would run); only the leader reports.
	everyReplica := false
	if err := ctrl.NewControllerManagedBy(mgr).Named("nuoperator-mappings").
		For(&nuopv1alpha1.NuOperator{}).
		WithOptions(controller.Options{NeedLeaderElection: &everyReplica}).
		Complete(op); err != nil {
		return err
	}
	if o.FetchInProcess {
		ctrl.Log.WithName("setup").Info("fetching the sources in this process, reading their credentials from " +
			"the Secrets through the API: the development path out of a cluster, where no fetch sidecar runs")
		fetched := health.NewGate("fetching the NuOperator's sources")
		deps.probes.AddReadinessCheck("sources", fetched.Check)
		if err := addFetch(mgr, o, fetched, mgr.GetAPIReader()); err != nil {
			return err
		}
	}
	return mgr.Add(op)
}

// setupScripts runs the scripts under roots on an engine, reloading on change; selectScripts, when not
// nil, chooses what runs among them.
func setupScripts(mgr manager.Manager, o *options.Options, deps modeDeps, roots []string,
	selectScripts func([]*script.Script) ([]*script.Script, []engine.ScriptStatus)) (*reload.Loader, *engine.Engine, error) {
	runner := script.NewRunner(deps.supervisor, o.MaxScriptProcesses)
	// What runs is the copy of each script taken when it loaded, not what is on disk now (an edit that fails
	// to load must not run); the loader removes the copies when it stops.
	runner.Snapshots = &script.Snapshots{}
	if o.Kubeconfig != "" {
		// Out of a cluster, a script's kubectl talks to the API server the operator was pointed at (in a
		// pod both use the in-cluster configuration).
		kubeconfig, err := filepath.Abs(o.Kubeconfig)
		if err != nil {
			return nil, nil, err
		}
		runner.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	}
	eng, err := engine.New(mgr, runner, engine.Options{
		Instance:         o.Instance,
		MaxScriptTimeout: o.MaxScriptTimeout,
		Registry:         crmetrics.Registry,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := mgr.Add(eng); err != nil {
		return nil, nil, err
	}
	deps.loaded.Close("loading scripts from " + strings.Join(roots, ", "))
	loader := &reload.Loader{
		Roots:  roots,
		Loader: &script.Loader{Runner: runner, Snapshots: runner.Snapshots},
		Engine: eng,
		Select: selectScripts,
		Loaded: deps.loaded,
		Log:    ctrl.Log.WithName("scripts"),
	}
	deps.probes.AddReadinessCheck("scripts", func(req *http.Request) error {
		if !eng.Synced(req.Context()) {
			return errors.New("the caches of the running scripts have not synced yet")
		}
		return nil
	})
	return loader, eng, mgr.Add(loader)
}

// metricsServerOptions is Kubebuilder's secure metrics setup: HTTPS with authentication and
// authorization through the API server (TokenReview, SubjectAccessReview: internal/metricsauth, not
// controller-runtime's filter, for the binary's size), HTTP/2 off unless asked.
func metricsServerOptions(o *options.Options) (metricsserver.Options, *certwatcher.CertWatcher, error) {
	var tlsOpts []func(*tls.Config)
	if !o.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	opts := metricsserver.Options{
		BindAddress:   o.MetricsAddr,
		SecureServing: o.MetricsSecure,
		TLSOpts:       tlsOpts,
	}
	if o.MetricsSecure {
		opts.FilterProvider = metricsauth.Provider
	}
	if o.MetricsCertPath == "" {
		return opts, nil, nil
	}
	watcher, err := certwatcher.New(
		filepath.Join(o.MetricsCertPath, o.MetricsCertName),
		filepath.Join(o.MetricsCertPath, o.MetricsCertKey),
	)
	if err != nil {
		return opts, nil, fmt.Errorf("loading the metrics certificate from %s: %w", o.MetricsCertPath, err)
	}
	opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.GetCertificate = watcher.GetCertificate })
	return opts, watcher, nil
}
