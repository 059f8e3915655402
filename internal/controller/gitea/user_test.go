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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/test/utils/giteaserver"
)

// newUser creates a User resource whose password is in the Secret "<name>-password", key "password".
func newUser(ns, name, username string, edit func(*giteav1alpha1.User)) *giteav1alpha1.User {
	u := &giteav1alpha1.User{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giteav1alpha1.UserSpec{
			ResourceSpec:      giteav1alpha1.ResourceSpec{ProviderRef: giteav1alpha1.LocalObjectReference{Name: "gitea"}},
			Username:          username,
			Email:             ptr.To(username + "@example.com"),
			PasswordSecretRef: &giteav1alpha1.SecretKeyReference{Name: name + "-password", Key: "password"},
		},
	}
	if edit != nil {
		edit(u)
	}
	Expect(k8sClient.Create(ctx, u)).To(Succeed())
	return u
}

// userPassword is a password Gitea accepts, remembered so that the suite checks it never leaks.
func userPassword(seed string) string {
	p := "Pw-" + seed + "-9f3c1a7e"
	remember(p)
	return p
}

// userInGitea reads a user straight from Gitea's API (as its administrator).
func userInGitea(name string) (map[string]any, bool) {
	var user map[string]any
	_, err := gitea.Do(ctx, "GET", "/users/"+name, nil, &user)
	if se, ok := err.(*giteaserver.StatusError); ok && se.Code == 404 {
		return nil, false
	}
	Expect(err).NotTo(HaveOccurred())
	return user, true
}

var tokenSeq int

// signsIn says whether Gitea lets name sign in with password (by minting a token with basic auth).
func signsIn(name, password string) bool {
	tokenSeq++
	_, err := gitea.CreateToken(ctx, name, password, fmt.Sprintf("sign-in-%d", tokenSeq))
	return err == nil
}

func readyCondition(o client.Object) string {
	c := meta.FindStatusCondition(o.(giteav1alpha1.Managed).ManagedStatus().Conditions, giteav1alpha1.ConditionReady)
	if c == nil {
		return ""
	}
	return c.Reason + ": " + c.Message
}

var _ = Describe("User", func() {
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
		_, err := gitea.Do(ctx, "PATCH", "/admin/users/alice-create", map[string]any{"source_id": 0, "login_name": "alice-create",
			"full_name": "hacked", "description": "left alone"}, nil)
		Expect(err).NotTo(HaveOccurred())
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

	It("adopts an existing user without duplicating it and leaves it when deleted; counts one whose status write was lost as created, and deletes it", func() {
		ns := readyProvider()
		Expect(gitea.CreateUser(ctx, "dave-adopt", userPassword("adopt"), false)).To(Succeed())
		Expect(gitea.CreateUser(ctx, "dave-crash", userPassword("crash"), false)).To(Succeed())
		createSecret(ns, "adopt-password", map[string]string{"password": userPassword("adopt-2")})
		createSecret(ns, "crash-password", map[string]string{"password": userPassword("crash-2")})
		adopted := newUser(ns, "adopt", "dave-adopt", nil)
		crashed := newUser(ns, "crash", "dave-crash", func(u *giteav1alpha1.User) {
			u.Annotations = map[string]string{giteav1alpha1.CreatePendingAnnotation: "2026-11-24T00:00:00Z"}
		})
		for _, u := range []*giteav1alpha1.User{adopted, crashed} {
			Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		Expect(fresh(adopted).Status.Origin).To(Equal(giteav1alpha1.OriginAdopted))
		Expect(eventReasonsOf(adopted)).To(ContainElement("Adopted"))
		Expect(fresh(crashed).Status.Origin).To(Equal(giteav1alpha1.OriginCreated))

		for _, u := range []*giteav1alpha1.User{adopted, crashed} {
			Expect(k8sClient.Delete(ctx, u)).To(Succeed())
			Eventually(gone(u), eventually, poll).Should(BeTrue())
		}
		_, ok := userInGitea("dave-adopt")
		Expect(ok).To(BeTrue(), "an adopted user is orphaned by default")
		_, ok = userInGitea("dave-crash")
		Expect(ok).To(BeFalse(), "what the resource created is deleted with it")
	})

	It("with ObserveOnly reports an absent user NotFound without creating it, and drift without correcting it", func() {
		ns := readyProvider()
		createSecret(ns, "eve-password", map[string]string{"password": userPassword("observe")})
		u := newUser(ns, "eve", "eve-observe", func(u *giteav1alpha1.User) {
			u.Spec.ManagementPolicy = giteav1alpha1.ManagementObserveOnly
			u.Spec.PasswordSecretRef = nil
			u.Spec.Location = ptr.To("wanted")
		})
		Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/NotFound"))
		_, ok := userInGitea("eve-observe")
		Expect(ok).To(BeFalse())

		Expect(gitea.CreateUser(ctx, "eve-observe", userPassword("observe-2"), false)).To(Succeed())
		before := writes(ns)
		requestSync(u)
		Eventually(conditionOf(u, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("False/Drifted"))
		Expect(conditionOf(u, giteav1alpha1.ConditionReady)()).To(Equal("True/Available"))
		Expect(fresh(u).Status.Drift).To(Equal([]string{"location"}))
		Expect(writes(ns)).To(Equal(before))

		Expect(k8sClient.Delete(ctx, u)).To(Succeed())
		Eventually(gone(u), eventually, poll).Should(BeTrue())
		_, ok = userInGitea("eve-observe")
		Expect(ok).To(BeTrue(), "ObserveOnly never deletes")
	})

	It("honours deletionPolicy, never hangs on a user already gone, and reports a delete Gitea refuses until purge is set", func() {
		ns := readyProvider()
		Expect(gitea.CreateUser(ctx, "frank-del", userPassword("del"), false)).To(Succeed())
		for _, name := range []string{"del", "orphan", "vanished", "owner"} {
			createSecret(ns, name+"-password", map[string]string{"password": userPassword(name + "-secret")})
		}
		del := newUser(ns, "del", "frank-del", func(u *giteav1alpha1.User) { u.Spec.DeletionPolicy = giteav1alpha1.DeletionDelete })
		orphan := newUser(ns, "orphan", "frank-orphan", func(u *giteav1alpha1.User) { u.Spec.DeletionPolicy = giteav1alpha1.DeletionOrphan })
		vanished := newUser(ns, "vanished", "frank-vanished", nil)
		owner := newUser(ns, "owner", "frank-owner", nil)
		for _, u := range []*giteav1alpha1.User{del, orphan, vanished, owner} {
			Eventually(conditionOf(u, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		}
		_, err := gitea.Do(ctx, "DELETE", "/admin/users/frank-vanished", nil, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = gitea.Do(ctx, "POST", "/admin/users/frank-owner/repos", map[string]any{"name": "keeps-me"}, nil)
		Expect(err).NotTo(HaveOccurred())

		for _, u := range []*giteav1alpha1.User{del, orphan, vanished} {
			Expect(k8sClient.Delete(ctx, u)).To(Succeed())
			Eventually(gone(u), eventually, poll).Should(BeTrue())
		}
		_, ok := userInGitea("frank-del")
		Expect(ok).To(BeFalse())
		_, ok = userInGitea("frank-orphan")
		Expect(ok).To(BeTrue())

		Expect(k8sClient.Delete(ctx, owner)).To(Succeed())
		Eventually(func() string { return readyCondition(fresh(owner)) }, eventually, poll).
			Should(And(HavePrefix(giteav1alpha1.ReasonDeleteRefused), ContainSubstring("purge: true")))
		update(owner, func(u *giteav1alpha1.User) { u.Spec.Purge = true })
		Eventually(gone(owner), eventually, poll).Should(BeTrue())
		_, ok = userInGitea("frank-owner")
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

	It("gives Conflict to the later of two resources claiming one user, and to a user named like an organization", func() {
		ns := readyProvider()
		createSecret(ns, "first-password", map[string]string{"password": userPassword("twice")})
		createSecret(ns, "second-password", map[string]string{"password": userPassword("twice-2")})
		createSecret(ns, "org-password", map[string]string{"password": userPassword("org")})
		first := newUser(ns, "first", "hank-twice", nil)
		Eventually(conditionOf(first, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("True/Available"))
		second := newUser(ns, "second", "hank-twice", nil)
		Eventually(conditionOf(second, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(second, giteav1alpha1.ConditionReady)).To(ContainSubstring(ns + "/first"))

		createOrgInGitea("hank-org")
		org := newUser(ns, "org", "hank-org", nil)
		Eventually(conditionOf(org, giteav1alpha1.ConditionReady), eventually, poll).Should(Equal("False/Conflict"))
		Expect(conditionMessage(org, giteav1alpha1.ConditionReady)).To(Equal("hank-org is an organization in Gitea, not a user"))
	})
})
