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
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// kindFixture is what the behaviours every kind shares (adoption, the create-pending marker, ObserveOnly,
// deletion policies, conflicts, waiting for the provider, deletion with the namespace) need to know of one
// kind. key names the Gitea object of one test, unique among the kind's tests; each kind names its objects
// apart from the others'.
type kindFixture struct {
	// prepare makes what the object needs in Gitea (its repository, its organization, its user).
	prepare func(key string)
	// newCR is a resource for the object in namespace ns, not yet created, with managed fields that
	// createInGitea leaves different. It may create what the resource needs in ns (a password's Secret).
	newCR func(ns, key string) client.Object
	// drift is the managed fields where newCR and createInGitea differ, as status.drift lists them.
	drift []string
	// createInGitea makes the object straight through Gitea's API.
	createInGitea func(key string)
	// deleteInGitea deletes it straight through Gitea's API.
	deleteInGitea func(key string)
	// count is how many such objects Gitea has (a duplicate shows as 2).
	count func(key string) int
}

// createCR creates o with its common spec edited.
func createCR(o client.Object, edit func(*giteav1alpha1.ResourceSpec, client.Object)) client.Object {
	if edit != nil {
		edit(o.(giteav1alpha1.Managed).ManagedSpec(), o)
	}
	Expect(k8sClient.Create(ctx, o)).To(Succeed())
	return o
}

// itBehavesAsAManagedKind declares the shared behaviours of one kind, in the Describe it is called from.
func itBehavesAsAManagedKind(f kindFixture) {
	It("adopts an existing object without duplicating it, and leaves it when deleted (unset policy)", func() {
		ns := readyProvider()
		f.prepare("adopt")
		f.createInGitea("adopt")
		o := createCR(f.newCR(ns, "adopt"), nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(statusOfCR(o).Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(eventReasonsOf(o)).To(ContainElement("Adopted"))
		Expect(f.count("adopt")).To(Equal(1))
		deleteCR(o)
		Expect(f.count("adopt")).To(Equal(1), "an adopted object is orphaned by default")
	})

	It("after a crash between create and status write, counts the object as created, not adopted, and deletes it", func() {
		ns := readyProvider()
		f.prepare("crash")
		// The create reached Gitea, the status write did not: the marker is still on the resource.
		f.createInGitea("crash")
		o := createCR(f.newCR(ns, "crash"), func(_ *giteav1alpha1.ResourceSpec, o client.Object) {
			o.SetAnnotations(map[string]string{giteav1alpha1.CreatePendingAnnotation: "2026-11-24T00:00:00Z"})
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(statusOfCR(o).Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(f.count("crash")).To(Equal(1))
		Eventually(func() map[string]string { statusOfCR(o); return o.GetAnnotations() }, eventually, poll).
			ShouldNot(HaveKey(giteav1alpha1.CreatePendingAnnotation))
		deleteCR(o)
		Expect(f.count("crash")).To(Equal(0), "what the resource created is deleted with it")
	})

	It("with ObserveOnly reports an absent object NotFound without creating it, and drift without correcting it", func() {
		ns := readyProvider()
		f.prepare("observe")
		o := createCR(f.newCR(ns, "observe"), func(s *giteav1alpha1.ResourceSpec, _ client.Object) {
			s.ManagementPolicy = giteav1alpha1.ManagementObserveOnly
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(f.count("observe")).To(Equal(0))

		f.createInGitea("observe")
		before := writes(ns)
		requestSync(o)
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Drifted"))
		Expect(conditionOf(o, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(statusOfCR(o).Drift).To(Equal(f.drift))
		Expect(conditionMessage(o, giteav1alpha1.ConditionSynced)).To(HavePrefix("Gitea differs from the spec in " + strings.Join(f.drift, ", ")))
		requestSync(o)
		Expect(writes(ns)).To(Equal(before), "ObserveOnly wrote to Gitea")

		deleteCR(o)
		Expect(f.count("observe")).To(Equal(1), "ObserveOnly never deletes")
	})

	It("honours deletionPolicy Delete for an adopted object and Orphan for a created one, and never hangs on one already gone", func() {
		ns := readyProvider()
		for _, key := range []string{"del", "orphan", "vanished"} {
			f.prepare(key)
		}
		f.createInGitea("del")
		del := createCR(f.newCR(ns, "del"), func(s *giteav1alpha1.ResourceSpec, _ client.Object) {
			s.DeletionPolicy = giteav1alpha1.DeletionDelete
		})
		orphan := createCR(f.newCR(ns, "orphan"), func(s *giteav1alpha1.ResourceSpec, _ client.Object) {
			s.DeletionPolicy = giteav1alpha1.DeletionOrphan
		})
		vanished := createCR(f.newCR(ns, "vanished"), nil)
		for _, o := range []client.Object{del, orphan, vanished} {
			Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		Expect(statusOfCR(del).Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(statusOfCR(orphan).Origin).To(Equal(giteav1alpha1.OriginCreated))
		f.deleteInGitea("vanished")
		for _, o := range []client.Object{del, orphan, vanished} {
			deleteCR(o)
		}
		Expect(f.count("del")).To(Equal(0))
		Expect(f.count("orphan")).To(Equal(1))
	})

	It("gives Conflict to the later of two resources claiming one object, in any namespace", func() {
		f.prepare("twice")
		first := createCR(f.newCR(readyProvider(), "twice"), nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(statusOfCR(first).Identity).To(HavePrefix(strings.TrimSuffix(gitea.URL, "/") + " "))
		second := createCR(f.newCR(readyProvider(), "twice"), nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(first.GetNamespace() + "/" + first.GetName()))
		Expect(statusOfCR(second).Identity).To(Equal(statusOfCR(first).Identity))
		Expect(conditionOf(first, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(f.count("twice")).To(Equal(1))
	})

	It("waits for its provider (ProviderNotReady) and acts as soon as the provider is Ready", func() {
		ns := newNamespace()
		f.prepare("waits")
		o := createCR(f.newCR(ns, "waits"), nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		Expect(conditionMessage(o, giteav1alpha1.ConditionReady)).To(Equal("GiteaProvider gitea does not exist"))

		// The provider comes, without its Secret: there, but not Ready.
		p := newProvider(ns, gitea.URL)
		Eventually(ready(p), eventually, poll).Should(Equal("False/SecretNotFound"))
		Eventually(func() string { return conditionMessage(o, giteav1alpha1.ConditionReady) }, eventually, poll).
			Should(Equal("GiteaProvider gitea is not Ready"))
		Expect(conditionOf(o, giteav1alpha1.ConditionReady)()).To(Equal("False/ProviderNotReady"))
		Expect(f.count("waits")).To(Equal(0))

		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(f.count("waits")).To(Equal(1))
	})

	It("is deleted in Gitea when its provider, the provider's Secret and the resource go at once, as in a namespace deletion", func() {
		ns := readyProvider()
		f.prepare("nsdelete")
		o := createCR(f.newCR(ns, "nsdelete"), nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		Eventually(func() int32 { return fresh(p).Status.Resources }, eventually, poll).Should(BeEquivalentTo(1))

		// envtest has no namespace controller: this is what it would do, all at once.
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Expect(k8sClient.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns))).To(Succeed())
		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		Eventually(gone(p), eventually, poll).Should(BeTrue())
		Expect(f.count("nsdelete")).To(Equal(0))
	})
}
