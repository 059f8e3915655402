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

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/test/utils"
)

var _ = Describe("managed mode", Ordered, func() {
	const replicatorFinalizer = "nuop.kemper.buzz/config-replicator"
	var (
		c       client.Client
		ns      string
		session *gexec.Session
		key     client.ObjectKey
	)

	scriptsLoaded := func() *metav1.Condition {
		n := &nuopv1alpha1.NuOperator{}
		Expect(c.Get(context.Background(), key, n)).To(Succeed())
		return meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded)
	}
	scriptStates := func() map[string]nuopv1alpha1.ScriptState {
		n := &nuopv1alpha1.NuOperator{}
		Expect(c.Get(context.Background(), key, n)).To(Succeed())
		out := map[string]nuopv1alpha1.ScriptState{}
		for _, s := range n.Status.Scripts {
			out[s.Name] = s.State
		}
		return out
	}
	setMappings := func(m ...nuopv1alpha1.Mapping) {
		// The manager writes the NuOperator too: an update may lose the optimistic lock.
		Eventually(func() error {
			n := &nuopv1alpha1.NuOperator{}
			Expect(c.Get(context.Background(), key, n)).To(Succeed())
			n.Spec.Mappings = m
			return c.Update(context.Background(), n)
		}).Should(Succeed())
	}

	BeforeAll(func() {
		root, err := utils.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		c = nuopClient()

		ns = createNamespace()
		key = client.ObjectKey{Namespace: ns, Name: "demo"}
		Expect(c.Create(context.Background(), &nuopv1alpha1.NuOperator{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo"},
			Spec: nuopv1alpha1.NuOperatorSpec{Mappings: []nuopv1alpha1.Mapping{
				{Name: "label-enforcer", Version: "v1", Kind: "ConfigMap"}}},
		})).To(Succeed())

		// The manager keeps the Deployment (which nothing runs: envtest has no kubelet) and holds the
		// NuOperator's finalizer; the managed operator it would run is started by hand below.
		managerProbes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		startManager([]string{"NUOP_IMAGE=nuop:e2e"}, "--watch-namespaces="+ns,
			"--health-probe-bind-address="+managerProbes, "--leader-elect", "--leader-election-namespace="+ns)
		Expect(utils.WaitForStatus("http://"+managerProbes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())

		probes, err := utils.FreeAddr()
		Expect(err).NotTo(HaveOccurred())
		bin, err := utils.BinDir()
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.Command(managerBin, "--mode=managed", "--nuoperator="+ns+"/demo", "--kubeconfig="+kubeconfig,
			"--script-path="+filepath.Join(root, "scripts"), "--sources-path="+GinkgoT().TempDir(),
			"--health-probe-bind-address="+probes, "--leader-elect", "--leader-election-namespace="+ns,
			"--leader-election-id=demo-nuop")
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+GinkgoT().TempDir())
		session, err = gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { session.Terminate().Wait(time.Minute) })
		Expect(utils.WaitForStatus("http://"+probes+"/readyz", http.StatusOK, time.Minute)).To(Succeed())
	})

	It("runs the mapped bundled script and reports it in the NuOperator's status", func() {
		ctx := context.Background()
		Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "labelled",
			Labels:      map[string]string{"nuop.kemper.buzz/enforce-labels": "yes"},
			Annotations: map[string]string{"nuop.kemper.buzz/required-labels": "team=platform"}}})).To(Succeed())
		Eventually(func() map[string]string {
			cm := &corev1.ConfigMap{}
			Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "labelled"}, cm)).To(Succeed())
			return cm.Labels
		}).WithTimeout(time.Minute).Should(HaveKeyWithValue("team", "platform"))

		Eventually(scriptsLoaded).WithTimeout(time.Minute).Should(And(Not(BeNil()),
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", nuopv1alpha1.ReasonScriptsLoaded)))
		Expect(scriptStates()).To(Equal(map[string]nuopv1alpha1.ScriptState{"label-enforcer": nuopv1alpha1.ScriptRunning}),
			"only mapped scripts run: the image's other bundled scripts do not")
	})

	It("follows a change of mappings without a restart, and reports a mapping that names the wrong kind", func() {
		start := time.Now()
		setMappings(
			nuopv1alpha1.Mapping{Name: "label-enforcer", Version: "v1", Kind: "ConfigMap"},
			nuopv1alpha1.Mapping{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"},
			nuopv1alpha1.Mapping{Name: "greeting", Version: "v1", Kind: "Secret"},
		)
		Eventually(scriptStates).WithTimeout(time.Minute).Should(Equal(map[string]nuopv1alpha1.ScriptState{
			"label-enforcer":    nuopv1alpha1.ScriptRunning,
			"config-replicator": nuopv1alpha1.ScriptRunning,
			"greeting":          nuopv1alpha1.ScriptMismatched,
		}))
		AddReportEntry("mapping change applied after", time.Since(start).Round(time.Millisecond).String())
		Expect(scriptsLoaded()).To(And(HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", nuopv1alpha1.ReasonScriptMismatched),
			HaveField("Message", ContainSubstring("is for /v1, Kind=Secret, but the script watches examples.kemper.buzz/v1alpha1, Kind=Greeting"))))
		Expect(session).NotTo(gexec.Exit(), "no restart")
	})

	It("releases its scripts' finalizers when every mapping is removed, before the manager removes its Deployment", func() {
		ctx := context.Background()
		finalizersOf := watchFinalizers(c, ns, "unmapped")
		Eventually(finalizersOf).WithTimeout(time.Minute).Should(ContainElement(replicatorFinalizer))
		Eventually(deploymentExists(c, ns)).WithTimeout(time.Minute).Should(BeTrue())

		setMappings()
		Eventually(deploymentExists(c, ns)).WithTimeout(time.Minute).Should(BeFalse())
		Expect(finalizersOf()).NotTo(ContainElement(replicatorFinalizer), "released before the Deployment went")
		n := &nuopv1alpha1.NuOperator{}
		Expect(c.Get(ctx, key, n)).To(Succeed())
		Expect(meta.FindStatusCondition(n.Status.Conditions, nuopv1alpha1.ConditionScriptsLoaded)).To(And(
			HaveField("Reason", nuopv1alpha1.ReasonFinalizersReleased), HaveField("ObservedGeneration", n.Generation)))
		Expect(eventNotes(c, ns, "FinalizersReleased")).To(ConsistOf(
			"removing the managed operator (spec.mappings is empty): the managed operator released its scripts' finalizers"))
		Expect(eventNotes(c, ns, "FinalizersNotReleased")).To(BeEmpty())

		setMappings(nuopv1alpha1.Mapping{Name: "config-replicator", Version: "v1", Kind: "ConfigMap"})
		Eventually(finalizersOf).WithTimeout(time.Minute).Should(ContainElement(replicatorFinalizer))
		Expect(session).NotTo(gexec.Exit(), "no restart")
	})

	It("releases its scripts' finalizers when the NuOperator is deleted, before the manager lets it go", func() {
		ctx := context.Background()
		finalizersOf := watchFinalizers(c, ns, "replicated")
		Eventually(finalizersOf).WithTimeout(time.Minute).Should(ContainElement(replicatorFinalizer))

		n := &nuopv1alpha1.NuOperator{}
		Expect(c.Get(ctx, key, n)).To(Succeed())
		Expect(c.Delete(ctx, n)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(c.Get(ctx, key, n)) }).WithTimeout(time.Minute).Should(BeTrue())
		Expect(finalizersOf()).NotTo(ContainElement(replicatorFinalizer), "released before the NuOperator went")
		Expect(eventNotes(c, ns, "FinalizersReleased")).To(ContainElement(
			"let the NuOperator go: the managed operator released its scripts' finalizers"))
		Expect(eventNotes(c, ns, "FinalizersNotReleased")).To(BeEmpty())

		session.Signal(syscall.SIGTERM)
		Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
	})
})

// watchFinalizers creates a ConfigMap the config-replicator script selects and returns a function reading
// its finalizers.
func watchFinalizers(c client.Client, ns, name string) func() []string {
	ctx := context.Background()
	Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Labels: map[string]string{"nuop.kemper.buzz/replicate": "yes"}}})).To(Succeed())
	return func() []string {
		cm := &corev1.ConfigMap{}
		Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
		return cm.Finalizers
	}
}

// deploymentExists tells whether the managed operator's Deployment the manager keeps for NuOperator demo
// exists.
func deploymentExists(c client.Client, ns string) func() bool {
	return func() bool {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "demo-nuop"}, &appsv1.Deployment{})
		Expect(client.IgnoreNotFound(err)).To(Succeed())
		return err == nil
	}
}

// eventNotes are the notes of the events in ns with reason.
func eventNotes(c client.Client, ns, reason string) []string {
	list := &eventsv1.EventList{}
	Expect(c.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}
