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

// Package procs runs child processes, each in a process group of its own, and guarantees that none of
// them outlives the operator's shutdown.
//
// A script may start processes of its own (kubectl, curl): killing only the direct child would leave
// them running, holding pipes open and acting on the cluster after the lease has gone to another
// replica. So every child gets its own process group and every kill targets the whole group.
package procs

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ErrShuttingDown is returned by Spawn once shutdown has begun: no new process is started then.
var ErrShuttingDown = errors.New("shutting down: no new processes are started")

// DefaultKillGrace is how long a process group has between SIGTERM and SIGKILL.
const DefaultKillGrace = 5 * time.Second

// Supervisor tracks live child process groups. As a controller-runtime Runnable it waits for the
// manager to stop, then drains: refuses new children, lets running ones finish within DrainTimeout,
// and kills the process groups of those still running after that. The manager releases its leader
// lease only after every runnable has returned, so the lease outlives every child.
type Supervisor struct {
	// DrainTimeout bounds how long running children may go on after shutdown starts.
	DrainTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL of a group.
	KillGrace time.Duration

	mu       sync.Mutex
	draining bool
	children map[*Child]struct{}
	// idle is closed and replaced as the set of children empties and fills, so waiters need no polling.
	idle chan struct{}
	// peak is the high-water mark of live children.
	peak int
}

// Child is one supervised process.
type Child struct {
	cmd  *exec.Cmd
	sup  *Supervisor
	done chan struct{}
	err  error
}

// NewSupervisor returns a supervisor that gives children drainTimeout to finish on shutdown.
func NewSupervisor(drainTimeout time.Duration) *Supervisor {
	idle := make(chan struct{})
	close(idle)
	return &Supervisor{
		DrainTimeout: drainTimeout,
		KillGrace:    DefaultKillGrace,
		children:     map[*Child]struct{}{},
		idle:         idle,
	}
}

// Spawn starts cmd in a new process group and reaps it when it exits; Wait returns its result. Since
// the supervisor calls cmd.Wait itself, give cmd *os.File outputs or io.Writers, not StdoutPipe.
func (s *Supervisor) Spawn(cmd *exec.Cmd) (*Child, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cmd.WaitDelay == 0 {
		// A grandchild holding stdout open must not keep Wait (and so the group kill below) from returning.
		cmd.WaitDelay = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return nil, ErrShuttingDown
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, sup: s, done: make(chan struct{})}
	if len(s.children) == 0 {
		s.idle = make(chan struct{})
	}
	s.children[c] = struct{}{}
	s.peak = max(s.peak, len(s.children))
	go c.reap()
	return c, nil
}

// reap waits for the process and removes it from the set; it is the only caller of cmd.Wait.
func (c *Child) reap() {
	c.err = c.cmd.Wait()
	// The group may still hold grandchildren after the leader exited; they go with it.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	s := c.sup
	s.mu.Lock()
	delete(s.children, c)
	if len(s.children) == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
	close(c.done)
}

// Wait blocks until the process has exited and returns what exec.Cmd.Wait returned.
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Done is closed when the process has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Pid is the process id, which is also its process group id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Kill ends the whole process group: SIGTERM, then SIGKILL after grace if it is still there. It
// returns once the process has exited.
func (c *Child) Kill(grace time.Duration) {
	pgid := c.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-c.done
	}
}

// Live returns the number of running children.
func (s *Supervisor) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.children)
}

// Peak returns the most children that were ever running at once.
func (s *Supervisor) Peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Start implements manager.Runnable: it returns after the drain that follows ctx's end.
func (s *Supervisor) Start(ctx context.Context) error {
	<-ctx.Done()
	s.Drain()
	return nil
}

// NeedLeaderElection is false: children of any replica must be drained, standby or leader.
func (s *Supervisor) NeedLeaderElection() bool { return false }

// Drain refuses new children, waits up to DrainTimeout for the running ones, then kills what is left
// and returns when no child is running.
func (s *Supervisor) Drain() {
	logger := log.Log.WithName("procs")
	s.mu.Lock()
	s.draining = true
	idle := s.idle
	n := len(s.children)
	s.mu.Unlock()
	if n == 0 {
		return
	}
	logger.Info("waiting for running child processes before exit", "count", n, "timeout", s.DrainTimeout)
	timer := time.NewTimer(s.DrainTimeout)
	defer timer.Stop()
	select {
	case <-idle:
		return
	case <-timer.C:
	}
	s.mu.Lock()
	left := make([]*Child, 0, len(s.children))
	for c := range s.children {
		left = append(left, c)
	}
	s.mu.Unlock()
	logger.Info("killing child process groups still running after the drain timeout", "count", len(left))
	var wg sync.WaitGroup
	for _, c := range left {
		wg.Go(func() { c.Kill(s.KillGrace) })
	}
	wg.Wait()
}
