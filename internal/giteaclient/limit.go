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
	"math"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// errClientRateLimit is a call the client's own rate limit could not admit before the call's deadline.
var errClientRateLimit = errors.New("client-side rate limit")

// limiter is the token bucket of one provider, read on the injected clock (rate.Limiter's explicit-time
// methods) so a test can drive it without sleeping.
type limiter struct {
	clock  clock.Clock
	bucket *rate.Limiter
}

// newLimiter admits qps calls a second after a burst of burst; qps <= 0 admits everything. A burst below
// one is raised to qps rounded up (at least one): a bucket of zero would admit nothing.
func newLimiter(c clock.Clock, qps float64, burst int) *limiter {
	if qps <= 0 {
		return &limiter{clock: c}
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(qps)))
	}
	return &limiter{clock: c, bucket: rate.NewLimiter(rate.Limit(qps), burst)}
}

// wait blocks until the bucket admits one call. It gives up at once, taking no token, when the wait would
// outlast ctx's deadline.
func (l *limiter) wait(ctx context.Context) error {
	if l.bucket == nil {
		return nil
	}
	now := l.clock.Now()
	r := l.bucket.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		r.CancelAt(now)
		return fmt.Errorf("%w: waiting %s would pass the deadline", errClientRateLimit, d)
	}
	if err := sleep(ctx, l.clock, d); err != nil {
		r.CancelAt(l.clock.Now())
		return err
	}
	return nil
}

// sleep waits d on c, or until ctx is done.
func sleep(ctx context.Context, c clock.Clock, d time.Duration) error {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
