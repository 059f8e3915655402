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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/test/utils"
)

// obj is a NuOperator as kubectl sends it: plain JSON, so a test can leave out what a Go struct would
// always send, or send null.
type obj = map[string]any

var nameSeq int

// validNuOperator is nuop's minimal example in the test namespace, under a fresh name.
func validNuOperator() obj {
	nameSeq++
	return obj{
		"apiVersion": "kemper.buzz/v1alpha1",
		"kind":       "NuOperator",
		"metadata":   obj{"name": fmt.Sprintf("nuop-%d", nameSeq), "namespace": testNamespace},
		"spec": obj{
			"mappings": []any{
				obj{"name": "config-replicator", "version": "v1", "kind": "ConfigMap"},
			},
			"sources": []any{
				obj{"location": "https://github.com/ck3mp3r/nuop.git?dir=operator/scripts", "path": "/scripts"},
			},
		},
	}
}

func spec(o obj) obj     { return o["spec"].(obj) }
func metadata(o obj) obj { return o["metadata"].(obj) }
func mapping(o obj) obj  { return spec(o)["mappings"].([]any)[0].(obj) }
func source(o obj) obj   { return spec(o)["sources"].([]any)[0].(obj) }

func addMapping(o obj, m obj) { spec(o)["mappings"] = append(spec(o)["mappings"].([]any), m) }
func addSource(o obj, s obj)  { spec(o)["sources"] = append(spec(o)["sources"].([]any), s) }

// secretKey selects a key of the Secret git.
func secretKey(key string) obj { return obj{"name": "git", "key": key} }

// create sends o as it is and returns the API server's answer.
func create(o obj) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: o}
	err := k8sClient.Create(ctx, u, client.FieldValidation("Strict"))
	return u, err
}

var _ = Describe("NuOperator admission", func() {
	DescribeTable("rejects, with a message that says why",
		func(edit func(obj), field, message string) {
			o := validNuOperator()
			edit(o)
			_, err := create(o)
			Expect(err).To(HaveOccurred(), "the API server admitted it")
			GinkgoWriter.Printf("rejected: %v\n", err)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid answer: %v", err)
			Expect(utils.InvalidCauses(err)).To(ConsistOf(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))),
				"exactly one cause, on %s, saying %q", field, message)
		},

		// Required fields.
		Entry("no spec", func(o obj) { delete(o, "spec") },
			"spec", "Required value"),
		Entry("a mapping without name", func(o obj) { delete(mapping(o), "name") },
			"spec.mappings[0].name", "Required value"),
		Entry("a mapping without version", func(o obj) { delete(mapping(o), "version") },
			"spec.mappings[0].version", "Required value"),
		Entry("a mapping without kind", func(o obj) { delete(mapping(o), "kind") },
			"spec.mappings[0].kind", "Required value"),
		Entry("a mapping with an empty kind", func(o obj) { mapping(o)["kind"] = "" },
			"spec.mappings[0].kind", "at least 1 chars long"),
		Entry("a source without location", func(o obj) { delete(source(o), "location") },
			"spec.sources[0].location", "Required value"),
		Entry("a source without path", func(o obj) { delete(source(o), "path") },
			"spec.sources[0].path", "Required value"),
		Entry("a credential selector without key",
			func(o obj) { source(o)["credentials"] = obj{"token": obj{"name": "git"}} },
			"spec.sources[0].credentials.token.key", "Required value"),

		// Uniqueness, through list-map keys.
		Entry("two mappings with one name",
			func(o obj) { addMapping(o, obj{"name": "config-replicator", "version": "v1", "kind": "Secret"}) },
			"spec.mappings[1]", `Duplicate value: {"name":"config-replicator"}`),
		Entry("two sources with one path",
			func(o obj) { addSource(o, obj{"location": "https://example.com/org/other.git", "path": "/scripts"}) },
			"spec.sources[1]", `Duplicate value: {"path":"/scripts"}`),

		// path.
		Entry("a path with ..", func(o obj) { source(o)["path"] = "scripts/../../etc" },
			"spec.sources[0].path", "path must not contain '..'"),
		Entry("a path that is only ..", func(o obj) { source(o)["path"] = ".." },
			"spec.sources[0].path", "path must not contain '..'"),
		Entry("an empty path", func(o obj) { source(o)["path"] = "" },
			"spec.sources[0].path", "path must name a directory under the sources root"),
		Entry("a path of /", func(o obj) { source(o)["path"] = "/" },
			"spec.sources[0].path", "path must name a directory under the sources root"),
		Entry("a hidden path", func(o obj) { source(o)["path"] = "scripts/.staging" },
			"spec.sources[0].path", "path segments must not start with '.'"),
		Entry("a path of .", func(o obj) { source(o)["path"] = "./" },
			"spec.sources[0].path", "path segments must not start with '.'"),

		// location.
		Entry("an ftp:// location", func(o obj) { source(o)["location"] = "ftp://example.com/org/repo.git" },
			"spec.sources[0].location", "location must be a git URL"),
		Entry("a git:// location", func(o obj) { source(o)["location"] = "git://example.com/org/repo.git" },
			"spec.sources[0].location", "location must be a git URL"),
		Entry("a file:// location", func(o obj) { source(o)["location"] = "file:///opt/dev-scripts" },
			"spec.sources[0].location", "location must be a git URL"),
		Entry("a local path (nuop's local-development example, which nuop skipped silently)",
			func(o obj) { source(o)["location"] = "/opt/dev-scripts" },
			"spec.sources[0].location", "location must be a git URL"),
		Entry("a location without a scheme", func(o obj) { source(o)["location"] = "github.com/org/repo.git" },
			"spec.sources[0].location", "location must be a git URL"),
		Entry("an https location with user and password",
			func(o obj) { source(o)["location"] = "https://user:pass@host/repo.git" },
			"spec.sources[0].location", "location must not carry credentials"),
		Entry("an https location with a user (a token in the user name)",
			func(o obj) { source(o)["location"] = "https://ghp_abc123@github.com/org/repo.git" },
			"spec.sources[0].location", "location must not carry credentials"),
		Entry("an ssh location with a password",
			func(o obj) { source(o)["location"] = "ssh://git:secret@example.com:2222/org/repo.git" },
			"spec.sources[0].location", "location must not carry credentials"),
		Entry("an scp-style location with a password",
			func(o obj) { source(o)["location"] = "git:secret@example.com:org/repo.git" },
			"spec.sources[0].location", "location must not carry credentials"),
		Entry("an https location without a repository path",
			func(o obj) { source(o)["location"] = "https://github.com" },
			"spec.sources[0].location", "location must be scheme://host[:port]/path"),
		Entry("an https location with a port that is not a number",
			func(o obj) { source(o)["location"] = "https://example.com:https/org/repo.git" },
			"spec.sources[0].location", "location must be scheme://host[:port]/path"),
		Entry("a location with a space",
			func(o obj) { source(o)["location"] = "https://example.com/org/my repo.git" },
			"spec.sources[0].location", "location must be scheme://host[:port]/path"),

		// Requeue times: 0 would be a hot loop.
		Entry("requeue_after_change 0", func(o obj) { mapping(o)["requeue_after_change"] = 0 },
			"spec.mappings[0].requeue_after_change", "should be greater than or equal to 1"),
		Entry("requeue_after_noop 0", func(o obj) { mapping(o)["requeue_after_noop"] = 0 },
			"spec.mappings[0].requeue_after_noop", "should be greater than or equal to 1"),

		// interval.
		Entry("an interval of 10s", func(o obj) { source(o)["interval"] = "10s" },
			"spec.sources[0].interval", "interval must be between 30s and 168h"),
		Entry("an interval over a week", func(o obj) { source(o)["interval"] = "169h" },
			"spec.sources[0].interval", "interval must be between 30s and 168h"),
		Entry("an interval longer than any duration", func(o obj) { source(o)["interval"] = "9999999999999h" },
			"spec.sources[0].interval", "interval must be between 30s and 168h"),
		Entry("an interval that is not a duration", func(o obj) { source(o)["interval"] = "5 minutes" },
			"spec.sources[0].interval", "interval must be a duration such as 30s, 5m or 1h30m"),

		// Credentials that cannot work together.
		Entry("a password without username",
			func(o obj) { source(o)["credentials"] = obj{"password": secretKey("password")} },
			"spec.sources[0].credentials.password", "password needs username"),
		Entry("a token and a password",
			func(o obj) {
				source(o)["credentials"] = obj{"token": secretKey("token"),
					"username": secretKey("username"), "password": secretKey("password")}
			},
			"spec.sources[0].credentials.token", "token and password are alternatives"),
		Entry("an ssh key without known hosts",
			func(o obj) {
				source(o)["location"] = "git@github.com:org/repo.git"
				source(o)["credentials"] = obj{"sshPrivateKey": secretKey("id_ed25519")}
			},
			"spec.sources[0].credentials.sshPrivateKey", "sshPrivateKey needs knownHosts"),

		// The managed operator's pods.
		Entry("an unknown imagePullPolicy", func(o obj) { spec(o)["imagePullPolicy"] = "Sometimes" },
			"spec.imagePullPolicy", "Unsupported value"),
		Entry("negative replicas", func(o obj) { spec(o)["replicas"] = -1 },
			"spec.replicas", "should be greater than or equal to 0"),

		// A name too long for the objects derived from it.
		Entry("a 59-character name", func(o obj) { metadata(o)["name"] = strings.Repeat("n", 59) },
			"metadata", "metadata.name must be at most 58 characters"),
	)

	It("rejects a field nuop's docs invented, under strict field validation (kubectl's default)", func() {
		o := validNuOperator()
		mapping(o)["requeueAfterSeconds"] = 60
		_, err := create(o)
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("rejected: %v\n", err)
		Expect(apierrors.IsBadRequest(err)).To(BeTrue(), "not a BadRequest answer: %v", err)
		Expect(err.Error()).To(ContainSubstring(`unknown field "spec.mappings[0].requeueAfterSeconds"`))
	})

	DescribeTable("admits edge cases",
		func(edit func(obj), check func(*unstructured.Unstructured)) {
			o := validNuOperator()
			edit(o)
			u, err := create(o)
			Expect(err).NotTo(HaveOccurred())
			if check != nil {
				check(u)
			}
		},
		Entry("path /scripts (nuop's examples), and nuop's github source", func(obj) {}, nil),
		Entry("a relative, nested path", func(o obj) { source(o)["path"] = "team-a/scripts" }, nil),
		Entry("a path with dots inside a segment", func(o obj) { source(o)["path"] = "scripts.v2" }, nil),
		Entry("an scp-style location", func(o obj) { source(o)["location"] = "git@github.com:org/repo.git" }, nil),
		Entry("an scp-style location with ref and dir",
			func(o obj) { source(o)["location"] = "git@github.com:org/repo.git?ref=v1.2.0&dir=operator/scripts" }, nil),
		Entry("an ssh location with a user, a port, ref and dir",
			func(o obj) { source(o)["location"] = "ssh://git@host:2222/org/repo.git?ref=main&dir=ops" }, nil),
		Entry("an http location on a loopback address and port",
			func(o obj) { source(o)["location"] = "http://127.0.0.1:3000/org/repo.git" }, nil),
		Entry("an https location on an IPv6 address",
			func(o obj) { source(o)["location"] = "https://[fd00::1]:3000/org/repo.git?ref=0123456789abcdef" }, nil),
		Entry("an https location with an @ in its path",
			func(o obj) { source(o)["location"] = "https://example.com/org/repo@v1.git" }, nil),
		Entry("an interval of exactly 30s", func(o obj) { source(o)["interval"] = "30s" }, nil),
		Entry("an interval of 1h30m", func(o obj) { source(o)["interval"] = "1h30m" }, nil),
		Entry("an interval of exactly 168h", func(o obj) { source(o)["interval"] = "168h" }, nil),
		Entry("requeues of 1 second", func(o obj) {
			mapping(o)["requeue_after_change"] = 1
			mapping(o)["requeue_after_noop"] = 1
		}, nil),
		Entry("a 58-character name", func(o obj) { metadata(o)["name"] = strings.Repeat("n", 58) }, nil),
		Entry("no mappings and no sources", func(o obj) { o["spec"] = obj{} }, nil),
		Entry("replicas 0", func(o obj) { spec(o)["replicas"] = 0 }, nil),
		Entry("every credential kind",
			func(o obj) {
				source(o)["credentials"] = obj{
					"username": secretKey("username"), "password": secretKey("password"),
					"caBundle": secretKey("ca.crt")}
				addSource(o, obj{"location": "https://example.com/org/b.git", "path": "b",
					"credentials": obj{"token": secretKey("token")}})
				addSource(o, obj{"location": "git@example.com:org/c.git", "path": "c",
					"credentials": obj{"sshPrivateKey": secretKey("id_ed25519"),
						"knownHosts": secretKey("known_hosts")}})
			}, nil),
		Entry("nulls where nuop's schema was nullable: dropped, not rejected",
			func(o obj) {
				spec(o)["image"] = nil
				spec(o)["serviceAccountName"] = nil
				mapping(o)["requeue_after_noop"] = nil
				source(o)["credentials"] = nil
			},
			func(u *unstructured.Unstructured) {
				Expect(spec(u.Object)).NotTo(HaveKey("image"))
				Expect(spec(u.Object)).NotTo(HaveKey("serviceAccountName"))
				Expect(mapping(u.Object)).NotTo(HaveKey("requeue_after_noop"))
				Expect(source(u.Object)).NotTo(HaveKey("credentials"))
			}),
		Entry("defaults for the fields nuop never had",
			func(obj) {},
			func(u *unstructured.Unstructured) {
				Expect(spec(u.Object)).To(HaveKeyWithValue("imagePullPolicy", "IfNotPresent"))
				Expect(spec(u.Object)).To(HaveKeyWithValue("replicas", BeNumerically("==", 1)))
				Expect(source(u.Object)).To(HaveKeyWithValue("interval", "5m"))
				Expect(mapping(u.Object)).NotTo(HaveKey("requeue_after_change"))
			}),
	)
})
