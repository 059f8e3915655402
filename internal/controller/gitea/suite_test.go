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

package gitea

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// The suite runs the GiteaProvider controller on a real kube-apiserver (envtest) against a real Gitea
// started on loopback (test/utils/giteaserver), with --gitea-allowed-hosts 127.0.0.1 so the allow-list is
// exercised.

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	ctx       context.Context
	cancel    context.CancelFunc
	gitea     *giteaserver.Server
	clients   *giteaclient.Cache
	registry  *prometheus.Registry
	// logs holds everything the controllers logged, for the test that no secret ever appears there.
	logs lockedBuffer
)

const (
	eventually = 60 * time.Second
	poll       = 200 * time.Millisecond
)

func TestGitea(t *testing.T) {
	ginkgorun.Specs(t, "Gitea Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, &logs)), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	gitea = giteaserver.StartT(GinkgoT(), giteaserver.Options{})

	var err error
	testEnv, err = utils.NewEnvironment("config/crd/bases")
	Expect(err).NotTo(HaveOccurred())
	testEnv.ErrorIfCRDPathMissing = true
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	// Stopped after AfterSuite, whatever its checks found, so no API server outlives the suite.
	DeferCleanup(func() {
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(giteav1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	byObject := map[client.Object]cache.ByObject{}
	maps.Copy(byObject, CacheByObject())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: byObject},
	})
	Expect(err).NotTo(HaveOccurred())

	registry = prometheus.NewRegistry()
	metrics, err := giteaclient.NewMetrics(registry)
	Expect(err).NotTo(HaveOccurred())
	allowed, err := giteaclient.ParseAllowList([]string{"127.0.0.1"})
	Expect(err).NotTo(HaveOccurred())
	clients = giteaclient.NewCache()
	Expect(SetupProviderWithManager(ctx, mgr, clients, ProviderOptions{AllowedHosts: allowed, Metrics: metrics,
		ManagedKinds: ManagedKinds()})).To(Succeed())
	Expect(SetupManagedWithManager(ctx, mgr, clients, ManagedOptions{Registry: registry})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if k8sClient != nil {
		expectNoCredentialLeaked()
	}
})

// lockedBuffer is a bytes.Buffer the logger and a test can share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var nsSeq int

// newNamespace creates a namespace for one test.
func newNamespace() string {
	nsSeq++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gitea-%d", nsSeq)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// fresh reads o again from the API server, into a new object.
func fresh[T client.Object](o T) T {
	got := o.DeepCopyObject().(T)
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
	return got
}

// update applies edit to a fresh copy of o and writes it, again on a conflict: the controllers write the
// status (which moves the resourceVersion) at any time.
func update[T client.Object](o T, edit func(T)) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := fresh(o)
		edit(got)
		return k8sClient.Update(ctx, got)
	})).To(Succeed())
}
