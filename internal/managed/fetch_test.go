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

package managed

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	"kemper.buzz/nuop/internal/source"
	"kemper.buzz/nuop/test/utils"
)

// mountSecret writes a Secret volume as the kubelet does: the keys in a timestamped directory, ..data a
// symlink to it, and each key a symlink through ..data; an update writes a new directory and swaps ..data
// atomically.
func mountSecret(t *testing.T, dir string, version int, data map[string]string) {
	t.Helper()
	ts := filepath.Join(dir, "..v"+strconv.Itoa(version))
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for key, value := range data {
		if err := os.WriteFile(filepath.Join(ts, key), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, key)); err != nil {
			if err := os.Symlink(filepath.Join("..data", key), filepath.Join(dir, key)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func TestFetchUsesARotatedTokenAtTheNextPoll(t *testing.T) {
	g := NewWithT(t)
	git := utils.NewGitServer(t, false, "", "old-token")
	repo := utils.NewRepo(t, git.Dir, "org/scripts.git")
	first := repo.Commit("first", map[string]string{"hello/mod.nu": "# first"})

	credentials := t.TempDir()
	mountSecret(t, filepath.Join(credentials, "0"), 1, map[string]string{"token": "old-token"})
	f := &Fetch{CredentialsPath: credentials}
	// The API's minimum interval is 30s; the fetcher takes any, and a short one keeps the test short.
	specs := f.specsOf(&nuopv1alpha1.NuOperator{Spec: nuopv1alpha1.NuOperatorSpec{Sources: []nuopv1alpha1.Source{{
		Location: git.URL("org/scripts.git"), Path: "/scripts",
		Interval: &metav1.Duration{Duration: 200 * time.Millisecond},
		Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}},
	}}}})

	var mu sync.Mutex
	var last source.State
	fetcher := &source.Fetcher{Root: t.TempDir(), OnChange: func(states []source.State) {
		mu.Lock()
		defer mu.Unlock()
		last = states[0]
	}}
	state := func() source.State {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Expect(fetcher.Run(ctx, specs)).To(Succeed())
	}()
	t.Cleanup(func() { cancel(); <-done })

	g.Eventually(state, time.Minute).Should(And(HaveField("Revision", first), HaveField("LastError", "")))

	// The server takes only the new token from now on: the mounted old one is refused.
	git.SetPassword("new-token")
	second := repo.Commit("second", map[string]string{"hello/mod.nu": "# second"})
	g.Eventually(state, time.Minute).Should(HaveField("LastError", ContainSubstring("authentication")))
	g.Expect(state().Revision).To(Equal(first), "the last good tree stays")

	// The kubelet swaps the new token in; no NuOperator changes.
	mountSecret(t, filepath.Join(credentials, "0"), 2, map[string]string{"token": "new-token"})
	g.Eventually(state, time.Minute).Should(And(HaveField("Revision", second), HaveField("LastError", "")))
}

func TestFetchReadsTheCredentialFilesOfItsSourceOnly(t *testing.T) {
	token := func(optional bool) *nuopv1alpha1.Credentials {
		return &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token", Optional: &optional}}
	}
	for _, tc := range []struct {
		name        string
		files       map[string]string
		credentials *nuopv1alpha1.Credentials
		want        *source.Credentials
		wantErr     string
	}{
		{name: "the source's token", files: map[string]string{"token": "t0k3n", "source": "/scripts"},
			credentials: token(false), want: &source.Credentials{Token: []byte("t0k3n")}},
		{name: "mounted for another source by a pod of an earlier spec",
			files: map[string]string{"token": "t0k3n", "source": "other"}, credentials: token(false),
			wantErr: `the credentials mounted for source 0 are those of source "other"`},
		{name: "a missing key", files: map[string]string{"source": "/scripts"}, credentials: token(false),
			wantErr: "key token of Secret git is missing (or the Secret is)"},
		{name: "a missing optional key", files: map[string]string{"source": "/scripts"}, credentials: token(true),
			want: &source.Credentials{}},
		{name: "unreadable", files: map[string]string{"token/": "", "source": "/scripts"}, credentials: token(false),
			wantErr: "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			for name, content := range tc.files {
				if name[len(name)-1] == '/' {
					g.Expect(os.MkdirAll(filepath.Join(dir, "0", name), 0o755)).To(Succeed())
					continue
				}
				mountSecret(t, filepath.Join(dir, "0"), 1, map[string]string{name: content})
			}
			f := &Fetch{CredentialsPath: dir}
			specs := f.specsOf(&nuopv1alpha1.NuOperator{Spec: nuopv1alpha1.NuOperatorSpec{Sources: []nuopv1alpha1.Source{{
				Location: "https://git.invalid/org/scripts.git", Path: "/scripts", Credentials: tc.credentials}}}})
			got, err := specs[0].LoadCredentials(context.Background())
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestFetchReportsCredentialsItCannotRead(t *testing.T) {
	g := NewWithT(t)
	f := &Fetch{CredentialsPath: t.TempDir()}
	specs := f.specsOf(&nuopv1alpha1.NuOperator{Spec: nuopv1alpha1.NuOperatorSpec{Sources: []nuopv1alpha1.Source{{
		Location: "https://git.invalid/org/scripts.git", Path: "scripts",
		Credentials: &nuopv1alpha1.Credentials{Token: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "git"}, Key: "token"}},
	}}}})
	st := (&source.Fetcher{Root: t.TempDir()}).Sync(context.Background(), specs[0])
	g.Expect(st.LastError).To(Equal("reading the credentials: key token of Secret git is missing (or the Secret is)"))
	g.Expect(st.Revision).To(BeEmpty())
}
