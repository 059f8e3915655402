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
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	return listInGitea[giteaDeployKey]("/repos/" + repo + "/keys")
}

// deployKeysWith are repo's keys of fingerprint fp.
func deployKeysWith(repo, fp string) []giteaDeployKey {
	var out []giteaDeployKey
	for _, k := range deployKeysOf(repo) {
		if k.Fingerprint == fp {
			out = append(out, k)
		}
	}
	return out
}

func createDeployKeyInGitea(repo, key, title string, readOnly bool) {
	giteaCall(http.MethodPost, "/repos/"+repo+"/keys", map[string]any{"key": key, "title": title, "read_only": readOnly})
}

func deployKeyCR(ns, name, repository, key string) *giteav1alpha1.DeployKey {
	return &giteav1alpha1.DeployKey{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.DeployKeySpec{
			ResourceSpec:     resourceSpec(),
			RepositoryParent: onRepository(repository),
			Key:              key,
		},
	}
}

func newDeployKey(ns, name, repository, key string, edit func(*giteav1alpha1.DeployKey)) *giteav1alpha1.DeployKey {
	return created(deployKeyCR(ns, name, repository, key), edit)
}

// contractKeys is the repository of the keys of the shared specs; contractKey is the public key and the
// fingerprint of each spec's key.
const contractKeys = "contract-keys"

var contractKeyPairs = map[string][2]string{}

func contractKey(key string) (string, string) {
	if _, ok := contractKeyPairs[key]; !ok {
		pub, fp := newPublicKey()
		contractKeyPairs[key] = [2]string{pub, fp}
	}
	return contractKeyPairs[key][0], contractKeyPairs[key][1]
}

var deployKeyFixture = kindFixture{
	prepare: func(string) { ensureAdminRepo(contractKeys) },
	newCR: func(ns, key string) client.Object {
		pub, _ := contractKey(key)
		k := deployKeyCR(ns, key, gitea.AdminUser+"/"+contractKeys, pub)
		k.Spec.ReadOnly = ptr.To(true)
		return k
	},
	drift: []string{"readOnly"},
	createInGitea: func(key string) {
		pub, _ := contractKey(key)
		createDeployKeyInGitea(gitea.AdminUser+"/"+contractKeys, pub, "by-hand-"+key, false)
	},
	deleteInGitea: func(key string) {
		_, fp := contractKey(key)
		for _, k := range deployKeysWith(gitea.AdminUser+"/"+contractKeys, fp) {
			giteaCall(http.MethodDelete, fmt.Sprintf("/repos/%s/%s/keys/%d", gitea.AdminUser, contractKeys, k.ID), nil)
		}
	},
	count: func(key string) int {
		_, fp := contractKey(key)
		return len(deployKeysWith(gitea.AdminUser+"/"+contractKeys, fp))
	},
}

var _ = Describe("DeployKey", func() {
	itBehavesAsAManagedKind(deployKeyFixture)

	It("creates the key read-only, replaces it for drift and for a change of title or key, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("key-create")
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
		giteaCall(http.MethodDelete, fmt.Sprintf("/repos/%s/keys/%d", repo, got.Status.ID), nil)
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

	It("gives Conflict to a change to a key the repository already has, keeping its own key and never deleting the other", func() {
		ns := readyProvider()
		repo := ensureAdminRepo("key-taken")
		key, fp := newPublicKey()
		k := newDeployKey(ns, "ci", repo, key, nil)
		Eventually(conditionOf(k, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		ours := fresh(k).Status.ID
		theirKey, theirFP := newPublicKey()
		createDeployKeyInGitea(repo, theirKey, "by-hand", true)
		theirs := deployKeysWith(repo, theirFP)
		Expect(theirs).To(HaveLen(1))

		update(k, func(k *giteav1alpha1.DeployKey) { k.Spec.Key = theirKey })
		Eventually(conditionOf(k, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(k, giteav1alpha1.ConditionSynced)).To(Equal(fmt.Sprintf("the key %s is already deploy "+
			"key %d (\"by-hand\") of %s, which this resource did not create (its key is %d, \"ci\"): remove that key "+
			"in Gitea, or use another key", theirFP, theirs[0].ID, repo, ours)))
		Expect(deployKeysOf(repo)).To(ConsistOf(giteaDeployKey{ID: ours, Title: "ci", Fingerprint: fp, ReadOnly: true}, theirs[0]))
		Expect(fresh(k).Status.ID).To(Equal(ours))

		// Deleted, the resource deletes its own key only.
		deleteCR(k)
		Expect(deployKeysOf(repo)).To(ConsistOf(theirs[0]))
	})

	It("never hangs on a key whose whole repository is gone, and names a missing repository", func() {
		ns := readyProvider()
		doomedRepo := ensureAdminRepo("key-doomed")
		key, _ := newPublicKey()
		doomed := newDeployKey(ns, "doomed", doomedRepo, key, nil)
		Eventually(conditionOf(doomed, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		giteaCall(http.MethodDelete, "/repos/"+doomedRepo, nil)
		deleteCR(doomed)

		missing := newDeployKey(ns, "missing", "nobody/nothing", key, nil)
		Eventually(conditionOf(missing, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		Expect(conditionMessage(missing, giteav1alpha1.ConditionReady)).To(Equal("the repository nobody/nothing does not exist in Gitea"))
	})
})
