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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// readyProvider creates a namespace with a Ready provider "gitea" on the suite's Gitea.
func readyProvider() string {
	ns := newNamespace()
	createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
	p := newProvider(ns, gitea.URL)
	Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
	return ns
}

func newOrg(ns, name, username string, edit func(*giteav1alpha1.Organization)) *giteav1alpha1.Organization {
	o := &giteav1alpha1.Organization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.OrganizationSpec{
			ResourceSpec: giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
			Username:     username,
		},
	}
	if edit != nil {
		edit(o)
	}
	Expect(k8sClient.Create(ctx, o)).To(Succeed())
	return o
}

// conditionOf is a managed resource's condition as "Status/Reason", once it describes the generation.
func conditionOf(o client.Object, condType string) func() string {
	return func() string {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return err.Error()
		}
		m := o.(giteav1alpha1.Managed)
		c := meta.FindStatusCondition(m.ManagedStatus().Conditions, condType)
		if c == nil || c.ObservedGeneration != o.GetGeneration() {
			return "not reported"
		}
		return string(c.Status) + "/" + c.Reason
	}
}

func conditionMessage(o client.Object, condType string) string {
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
	c := meta.FindStatusCondition(o.(giteav1alpha1.Managed).ManagedStatus().Conditions, condType)
	Expect(c).NotTo(BeNil())
	return c.Message
}

// requestSync asks for a sync now and waits for it to have happened.
func requestSync(o client.Object) {
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
	before := o.(giteav1alpha1.Managed).ManagedStatus().LastSyncTime.DeepCopy()
	time.Sleep(time.Second) // lastSyncTime has a resolution of one second
	patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
	annotations := o.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[giteav1alpha1.SyncRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	o.SetAnnotations(annotations)
	Expect(k8sClient.Patch(ctx, o, patch)).To(Succeed())
	Eventually(func() bool {
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
		after := o.(giteav1alpha1.Managed).ManagedStatus().LastSyncTime
		return after != nil && (before == nil || after.After(before.Time))
	}, eventually, poll).Should(BeTrue(), "no sync after the request")
}

// writes counts the provider's write requests to Gitea (from the client metrics).
func writes(ns string) float64 {
	var n float64
	for _, method := range []string{"POST", "PATCH", "PUT", "DELETE"} {
		for _, code := range []string{"200", "201", "204", "404", "409", "422"} {
			n += requests(ns+"/gitea", method, code)
		}
	}
	return n
}

// expectQuietSyncs syncs o three times with nothing changed and expects not one write to Gitea.
func expectQuietSyncs(o client.Object, ns string) {
	before := writes(ns)
	for range 3 {
		requestSync(o)
	}
	Expect(writes(ns)).To(Equal(before), "a sync with nothing to change wrote to Gitea")
}

// orgInGitea reads an organization straight from Gitea's API.
func orgInGitea(name string) (map[string]any, bool) {
	var org map[string]any
	_, err := gitea.Do(ctx, "GET", "/orgs/"+name, nil, &org)
	if se, ok := err.(*giteaserver.StatusError); ok && se.Code == 404 {
		return nil, false
	}
	Expect(err).NotTo(HaveOccurred())
	return org, true
}

func createOrgInGitea(name string) {
	_, err := gitea.Do(ctx, "POST", "/orgs", map[string]any{"username": name, "description": "made by hand"}, nil)
	Expect(err).NotTo(HaveOccurred())
}

func gone(o client.Object) func() bool {
	return func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)) }
}

var _ = Describe("Organization", func() {
	It("creates the organization, corrects drift at the next sync, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-create", func(o *giteav1alpha1.Organization) {
			o.Spec.FullName = ptr.To("Acme Corp")
			o.Spec.Description = ptr.To("we make everything")
			o.Spec.Visibility = ptr.To("private")
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(o, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(o)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.ID).To(BeNumerically(">", 0))
		Expect(got.Status.AtProvider.FullName).To(Equal("Acme Corp"))
		Expect(got.Annotations).NotTo(HaveKey(giteav1alpha1.CreatePendingAnnotation))
		Expect(got.Finalizers).To(ContainElement(giteav1alpha1.ResourceFinalizer))
		org, ok := orgInGitea("acme-create")
		Expect(ok).To(BeTrue())
		Expect(org).To(HaveKeyWithValue("visibility", "private"))

		// Drift made in Gitea is corrected at the next sync; what the spec leaves alone stays.
		_, err := gitea.Do(ctx, "PATCH", "/orgs/acme-create", map[string]any{"description": "hacked", "location": "Mars"}, nil)
		Expect(err).NotTo(HaveOccurred())
		requestSync(o)
		org, _ = orgInGitea("acme-create")
		Expect(org).To(HaveKeyWithValue("description", "we make everything"))
		Expect(org).To(HaveKeyWithValue("location", "Mars"))
		Expect(org).To(HaveKeyWithValue("full_name", "Acme Corp"))

		// A spec change is applied at once.
		got = fresh(o)
		got.Spec.Website = ptr.To("https://acme.example.com")
		Expect(k8sClient.Update(ctx, got)).To(Succeed())
		Eventually(func() any { org, _ := orgInGitea("acme-create"); return org["website"] }, eventually, poll).
			Should(Equal("https://acme.example.com"))

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(o, ns)
	})

	It("adopts an existing organization without duplicating it, and leaves it when deleted (unset policy)", func() {
		ns := readyProvider()
		createOrgInGitea("acme-adopt")
		o := newOrg(ns, "acme", "acme-adopt", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(o).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(eventReasonsOf(o)).To(ContainElement("Adopted"))

		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-adopt")
		Expect(ok).To(BeTrue(), "an adopted organization is orphaned by default")
	})

	It("after a crash between create and status write, counts the object as created, not adopted, and deletes it", func() {
		ns := readyProvider()
		// The create reached Gitea, the status write did not: the marker is still on the resource.
		createOrgInGitea("acme-crash")
		o := newOrg(ns, "acme", "acme-crash", func(o *giteav1alpha1.Organization) {
			o.Annotations = map[string]string{giteav1alpha1.CreatePendingAnnotation: "2026-11-24T00:00:00Z"}
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(o).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Eventually(func() map[string]string { return fresh(o).Annotations }, eventually, poll).
			ShouldNot(HaveKey(giteav1alpha1.CreatePendingAnnotation))

		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-crash")
		Expect(ok).To(BeFalse(), "what the resource created is deleted with it")
	})

	It("with ObserveOnly reports an absent organization NotFound without creating it, and drift without correcting it", func() {
		ns := readyProvider()
		o := newOrg(ns, "watch", "acme-observe", func(o *giteav1alpha1.Organization) {
			o.Spec.ManagementPolicy = giteav1alpha1.ManagementObserveOnly
			o.Spec.Description = ptr.To("wanted")
		})
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		_, ok := orgInGitea("acme-observe")
		Expect(ok).To(BeFalse())

		createOrgInGitea("acme-observe")
		requestSync(o)
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Drifted"))
		Expect(conditionOf(o, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(fresh(o).Status.Drift).To(Equal([]string{"description"}))
		org, _ := orgInGitea("acme-observe")
		Expect(org).To(HaveKeyWithValue("description", "made by hand"))

		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok = orgInGitea("acme-observe")
		Expect(ok).To(BeTrue(), "ObserveOnly never deletes")
	})

	It("honours deletionPolicy Delete for an adopted organization and Orphan for a created one, and never hangs on one already gone", func() {
		ns := readyProvider()
		createOrgInGitea("acme-del")
		del := newOrg(ns, "del", "acme-del", func(o *giteav1alpha1.Organization) {
			o.Spec.DeletionPolicy = giteav1alpha1.DeletionDelete
		})
		orphan := newOrg(ns, "orphan", "acme-orphan", func(o *giteav1alpha1.Organization) {
			o.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan
		})
		vanished := newOrg(ns, "vanished", "acme-vanished", nil)
		for _, o := range []*giteav1alpha1.Organization{del, orphan, vanished} {
			Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		_, err := gitea.Do(ctx, "DELETE", "/orgs/acme-vanished", nil, nil)
		Expect(err).NotTo(HaveOccurred())

		for _, o := range []*giteav1alpha1.Organization{del, orphan, vanished} {
			Expect(k8sClient.Delete(ctx, o)).To(Succeed())
			Eventually(gone(o), eventually, poll).Should(BeTrue())
		}
		_, ok := orgInGitea("acme-del")
		Expect(ok).To(BeFalse())
		_, ok = orgInGitea("acme-orphan")
		Expect(ok).To(BeTrue())
	})

	It("renames the organization when its username changes, keeping its id", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-old", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(o).Status.ID
		got := fresh(o)
		got.Spec.Username = "acme-new"
		Expect(k8sClient.Update(ctx, got)).To(Succeed())
		Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(o).Status.ID).To(Equal(id))
		Expect(fresh(o).Status.AtProvider.Username).To(Equal("acme-new"))
		org, ok := orgInGitea("acme-new")
		Expect(ok).To(BeTrue())
		Expect(org).To(HaveKeyWithValue("id", BeNumerically("==", id)))
		// Gitea redirects the old name to the new one.
		org, _ = orgInGitea("acme-old")
		Expect(org).To(HaveKeyWithValue("username", "acme-new"))
	})

	It("gives Conflict to the later of two resources claiming one organization, in any namespace", func() {
		first := newOrg(readyProvider(), "acme", "acme-twice", nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(first).Status.Identity).To(Equal(strings.TrimSuffix(gitea.URL, "/") + " Organization acme-twice"))
		second := newOrg(readyProvider(), "acme", "acme-twice", nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(first.Namespace + "/acme"))
		Expect(conditionOf(first, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
	})

	It("waits for its provider (ProviderNotReady) and acts as soon as the provider is Ready", func() {
		ns := newNamespace()
		o := newOrg(ns, "acme", "acme-waits", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		Expect(conditionMessage(o, giteav1alpha1.ConditionReady)).To(Equal("GiteaProvider gitea does not exist"))
		createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
		newProvider(ns, gitea.URL)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	})

	It("reports a delete Gitea refuses with the repositories that block it, and finishes once they are gone", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-owner", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		_, err := gitea.Do(ctx, "POST", "/orgs/acme-owner/repos", map[string]any{"name": "blocker"}, nil)
		Expect(err).NotTo(HaveOccurred())

		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(func() string {
			c := meta.FindStatusCondition(fresh(o).Status.Conditions, giteav1alpha1.ConditionReady)
			if c == nil {
				return ""
			}
			return c.Reason + ": " + c.Message
		}, eventually, poll).Should(And(HavePrefix(giteav1alpha1.ReasonDeleteRefused), ContainSubstring("blocker")))

		_, err = gitea.Do(ctx, "DELETE", "/repos/acme-owner/blocker", nil, nil)
		Expect(err).NotTo(HaveOccurred())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-owner")
		Expect(ok).To(BeFalse())
	})

	It("deletes everything when the provider, its Secret and the resources go at once, as in a namespace deletion", func() {
		ns := readyProvider()
		o := newOrg(ns, "acme", "acme-nsdelete", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		Eventually(func() int32 { return fresh(p).Status.Resources }, eventually, poll).Should(BeEquivalentTo(1))

		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Expect(k8sClient.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns))).To(Succeed())
		Expect(k8sClient.Delete(ctx, o)).To(Succeed())
		Eventually(gone(o), eventually, poll).Should(BeTrue())
		Eventually(gone(p), eventually, poll).Should(BeTrue())
		_, ok := orgInGitea("acme-nsdelete")
		Expect(ok).To(BeFalse())
	})
})

// eventReasonsOf lists the reasons of the events about o.
func eventReasonsOf(o client.Object) []string {
	var out []string
	Eventually(func() []string {
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(o.GetNamespace()))).To(Succeed())
		out = out[:0]
		for _, e := range list.Items {
			if e.Regarding.Name == o.GetName() && !strings.EqualFold(e.Regarding.Kind, "GiteaProvider") {
				out = append(out, e.Reason)
			}
		}
		return out
	}, eventually, poll).ShouldNot(BeEmpty())
	return out
}

var _ = Describe("gitea_resources", func() {
	It("counts the managed resources by kind and readiness, from their conditions", func() {
		ns := readyProvider()
		o := newOrg(ns, "counted", "acme-counted", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		stuck := newOrg(newNamespace(), "stuck", "acme-stuck", nil) // no provider in its namespace
		Eventually(conditionOf(stuck, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))

		count := func(ready string) float64 {
			return gauge("gitea_resources", map[string]string{"kind": "Organization", "ready": ready})
		}
		var list giteav1alpha1.OrganizationList
		Expect(k8sClient.List(ctx, &list)).To(Succeed())
		var readyNow float64
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, giteav1alpha1.ConditionReady) {
				readyNow++
			}
		}
		Eventually(func() float64 { return count("true") + count("false") }, eventually, poll).Should(BeNumerically("==", len(list.Items)))
		Expect(count("true")).To(BeNumerically("==", readyNow))
		Expect(count("false")).To(BeNumerically(">=", 1))
	})
})

var _ = Describe("a Ready provider whose client is not built yet", func() {
	It("is retried with backoff, so a resource acts once the client is back (as after a manager restart)", func() {
		ns := readyProvider()
		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		// What a restart looks like to a resource: the provider is Ready, its client is not in the cache.
		clients.Delete(client.ObjectKeyFromObject(p))
		o := newOrg(ns, "restart", "acme-restart", nil)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/ProviderNotReady"))
		Expect(conditionMessage(o, giteav1alpha1.ConditionReady)).To(ContainSubstring("its client is being built"))

		// The provider's next check rebuilds the client; nothing about the provider's readiness changes.
		recheck(p)
		Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	})
})
