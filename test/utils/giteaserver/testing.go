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

package giteaserver

import (
	"context"
	"time"
)

// T is what StartT needs of a test: *testing.T and Ginkgo's GinkgoT() both have it (with GinkgoT() in
// BeforeSuite, the cleanup runs after the suite).
type T interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// StartT starts a server for a test, failing it when Gitea cannot start (a missing binary included:
// the message names `make gitea`), and closes the server in the test's cleanup, after logging the end
// of Gitea's log if the test failed.
func StartT(t T, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting gitea: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the end of gitea's log (%s):\n%s", s.logPath(), s.logTail())
		}
		if err := s.Close(); err != nil {
			t.Logf("closing gitea: %v", err)
		}
	})
	return s
}
