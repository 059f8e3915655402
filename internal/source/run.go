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

package source

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// defaultRetryMin is the first wait after a failed Sync; it doubles on each failure, up to the source's
// interval.
const defaultRetryMin = 5 * time.Second

// Run keeps the given sources up to date until ctx ends, then returns nil. It first prunes what belongs to no
// source (Prune), then syncs every source at once and again at its interval (sooner after a failure, backing
// off from 5 s to the interval), each on its own. Whenever a source's state changes it writes the state file
// (WriteState) and calls OnChange. A source whose path equals or nests in an earlier source's is not synced;
// its state says why. Trigger makes every source sync at once. To change the sources, end Run and run it
// again with the new ones: trees already in place are kept, so that costs an ls-remote per source.
func (f *Fetcher) Run(ctx context.Context, specs []Spec) error {
	root, err := f.root()
	if err != nil {
		return err
	}
	overlaps := overlapping(specs)
	var keep []string
	for i, s := range specs {
		if overlaps[i] == "" {
			keep = append(keep, s.Path)
		}
	}
	if err := f.Prune(keep); err != nil {
		f.Log.Info("Cannot prune the sources root", "error", err.Error())
	}
	r := &published{f: f, root: root, states: make([]State, len(specs))}
	for i, s := range specs {
		st := State{Path: s.Path, Location: redact(s.Location), LastError: overlaps[i]}
		if p, err := CleanPath(s.Path); err == nil && overlaps[i] == "" {
			cur := currentTree(root, p)
			st.Revision, st.FetchedAt = cur.revision, cur.fetchedAt
		}
		r.states[i] = st
	}
	r.publish()
	var wg sync.WaitGroup
	for i, s := range specs {
		if overlaps[i] == "" {
			wg.Go(func() { f.poll(ctx, s, func(st State) { r.set(i, st) }) })
		}
	}
	wg.Wait()
	return nil
}

// Trigger makes every source of a running Run sync now (a sync in progress is followed by another).
func (f *Fetcher) Trigger() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wake != nil {
		close(f.wake)
	}
	f.wake = make(chan struct{})
}

func (f *Fetcher) wakeChan() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	return f.wake
}

func (f *Fetcher) poll(ctx context.Context, s Spec, set func(State)) {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	retryMin := f.retryMin
	if retryMin <= 0 {
		retryMin = defaultRetryMin
	}
	var backoff time.Duration
	for {
		wake := f.wakeChan()
		st := f.Sync(ctx, s)
		if ctx.Err() != nil {
			return // an error from the cancellation is no news
		}
		set(st)
		wait := interval
		if st.LastError != "" {
			backoff = min(max(2*backoff, retryMin), interval)
			wait = backoff
		} else {
			backoff = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// overlapping says, for each spec, why its path conflicts with an earlier spec's ("" when it does not): the
// same path, or one nested in the other.
func overlapping(specs []Spec) []string {
	out := make([]string, len(specs))
	type seen struct{ raw, clean string }
	var earlier []seen
	for i, s := range specs {
		p, err := CleanPath(s.Path)
		if err != nil {
			continue // Sync reports it
		}
		for _, e := range earlier {
			switch {
			case p == e.clean:
				out[i] = fmt.Sprintf("path %q is also the path of another source (%q)", s.Path, e.raw)
			case strings.HasPrefix(p, e.clean+"/"), strings.HasPrefix(e.clean, p+"/"):
				out[i] = fmt.Sprintf("path %q and the path %q of another source nest: paths must not nest",
					s.Path, e.raw)
			}
			if out[i] != "" {
				break
			}
		}
		if out[i] == "" {
			earlier = append(earlier, seen{s.Path, p})
		}
	}
	return out
}

// published holds Run's states and writes them out when one changes.
type published struct {
	f      *Fetcher
	root   string
	mu     sync.Mutex
	states []State
}

func (r *published) set(i int, st State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.states[i].equal(st) {
		return
	}
	r.states[i] = st
	r.publishLocked()
}

func (r *published) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishLocked()
}

func (r *published) publishLocked() {
	states := slices.Clone(r.states)
	if err := WriteState(r.root, states); err != nil {
		r.f.Log.Info("Cannot write the source state", "error", err.Error())
	}
	if r.f.OnChange != nil {
		r.f.OnChange(states)
	}
}

func (s State) equal(o State) bool {
	return s.Path == o.Path && s.Location == o.Location && s.Revision == o.Revision &&
		s.FetchedAt.Equal(o.FetchedAt) && s.LastError == o.LastError
}
