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

// Package hangs is a suite with a spec that never returns, for ginkgorun's test.
package hangs

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kemper.buzz/nuop/test/utils/ginkgorun"
)

func TestHangs(t *testing.T) {
	ginkgorun.Specs(t, "hangs")
}

var _ = AfterSuite(func() {
	Expect(os.WriteFile(os.Getenv("HANGS_CLEANUP_MARK"), nil, 0o600)).To(Succeed())
})

var _ = It("waits for what never comes", func() {
	select {}
})
