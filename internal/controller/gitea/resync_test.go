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

package gitea

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// belowOne is the largest number rand.Float64 returns.
var belowOne = math.Nextafter(1, 0)

func TestResyncAfter(t *testing.T) {
	// The CRD admits syncInterval from 30s to 168h, but a provider stored before it had an upper bound may
	// hold up to the longest Duration Go holds; the API server fills in 10m when it is unset, so nil is
	// only a provider not known yet.
	longest := time.Duration(math.MaxInt64)
	interval := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	tests := []struct {
		name  string
		every *metav1.Duration
		u     float64
		want  time.Duration
	}{
		{"no provider: the default, 10 % sooner", nil, 0, 9 * time.Minute},
		{"no provider: the default", nil, 0.5, 10 * time.Minute},
		{"no provider: the default, just under 10 % later", nil, belowOne, 11*time.Minute - time.Nanosecond},
		{"the CRD's default", interval(10 * time.Minute), 0.25, 9*time.Minute + 30*time.Second},
		{"the CRD's minimum, 10 % sooner", interval(30 * time.Second), 0, 27 * time.Second},
		{"the CRD's minimum", interval(30 * time.Second), 0.5, 30 * time.Second},
		{"the CRD's minimum, just under 10 % later", interval(30 * time.Second), belowOne, 33*time.Second - time.Nanosecond},
		{"a day, 5 % later", interval(24 * time.Hour), 0.75, 25*time.Hour + 12*time.Minute},
		{"the CRD's maximum, 5 % later", interval(168 * time.Hour), 0.75, 176*time.Hour + 24*time.Minute},
		{"the longest Duration, 10 % sooner", interval(longest), 0, longest - longest/10},
		{"the longest Duration, later: capped, not wrapped to a negative", interval(longest), belowOne, longest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, resyncAfter(tt.every, tt.u)); diff != "" {
				t.Errorf("resyncAfter(%v, %v) (-want +got):\n%s", tt.every, tt.u, diff)
			}
		})
	}
}

// TestResyncAfterSpreads draws as the reconciler does (from a seeded source, so the test is repeatable):
// every draw stays within ±10 % of the interval, and the draws use the whole of that range.
func TestResyncAfterSpreads(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	for _, d := range []time.Duration{30 * time.Second, 10 * time.Minute, 24 * time.Hour} {
		low, high := d, d
		for range 1000 {
			got := resyncAfter(&metav1.Duration{Duration: d}, random.Float64())
			if got < d-d/10 || got >= d+d/10 {
				t.Fatalf("interval %v: a resync after %v, outside [%v, %v)", d, got, d-d/10, d+d/10)
			}
			low, high = min(low, got), max(high, got)
		}
		if low > d-d/20 || high < d+d/20 {
			t.Errorf("interval %v: 1000 resyncs all between %v and %v, not spread over ±10 %%", d, low, high)
		}
	}
}

// resyncWait is how long the spec below waits for a resync: well beyond the 33 s a 30 s syncInterval takes
// at most, far below the 9 minutes the default interval takes at least.
const resyncWait = 3 * time.Minute

var _ = Describe("The periodic resync", func() {
	It("corrects drift made in Gitea after the provider's syncInterval, with no change to the resource", func() {
		ns := readyProvider()
		p := &giteav1alpha1.GiteaProvider{}
		p.Namespace, p.Name = ns, "gitea"
		// The shortest interval the CRD admits; the label is created after, so its first sync reads it.
		update(p, func(p *giteav1alpha1.GiteaProvider) {
			p.Spec.SyncInterval = &metav1.Duration{Duration: 30 * time.Second}
		})
		Eventually(ready(p), eventually, poll).Should(Equal("True/Connected"))
		p = fresh(p)
		ensureLabelRepo()
		l := newLabel(ns, "resync", "periodic-resync", nil)
		Eventually(conditionOf(l, giteav1alpha1.ConditionSynced), eventually, poll).Should(Equal("True/UpToDate"))
		before := fresh(l)
		color := func() any {
			found := labelsInGitea(labelRepo, "periodic-resync")
			Expect(found).To(HaveLen(1))
			return found[0]["color"]
		}
		Expect(color()).To(Equal("00aabb"))

		// Changed by hand in Gitea. Nothing in Kubernetes changes from here on: the resource, its provider and
		// the provider's Secret stay as they are, so only the timer set at the last sync can start the next.
		giteaCall(http.MethodPatch, fmt.Sprintf("/repos/%s/labels/%d", labelRepo, before.Status.ID),
			map[string]any{"color": "#000000"})
		Expect(color()).To(Equal("000000"))

		Eventually(color, resyncWait, poll).Should(Equal("00aabb"), "the drift was not corrected by a resync")
		after := fresh(l)
		Expect(after.Generation).To(Equal(before.Generation))
		Expect(after.Annotations).NotTo(HaveKey(giteav1alpha1.SyncRequestAnnotation))
		Expect(after.Status.LastSyncTime.After(before.Status.LastSyncTime.Time)).To(BeTrue(), "no sync recorded")
		Expect(eventReasonsOf(l)).To(ContainElement("Updated"))
		Expect(fresh(p).Generation).To(Equal(p.Generation), "the provider changed during the wait")
		deleteCR(l)
	})
})
