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

package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"kemper.buzz/nuop/test/utils"
	"kemper.buzz/nuop/test/utils/ginkgorun"
)

// The suite installs the generated CRDs (config/crd/bases) into a real kube-apiserver and shows what they
// admit and what they reject, with the API server's own messages. Objects are sent as plain JSON, the way
// kubectl sends them, so a test can leave out what a Go struct would always send.

const testNamespace = "gitea-api"

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	ctx       context.Context
	cancel    context.CancelFunc
)

func TestAPI(t *testing.T) {
	ginkgorun.Specs(t, "Gitea API Suite")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	testEnv, err = utils.NewEnvironment("config/crd/bases")
	Expect(err).NotTo(HaveOccurred())
	testEnv.ErrorIfCRDPathMissing = true
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}})).To(Succeed())
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

type obj = map[string]any

// create sends o as it is, with strict field validation as kubectl does, and returns the stored object.
func create(o obj) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: o}
	err := k8sClient.Create(ctx, u, client.FieldValidation("Strict"))
	return u, err
}

// seq numbers the objects of the suite: every test creates its own.
var seq int

// object is an object of kind in the test namespace, under a fresh name, with spec.
func object(kind string, spec obj) obj {
	seq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       kind,
		"metadata":   obj{"name": fmt.Sprintf("%s-%d", strings.ToLower(kind), seq), "namespace": testNamespace},
		"spec":       spec,
	}
}

func specOf(o obj) obj { return o["spec"].(obj) }

// withSpec is o with edit applied to its spec.
func withSpec(o obj, edit func(spec obj)) obj {
	edit(specOf(o))
	return o
}

// expectRejected creates o and expects it refused as expectRefused says.
func expectRejected(o obj, field, message string) {
	_, err := create(o)
	expectRefused(err, field, message)
}

// expectUpdateRejected creates o, applies edit to its spec, and expects the update refused as expectRefused
// says.
func expectUpdateRejected(o obj, edit func(spec obj), field, message string) {
	u, err := create(o)
	Expect(err).NotTo(HaveOccurred())
	edit(specOf(u.Object))
	expectRefused(k8sClient.Update(ctx, u, client.FieldValidation("Strict")), field, message)
}

// expectRefused expects err to be the API server's refusal saying message: an Invalid answer with exactly
// one cause, on field, or, for what strict field validation refuses (an unknown field), a BadRequest.
func expectRefused(err error, field, message string) {
	Expect(err).To(HaveOccurred(), "the API server admitted it")
	GinkgoWriter.Printf("refused: %v\n", err)
	if apierrors.IsBadRequest(err) {
		Expect(err.Error()).To(ContainSubstring(message))
		return
	}
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
	Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
		"exactly one cause, on %s, saying %q", field, message)
}

// rejectsOnCreate is the body of a table of the input a kind rejects: each entry edits the spec of valid().
func rejectsOnCreate(valid func() obj) func(edit func(spec obj), field, message string) {
	return func(edit func(spec obj), field, message string) {
		expectRejected(withSpec(valid(), edit), field, message)
	}
}

// refusesOnUpdate is the body of a table of the changes a kind refuses: each entry edits the spec of a
// created valid().
func refusesOnUpdate(valid func() obj) func(edit func(spec obj), field, message string) {
	return func(edit func(spec obj), field, message string) {
		expectUpdateRejected(valid(), edit, field, message)
	}
}
