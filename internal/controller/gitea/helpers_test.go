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
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// The helpers the specs of every kind share: resources and their conditions, syncs and the writes they
// make, and Gitea read straight through its API.

// readyProvider creates a namespace with a Ready provider "gitea" on the suite's Gitea.
func readyProvider() string { return readyProviderAt(gitea.URL) }

// readyProviderAt creates a namespace with a Ready provider "gitea" whose url is giteaURL.
func readyProviderAt(giteaURL string) string {
	ns := newNamespace()
	createSecret(ns, "gitea", map[string]string{"token": gitea.AdminToken})
	p := newProvider(ns, giteaURL)
	Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
	return ns
}

// resourceSpec is the common spec of a resource of the provider "gitea".
func resourceSpec() giteav1alpha1.ResourceSpec {
	return giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}}
}

// created creates o, edited by edit (when not nil), and returns it.
func created[T client.Object](o T, edit func(T)) T {
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

// readyReason is a managed resource's Ready condition as "Reason: message".
func readyReason(o client.Object) string {
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
	c := meta.FindStatusCondition(o.(giteav1alpha1.Managed).ManagedStatus().Conditions, giteav1alpha1.ConditionReady)
	if c == nil {
		return ""
	}
	return c.Reason + ": " + c.Message
}

func statusOfCR(o client.Object) *giteav1alpha1.ResourceStatus {
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)).To(Succeed())
	return o.(giteav1alpha1.Managed).ManagedStatus()
}

func gone(o client.Object) func() bool {
	return func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), o)) }
}

// deleteCR deletes o and waits until it is gone.
func deleteCR(o client.Object) {
	Expect(k8sClient.Delete(ctx, o)).To(Succeed())
	Eventually(gone(o), eventually, poll).Should(BeTrue())
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
		for _, code := range []string{"200", "201", "204", "403", "404", "409", "422"} {
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

// eventReasonsOf lists the reasons of the events about o.
func eventReasonsOf(o client.Object) []string {
	var out []string
	Eventually(func() []string {
		out = eventFieldOf(o, func(e eventsv1.Event) string { return e.Reason })
		return out
	}, eventually, poll).ShouldNot(BeEmpty())
	return out
}

// eventNotesOf lists the notes of the events about o, for Eventually.
func eventNotesOf(o client.Object) func() []string {
	return func() []string { return eventFieldOf(o, func(e eventsv1.Event) string { return e.Note }) }
}

// eventFieldOf lists a field of each event about o (a managed resource: events about a GiteaProvider of
// the same name are not o's).
func eventFieldOf(o client.Object, field func(eventsv1.Event) string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(o.GetNamespace()))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == o.GetName() && !strings.EqualFold(e.Regarding.Kind, "GiteaProvider") {
			out = append(out, field(e))
		}
	}
	return out
}

// giteaStatus is the HTTP status of an admin GET from Gitea's API (2xx as 200), decoded into out, for
// existence checks.
func giteaStatus(path string, out any) int {
	_, err := gitea.Do(ctx, http.MethodGet, path, nil, out)
	if se, ok := errors.AsType[*giteaserver.StatusError](err); ok {
		return se.Code
	}
	Expect(err).NotTo(HaveOccurred())
	return http.StatusOK
}

// inGitea reads an object straight from Gitea's API into a map; false when Gitea answers 404.
func inGitea(path string) (map[string]any, bool) {
	var obj map[string]any
	return obj, giteaStatus(path, &obj) == http.StatusOK
}

// giteaCall makes a call to Gitea's API as its admin, expecting it to succeed.
func giteaCall(method, path string, body any) {
	_, err := gitea.Do(ctx, method, path, body, nil)
	Expect(err).NotTo(HaveOccurred())
}

// ensureInGitea creates an object through Gitea's API unless get finds it.
func ensureInGitea(get, create string, body any) {
	if giteaStatus(get, nil) == http.StatusNotFound {
		giteaCall(http.MethodPost, create, body)
	}
}

// ensureAdminRepo creates a repository of the admin user unless it exists, and returns its full name.
func ensureAdminRepo(name string) string {
	full := gitea.AdminUser + "/" + name
	ensureInGitea("/repos/"+full, "/user/repos", map[string]any{"name": name})
	return full
}

// listInGitea reads every page of a list (the suite's Gitea has pages of 5), as the operator does.
func listInGitea[T any](path string) []T {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	all, err := giteaclient.ListAll(ctx, func(o sdk.ListOptions) ([]T, *sdk.Response, error) {
		var page []T
		q := url.Values{"page": {strconv.Itoa(o.Page)}, "limit": {strconv.Itoa(o.PageSize)}}
		header, err := gitea.Do(ctx, http.MethodGet, path+sep+q.Encode(), nil, &page)
		return page, &sdk.Response{Response: &http.Response{Header: header}}, err
	})
	Expect(err).NotTo(HaveOccurred())
	return all
}

// namedIn are the items of a list called name.
func namedIn(items []map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, item := range items {
		if item["name"] == name {
			out = append(out, item)
		}
	}
	return out
}

// onRepository is the parent of a resource that names its repository "owner/name".
func onRepository(fullName string) giteav1alpha1.RepositoryParent {
	return giteav1alpha1.RepositoryParent{RepositoryReference: giteav1alpha1.RepositoryReference{Repository: ptr.To(fullName)}}
}

// onRepositoryRef is the parent of a resource that names its repository by a Repository resource.
func onRepositoryRef(name string) giteav1alpha1.RepositoryParent {
	return giteav1alpha1.RepositoryParent{RepositoryReference: giteav1alpha1.RepositoryReference{
		RepositoryRef: &giteav1alpha1.LocalObjectReference{Name: name}}}
}

// expectRenameRefused renames o (by edit) onto a name another account holds: Synced is Conflict with msg in
// its message, and o keeps its object. Deleting o then deletes that object (found at ownPath) only;
// untouched checks the other account before and after.
func expectRenameRefused[T client.Object](o T, edit func(T), msg, ownPath string, untouched func()) {
	GinkgoHelper()
	id := statusOfCR(o).ID
	update(o, edit)
	Eventually(conditionOf(o, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Conflict"))
	Expect(conditionMessage(o, giteav1alpha1.ConditionSynced)).To(ContainSubstring(msg))
	Expect(statusOfCR(o).ID).To(Equal(id))
	untouched()
	deleteCR(o)
	Expect(giteaStatus(ownPath, nil)).To(Equal(http.StatusNotFound), "the resource's own object is left")
	untouched()
}

// expectCreatedApart waits until o is Ready having created its own object (found at path), not taken the
// object other, and returns its object as Gitea shows it.
func expectCreatedApart(o client.Object, path string, other map[string]any) map[string]any {
	GinkgoHelper()
	Eventually(conditionOf(o, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	Expect(statusOfCR(o).Origin).To(Equal(giteav1alpha1.OriginCreated))
	mine, ok := inGitea(path)
	Expect(ok).To(BeTrue(), "nothing at %s", path)
	Expect(mine["id"]).NotTo(Equal(other["id"]))
	Expect(statusOfCR(o).ID).To(BeNumerically("==", mine["id"]))
	return mine
}
