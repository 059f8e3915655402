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

// Package options turns the command line and the environment into the process's configuration.
//
// Every environment variable here is a fallback for a flag, because nuop's Deployments configure the
// operator with env only (NUOP_MODE, NUOP_SCRIPT_PATH, RUST_LOG, LOG_FORMAT, ENABLE_LEADER_ELECTION,
// LEADER_ELECTION_NAMESPACE) and must run our image unchanged. Flags always win. POD_NAME (else
// HOSTNAME) and POD_NAMESPACE also name the process's own Pod.
package options

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/internal/script"
)

// Mode selects what the process runs.
type Mode string

const (
	// ModeManager runs the NuOperator controller, the GiteaProvider controller and the Gitea kinds.
	ModeManager Mode = "manager"
	// ModeStandard runs every script under the script path.
	ModeStandard Mode = "standard"
	// ModeManaged runs the scripts one NuOperator maps; the manager deploys it.
	ModeManaged Mode = "managed"
	// ModeFetch is the managed operator's sidecar that fetches its git sources.
	ModeFetch Mode = "fetch"
)

// Modes lists the valid modes in the order the help text names them.
var Modes = []Mode{ModeManager, ModeStandard, ModeManaged, ModeFetch}

// defaultProbeAddr keeps Kubebuilder's :8081 for the manager, and nuop's :8080 where nuop's own
// Deployments probe it. The fetch sidecar shares a pod with the managed operator, so it needs its own.
var defaultProbeAddr = map[Mode]string{
	ModeManager:  ":8081",
	ModeStandard: ":8080",
	ModeManaged:  ":8080",
	ModeFetch:    ":8082",
}

const (
	// DefaultMaxScriptTimeout caps every script run; graceful shutdown is sized from it.
	DefaultMaxScriptTimeout = 120 * time.Second
	// ShutdownMargin is added to the longest script run for the manager's graceful-shutdown timeout:
	// time to send SIGTERM to what is still running, wait, SIGKILL it and release the lease.
	ShutdownMargin = 15 * time.Second
	// No client-side limit unless asked, as controller-runtime's own config does: the API server's priority
	// and fairness (GA since Kubernetes 1.29) sheds load, and the engine bounds itself (--max-script-processes,
	// 16 writes in flight). A fixed rate would be the engine's bottleneck: 50 a second held 500 write-backs
	// at 8 s where the two cores of the benchmark's machine needed 6 (docs/benchmarks.md).
	DefaultKubeAPIQPS = 0
	// DefaultKubeAPIBurst applies when --kube-api-qps is set.
	DefaultKubeAPIBurst = 100
)

// Options is the whole configuration of one process.
type Options struct {
	Mode         Mode
	Kubeconfig   string
	ScriptPath   string
	MappingsPath string
	// NuOperator is the managed operator's NuOperator, namespace and name.
	NuOperator      types.NamespacedName
	SourcesPath     string
	CredentialsPath string
	// FetchInProcess: the managed operator fetches its NuOperator's sources itself, reading the credential
	// Secrets through the API, as no fetch sidecar does it out of a cluster.
	FetchInProcess bool

	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string

	ProbeAddr       string
	MetricsAddr     string
	MetricsSecure   bool
	MetricsCertPath string
	MetricsCertName string
	MetricsCertKey  string
	EnableHTTP2     bool

	WatchNamespaces    []string
	Instance           string
	MaxScriptProcesses int
	MaxScriptTimeout   time.Duration
	KubeAPIQPS         float64
	KubeAPIBurst       int
	// Image is the managed operators' image when a NuOperator names none (--image, env NUOP_IMAGE). Empty:
	// the manager's own image, read from its Pod (internal/ownimage).
	Image string
	// PodName and PodNamespace name the process's own Pod when known: POD_NAME, else HOSTNAME (a pod's host
	// name is its name unless spec.hostname sets another), and POD_NAMESPACE.
	PodName, PodNamespace string
	// GiteaAllowedHosts restricts the addresses the manager's Gitea clients may connect to.
	GiteaAllowedHosts giteaclient.AllowList

	Zap zap.Options

	// Warnings are problems with the environment that were answered with a default; they are logged
	// once the logger exists.
	Warnings []string
}

// GracefulShutdownTimeout is how long the manager waits for its runnables after SIGTERM.
func (o *Options) GracefulShutdownTimeout() time.Duration {
	return o.MaxScriptTimeout + ShutdownMargin
}

// UsageError is a bad flag or environment value; the process exits 2 on it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ErrHelp is returned when -h or --help was asked for; the usage has been written already.
var ErrHelp = flag.ErrHelp

// Getenv looks a variable up; os.LookupEnv in production, a map in tests.
type Getenv func(key string) (string, bool)

// Parse reads args (without the program name) and the environment. Usage and flag errors are written
// to output. Errors are *UsageError, or ErrHelp.
func Parse(args []string, getenv Getenv, output io.Writer) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(output)

	var mode, watchNamespaces string
	fs.StringVar(&mode, "mode", string(ModeManager), "What to run: "+joinModes(", ")+
		". Env: NUOP_MODE.")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "",
		"Path to a kubeconfig; only needed out of a cluster (default: $KUBECONFIG, then ~/.kube/config).")
	fs.StringVar(&o.ScriptPath, "script-path", "/scripts", "Root of the script directories. Env: NUOP_SCRIPT_PATH.")
	fs.StringVar(&o.MappingsPath, "mappings-path", "/config/mappings",
		"Directory of nuop mapping files (managed mode). Env: NUOP_MAPPINGS_PATH.")
	var nuoperator string
	fs.StringVar(&nuoperator, "nuoperator", "",
		"The NuOperator a managed operator (and its fetch sidecar) serves, as <namespace>/<name>.")
	fs.StringVar(&o.SourcesPath, "sources-path", "/var/run/nuop/sources",
		"Where the fetch sidecar writes the fetched sources and the managed operator loads them from.")
	fs.StringVar(&o.CredentialsPath, "credentials-path", "/var/run/nuop/credentials",
		"Where the fetch sidecar finds the sources' credentials, one directory per source index.")
	fs.BoolVar(&o.FetchInProcess, "fetch-in-process", false,
		"Managed mode: fetch the NuOperator's sources in this process, reading the credential Secrets through the "+
			"API (the development path; in a pod the fetch sidecar does it). Default: true with --nuoperator out of "+
			"a cluster (no KUBERNETES_SERVICE_HOST).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false,
		"Elect a leader among replicas; only the leader reconciles. Env: ENABLE_LEADER_ELECTION.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election lease. Env: LEADER_ELECTION_NAMESPACE, else POD_NAMESPACE; "+
			"in a cluster, the pod's own namespace.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "",
		"Name of the leader election lease (default <mode>.nuop.kemper.buzz); two operators in one namespace need "+
			"different ones. Env: LEADER_ELECTION_ID.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", "",
		"Address of /healthz, /readyz, /health and /ready (default :8081 in manager mode, :8080 in standard "+
			"and managed mode, :8082 in fetch mode; 0 disables).")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", "0",
		"Address of the metrics endpoint, e.g. :8443 (secure) or :8080 (with --metrics-secure=false); 0 disables.")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS, authenticated and authorized through the API server.")
	fs.StringVar(&o.MetricsCertPath, "metrics-cert-path", "",
		"Directory of the metrics server certificate (default: a self-signed one is generated).")
	fs.StringVar(&o.MetricsCertName, "metrics-cert-name", "tls.crt", "Metrics server certificate file name.")
	fs.StringVar(&o.MetricsCertKey, "metrics-cert-key", "tls.key", "Metrics server key file name.")
	fs.BoolVar(&o.EnableHTTP2, "enable-http2", false,
		"Serve metrics over HTTP/2 too; off by default against HTTP/2 stream cancellation and rapid reset CVEs.")
	fs.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces the caches are restricted to (default: all).")
	fs.StringVar(&o.Instance, "instance", "standard",
		"Name of this operator instance in the finalizer owners annotation; instances never release each other's objects.")
	fs.IntVar(&o.MaxScriptProcesses, "max-script-processes", script.DefaultMaxProcesses(),
		"Most nu processes running at once, across all scripts (a nu run peaks near 25 MiB).")
	fs.DurationVar(&o.MaxScriptTimeout, "max-script-timeout", DefaultMaxScriptTimeout,
		"Longest any script run may take; graceful shutdown waits this long plus a margin.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", DefaultKubeAPIQPS,
		"Client-side rate limit of API server requests per second; 0: none, the API server's priority and fairness governs.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", DefaultKubeAPIBurst, "Burst above --kube-api-qps, when that is set.")
	fs.StringVar(&o.Image, "image", "",
		"Manager mode: the image of the managed operators of NuOperators without spec.image. Env: NUOP_IMAGE. "+
			"Default: the manager's own image, read from its Pod (see POD_NAME).")
	var giteaAllowedHosts string
	fs.StringVar(&giteaAllowedHosts, "gitea-allowed-hosts", "",
		"Comma-separated host names, IP addresses and CIDRs the Gitea providers may connect to, checked on the "+
			"resolved address of every connection (proxies included); empty allows all but link-local and cloud "+
			"metadata addresses, which only an address or CIDR entry allows.")
	// Script failures are routine and logged with their reason; a stack trace per failed run only buries
	// them (--zap-stacktrace-level brings them back).
	o.Zap.StacktraceLevel = zapcore.PanicLevel
	o.Zap.BindFlags(fs)

	// Logging env is applied to the zap flags before parsing, so a zap flag on the command line wins.
	o.Warnings = applyLogEnv(fs, &o.Zap, getenv)

	// The flag package prints the whole usage on every error; the caller prints the error alone, and the
	// usage only when it was asked for.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(output)
			printUsage(fs, output)
			return nil, ErrHelp
		}
		return nil, &UsageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("unexpected argument %q: this command takes flags only", fs.Arg(0))
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	envFallback := func(flagName, envName string, target *string) {
		if v, ok := getenv(envName); ok && !set[flagName] && v != "" {
			*target = v
		}
	}
	envFallback("mode", "NUOP_MODE", &mode)
	envFallback("image", "NUOP_IMAGE", &o.Image)
	o.PodName, o.PodNamespace = ownPod(getenv)
	envFallback("script-path", "NUOP_SCRIPT_PATH", &o.ScriptPath)
	envFallback("mappings-path", "NUOP_MAPPINGS_PATH", &o.MappingsPath)
	envFallback("leader-election-namespace", "LEADER_ELECTION_NAMESPACE", &o.LeaderElectionNamespace)
	if o.LeaderElectionNamespace == "" {
		envFallback("leader-election-namespace", "POD_NAMESPACE", &o.LeaderElectionNamespace)
	}
	// Not one of nuop's variables: the way for a Deployment configured by env alone to give its operator a
	// lease of its own, when several share a namespace.
	envFallback("leader-election-id", "LEADER_ELECTION_ID", &o.LeaderElectionID)
	if v, ok := getenv("ENABLE_LEADER_ELECTION"); ok && v != "" && !set["leader-elect"] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usageErrorf("invalid ENABLE_LEADER_ELECTION %q: want true or false", v)
		}
		o.LeaderElect = b
	}

	o.Mode = Mode(strings.ToLower(strings.TrimSpace(mode)))
	if _, ok := defaultProbeAddr[o.Mode]; !ok {
		source := "--mode"
		if !set["mode"] {
			source = "NUOP_MODE"
		}
		return nil, usageErrorf("unknown mode %q (from %s): valid modes are %s", mode, source, joinModes(", "))
	}
	if !set["health-probe-bind-address"] {
		o.ProbeAddr = defaultProbeAddr[o.Mode]
	}
	if err := o.setLeaderElectionID(set["leader-election-id"]); err != nil {
		return nil, err
	}
	o.warnIfUnelected(getenv)
	if nuoperator != "" {
		ns, name, ok := strings.Cut(nuoperator, "/")
		if !ok || validation.IsDNS1123Label(ns) != nil || validation.IsDNS1123Subdomain(name) != nil {
			return nil, usageErrorf("invalid --nuoperator %q: want <namespace>/<name>", nuoperator)
		}
		o.NuOperator = types.NamespacedName{Namespace: ns, Name: name}
		if !set["instance"] {
			// A managed operator's objects are owned by its NuOperator (SCRIPT-PROTOCOL section 5).
			o.Instance = nuoperator
		}
	}
	if o.Mode == ModeFetch && nuoperator == "" {
		return nil, usageErrorf("fetch mode needs --nuoperator <namespace>/<name>")
	}
	if !set["fetch-in-process"] {
		// Every pod has KUBERNETES_SERVICE_HOST (the in-cluster configuration needs it), and a pod the manager
		// made has the fetch sidecar.
		_, inPod := getenv("KUBERNETES_SERVICE_HOST")
		o.FetchInProcess = o.Mode == ModeManaged && nuoperator != "" && !inPod
	} else if o.FetchInProcess && (o.Mode != ModeManaged || nuoperator == "") {
		return nil, usageErrorf("--fetch-in-process needs managed mode and --nuoperator <namespace>/<name>")
	}
	if err := o.validate(watchNamespaces, giteaAllowedHosts); err != nil {
		return nil, err
	}
	return o, nil
}

// setLeaderElectionID defaults the lease name to the mode's, and checks one that was given, naming the flag
// or the variable it came from.
func (o *Options) setLeaderElectionID(fromFlag bool) error {
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = string(o.Mode) + ".nuop.kemper.buzz"
		return nil
	}
	if !o.LeaderElect {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(o.LeaderElectionID); len(errs) > 0 {
		source := "LEADER_ELECTION_ID"
		if fromFlag {
			source = "--leader-election-id"
		}
		return usageErrorf("invalid %s %q: %s", source, o.LeaderElectionID, strings.Join(errs, "; "))
	}
	return nil
}

func (o *Options) validate(watchNamespaces, giteaAllowedHosts string) error {
	allowed, err := giteaclient.ParseAllowList(strings.Split(giteaAllowedHosts, ","))
	if err != nil {
		return &UsageError{msg: err.Error()}
	}
	o.GiteaAllowedHosts = allowed
	for _, ns := range strings.Split(watchNamespaces, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return usageErrorf("invalid --watch-namespaces entry %q: %s", ns, strings.Join(errs, "; "))
		}
		o.WatchNamespaces = append(o.WatchNamespaces, ns)
	}
	if o.MaxScriptProcesses < 1 {
		return usageErrorf("invalid --max-script-processes %d: must be at least 1", o.MaxScriptProcesses)
	}
	if strings.TrimSpace(o.Instance) == "" {
		return usageErrorf("invalid --instance: must not be empty")
	}
	if o.MaxScriptTimeout <= 0 {
		return usageErrorf("invalid --max-script-timeout %s: must be positive", o.MaxScriptTimeout)
	}
	if o.KubeAPIQPS < 0 {
		return usageErrorf("invalid --kube-api-qps %v: must be positive, or 0 for no client-side limit", o.KubeAPIQPS)
	}
	if o.KubeAPIBurst < 1 {
		return usageErrorf("invalid --kube-api-burst %d: must be at least 1", o.KubeAPIBurst)
	}
	return nil
}

// ownPod names the process's own Pod as far as the environment tells: POD_NAME (the Downward API's
// metadata.name), else HOSTNAME, which a container runtime sets to the pod's name unless spec.hostname sets
// another; and POD_NAMESPACE.
func ownPod(getenv Getenv) (name, namespace string) {
	name, _ = getenv("POD_NAME")
	if name == "" {
		name, _ = getenv("HOSTNAME")
	}
	namespace, _ = getenv("POD_NAMESPACE")
	return name, namespace
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	_, _ = fmt.Fprintf(w, `nuop runs Kubernetes operators written in Nushell, and manages Gitea objects.

Usage: manager [flags]

Modes: %s (--mode, else NUOP_MODE, else manager).

Environment, each a fallback for its flag (flags win): NUOP_MODE, NUOP_SCRIPT_PATH, NUOP_MAPPINGS_PATH,
NUOP_IMAGE, ENABLE_LEADER_ELECTION, LEADER_ELECTION_NAMESPACE, POD_NAMESPACE. Logging: LOG_LEVEL (trace,
debug, info, warn, error; else the global level of RUST_LOG) and LOG_FORMAT (plain or json), overridden by
the zap flags; an invalid value is warned about and the default used.

Without --image or NUOP_IMAGE, the manager reads its own Pod (POD_NAME, else HOSTNAME, in POD_NAMESPACE,
else the service account's namespace) and gives managed operators the image of its container "manager"
(or its only container), pinned to the digest the kubelet reports. That needs get on pods in its namespace.

Flags:
`, joinModes(", "))
	fs.PrintDefaults()
}

func joinModes(sep string) string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return strings.Join(names, sep)
}

// logLevels maps nuop's level names to zap levels; logr's V(n) is zap level -n, so trace is V(2).
var logLevels = map[string]zapcore.Level{
	"trace": zapcore.Level(-2),
	"debug": zapcore.DebugLevel,
	"info":  zapcore.InfoLevel,
	"warn":  zapcore.WarnLevel,
	"error": zapcore.ErrorLevel,
}

// applyLogEnv sets the logging defaults from LOG_LEVEL (else RUST_LOG's global level) and LOG_FORMAT.
// A bad value is a warning, not an error: it reaches managed pods through a NuOperator's spec.env,
// where a crash loop would help nobody.
func applyLogEnv(fs *flag.FlagSet, z *zap.Options, getenv Getenv) []string {
	var warnings []string
	levelName, source := "", ""
	if v, ok := getenv("LOG_LEVEL"); ok && strings.TrimSpace(v) != "" {
		levelName, source = v, "LOG_LEVEL"
	} else if v, ok := getenv("RUST_LOG"); ok {
		levelName, source = rustLogGlobalLevel(v), "RUST_LOG"
	}
	level := zapcore.InfoLevel
	if levelName != "" {
		if l, ok := logLevels[strings.ToLower(strings.TrimSpace(levelName))]; ok {
			level = l
		} else {
			warnings = append(warnings, fmt.Sprintf(
				"ignoring %s=%q: want one of trace, debug, info, warn, error; logging at info", source, levelName))
		}
	}
	z.Level = level

	encoder := "console"
	if v, ok := getenv("LOG_FORMAT"); ok && strings.TrimSpace(v) != "" {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "json":
			encoder = "json"
		case "plain":
		default:
			warnings = append(warnings, fmt.Sprintf("ignoring LOG_FORMAT=%q: want json or plain; logging plain", v))
		}
	}
	// The zap-encoder flag's own parser builds the encoder; a value it accepts cannot fail.
	if err := fs.Set("zap-encoder", encoder); err != nil {
		panic(err)
	}
	return warnings
}

// rustLogGlobalLevel returns the global level of an env_logger filter such as "info,my_op=debug": the
// directive without a target. Per-target directives have no meaning here.
func rustLogGlobalLevel(filter string) string {
	for _, directive := range strings.Split(filter, ",") {
		directive = strings.TrimSpace(directive)
		if directive != "" && !strings.Contains(directive, "=") {
			return directive
		}
	}
	return ""
}

// warnIfUnelected warns a process in a pod that elects no leader: each of its replicas would reconcile
// everything. Our Deployments turn leader election on; nuop's deployment guide shows some that do not. The
// fetch sidecar runs in every replica by design.
func (o *Options) warnIfUnelected(getenv Getenv) {
	if _, inPod := getenv("KUBERNETES_SERVICE_HOST"); inPod && !o.LeaderElect && o.Mode != ModeFetch {
		o.Warnings = append(o.Warnings, "leader election is off (--leader-elect, ENABLE_LEADER_ELECTION=true): "+
			"run one replica only, since each replica reconciles everything (scripts run twice, Gitea is written twice)")
	}
}
