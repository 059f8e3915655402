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
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"kemper.buzz/nuop/internal/procs"
	"kemper.buzz/nuop/internal/script"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

const instance = "engine-test"

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8s       client.Client
	eng       *Engine
	runner    *script.Runner
	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
)

func TestEngine(t *testing.T) {
	ginkgorun.Specs(t, "Engine Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	var err error
	// No CRDs at start: the Widget CRD is installed by a test, after its script has loaded.
	testEnv, err = utils.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	supervisor := procs.NewSupervisor(10 * time.Second)
	Expect(mgr.Add(supervisor)).To(Succeed())
	nu, err := utils.Tool("nu")
	Expect(err).NotTo(HaveOccurred())
	runner = script.NewRunner(supervisor, 4)
	runner.Nu = nu
	eng, err = New(mgr, runner, Options{Instance: instance, MaxScriptTimeout: 30 * time.Second, Registry: prometheus.NewRegistry()})
	Expect(err).NotTo(HaveOccurred())
	eng.discovery = flakyDiscovery{DiscoveryInterface: eng.discovery}
	eng.metadata = flakyMetadata{Interface: eng.metadata}
	Expect(mgr.Add(eng)).To(Succeed())

	ctx, cancel := context.WithCancel(context.Background())
	mgrCancel = cancel
	mgrDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if mgrCancel != nil {
		mgrCancel()
		Eventually(mgrDone).WithTimeout(time.Minute).Should(BeClosed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// load loads a fixture script from testdata/scripts.
func load(name string) *script.Script {
	dir, err := filepath.Abs(filepath.Join("testdata", "scripts", name))
	Expect(err).NotTo(HaveOccurred())
	s, err := (&script.Loader{Runner: runner}).Load(context.Background(), dir)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// faults makes the engine's calls to the real API server fail on demand: each counter is how many of the
// next calls of its kind fail. Set them only while the spec that needs them runs.
var faults struct {
	// discovery counts ServerResourcesForGroupVersion calls; lists counts metadata List calls.
	discovery, lists atomic.Int32
}

var errInjected = errors.New("injected by the test: the API server did not answer")

// fail consumes one of a counter's failures, if any is left.
func fail(counter *atomic.Int32) bool {
	for {
		n := counter.Load()
		if n <= 0 {
			return false
		}
		if counter.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

type flakyDiscovery struct{ discovery.DiscoveryInterface }

func (d flakyDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	if fail(&faults.discovery) {
		return nil, errInjected
	}
	return d.DiscoveryInterface.ServerResourcesForGroupVersion(gv)
}

type flakyMetadata struct{ metadata.Interface }

func (m flakyMetadata) Resource(r schema.GroupVersionResource) metadata.Getter {
	return flakyResource{Getter: m.Interface.Resource(r)}
}

type flakyResource struct {
	metadata.Getter
}

func (r flakyResource) Namespace(ns string) metadata.ResourceInterface {
	return flakyNamespaced{ResourceInterface: r.Getter.Namespace(ns)}
}

func (r flakyResource) List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	if fail(&faults.lists) {
		return nil, errInjected
	}
	return r.Getter.List(ctx, opts)
}

type flakyNamespaced struct{ metadata.ResourceInterface }

func (r flakyNamespaced) List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	if fail(&faults.lists) {
		return nil, errInjected
	}
	return r.ResourceInterface.List(ctx, opts)
}
