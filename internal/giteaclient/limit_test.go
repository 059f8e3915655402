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

package giteaclient

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// t0 is where the tests' fake clocks start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// waitForTimer waits, in real time, until a timer is set on the fake clock.
func waitForTimer(t *testing.T, fc *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fc.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("no timer set on the fake clock")
		}
		time.Sleep(time.Millisecond)
	}
}

// done reports whether ch delivered within a short real-time grace period.
func done(ch <-chan error) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	case <-time.After(50 * time.Millisecond):
		return nil, false
	}
}

func TestLimiterAdmitsTheBurstThenTheRate(t *testing.T) {
	tests := []struct {
		qps       float64
		burst     int
		wantBurst int
		interval  time.Duration
	}{
		{qps: 2, burst: 3, wantBurst: 3, interval: 500 * time.Millisecond},
		{qps: 0.5, burst: 1, wantBurst: 1, interval: 2 * time.Second},
		{qps: 10, burst: 0, wantBurst: 10, interval: 100 * time.Millisecond},
		{qps: 2.5, burst: 0, wantBurst: 3, interval: 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("qps %v burst %d", tt.qps, tt.burst), func(t *testing.T) {
			fc := clocktesting.NewFakeClock(t0)
			l := newLimiter(fc, tt.qps, tt.burst)
			ctx := context.Background()
			for i := range tt.wantBurst {
				if err := l.wait(ctx); err != nil {
					t.Fatalf("call %d of the burst: %v", i+1, err)
				}
			}
			if fc.Waiters() != 0 {
				t.Fatal("the burst waited")
			}
			// Then one call per interval, each waiting exactly that long.
			for i := range 3 {
				ch := make(chan error, 1)
				go func() { ch <- l.wait(ctx) }()
				waitForTimer(t, fc)
				fc.Step(tt.interval - time.Nanosecond)
				if _, ok := done(ch); ok || fc.Waiters() != 1 {
					t.Fatalf("call %d after the burst was admitted before %s", i+1, tt.interval)
				}
				fc.Step(time.Nanosecond)
				if err, ok := done(ch); !ok || err != nil {
					t.Fatalf("call %d after the burst not admitted after %s: %v", i+1, tt.interval, err)
				}
			}
		})
	}
}

func TestLimiterUnlimited(t *testing.T) {
	fc := clocktesting.NewFakeClock(t0)
	l := newLimiter(fc, 0, 0)
	for range 1000 {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLimiterGivesUpBeforeTheDeadline(t *testing.T) {
	fc := clocktesting.NewFakeClock(t0)
	l := newLimiter(fc, 0.1, 1)
	if err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := l.wait(ctx)
	if err == nil || fc.Waiters() != 0 {
		t.Fatalf("a 10 s wait with 1 s left = %v, %d timers; want an error at once", err, fc.Waiters())
	}
	if !errors.Is(err, errClientRateLimit) {
		t.Errorf("the error %v is not the client-side rate limit's", err)
	}
	// The refused call took no token: the next one is admitted as soon as the bucket refills.
	fc.Step(10 * time.Second)
	ch := make(chan error, 1)
	go func() { ch <- l.wait(context.Background()) }()
	if err, ok := done(ch); !ok || err != nil {
		t.Fatalf("after the refill: %v (returned %v)", err, ok)
	}
}

func TestLimiterWaitIsCancelled(t *testing.T) {
	fc := clocktesting.NewFakeClock(t0)
	l := newLimiter(fc, 1, 1)
	_ = l.wait(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- l.wait(ctx) }()
	waitForTimer(t, fc)
	cancel()
	if err, ok := done(ch); !ok || err != context.Canceled {
		t.Fatalf("a cancelled wait returned %v, %v", err, ok)
	}
}
