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

package procs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether a process exists (a zombie counts as gone: it has been killed).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && !strings.HasPrefix(strings.TrimSpace(string(stat)), "Z")
}

// spawnWithGrandchild starts a shell that starts a long sleep of its own and reports its pid.
func spawnWithGrandchild(t *testing.T, s *Supervisor, shell string) (*Child, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", shell)
	// An *os.File, not StdoutPipe: the supervisor reaps the child at once, and Wait closes StdoutPipe.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdout.Close() }()
	cmd.Stdout = w
	c, err := s.Spawn(cmd)
	_ = w.Close()
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the grandchild's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return c, pid
}

func TestDrainLetsChildrenFinishWithinTimeout(t *testing.T) {
	s := NewSupervisor(10 * time.Second)
	c, err := s.Spawn(exec.Command("sh", "-c", "sleep 0.3; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	s.Drain()
	var exitErr *exec.ExitError
	if err := c.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("the child was not left to finish on its own: %v", err)
	}
	if s.Live() != 0 {
		t.Errorf("Live = %d after drain", s.Live())
	}
}

func TestDrainKillsWholeProcessGroupAfterTimeout(t *testing.T) {
	s := NewSupervisor(200 * time.Millisecond)
	s.KillGrace = 200 * time.Millisecond
	// The shell ignores SIGTERM, so only SIGKILL after the grace period ends it; its grandchild must go too.
	c, grandchild := spawnWithGrandchild(t, s, `trap "" TERM; sleep 300 & echo $!; wait`)
	s.Drain()
	select {
	case <-c.Done():
	default:
		t.Fatal("Drain returned while the child was still running")
	}
	var exitErr *exec.ExitError
	if err := c.Wait(); !errors.As(err, &exitErr) {
		t.Fatalf("want the child killed, got %v", err)
	} else if ws := exitErr.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL (it ignores SIGTERM)", ws)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(grandchild) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(grandchild) {
		_ = syscall.Kill(grandchild, syscall.SIGKILL)
		t.Fatalf("grandchild %d outlived the drain", grandchild)
	}
}

func TestSpawnRefusedWhileDraining(t *testing.T) {
	s := NewSupervisor(time.Second)
	s.Drain()
	if _, err := s.Spawn(exec.Command("true")); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("Spawn after Drain: want ErrShuttingDown, got %v", err)
	}
}

func TestGrandchildrenGoWhenTheLeaderExits(t *testing.T) {
	s := NewSupervisor(time.Second)
	// The shell exits at once, leaving its background sleep behind in the group.
	c, grandchild := spawnWithGrandchild(t, s, `sleep 300 & echo $!`)
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(grandchild) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(grandchild) {
		_ = syscall.Kill(grandchild, syscall.SIGKILL)
		t.Fatalf("grandchild %d outlived its process group's leader", grandchild)
	}
}

func TestPeakCountsConcurrentChildren(t *testing.T) {
	s := NewSupervisor(time.Second)
	children := make([]*Child, 0, 3)
	for range 3 {
		c, err := s.Spawn(exec.Command("sleep", "0.2"))
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
	}
	for _, c := range children {
		_ = c.Wait()
	}
	if s.Peak() != 3 || s.Live() != 0 {
		t.Errorf("Peak = %d, Live = %d; want 3 and 0", s.Peak(), s.Live())
	}
}
