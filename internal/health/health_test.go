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

package health

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

func TestProbePaths(t *testing.T) {
	s := NewServer()
	s.AddLivenessCheck("ping", healthz.Ping)
	gate := NewGate("standard mode: no script loaded from /scripts")
	s.AddReadinessCheck("loaded", gate.Check)
	s.AddReadinessCheck("caches", func(*http.Request) error { return nil })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	type answer struct {
		Code int
		Body string
	}
	get := func(path string) answer {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(body)}
	}
	notReady := answer{http.StatusServiceUnavailable,
		"[+]caches ok\n[-]loaded failed: standard mode: no script loaded from /scripts\nnot ok\n"}
	tests := []struct {
		path string
		want answer
	}{
		{"/healthz", answer{http.StatusOK, "[+]ping ok\nok\n"}},
		{"/health", answer{http.StatusOK, "[+]ping ok\nok\n"}},
		{"/readyz", notReady},
		{"/ready", notReady},
		{"/readyz/caches", answer{http.StatusOK, "[+]caches ok\nok\n"}},
		{"/ready/loaded", answer{http.StatusServiceUnavailable,
			"[-]loaded failed: standard mode: no script loaded from /scripts\nnot ok\n"}},
		{"/readyz/nope", answer{http.StatusNotFound, "404 page not found\n"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.path)); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}

	gate.Open()
	if diff := cmp.Diff(answer{http.StatusOK, "[+]caches ok\n[+]loaded ok\nok\n"}, get("/ready")); diff != "" {
		t.Errorf("after Open (-want +got):\n%s", diff)
	}
	gate.Close("reloading")
	if err := gate.Check(nil); err == nil || err.Error() != "reloading" {
		t.Errorf("Check after Close = %v, want the reason", err)
	}
}
