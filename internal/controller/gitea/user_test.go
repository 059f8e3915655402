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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// userCR is a User whose password is in the Secret "<name>-password", key "password".
func userCR(ns, name, username string) *giteav1alpha1.User {
	return &giteav1alpha1.User{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.UserSpec{
			ResourceSpec:      resourceSpec(),
			Account:           giteav1alpha1.Account{Username: giteav1alpha1.Username(username)},
			Email:             ptr.To(username + "@example.com"),
			PasswordSecretRef: &giteav1alpha1.SecretKeyReference{Name: name + "-password", Key: "password"},
		},
	}
}

func newUser(ns, name, username string, edit func(*giteav1alpha1.User)) *giteav1alpha1.User {
	return created(userCR(ns, name, username), edit)
}

// userPassword is a password Gitea accepts, remembered so that the suite checks it never leaks.
func userPassword(seed string) string {
	p := "Pw-" + seed + "-9f3c1a7e"
	remember(p)
	return p
}

// userInGitea reads a user straight from Gitea's API (as its administrator).
func userInGitea(name string) (map[string]any, bool) { return inGitea("/users/" + name) }

var tokenSeq int

// signsIn says whether Gitea lets name sign in with password (by minting a token with basic auth).
func signsIn(name, password string) bool {
	tokenSeq++
	_, err := gitea.CreateToken(ctx, name, password, fmt.Sprintf("sign-in-%d", tokenSeq))
	return err == nil
}

var userFixture = kindFixture{
	prepare: func(string) {},
	newCR: func(ns, key string) client.Object {
		u := userCR(ns, key, "cuser-"+key)
		u.Spec.Location = ptr.To("managed")
		// Its password's Secret, unless an earlier resource of the spec made it in this namespace.
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: u.Spec.PasswordSecretRef.Name},
			StringData: map[string]string{"password": userPassword("cuser-" + key)}}
		if err := k8sClient.Create(ctx, secret); !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
		return u
	},
	// Gitea cannot show a password: one that was never sent from the Secret is drift.
	drift: []string{"location", "password"},
	createInGitea: func(key string) {
		Expect(gitea.CreateUser(ctx, "cuser-"+key, userPassword("by-hand-"+key), false)).To(Succeed())
	},
	deleteInGitea: func(key string) { giteaCall(http.MethodDelete, "/admin/users/cuser-"+key, nil) },
	count: func(key string) int {
		if _, ok := userInGitea("cuser-" + key); ok {
			return 1
		}
		return 0
	},
}

var _ = Describe("User", func() {
	itBehavesAsAManagedKind(userFixture)

	It("creates the user with its password, corrects drift, applies a spec change at once, and writes nothing when nothing changed", func() {
		ns := readyProvider()
		password := userPassword("create")
		createSecret(ns, "alice-password", map[string]string{"password": password})
		u := newUser(ns, "alice", "alice-create", func(u *giteav1alpha1.User) {
			u.Spec.FullName = ptr.To("Alice Liddell")
			u.Spec.Location = ptr.To("Wonderland")
			u.Spec.MaxRepoCreation = ptr.To[int64](3)
			u.Spec.Visibility = ptr.To("limited")
		})
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		Expect(conditionOf(u, giteav1alpha1.ConditionSynced)()).To(Equal("True/UpToDate"))
		got := fresh(u)
		Expect(got.Status.Origin).To(Equal(giteav1alpha1.OriginCreated))
		Expect(got.Status.AtProvider.FullName).To(Equal("Alice Liddell"))
		Expect(got.Status.Applied.MaxRepoCreation).To(Equal(ptr.To[int64](3)))
		user, ok := userInGitea("alice-create")
		Expect(ok).To(BeTrue())
		Expect(user).To(HaveKeyWithValue("location", "Wonderland"))
		Expect(user).To(HaveKeyWithValue("visibility", "limited"))
		Expect(signsIn("alice-create", password)).To(BeTrue(), "created without must_change_password: the password signs in")

		// Drift made in Gitea is corrected at the next sync; what the spec leaves alone stays.
		giteaCall(http.MethodPatch, "/admin/users/alice-create", map[string]any{"source_id": 0, "login_name": "alice-create",
			"full_name": "hacked", "description": "left alone"})
		requestSync(u)
		user, _ = userInGitea("alice-create")
		Expect(user).To(HaveKeyWithValue("full_name", "Alice Liddell"))
		Expect(user).To(HaveKeyWithValue("description", "left alone"))

		// A spec change is applied at once.
		update(u, func(u *giteav1alpha1.User) { u.Spec.Website = ptr.To("https://alice.example.com") })
		Eventually(func() any { user, _ := userInGitea("alice-create"); return user["website"] }, eventually, poll).
			Should(Equal("https://alice.example.com"))

		// Three syncs with nothing changed: not one write.
		Eventually(conditionOf(u, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		expectQuietSyncs(u, ns)
	})

	It("sends the password again when its Secret changes, and never shows it", func() {
		ns := readyProvider()
		first, second := userPassword("rotate-1"), userPassword("rotate-2")
		createSecret(ns, "bob-password", map[string]string{"password": first})
		u := newUser(ns, "bob", "bob-rotate", nil)
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		applied := fresh(u).Status.Applied.Password
		Expect(applied).NotTo(BeNil())
		Expect(signsIn("bob-rotate", first)).To(BeTrue())

		updateSecret(ns, "bob-password", map[string]string{"password": second})
		Eventually(func() bool { return signsIn("bob-rotate", second) }, eventually, poll).Should(BeTrue())
		Expect(signsIn("bob-rotate", first)).To(BeFalse())
		Eventually(func() string { return fresh(u).Status.Applied.Password.ResourceVersion }, eventually, poll).
			ShouldNot(Equal(applied.ResourceVersion))
		status := fmt.Sprintf("%+v", fresh(u).Status)
		Expect(status).NotTo(ContainSubstring(first))
		Expect(status).NotTo(ContainSubstring(second))
	})

	It("waits for a missing password Secret (SecretNotFound) and creates the user once it appears", func() {
		ns := readyProvider()
		u := newUser(ns, "carol", "carol-waits", nil)
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/SecretNotFound"))
		Expect(conditionMessage(u, giteav1alpha1.ConditionReady)).To(Equal("Secret carol-password not found in namespace " + ns))
		_, ok := userInGitea("carol-waits")
		Expect(ok).To(BeFalse())
		createSecret(ns, "carol-password", map[string]string{"password": userPassword("waits")})
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
	})

	It("reports a delete Gitea refuses (the user owns a repository) until purge is set", func() {
		ns := readyProvider()
		createSecret(ns, "owner-password", map[string]string{"password": userPassword("owner-secret")})
		owner := newUser(ns, "owner", "frank-owner", nil)
		Eventually(conditionOf(owner, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		giteaCall(http.MethodPost, "/admin/users/frank-owner/repos", map[string]any{"name": "keeps-me"})

		Expect(k8sClient.Delete(ctx, owner)).To(Succeed())
		Eventually(func() string { return readyReason(owner) }, eventually, poll).
			Should(And(HavePrefix(giteav1alpha1.ReasonDeleteRefused), ContainSubstring("purge: true")))
		update(owner, func(u *giteav1alpha1.User) { u.Spec.Purge = true })
		Eventually(gone(owner), eventually, poll).Should(BeTrue())
		_, ok := userInGitea("frank-owner")
		Expect(ok).To(BeFalse())
	})

	It("renames the user when its username changes, keeping its id", func() {
		ns := readyProvider()
		createSecret(ns, "gina-password", map[string]string{"password": userPassword("rename")})
		u := newUser(ns, "gina", "gina-old", nil)
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		id := fresh(u).Status.ID
		update(u, func(u *giteav1alpha1.User) { u.Spec.Username = "gina-new" })
		Eventually(conditionOf(u, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		Expect(fresh(u).Status.ID).To(Equal(id))
		Expect(fresh(u).Status.AtProvider.Username).To(Equal("gina-new"))
		user, ok := userInGitea("gina-new")
		Expect(ok).To(BeTrue())
		Expect(user).To(HaveKeyWithValue("id", BeNumerically("==", id)))
	})

	It("takes a name Gitea only redirects as free: never renames the user it redirects to, sets its password or deletes it", func() {
		ns := readyProvider()
		// John's account was jdoe, renamed john-doe in Gitea: jdoe now redirects to it.
		johns := userPassword("john-doe")
		Expect(gitea.CreateUser(ctx, "jdoe", johns, false)).To(Succeed())
		giteaCall(http.MethodPost, "/admin/users/jdoe/rename", map[string]any{"new_username": "john-doe"})
		john, _ := userInGitea("john-doe")
		expectJohnUntouched := func() {
			GinkgoHelper()
			got, ok := userInGitea("john-doe")
			Expect(ok).To(BeTrue(), "john-doe is gone")
			Expect(got).To(HaveKeyWithValue("id", john["id"]))
			Expect(signsIn("john-doe", johns)).To(BeTrue(), "john-doe's password was changed")
		}

		// A new person's User at the old name gets an account of its own.
		newcomers := userPassword("jdoe-newcomer")
		createSecret(ns, "jdoe-password", map[string]string{"password": newcomers})
		u := newUser(ns, "jdoe", "jdoe", func(u *giteav1alpha1.User) { u.Spec.Email = ptr.To("jdoe-newcomer@example.com") })
		Expect(expectCreatedApart(u, "/users/jdoe", john)).To(HaveKeyWithValue("login", "jdoe"))
		Expect(signsIn("jdoe", newcomers)).To(BeTrue())
		Expect(signsIn("john-doe", newcomers)).To(BeFalse())
		expectJohnUntouched()

		// A rename onto John's name is a Conflict; deleting the resource then deletes the newcomer's account only.
		expectRenameRefused(u, func(u *giteav1alpha1.User) { u.Spec.Username = "john-doe" },
			"cannot rename user jdoe to john-doe", "/users/jdoe", expectJohnUntouched)
	})

	It("gives Conflict to a user named like an organization", func() {
		ns := readyProvider()
		createSecret(ns, "org-password", map[string]string{"password": userPassword("org")})
		createOrgInGitea("hank-org")
		org := newUser(ns, "org", "hank-org", nil)
		Eventually(conditionOf(org, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(org, giteav1alpha1.ConditionReady)).To(Equal("hank-org is an organization in Gitea, not a user"))
	})
})
