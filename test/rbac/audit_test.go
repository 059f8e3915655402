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

package rbac

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// impersonatorName is the user every identity under test is impersonated by.
const impersonatorName = "rbac-impersonator"

// auditLog is the API server's audit log of the impersonator's requests: every request an identity under
// test made, from any client in this process or a script's kubectl, with the answer's status code. The
// policy is evaluated before impersonation, so it selects on the impersonator; each event names the
// impersonated user.
type auditLog struct {
	policyPath, logPath string
}

func newAuditLog(dir, user string) (*auditLog, error) {
	a := &auditLog{policyPath: filepath.Join(dir, "audit-policy.yaml"), logPath: filepath.Join(dir, "audit.log")}
	policy := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [%q]
- level: None
`, user)
	return a, os.WriteFile(a.policyPath, []byte(policy), 0o600)
}

// request is one audited request of an impersonated user.
type request struct {
	Verb string
	// Group and Resource (resource or resource/subresource) are empty for a non-resource URL.
	Group     string
	Resource  string
	Namespace string
	Name      string
	URI       string
	Code      int32
}

func (r request) String() string {
	if r.Resource == "" {
		return fmt.Sprintf("%d %s %s", r.Code, r.Verb, r.URI)
	}
	p := permission{Group: r.Group, Resource: r.Resource, Verb: r.Verb}
	return fmt.Sprintf("%d %s %s/%s (%s)", r.Code, p, r.Namespace, r.Name, r.URI)
}

// requests reads every request user (impersonated) made.
func (a *auditLog) requests(user string) []request {
	GinkgoHelper()
	f, err := os.Open(a.logPath)
	Expect(err).NotTo(HaveOccurred(), "the API server writes its audit log there")
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	seen := map[string]bool{}
	var out []request
	for scanner.Scan() {
		var e auditv1.Event
		Expect(json.Unmarshal(scanner.Bytes(), &e)).To(Succeed())
		if e.ImpersonatedUser == nil || e.ImpersonatedUser.Username != user || e.ResponseStatus == nil ||
			seen[string(e.AuditID)] {
			continue
		}
		// A watch is logged when it starts and when it ends: once is enough.
		seen[string(e.AuditID)] = true
		r := request{Verb: e.Verb, URI: e.RequestURI, Code: e.ResponseStatus.Code}
		if o := e.ObjectRef; o != nil {
			r.Group, r.Resource, r.Namespace, r.Name = o.APIGroup, o.Resource, o.Namespace, o.Name
			if o.Subresource != "" {
				r.Resource += "/" + o.Subresource
			}
		}
		out = append(out, r)
	}
	Expect(scanner.Err()).NotTo(HaveOccurred())
	return out
}

// expectNoForbidden fails when user was ever refused (403), listing each refused request, and when it made
// no request at all (then nothing was proven).
func expectNoForbidden(user string) {
	GinkgoHelper()
	all := audit.requests(user)
	Expect(all).NotTo(BeEmpty(), "%s made no request: it did not run under that identity", user)
	var forbidden []string
	times := map[string]int{}
	for _, r := range all {
		if r.Code == http.StatusForbidden {
			if times[r.String()] == 0 {
				forbidden = append(forbidden, r.String())
			}
			times[r.String()]++
		}
	}
	for i, f := range forbidden {
		if times[f] > 1 {
			forbidden[i] = fmt.Sprintf("%s, %d times", f, times[f])
		}
	}
	if len(forbidden) > 0 {
		// Also in the spec's output: an AfterAll's failure is reported as one of "additional failures".
		_, _ = fmt.Fprintf(GinkgoWriter, "%s was refused:\n%s\n", user, strings.Join(forbidden, "\n"))
	}
	Expect(forbidden).To(BeEmpty(), "%s was refused %d different requests (of the %d it made): grant what it needs (for the manager: "+
		"a +kubebuilder:rbac marker, `make manifests`, and an entry in "+goldenName+")\n%s",
		user, len(forbidden), len(all), strings.Join(forbidden, "\n"))
	AddReportEntry(user+": requests", len(all))
}

var _ = Describe("the audit log", func() {
	It("records a refused request of an impersonated service account, so that a 403 cannot go unseen", func() {
		const ns, name = "default", "rbac-nobody"
		c, err := client.New(asServiceAccount(ns, name), client.Options{Scheme: admin.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "anything"}, &corev1.Secret{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Eventually(func() []request { return audit.requests(serviceAccountUser(ns, name)) }).Should(ContainElement(
			And(HaveField("Code", int32(http.StatusForbidden)), HaveField("Verb", "get"), HaveField("Resource", "secrets"),
				HaveField("Name", "anything"))))
	})
})
