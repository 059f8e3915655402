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

// Package ginkgorun runs a Ginkgo suite under go test so that a spec that hangs fails by name.
//
// go test's -timeout panics with every goroutine's stack and names no spec; the suite's cleanup never
// runs, so its API server and Gitea outlive it. Ginkgo's own timeout, set to end first, fails the spec
// that hangs with its stack, skips the rest and still runs the cleanup.
package ginkgorun

import (
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

const (
	// maxMargin is the most of go test's time left to Ginkgo's interrupt and the suite's cleanup.
	maxMargin = 2 * time.Minute
	// slowSpec is how long a spec runs before it reports where it is, and then every slowSpec again.
	slowSpec = 2 * time.Minute
)

// Specs runs the package's specs as RunSpecs does, failing t through Gomega's fail handler, with Ginkgo's
// timeout ending before go test's (unless -ginkgo.timeout is shorter already) and a report of where a spec
// is once it has run slowSpec (unless -ginkgo.poll-progress-after is set).
func Specs(t *testing.T, description string) bool {
	t.Helper()
	gomega.RegisterFailHandler(ginkgo.Fail)
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	if deadline, ok := t.Deadline(); ok {
		suiteConfig.Timeout, suiteConfig.GracePeriod = beforeDeadline(time.Until(deadline),
			suiteConfig.Timeout, suiteConfig.GracePeriod)
	}
	if suiteConfig.PollProgressAfter == 0 {
		suiteConfig.PollProgressAfter, suiteConfig.PollProgressInterval = slowSpec, slowSpec
	}
	return ginkgo.RunSpecs(t, description, suiteConfig, reporterConfig)
}

// beforeDeadline is Ginkgo's timeout and grace period when go test ends the binary in left: the timeout
// leaves a tenth of left (at most maxMargin) for the interrupt and the cleanup, and the grace period (how
// long Ginkgo waits for an interrupted spec before it moves on) takes at most half of that.
func beforeDeadline(left, timeout, grace time.Duration) (time.Duration, time.Duration) {
	margin := min(left/10, maxMargin)
	return min(timeout, left-margin), max(min(grace, margin/2), time.Second)
}
