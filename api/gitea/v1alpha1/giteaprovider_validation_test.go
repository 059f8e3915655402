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
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"kemper.buzz/nuop/test/utils"
)

var providerSeq int

// validProvider is the smallest GiteaProvider there is, under a fresh name.
func validProvider() obj {
	providerSeq++
	return obj{
		"apiVersion": "gitea.kemper.buzz/v1alpha1",
		"kind":       "GiteaProvider",
		"metadata":   obj{"name": fmt.Sprintf("gitea-%d", providerSeq), "namespace": testNamespace},
		"spec": obj{
			"url":         "https://gitea.example.com",
			"credentials": obj{"secretRef": obj{"name": "gitea"}},
		},
	}
}

func providerSpec(o obj) obj { return o["spec"].(obj) }
func credentials(o obj) obj  { return providerSpec(o)["credentials"].(obj) }

var _ = Describe("GiteaProvider admission", func() {
	It("admits the smallest provider and fills in the defaults", func() {
		u, err := create(validProvider())
		Expect(err).NotTo(HaveOccurred())
		spec := u.Object["spec"].(obj)
		Expect(spec).To(HaveKeyWithValue("timeout", "30s"))
		Expect(spec).To(HaveKeyWithValue("syncInterval", "10m"))
		Expect(spec).To(HaveKeyWithValue("checkInterval", "5m"))
		Expect(spec).To(HaveKeyWithValue("qps", BeNumerically("==", 10)))
		Expect(spec).To(HaveKeyWithValue("burst", BeNumerically("==", 20)))
		Expect(spec["credentials"]).To(HaveKeyWithValue("tokenKey", "token"))
		Expect(spec["credentials"]).To(HaveKeyWithValue("usernameKey", "username"))
		Expect(spec["credentials"]).To(HaveKeyWithValue("passwordKey", "password"))
	})

	DescribeTable("admits",
		func(edit func(obj)) {
			o := validProvider()
			edit(o)
			_, err := create(o)
			Expect(err).NotTo(HaveOccurred())
		},
		Entry("http and a port", func(o obj) { providerSpec(o)["url"] = "http://gitea.gitea.svc:3000" }),
		Entry("a path", func(o obj) { providerSpec(o)["url"] = "https://example.com/gitea/" }),
		Entry("an IP address", func(o obj) { providerSpec(o)["url"] = "http://127.0.0.1:3000" }),
		Entry("a CA bundle from a ConfigMap", func(o obj) {
			providerSpec(o)["tls"] = obj{"caBundle": obj{"configMapRef": obj{"name": "ca"}}}
		}),
		Entry("insecureSkipVerify", func(o obj) { providerSpec(o)["tls"] = obj{"insecureSkipVerify": true} }),
		Entry("custom key names and limits", func(o obj) {
			credentials(o)["usernameKey"] = "user.name"
			credentials(o)["passwordKey"] = "pass"
			providerSpec(o)["qps"] = 1
			providerSpec(o)["burst"] = 1
			providerSpec(o)["syncInterval"] = "30s"
			providerSpec(o)["checkInterval"] = "10s"
		}),
		Entry("the longest intervals", func(o obj) {
			providerSpec(o)["syncInterval"] = "168h"
			providerSpec(o)["checkInterval"] = "24h"
		}),
	)

	DescribeTable("rejects, with a message that says why",
		func(edit func(obj), field, message string) {
			o := validProvider()
			edit(o)
			_, err := create(o)
			Expect(err).To(HaveOccurred(), "the API server admitted it")
			GinkgoWriter.Printf("rejected: %v\n", err)
			if apierrors.IsBadRequest(err) { // strict field validation answers 400, not Invalid
				Expect(err.Error()).To(ContainSubstring(message))
				return
			}
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
			Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
				"exactly one cause, on %s, saying %q", field, message)
		},
		Entry("no url", func(o obj) { delete(providerSpec(o), "url") },
			"spec.url", "Required value"),
		Entry("no credentials", func(o obj) { delete(providerSpec(o), "credentials") },
			"spec.credentials", "Required value"),
		Entry("a credentials reference without name", func(o obj) { credentials(o)["secretRef"] = obj{} },
			"spec.credentials.secretRef.name", "Required value"),
		Entry("a namespace in the credentials reference (strict field validation)", func(o obj) {
			credentials(o)["secretRef"] = obj{"name": "gitea", "namespace": "other"}
		}, "", `unknown field "spec.credentials.secretRef.namespace"`),
		Entry("an ftp url", func(o obj) { providerSpec(o)["url"] = "ftp://gitea.example.com" },
			"spec.url", "must start with https:// or http://"),
		Entry("a url without host", func(o obj) { providerSpec(o)["url"] = "https://" },
			"spec.url", "absolute URL with a host"),
		Entry("credentials in the url", func(o obj) { providerSpec(o)["url"] = "https://admin:secret@gitea.example.com" },
			"spec.url", "must not carry credentials"),
		Entry("a query in the url", func(o obj) { providerSpec(o)["url"] = "https://gitea.example.com/?token=x" },
			"spec.url", "must not have a query"),
		Entry("a bad key name", func(o obj) { credentials(o)["tokenKey"] = "a b" },
			"spec.credentials.tokenKey", "should match"),
		Entry("a timeout that is no duration", func(o obj) { providerSpec(o)["timeout"] = "soon" },
			"spec.timeout", "must be a duration"),
		Entry("a timeout above 5m", func(o obj) { providerSpec(o)["timeout"] = "10m" },
			"spec.timeout", "between 1s and 5m"),
		Entry("a syncInterval under 30s", func(o obj) { providerSpec(o)["syncInterval"] = "5s" },
			"spec.syncInterval", "between 30s and 168h"),
		Entry("a syncInterval over a week", func(o obj) { providerSpec(o)["syncInterval"] = "169h" },
			"spec.syncInterval", "between 30s and 168h"),
		Entry("a syncInterval longer than any duration", func(o obj) { providerSpec(o)["syncInterval"] = "9999999999999h" },
			"spec.syncInterval", "between 30s and 168h"),
		Entry("a checkInterval under 10s", func(o obj) { providerSpec(o)["checkInterval"] = "1s" },
			"spec.checkInterval", "between 10s and 24h"),
		Entry("a checkInterval over a day", func(o obj) { providerSpec(o)["checkInterval"] = "25h" },
			"spec.checkInterval", "between 10s and 24h"),
		Entry("a timeout longer than any duration", func(o obj) { providerSpec(o)["timeout"] = "9999999999999h" },
			"spec.timeout", "between 1s and 5m"),
		Entry("qps 0", func(o obj) { providerSpec(o)["qps"] = 0 },
			"spec.qps", "should be greater than or equal to 1"),
		Entry("burst 0", func(o obj) { providerSpec(o)["burst"] = 0 },
			"spec.burst", "should be greater than or equal to 1"),
		Entry("insecureSkipVerify with a CA bundle", func(o obj) {
			providerSpec(o)["tls"] = obj{"insecureSkipVerify": true, "caBundle": obj{"secretRef": obj{"name": "ca"}}}
		}, "spec.tls", "alternatives"),
		Entry("a CA bundle from both a Secret and a ConfigMap", func(o obj) {
			providerSpec(o)["tls"] = obj{"caBundle": obj{"secretRef": obj{"name": "ca"}, "configMapRef": obj{"name": "ca"}}}
		}, "spec.tls.caBundle", "exactly one of secretRef and configMapRef"),
		Entry("a CA bundle with an http url", func(o obj) {
			providerSpec(o)["url"] = "http://gitea:3000"
			providerSpec(o)["tls"] = obj{"caBundle": obj{"secretRef": obj{"name": "ca"}}}
		}, "spec.tls", "needs an https:// url"),
		Entry("a name longer than 63 characters", func(o obj) {
			o["metadata"].(obj)["name"] = strings.Repeat("g", 64)
		}, "metadata", "at most 63 characters"),
	)
})
