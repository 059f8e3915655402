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

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Linux's USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTimes are a process's own CPU time and that of the children it has waited for.
type cpuTimes struct {
	self, children time.Duration
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{self: c.self - o.self, children: c.children - o.children}
}

// procCPU reads utime+stime and cutime+cstime from /proc/<pid>/stat.
func procCPU(pid int) (cpuTimes, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, err
	}
	// The command name is in parentheses and may hold spaces: the fields start after the last ')'.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 15 {
		return cpuTimes{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	// fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14 to 17.
	var t [4]int64
	for i := range t {
		if t[i], err = strconv.ParseInt(fields[11+i], 10, 64); err != nil {
			return cpuTimes{}, err
		}
	}
	return cpuTimes{self: time.Duration(t[0]+t[1]) * clockTick, children: time.Duration(t[2]+t[3]) * clockTick}, nil
}

// selfCPU is this process's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statusBytes reads a "kB" line of /proc/<pid>/status (VmHWM, VmRSS) in bytes.
func statusBytes(pid int, key string) (int64, error) {
	return statusFile(fmt.Sprintf("/proc/%d/status", pid), key)
}

// memTotal is the machine's memory from /proc/meminfo, 0 when unknown.
func memTotal() int64 {
	n, err := statusFile("/proc/meminfo", "MemTotal")
	if err != nil {
		return 0
	}
	return n
}

// statusFile reads a "kB" line of a /proc file in bytes.
func statusFile(path, key string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("%s has no %s", path, key)
}

// childrenNamed finds this process's direct children by command name (envtest's etcd and kube-apiserver).
func childrenNamed(names ...string) map[string]int {
	found := map[string]int{}
	self := os.Getpid()
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range entries {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(data)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		comm := s[open+1 : closing]
		for _, name := range names {
			// comm is cut to 15 characters: "kube-apiserver" fits.
			if comm == name {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
				found[name] = pid
			}
		}
	}
	return found
}

// machineCPU is the whole machine's busy and idle time, from /proc/stat.
type machineCPU struct {
	busy, idle time.Duration
}

func readMachineCPU() (machineCPU, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	// user nice system idle iowait irq softirq steal (guest time is already in user and nice).
	var m machineCPU
	for i, f := range fields[1:9] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return machineCPU{}, err
		}
		if i == 3 || i == 4 {
			m.idle += time.Duration(v) * clockTick
		} else {
			m.busy += time.Duration(v) * clockTick
		}
	}
	return m, nil
}

// busySince is the share of the machine's CPU that was busy since m.
func (m machineCPU) busySince() float64 {
	now, err := readMachineCPU()
	if err != nil {
		return 0
	}
	busy, idle := now.busy-m.busy, now.idle-m.idle
	if busy+idle <= 0 {
		return 0
	}
	return float64(busy) / float64(busy+idle)
}
