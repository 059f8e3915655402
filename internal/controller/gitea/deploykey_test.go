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
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"golang.org/x/crypto/ssh"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// newPublicKey makes an ed25519 public key in authorized_keys format, and its fingerprint.
func newPublicKey() (string, string) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	sshPub, err := ssh.NewPublicKey(pub)
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " test@nuop", ssh.FingerprintSHA256(sshPub)
}

// giteaDeployKey is a deploy key as Gitea's API shows it.
type giteaDeployKey struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Fingerprint string `json:"fingerprint"`
	ReadOnly    bool   `json:"read_only"`
}

func deployKeysOf(repo string) []giteaDeployKey {
	var keys []giteaDeployKey
	_, err := gitea.Do(ctx, "GET", "/repos/"+repo+"/keys?limit=50", nil, &keys)
	Expect(err).NotTo(HaveOccurred())
	return keys
}

func createDeployKeyInGitea(repo, key, title string, readOnly bool) int64 {
	var k giteaDeployKey
	_, err := gitea.Do(ctx, "POST", "/repos/"+repo+"/keys", map[string]any{"key": key, "title": title, "read_only": readOnly}, &k)
	Expect(err).NotTo(HaveOccurred())
	return k.ID
}

func newDeployKey(ns, name, repository, key string, edit func(*giteav1alpha1.DeployKey)) *giteav1alpha1.DeployKey {
	k := &giteav1alpha1.DeployKey{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.DeployKeySpec{
			ResourceSpec: giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
			Repository:   ptr.To(repository),
			Key:          key,
		},
	}
	if edit != nil {
		edit(k)
	}
	Expect(k8sClient.Create(ctx, k)).To(Succeed())
	return k
}

var _ = Describe("DeployKey", func() {
	It("creates the key read-only, replaces it for drift and for a change of title or key, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		repo := createAdminRepoInGitea("key-create")
		key, fp := newPublicKey()
		k := newDeployKey(ns, "ci", repo, key, nil)
		Eventually(conditionOf(k, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(k, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(k)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.AtProvider.Fingerprint).To(Equal(fp))
		Expect(deployKeysOf(repo)).To(ConsistOf(giteaDeployKey{ID: got.Status.ID, Title: "ci", Fingerprint: fp, ReadOnly: true}))

		// Someone gives the key write access: with readOnly managed, it is replaced at the next sync.
		update(k, func(k *giteav1alpha1.DeployKey) { k.Spec.ReadOnly = ptr.To(true) })
		Eventually(conditionOf(k, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		_, err := gitea.Do(ctx, "DELETE", fmt.Sprintf("/repos/%s/keys/%d", repo, got.Status.ID), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		createDeployKeyInGitea(repo, key, "ci", false)
		requestSync(k)
		Expect(deployKeysOf(repo)).To(ConsistOf(HaveField("ReadOnly", true)))

		// A title change replaces the key at once.
		update(k, func(k *giteav1alpha1.DeployKey) { k.Spec.Title = ptr.To("ci-renamed") })
		Eventually(func() []giteaDeployKey { return deployKeysOf(repo) }, eventually, poll).
			Should(ConsistOf(HaveField("Title", "ci-renamed")))

		// So does a new key: the old one goes.
		newKey, newFP := newPublicKey()
		update(k, func(k *giteav1alpha1.DeployKey) { k.Spec.Key = newKey })
		Eventually(func() []giteaDeployKey { return deployKeysOf(repo) }, eventually, poll).
			Should(ConsistOf(HaveField("Fingerprint", newFP)))
		Eventually(conditionOf(k, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(k).Status.ID).To(Equal(deployKeysOf(repo)[0].ID))

		expectQuietSyncs(k, ns)
	})

	It("adopts an existing key without duplicating it and leaves it when deleted (unset policy); after a crash counts its own key as created", func() {
		ns := readyProvider()
		repo := createAdminRepoInGitea("key-adopt")
		key, _ := newPublicKey()
		id := createDeployKeyInGitea(repo, key, "by hand", false)
		adopted := newDeployKey(ns, "adopted", repo, key, nil)
		Eventually(conditionOf(adopted, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(adopted, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"), "unset title and readOnly are not managed")
		Expect(fresh(adopted).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(fresh(adopted).Status.ID).To(Equal(id))
		Expect(deployKeysOf(repo)).To(HaveLen(1))
		Expect(k8sClient.Delete(ctx, adopted)).To(Succeed())
		Eventually(gone(adopted), eventually, poll).Should(BeTrue())
		Expect(deployKeysOf(repo)).To(HaveLen(1), "an adopted key is orphaned by default")

		crashed := newDeployKey(ns, "crashed", repo, key, func(k *giteav1alpha1.DeployKey) {
			k.Annotations = map[string]string{giteav1alpha1.CreatePendingAnnotation: "2026-11-24T00:00:00Z"}
		})
		Eventually(conditionOf(crashed, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(fresh(crashed).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(k8sClient.Delete(ctx, crashed)).To(Succeed())
		Eventually(gone(crashed), eventually, poll).Should(BeTrue())
		Expect(deployKeysOf(repo)).To(BeEmpty())
	})

	It("with ObserveOnly reports an absent key NotFound without creating it, and drift without correcting it", func() {
		ns := readyProvider()
		repo := createAdminRepoInGitea("key-observe")
		key, _ := newPublicKey()
		k := newDeployKey(ns, "watch", repo, key, func(k *giteav1alpha1.DeployKey) {
			k.Spec.ManagementPolicy = giteav1alpha1.ManagementObserveOnly
			k.Spec.ReadOnly = ptr.To(true)
		})
		Eventually(conditionOf(k, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(deployKeysOf(repo)).To(BeEmpty())

		id := createDeployKeyInGitea(repo, key, "by hand", false)
		requestSync(k)
		Eventually(conditionOf(k, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Drifted"))
		Expect(fresh(k).Status.Drift).To(Equal([]string{"readOnly"}))
		Expect(deployKeysOf(repo)).To(ConsistOf(giteaDeployKey{ID: id, Title: "by hand", Fingerprint: fresh(k).Status.AtProvider.Fingerprint}))

		Expect(k8sClient.Delete(ctx, k)).To(Succeed())
		Eventually(gone(k), eventually, poll).Should(BeTrue())
		Expect(deployKeysOf(repo)).To(HaveLen(1), "ObserveOnly never deletes")
	})

	It("honours deletionPolicy, and never hangs on a key or a repository already gone", func() {
		ns := readyProvider()
		repo := createAdminRepoInGitea("key-delete")
		adoptedKey, _ := newPublicKey()
		createDeployKeyInGitea(repo, adoptedKey, "by hand", true)
		del := newDeployKey(ns, "del", repo, adoptedKey, func(k *giteav1alpha1.DeployKey) { k.Spec.DeletionPolicy = giteav1alpha1.DeletionDelete })
		orphanKey, orphanFP := newPublicKey()
		orphan := newDeployKey(ns, "orphan", repo, orphanKey, func(k *giteav1alpha1.DeployKey) { k.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan })
		vanishedKey, _ := newPublicKey()
		vanished := newDeployKey(ns, "vanished", repo, vanishedKey, nil)
		doomedRepo := createAdminRepoInGitea("key-doomed")
		doomedKey, _ := newPublicKey()
		doomed := newDeployKey(ns, "doomed", doomedRepo, doomedKey, nil)
		all := []*giteav1alpha1.DeployKey{del, orphan, vanished, doomed}
		for _, k := range all {
			Eventually(conditionOf(k, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		_, err := gitea.Do(ctx, "DELETE", fmt.Sprintf("/repos/%s/keys/%d", repo, fresh(vanished).Status.ID), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = gitea.Do(ctx, "DELETE", "/repos/"+doomedRepo, nil, nil)
		Expect(err).NotTo(HaveOccurred())

		for _, k := range all {
			Expect(k8sClient.Delete(ctx, k)).To(Succeed())
			Eventually(gone(k), eventually, poll).Should(BeTrue())
		}
		Expect(deployKeysOf(repo)).To(ConsistOf(HaveField("Fingerprint", orphanFP)))
	})

	It("gives Conflict to the later of two resources claiming one key, and names a missing repository", func() {
		repo := createAdminRepoInGitea("key-twice")
		key, _ := newPublicKey()
		first := newDeployKey(readyProvider(), "ci", repo, key, nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		ns := readyProvider()
		second := newDeployKey(ns, "ci", repo, key, nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(first.Namespace + "/ci"))

		missing := newDeployKey(ns, "missing", "nobody/nothing", key, nil)
		Eventually(conditionOf(missing, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(missing, giteav1alpha1.ConditionReady)).To(Equal("the repository nobody/nothing does not exist in Gitea"))
	})
})
