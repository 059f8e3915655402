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
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// labelRepo holds the labels of the tests that name their repository by string.
const labelRepo = testOrg + "/labels"

func ensureLabelRepo() {
	ensureTestOrg()
	ensureInGitea("/repos/"+labelRepo, "/orgs/"+testOrg+"/repos", map[string]any{"name": "labels"})
}

func newLabel(ns, name, labelName string, edit func(*giteav1alpha1.Label)) *giteav1alpha1.Label {
	return created(labelCR(ns, name, labelName), edit)
}

func labelCR(ns, name, labelName string) *giteav1alpha1.Label {
	return &giteav1alpha1.Label{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.LabelSpec{
			ResourceSpec:     resourceSpec(),
			RepositoryParent: onRepository(labelRepo),
			Name:             labelName,
			Color:            ptr.To("#00aabb"),
			Description:      ptr.To("managed"),
		},
	}
}

// labelsInGitea lists the labels of a repository named name.
func labelsInGitea(repo, name string) []map[string]any {
	return namedIn(listInGitea[map[string]any]("/repos/"+repo+"/labels"), name)
}

func createLabelInGitea(repo, name string) int64 {
	var l struct{ ID int64 }
	_, err := gitea.Do(ctx, http.MethodPost, "/repos/"+repo+"/labels", map[string]any{"name": name, "color": "#ff0000", "description": "made by hand"}, &l)
	Expect(err).NotTo(HaveOccurred())
	return l.ID
}

var labelFixture = kindFixture{
	prepare: func(string) { ensureLabelRepo() },
	newCR: func(ns, key string) client.Object {
		return labelCR(ns, key, "label-"+key)
	},
	drift:         []string{"color", "description"},
	createInGitea: func(key string) { createLabelInGitea(labelRepo, "label-"+key) },
	deleteInGitea: func(key string) {
		for _, l := range labelsInGitea(labelRepo, "label-"+key) {
			giteaCall(http.MethodDelete, fmt.Sprintf("/repos/%s/labels/%v", labelRepo, l["id"]), nil)
		}
	},
	count: func(key string) int { return len(labelsInGitea(labelRepo, "label-"+key)) },
}

var _ = Describe("Label", func() {
	itBehavesAsAManagedKind(labelFixture)

	It("waits for its repositoryRef, creates the label, corrects drift at the next sync, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		ensureTestOrg()
		l := newLabel(ns, "bug", "kind/bug", func(l *giteav1alpha1.Label) {
			l.Spec.RepositoryParent = onRepositoryRef("app")
			l.Spec.Color = ptr.To("#E11")
			l.Spec.Exclusive = ptr.To(true)
		})
		Eventually(conditionOf(l, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/DependencyNotReady"))
		Expect(conditionMessage(l, giteav1alpha1.ConditionReady)).To(ContainSubstring("Repository app"))
		newRepo(ns, "app", testOrg, "label-ref", nil)
		Eventually(conditionOf(l, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(l, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(l)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.AtProvider.Repository).To(Equal(testOrg + "/label-ref"))
		Expect(got.Status.AtProvider.Color).To(Equal("#ee1111"))
		found := labelsInGitea(testOrg+"/label-ref", "kind/bug")
		Expect(found).To(HaveLen(1))
		Expect(found[0]).To(HaveKeyWithValue("exclusive", true))
		id := got.Status.ID

		// Drift is corrected; archived, which the spec leaves alone, stays (Gitea's edit resets it unless
		// it is sent).
		giteaCall(http.MethodPatch, fmt.Sprintf("/repos/%s/label-ref/labels/%d", testOrg, id),
			map[string]any{"color": "#000000", "is_archived": true})
		requestSync(l)
		found = labelsInGitea(testOrg+"/label-ref", "kind/bug")
		Expect(found[0]).To(HaveKeyWithValue("color", "ee1111"))
		Expect(found[0]).To(HaveKeyWithValue("is_archived", true))

		// A spec change, a rename included, is applied at once and keeps the label's id.
		update(l, func(got *giteav1alpha1.Label) {
			got.Spec.Name = "kind/defect"
			got.Spec.Description = ptr.To("something is broken")
		})
		Eventually(func() []map[string]any { return labelsInGitea(testOrg+"/label-ref", "kind/defect") }, eventually, poll).
			Should(ConsistOf(SatisfyAll(HaveKeyWithValue("id", BeNumerically("==", id)),
				HaveKeyWithValue("description", "something is broken"))))

		Eventually(conditionOf(l, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(l, ns)
	})

	It("names a missing repository in its condition", func() {
		ns := readyProvider()
		ensureTestOrg()
		missing := newLabel(ns, "lost", "bug", func(l *giteav1alpha1.Label) { l.Spec.Repository = ptr.To(testOrg + "/no-such-repo") })
		Eventually(conditionOf(missing, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(missing, giteav1alpha1.ConditionReady)).To(ContainSubstring(testOrg + "/no-such-repo"))
		deleteCR(missing)
	})

	It("deletes an Organization, its Repository and their Label when the provider, its Secret and all of them go at once", func() {
		ns := readyProvider()
		o := newOrg(ns, "team", "all-at-once", nil)
		r := newRepo(ns, "app", "", "app", func(r *giteav1alpha1.Repository) {
			r.Spec.Owner = nil
			r.Spec.OrganizationRef = &giteav1alpha1.LocalObjectReference{Name: "team"}
		})
		l := newLabel(ns, "bug", "bug", func(l *giteav1alpha1.Label) {
			l.Spec.RepositoryParent = onRepositoryRef("app")
		})
		Eventually(conditionOf(l, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))

		p := &giteav1alpha1.GiteaProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gitea"}}
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Expect(k8sClient.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns))).To(Succeed())
		for _, obj := range []client.Object{o, r, l} {
			Expect(k8sClient.Delete(ctx, obj)).To(Succeed())
		}
		for _, obj := range []client.Object{o, r, l, p} {
			Eventually(gone(obj), eventually, poll).Should(BeTrue())
		}
		_, ok := orgInGitea("all-at-once")
		Expect(ok).To(BeFalse())
	})
})
