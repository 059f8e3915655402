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

package nuop

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/yaml"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

const (
	// testImage is the manager's own image in the suite.
	testImage = "registry.example/nuop:v0.0.0-test"
	// testMaxScriptTimeout gives the pods a grace period of 90s + 30s.
	testMaxScriptTimeout = 90 * time.Second
	// pausedLabel keeps a NuOperator's own events away from the running controller, so that a test can
	// prepare what the controller finds (a Deployment nuop left) before it looks.
	pausedLabel = "test.nuop.kemper.buzz/paused"
	// managerUser is who the manager runs as: bound to config/rbac/role.yaml only.
	managerUser = "nuop-manager-under-test"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	scheme    *runtime.Scheme
	k8sClient client.Client
	ctx       context.Context
	cancel    context.CancelFunc
	// testClock is the controller's clock; the deletion handshake's time-out test moves it.
	testClock *clocktesting.FakePassiveClock
	// testReconciler is the running controller's reconciler; tests call Reconcile to force passes.
	testReconciler *Reconciler
	testRegistry   *prometheus.Registry
)

func TestNuOperatorController(t *testing.T) {
	ginkgorun.Specs(t, "NuOperator Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	var err error
	testEnv, err = utils.NewEnvironment("config/crd/bases")
	Expect(err).NotTo(HaveOccurred())
	// Setting blockOwnerDeletion needs update on nuoperators/finalizers: the admission plugin checks it.
	testEnv.ControlPlane.GetAPIServer().Configure().
		Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	scheme = runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(nuopv1alpha1.AddToScheme(scheme))
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The manager runs with the ClusterRole its RBAC markers generate, and nothing else: what it lacks, or
	// would grant without holding, fails here as it would in a cluster.
	root, err := utils.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "manager-under-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: managerUser}},
	})).To(Succeed())
	user, err := testEnv.AddUser(envtest.User{Name: managerUser}, cfg)
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(user.Config(), ctrl.Options{
		Scheme:                 scheme,
		Cache:                  CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	testClock = clocktesting.NewFakePassiveClock(time.Now())
	testRegistry = prometheus.NewRegistry()
	testReconciler, err = setup(mgr, Options{
		Image:            testImage,
		MaxScriptTimeout: testMaxScriptTimeout,
		Clock:            testClock,
		Registry:         testRegistry,
	}, predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[pausedLabel] != "true" }))
	Expect(err).NotTo(HaveOccurred())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
