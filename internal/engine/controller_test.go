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

package engine

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

var _ = Describe("a script's informer", func() {
	It("tells when it has synced without polling (client-go's DoneChecker), which waitForSync relies on", func() {
		c, err := cache.New(cfg, cache.Options{})
		Expect(err).NotTo(HaveOccurred())
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
		inf, err := c.GetInformer(context.Background(), obj)
		Expect(err).NotTo(HaveOccurred())
		_, ok := inf.(interface{ HasSyncedChecker() toolscache.DoneChecker })
		Expect(ok).To(BeTrue(), "%T has no HasSyncedChecker: waitForSync falls back to polling every 100 ms", inf)

		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		go func() { _ = c.Start(ctx) }()
		waitCtx, waitCancel := context.WithTimeout(ctx, time.Minute)
		defer waitCancel()
		Expect(waitForSync(waitCtx, inf)).To(BeTrue())
		Expect(inf.HasSynced()).To(BeTrue())

		stopped, stop := context.WithCancel(context.Background())
		stop()
		unstarted, err := cache.New(cfg, cache.Options{})
		Expect(err).NotTo(HaveOccurred())
		never, err := unstarted.GetInformer(context.Background(), obj)
		Expect(err).NotTo(HaveOccurred())
		Expect(waitForSync(stopped, never)).To(BeFalse(), "an informer never started does not sync")
	})
})
