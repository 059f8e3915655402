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

// Package health serves the liveness and readiness probes.
//
// controller-runtime's own probe server answers on one path per probe; nuop's Deployments probe
// /health and /ready, Kubebuilder's /healthz and /readyz, so this server answers on all four.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Gate is a readiness check that a mode opens once it has loaded what it runs, and that says why while
// it is closed.
type Gate struct {
	mu     sync.Mutex
	ready  bool
	reason string
}

// NewGate returns a closed gate with the given reason.
func NewGate(reason string) *Gate { return &Gate{reason: reason} }

// Open marks the gate ready.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready, g.reason = true, ""
}

// Close marks the gate not ready, with the reason the readiness probe reports.
func (g *Gate) Close(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready, g.reason = false, reason
}

// Check implements healthz.Checker.
func (g *Gate) Check(*http.Request) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ready {
		return nil
	}
	return errors.New(g.reason)
}

// CacheSynced is a readiness check that passes once every informer of the cache has synced. A standby
// replica's cache runs too, so it passes there as well and a PodDisruptionBudget can count it.
func CacheSynced(waitForSync func(context.Context) bool) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !waitForSync(ctx) {
			return errors.New("caches not synced yet")
		}
		return nil
	}
}

// Server serves the probes. Add it to the manager; it starts before the caches and stops last.
type Server struct {
	live, ready checks
}

// NewServer returns a server with no checks; a probe with no checks answers ok.
func NewServer() *Server {
	return &Server{live: checks{}, ready: checks{}}
}

// AddLivenessCheck adds a named liveness check. Call before the manager starts.
func (s *Server) AddLivenessCheck(name string, c healthz.Checker) { s.live[name] = c }

// AddReadinessCheck adds a named readiness check. Call before the manager starts.
func (s *Server) AddReadinessCheck(name string, c healthz.Checker) { s.ready[name] = c }

// Handler routes /healthz, /health, /readyz and /ready, with the per-check sub-paths (/readyz/<check>).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for path, h := range map[string]http.Handler{
		"/healthz": s.live, "/health": s.live,
		"/readyz": s.ready, "/ready": s.ready,
	} {
		mux.Handle(path, http.StripPrefix(path, h))
		mux.Handle(path+"/", http.StripPrefix(path, h))
	}
	return mux
}

// checks answers 200 when every check passes and 503 otherwise, listing each check with its reason.
// Unlike controller-runtime's healthz handler it does not withhold reasons: they are ours (a mode saying
// it has nothing loaded, say) and the point of a probe a person reads.
type checks map[string]healthz.Checker

func (c checks) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	names := make([]string, 0, len(c))
	if only := strings.Trim(req.URL.Path, "/"); only != "" {
		if _, ok := c[only]; !ok {
			http.NotFound(w, req)
			return
		}
		names = append(names, only)
	} else {
		for name := range c {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	var body strings.Builder
	failed := false
	for _, name := range names {
		if err := c[name](req); err != nil {
			failed = true
			fmt.Fprintf(&body, "[-]%s failed: %v\n", name, err)
		} else {
			fmt.Fprintf(&body, "[+]%s ok\n", name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusServiceUnavailable)
		body.WriteString("not ok\n")
	} else {
		body.WriteString("ok\n")
	}
	_, _ = io.WriteString(w, body.String())
}

// Runnable returns the manager runnable serving the probes on addr.
func (s *Server) Runnable(addr string) (manager.Runnable, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	shutdownTimeout := 5 * time.Second
	return &manager.Server{
		Name:            "health probe",
		Server:          &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second},
		Listener:        ln,
		ShutdownTimeout: &shutdownTimeout,
	}, nil
}
