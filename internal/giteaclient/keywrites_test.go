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
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Config{URL: url, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeyWritesToOneGiteaNeverOverlap(t *testing.T) {
	// Two providers of the same Gitea, one spelled with a trailing slash.
	clients := []*Client{mustClient(t, "https://one.example/"), mustClient(t, "https://one.example")}
	var inFlight, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := clients[i%2].WithKeyWriteLock(t.Context(), func() error {
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				inFlight.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d key writes to one Gitea were in flight at once, want 1", most.Load())
	}
}

func TestKeyWritesToTwoGiteasDoNotWait(t *testing.T) {
	one, other := mustClient(t, "https://a.example"), mustClient(t, "https://b.example")
	inside := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- one.WithKeyWriteLock(t.Context(), func() error { <-inside; return nil })
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Runs while one's write is still inside its lock.
	if err := other.WithKeyWriteLock(ctx, func() error { close(inside); return nil }); err != nil {
		t.Fatalf("a write to another Gitea waited: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestKeyWriteWaitEndsWithTheContext(t *testing.T) {
	c := mustClient(t, "https://c.example")
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = c.WithKeyWriteLock(t.Context(), func() error { close(held); <-release; return nil })
	}()
	<-held
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := c.WithKeyWriteLock(ctx, func() error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("with the lock held and the context done: err %v, ran %v; want context.Canceled, not run", err, ran)
	}
}
