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

// Command demo runs nuop on a local control plane it starts itself (`make demo`): etcd and
// kube-apiserver from envtest's binaries in a temporary directory, on free ports, with the CRDs
// installed and a kubeconfig written; the manager, and a standard-mode operator running the example
// scripts, against it; config/samples and the examples' objects applied. Then a git repository served on
// loopback, a NuOperator whose source it is, and that NuOperator's managed operator as a process fetching
// in-process (the control plane has no kubelet to run its Deployment). Then a real Gitea on loopback
// (test/utils/giteaserver, started alongside the control plane), a GiteaProvider connecting to it with
// its admin's token, and an Organization, Team, Repository, BranchProtection, Label and Webhook made through
// it. It shows the scripts working and the Gitea resources Ready, prints what to look at, and stops
// everything on Ctrl-C.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

func main() {
	var c config
	flag.StringVar(&c.assets, "assets", "", "directory holding kube-apiserver and etcd (make envtest)")
	flag.StringVar(&c.manager, "manager", "bin/manager", "the manager binary (make build)")
	flag.StringVar(&c.kubectl, "kubectl", "bin/kubectl", "kubectl (make kubectl)")
	flag.StringVar(&c.kustomize, "kustomize", "bin/kustomize", "kustomize (make kustomize)")
	flag.StringVar(&c.crds, "crds", "config/crd/bases", "directory of the CRDs to install")
	flag.StringVar(&c.samples, "samples", "config/samples", "kustomization of the samples to apply")
	flag.StringVar(&c.scripts, "scripts", "scripts", "script root the standard-mode operator loads")
	flag.StringVar(&c.examples, "examples", "hack/demo/examples.yaml", "objects for the example scripts")
	flag.StringVar(&c.gitContent, "git-content", "hack/demo/git", "what the served git repository holds")
	flag.StringVar(&c.gitNuOperator, "git-nuoperator", "hack/demo/git-nuoperator.yaml",
		"the NuOperator whose source is the served repository (${GIT_URL} and ${GIT_TOKEN} filled in)")
	flag.StringVar(&c.gitea, "gitea", "bin/gitea", "the Gitea server binary (make gitea)")
	flag.StringVar(&c.giteaProvider, "gitea-provider", "hack/demo/gitea-provider.yaml",
		"the GiteaProvider connecting to the demo's Gitea (${GITEA_URL} filled in)")
	flag.StringVar(&c.giteaResources, "gitea-resources", "hack/demo/gitea-resources.yaml",
		"the Gitea resources made through the demo's GiteaProvider (${GITEA_ADMIN} filled in)")
	flag.Parse()
	if os.Getenv(childEnv) == "" {
		os.Exit(superviseChild())
	}
	// Ctrl-C while the demo comes up ends its waits: what has started is stopped, and that is no failure.
	if err := run(c); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// childEnv marks the re-executed demo. The demo runs itself again in a process group of its own because
// a terminal's Ctrl-C goes to the whole foreground group: etcd and kube-apiserver, started by envtest
// without a group of their own, would die at once, before the manager could shut down against them.
// The parent turns Ctrl-C into one SIGTERM for the child, which stops everything in order.
const childEnv = "NUOP_DEMO_CHILD"

func superviseChild() int {
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	forward := make(chan os.Signal, 1)
	signal.Notify(forward, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	child := exec.Command(os.Args[0], os.Args[1:]...)
	child.Env = append(os.Environ(), childEnv+"=1")
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := child.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	go func() {
		for range forward {
			_ = child.Process.Signal(syscall.SIGTERM)
		}
	}()
	_ = child.Wait()
	return child.ProcessState.ExitCode()
}

type config struct {
	assets, manager, kubectl, kustomize, crds, samples, scripts, examples, gitContent, gitNuOperator string
	gitea, giteaProvider, giteaResources                                                             string
}

// The demo's GiteaProvider, as hack/demo/gitea-provider.yaml names it, and the Secret it reads.
const (
	giteaNamespace    = "gitea-demo"
	giteaProviderName = "gitea"
	giteaSecretName   = "gitea-demo-credentials"
)

func run(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "nuop-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// What the demo and its processes put in the temp dir goes under dir, and goes with it: Gitea's work
	// path (the harness makes it with os.MkdirTemp), envtest's etcd data.
	if err := os.Setenv("TMPDIR", dir); err != nil {
		return err
	}

	// Gitea starts (about 2 seconds) while the control plane does.
	gitea, err := startGitea(c.gitea)
	if err != nil {
		return err
	}
	defer gitea.close()

	step("starting etcd and kube-apiserver (envtest binaries from %s)", c.assets)
	env := &envtest.Environment{
		BinaryAssetsDirectory: c.assets,
		// The project's CRDs, and the example Greeting CRD of the greeting script.
		CRDDirectoryPaths: []string{c.crds, filepath.Join(c.scripts, "greeting", "crd")},
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		step("stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "demo: stopping the control plane: %v\n", err)
		}
	}()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := utils.WriteKubeconfig(env, cfg, kubeconfig); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	step("API server at %s; %d CRDs installed", cfg.Host, len(env.CRDs))

	// The manager (NuOperator, Gitea) and a standard-mode operator running the example scripts.
	// The image its NuOperators' Deployments run; the demo's control plane has no kubelet to run them.
	// The demo's Gitea is on loopback, the only address its Gitea providers need.
	mgr, err := startProcess(dir, "manager", c.manager, kubeconfig, []string{"--gitea-allowed-hosts", "127.0.0.1"},
		"NUOP_IMAGE=nuop:demo")
	if err != nil {
		return err
	}
	defer mgr.stop()
	scriptsDir, err := filepath.Abs(c.scripts)
	if err != nil {
		return err
	}
	// The scripts call kubectl; the image has it on PATH.
	pathEnv := "PATH=" + filepath.Dir(c.kubectl) + string(os.PathListSeparator) + os.Getenv("PATH")
	std, err := startProcess(dir, "standard", c.manager, kubeconfig,
		[]string{"--mode", "standard", "--script-path", scriptsDir}, pathEnv)
	if err != nil {
		return err
	}
	defer std.stop()
	for _, p := range []*process{mgr, std} {
		if err := p.waitReady(); err != nil {
			return err
		}
		step("%s ready", p.name)
	}

	if err := applySamples(c, kubeconfig); err != nil {
		return err
	}
	if err := kubectlApply(c, kubeconfig, c.examples); err != nil {
		return err
	}
	step("waiting for the example scripts to act on %s", c.examples)
	if err := waitForOutput(ctx, c, kubeconfig, "hello from the demo",
		"-n", "demo-a", "get", "configmap", "demo-settings", "-o", "jsonpath={.data.greeting}"); err != nil {
		return fmt.Errorf("config-replicator did not copy demo-settings into demo-a (see %s): %w", std.logFile, err)
	}
	step("config-replicator copied default/demo-settings into demo-a and demo-b")
	if err := waitForOutput(ctx, c, kubeconfig, "Hello, World",
		"-n", "default", "get", "greeting", "world", "-o", "jsonpath={.status.message}"); err != nil {
		return fmt.Errorf("greeting did not write the status of greeting/world (see %s): %w", std.logFile, err)
	}
	step("greeting wrote status.message of greeting/world")

	repo, err := serveGit(filepath.Join(dir, "git"), c.gitContent)
	if err != nil {
		return err
	}
	defer repo.stop()
	step("serving %s as the git repository %s (token authentication)", c.gitContent, repo.url)
	if err := applyTemplate(c, kubeconfig, c.gitNuOperator, map[string]string{
		"GIT_URL": repo.url, "GIT_TOKEN": repo.token}); err != nil {
		return err
	}
	// Out of a cluster the managed operator fetches in-process, reading the Secret through the API.
	mgd, err := startProcess(dir, "managed", c.manager, kubeconfig, []string{"--mode", "managed",
		"--nuoperator", "default/git-demo", "--sources-path", filepath.Join(dir, "sources"),
		"--script-path", scriptsDir, "--leader-election-id", "git-demo-nuop"}, pathEnv)
	if err != nil {
		return err
	}
	defer mgd.stop()
	if err := mgd.waitReady(); err != nil {
		return err
	}
	step("managed ready: the managed operator of NuOperator default/git-demo")
	if err := waitForOutput(ctx, c, kubeconfig, "hello from a script fetched from git",
		"-n", "default", "get", "configmap", "git-demo", "-o", "jsonpath={.data.greeting}"); err != nil {
		return fmt.Errorf("fetched-greeter did not write data.greeting of git-demo (see %s): %w", mgd.logFile, err)
	}
	step("fetched-greeter, fetched from git, wrote data.greeting of default/git-demo")
	status := `jsonpath=ScriptsLoaded={.status.conditions[?(@.type=="ScriptsLoaded")].status} ` +
		`SourcesFetched={.status.conditions[?(@.type=="SourcesFetched")].status} revision={.status.sources[0].revision}`
	if err := waitForOutput(ctx, c, kubeconfig, "ScriptsLoaded=True SourcesFetched=True revision="+repo.revision,
		"-n", "default", "get", "nuoperator", "git-demo", "-o", status); err != nil {
		return fmt.Errorf("the status of NuOperator git-demo (see %s): %w", mgd.logFile, err)
	}
	step("NuOperator default/git-demo: ScriptsLoaded=True SourcesFetched=True revision=%s", repo.revision)

	srv, resources, err := setUpGitea(ctx, c, kubeconfig, gitea, mgr.logFile)
	if err != nil {
		return err
	}
	repoURL := repositoryURL(resources, srv.URL)

	k := fmt.Sprintf("%s --kubeconfig %s", c.kubectl, kubeconfig)
	fmt.Printf(`
nuop is running on a local control plane: the manager, a standard-mode operator running the example
scripts of %[5]s, and the managed operator of NuOperator git-demo, whose source is the git repository
%[8]s holding %[9]s. A Gitea runs at %[12]s, GiteaProvider %[13]s/%[14]s is Ready on it, and so are the
Organization, Team, Repository, BranchProtection, Label and Webhook of %[19]s.
Try, in another terminal:

  %[1]s get configmaps -A -l app.kubernetes.io/managed-by=nuop      # copies made by config-replicator
  %[1]s -n default label configmap demo-settings nuop.kemper.buzz/replicate-   # unmatch: finalizer released
  %[1]s -n default get configmap demo-labelled --show-labels          # labels added by label-enforcer
  %[1]s get greetings -A                                              # status written by greeting
  %[1]s get nuoperators -A                                            # READY is False: no kubelet runs their pods
  %[1]s -n default get nuoperator git-demo -o jsonpath='{.status}'    # ScriptsLoaded, SourcesFetched, revision
  %[1]s -n default get configmap git-demo -o jsonpath='{.data.greeting}'   # written by the fetched script
  %[1]s get events -A --field-selector reason!=LeaderElection
  %[1]s -n default get leases                                         # each operator holds its lease
  %[1]s get giteaproviders -A -o wide                                 # default/gitea, of config/samples, has no Secret
  %[1]s -n %[13]s describe giteaprovider %[14]s                       # its conditions and events
  %[1]s get gitea -n %[13]s                                           # the provider and the resources made through it
  %[1]s get gitea -n %[13]s -o wide                                   # with the reasons, the hook id, the repository's URL
  curl -s http://%[2]s/readyz; curl -s http://%[3]s/ready             # probes (also /healthz, /health)
  curl -s http://%[4]s/metrics | grep ^nuop_                          # the script engine's metrics
  curl -s http://%[15]s/metrics | grep ^gitea_client_requests_total   # the manager's calls to Gitea
  tail -f %[6]s %[7]s %[10]s %[16]s

Edit a script under %[5]s and watch it reload. Edit the greeting in
%[11]s/scripts/fetched-greeter/mod.nu, then
  git -C %[11]s commit -am 'a new greeting' && git -C %[11]s push origin main
and the managed operator fetches it at its next poll (30s); the ConfigMap git-demo gets the new greeting
at its next requeue (30s), or at once when it changes.

Gitea: open %[12]s in a browser and sign in as %[17]s, password %[18]s
(this Gitea is built without its web assets, so its pages are unstyled). The demo's repository is
  %[20]s
its branch protection, label and webhook under its Settings and Issues, Labels. Change one of them in Gitea
and the operator puts it back at its next sync (10m), or at once after
  %[1]s -n %[13]s annotate %[21]s gitea.kemper.buzz/sync-requested-at="$(date +%%s)" --overwrite
Its API answers
  curl -s %[12]s/api/v1/version

Press Ctrl-C to stop everything; nothing is left behind.
`, k, mgr.probes, std.probes, std.metrics, scriptsDir, mgr.logFile, std.logFile, repo.url, c.gitContent,
		mgd.logFile, repo.work, srv.URL, giteaNamespace, giteaProviderName, mgr.metrics,
		filepath.Join(srv.WorkPath, "gitea.log"), srv.AdminUser, srv.AdminPassword, c.giteaResources, repoURL,
		syncExample(resources))

	select {
	case <-ctx.Done():
		_ = interrupted(ctx)
		return nil
	case err := <-mgr.exited:
		mgr.exited <- err
		return fmt.Errorf("the manager exited unexpectedly (%v); its log: %s", err, mgr.logFile)
	case err := <-std.exited:
		std.exited <- err
		return fmt.Errorf("the standard-mode operator exited unexpectedly (%v); its log: %s", err, std.logFile)
	case err := <-mgd.exited:
		mgd.exited <- err
		return fmt.Errorf("the managed operator exited unexpectedly (%v); its log: %s", err, mgd.logFile)
	}
}

// setUpGitea waits for the demo's Gitea, applies the GiteaProvider connecting to it and waits until it is
// Ready, then applies the Gitea resources and waits until they are Ready. managerLog is where to look when
// they do not get Ready.
func setUpGitea(ctx context.Context, c config, kubeconfig string, gitea *pendingGitea, managerLog string) (
	*giteaserver.Server, []giteaResource, error) {
	srv, err := gitea.wait()
	if err != nil {
		return nil, nil, err
	}
	step("Gitea %s at %s (site admin %s; log: %s)", srv.Version, srv.URL, srv.AdminUser,
		filepath.Join(srv.WorkPath, "gitea.log"))
	if err := applyGiteaProvider(c, kubeconfig, srv); err != nil {
		return nil, nil, err
	}
	providerStatus := `jsonpath=Ready={.status.conditions[?(@.type=="Ready")].status} ` +
		`reason={.status.conditions[?(@.type=="Ready")].reason} version={.status.version} user={.status.user} ` +
		`siteAdmin={.status.siteAdmin}`
	want := fmt.Sprintf("Ready=True reason=Connected version=%s user=%s siteAdmin=true", srv.Version, srv.AdminUser)
	if err := waitForOutput(ctx, c, kubeconfig, want,
		"-n", giteaNamespace, "get", "giteaprovider", giteaProviderName, "-o", providerStatus); err != nil {
		return nil, nil, fmt.Errorf("GiteaProvider %s/%s did not become Ready (see %s): %w", giteaNamespace,
			giteaProviderName, managerLog, err)
	}
	step("GiteaProvider %s/%s: %s", giteaNamespace, giteaProviderName, want)
	resources, err := applyGiteaResources(ctx, c, kubeconfig, srv)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (see %s)", err, managerLog)
	}
	return srv, resources, nil
}

// process is one nuop process the demo runs.
type process struct {
	name, logFile, probes, metrics string
	cmd                            *exec.Cmd
	exited                         chan error
}

// startProcess runs the manager binary against the demo's API server on free ports, logging to a file.
func startProcess(dir, name, binary, kubeconfig string, args []string, env ...string) (*process, error) {
	p := &process{name: name, logFile: filepath.Join(dir, name+".log"), exited: make(chan error, 1)}
	var err error
	if p.probes, err = utils.FreeAddr(); err != nil {
		return nil, err
	}
	if p.metrics, err = utils.FreeAddr(); err != nil {
		return nil, err
	}
	log, err := os.Create(p.logFile)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary, append([]string{
		"--kubeconfig", kubeconfig,
		"--leader-elect", "--leader-election-namespace", "default",
		"--health-probe-bind-address", p.probes,
		"--metrics-bind-address", p.metrics, "--metrics-secure=false"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	// Stopped with the demo should the demo itself be killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	step("starting the %s (log: %s)", name, p.logFile)
	if err := p.cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		p.exited <- p.cmd.Wait()
		_ = log.Close()
	}()
	return p, nil
}

func (p *process) waitReady() error {
	if err := utils.WaitForStatus("http://"+p.probes+"/readyz", 200, time.Minute); err != nil {
		return fmt.Errorf("the %s did not become ready (see %s): %w", p.name, p.logFile, err)
	}
	return nil
}

// stop sends SIGTERM and waits for the graceful shutdown; SIGKILL if it takes too long.
func (p *process) stop() {
	step("stopping the %s", p.name)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			fmt.Fprintf(os.Stderr, "demo: %s: %v\n", p.name, err)
		}
	case <-time.After(3 * time.Minute):
		_ = p.cmd.Process.Kill()
		fmt.Fprintf(os.Stderr, "demo: the %s did not stop within 3 minutes and was killed: %v\n", p.name, <-p.exited)
	}
}

func kubectlApply(c config, kubeconfig, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return kubectlApplyData(c, kubeconfig, file, data)
}

// applyTemplate applies file with ${NAME} replaced by vars[NAME].
func applyTemplate(c config, kubeconfig, file string, vars map[string]string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return kubectlApplyData(c, kubeconfig, file, []byte(os.Expand(string(data), func(name string) string {
		return vars[name]
	})))
}

// kubectlApplyData applies manifests (what names them in an error).
func kubectlApplyData(c config, kubeconfig, what string, manifests []byte) error {
	apply := exec.Command(c.kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "-")
	apply.Stdin = bytes.NewReader(manifests)
	apply.Stdout, apply.Stderr = os.Stdout, os.Stderr
	if err := apply.Run(); err != nil {
		return fmt.Errorf("applying %s: %w", what, err)
	}
	return nil
}

// interrupted says the demo is stopping, and returns ctx's error.
func interrupted(ctx context.Context) error {
	fmt.Println()
	step("stopping")
	return ctx.Err()
}

// waitForOutput polls a kubectl command until its output is want, for a minute at most, or until ctx ends
// (Ctrl-C).
func waitForOutput(ctx context.Context, c config, kubeconfig, want string, args ...string) error {
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		out, err := exec.Command(c.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		last = strings.TrimSpace(string(out))
		if err == nil && last == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return interrupted(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("kubectl %s: got %q, want %q", strings.Join(args, " "), last, want)
}

// applySamples applies config/samples when it holds any object.
func applySamples(c config, kubeconfig string) error {
	out, err := exec.Command(c.kustomize, "build", c.samples).Output()
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", c.samples, err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		step("config/samples holds no objects yet")
		return nil
	}
	return kubectlApplyData(c, kubeconfig, c.samples, out)
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

// pendingGitea is a Gitea starting in the background.
type pendingGitea struct {
	done chan struct{}
	srv  *giteaserver.Server
	err  error
}

// startGitea starts a Gitea from binary with the tests' harness: a site admin and their token, its work
// path in the temp dir. Wait for it with wait; close stops it, however far it got.
func startGitea(binary string) (*pendingGitea, error) {
	// The harness runs the binary from its work path.
	binary, err := filepath.Abs(binary)
	if err != nil {
		return nil, err
	}
	// Said now rather than once the rest is up.
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("the Gitea binary: %w: run `make gitea`", err)
	}
	step("starting Gitea (%s)", binary)
	p := &pendingGitea{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// The API's usual page size, not the tests' 5.
		p.srv, p.err = giteaserver.Start(ctx, giteaserver.Options{Binary: binary, PageSize: 50})
	}()
	return p, nil
}

func (p *pendingGitea) wait() (*giteaserver.Server, error) {
	<-p.done
	if p.err != nil {
		return nil, fmt.Errorf("starting Gitea: %w", p.err)
	}
	return p.srv, nil
}

// close stops Gitea (its whole process group) and removes its work path.
func (p *pendingGitea) close() {
	<-p.done
	if p.srv == nil {
		return
	}
	step("stopping Gitea")
	if err := p.srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: stopping Gitea: %v\n", err)
	}
}

// applyGiteaProvider creates the demo's namespace and the Secret holding the Gitea admin's token, then
// applies the GiteaProvider of c.giteaProvider connecting to srv.
func applyGiteaProvider(c config, kubeconfig string, srv *giteaserver.Server) error {
	// The token goes through kubectl's stdin, not its command line.
	secret := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: %[2]s
  namespace: %[1]s
stringData:
  token: %[3]s
`, giteaNamespace, giteaSecretName, srv.AdminToken)
	if err := kubectlApplyData(c, kubeconfig, "the namespace and Secret of the GiteaProvider", []byte(secret)); err != nil {
		return err
	}
	return applyTemplate(c, kubeconfig, c.giteaProvider, map[string]string{"GITEA_URL": srv.URL})
}

// giteaResource is what the demo reads of a managed Gitea resource: the fields of every kind's status it
// shows (each kind's status.atProvider has some of them).
type giteaResource struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		ID         int64              `json:"id"`
		Conditions []metav1.Condition `json:"conditions"`
		AtProvider struct {
			Username     string `json:"username"`
			Organization string `json:"organization"`
			Owner        string `json:"owner"`
			Name         string `json:"name"`
			Repository   string `json:"repository"`
			RuleName     string `json:"ruleName"`
			URL          string `json:"url"`
			HTMLURL      string `json:"htmlURL"`
		} `json:"atProvider"`
	} `json:"status"`
}

// condition is the status of the condition of type t: True, False, or "-" when there is none yet.
func (r *giteaResource) condition(t string) string {
	if c := apimeta.FindStatusCondition(r.Status.Conditions, t); c != nil {
		return string(c.Status)
	}
	return "-"
}

// inGitea says which Gitea object the resource stands for.
func (r *giteaResource) inGitea() string {
	a := r.Status.AtProvider
	switch r.Kind {
	case "Organization":
		return fmt.Sprintf("organization %s (id %d)", a.Username, r.Status.ID)
	case "Team":
		return fmt.Sprintf("team %s of %s (id %d)", a.Name, a.Organization, r.Status.ID)
	case "Repository":
		return fmt.Sprintf("repository %s/%s (id %d)", a.Owner, a.Name, r.Status.ID)
	case "BranchProtection":
		return fmt.Sprintf("rule %s of %s", a.RuleName, a.Repository)
	case "Label":
		return fmt.Sprintf("label %s of %s (id %d)", a.Name, a.Repository, r.Status.ID)
	case "Webhook":
		return fmt.Sprintf("hook %d of %s%s to %s", r.Status.ID, a.Repository, a.Organization, a.URL)
	}
	return fmt.Sprintf("id %d", r.Status.ID)
}

// notReady says why the resource is not Ready.
func (r *giteaResource) notReady() string {
	c := apimeta.FindStatusCondition(r.Status.Conditions, "Ready")
	if c == nil {
		return fmt.Sprintf("%s %s: no Ready condition yet", r.Kind, r.Metadata.Name)
	}
	return fmt.Sprintf("%s %s: Ready=%s reason=%s: %s", r.Kind, r.Metadata.Name, c.Status, c.Reason, c.Message)
}

// applyGiteaResources applies c.giteaResources, with the Gitea admin's name filled in, and waits until each
// of its objects is Ready (two minutes at most, or until ctx ends: Ctrl-C); it prints them as a table.
func applyGiteaResources(ctx context.Context, c config, kubeconfig string, srv *giteaserver.Server) (
	[]giteaResource, error) {
	data, err := os.ReadFile(c.giteaResources)
	if err != nil {
		return nil, err
	}
	manifests := []byte(os.Expand(string(data), func(name string) string {
		return map[string]string{"GITEA_ADMIN": srv.AdminUser}[name]
	}))
	if err := kubectlApplyData(c, kubeconfig, c.giteaResources, manifests); err != nil {
		return nil, err
	}
	step("waiting for the Gitea resources of %s to be Ready", c.giteaResources)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resources, err := getGiteaResources(c, kubeconfig, manifests)
		var waiting []string
		for i := range resources {
			if resources[i].condition("Ready") != "True" {
				waiting = append(waiting, resources[i].notReady())
			}
		}
		if err == nil && len(waiting) == 0 {
			step("the Gitea resources of %s are Ready:", c.giteaResources)
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
			_, _ = fmt.Fprintln(w, "    KIND\tNAME\tREADY\tSYNCED\tIN GITEA")
			for i := range resources {
				r := &resources[i]
				_, _ = fmt.Fprintf(w, "    %s\t%s\t%s\t%s\t%s\n", r.Kind, r.Metadata.Name, r.condition("Ready"),
					r.condition("Synced"), r.inGitea())
			}
			return resources, w.Flush()
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("the Gitea resources of %s: %w", c.giteaResources, err)
			}
			return nil, fmt.Errorf("the Gitea resources of %s are not Ready after 2 minutes:\n  %s",
				c.giteaResources, strings.Join(waiting, "\n  "))
		}
		select {
		case <-ctx.Done():
			return nil, interrupted(ctx)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// getGiteaResources gets the objects of manifests, in their order.
func getGiteaResources(c config, kubeconfig string, manifests []byte) ([]giteaResource, error) {
	get := exec.Command(c.kubectl, "--kubeconfig", kubeconfig, "get", "-f", "-", "-o", "json")
	get.Stdin = bytes.NewReader(manifests)
	var stderr bytes.Buffer
	get.Stderr = &stderr
	out, err := get.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl get: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var list struct {
		Kind  string          `json:"kind"`
		Items []giteaResource `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("kubectl get: %w", err)
	}
	if list.Kind == "List" {
		return list.Items, nil
	}
	// A single object is printed as itself.
	var one giteaResource
	if err := json.Unmarshal(out, &one); err != nil {
		return nil, fmt.Errorf("kubectl get: %w", err)
	}
	return []giteaResource{one}, nil
}

// repositoryURL is the web address of the first Repository of resources, or of Gitea itself.
func repositoryURL(resources []giteaResource, giteaURL string) string {
	for _, r := range resources {
		if r.Kind == "Repository" && r.Status.AtProvider.HTMLURL != "" {
			return r.Status.AtProvider.HTMLURL
		}
	}
	return giteaURL
}

// syncExample names a resource to ask for a sync, as kubectl's arguments: a Label if there is one.
func syncExample(resources []giteaResource) string {
	if len(resources) == 0 {
		return "organization <name>"
	}
	pick := resources[0]
	for _, r := range resources {
		if r.Kind == "Label" {
			pick = r
		}
	}
	return strings.ToLower(pick.Kind) + " " + pick.Metadata.Name
}

// gitRepo is the repository the demo serves, and its work tree (a push from there is served).
type gitRepo struct {
	url, token, work, revision string
	stop                       func()
}

// serveGit serves a repository holding the files under content with the tests' loopback git server (git
// http-backend), requiring a random token, its files and work tree under dir.
func serveGit(dir, content string) (repo *gitRepo, err error) {
	files := map[string]string{}
	err = filepath.WalkDir(content, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(content, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", content, err)
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}

	h := &harness{dir: dir}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(harnessFailure)
			if !ok {
				panic(r)
			}
			h.cleanUp()
			repo, err = nil, fmt.Errorf("serving the git repository: %s", string(f))
		}
	}()
	token := hex.EncodeToString(secret)
	server := utils.NewGitServer(h, false, "", token)
	r := utils.NewRepo(h, server.Dir, "demo/scripts.git")
	revision := r.Commit("the demo's scripts", files)
	return &gitRepo{url: server.URL("demo/scripts.git"), token: token, work: r.Work(), revision: revision,
		stop: h.cleanUp}, nil
}

// harness lets the demo use the tests' git helpers (utils.T): their temporary directories go under dir,
// and a failure (Fatal) panics with a harnessFailure, which serveGit turns into an error.
type harness struct {
	dir      string
	made     int
	cleanups []func()
}

type harnessFailure string

func (h *harness) Helper() {}

func (h *harness) TempDir() string {
	h.made++
	dir := filepath.Join(h.dir, strconv.Itoa(h.made))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.Fatal(err)
	}
	return dir
}

func (h *harness) Fatal(args ...any) { panic(harnessFailure(fmt.Sprint(args...))) }

func (h *harness) Fatalf(format string, args ...any) {
	panic(harnessFailure(fmt.Sprintf(format, args...)))
}

func (h *harness) Cleanup(f func()) { h.cleanups = append(h.cleanups, f) }

// cleanUp runs the cleanups, the last registered first: the git server stops.
func (h *harness) cleanUp() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
}
