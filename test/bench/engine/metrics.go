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
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sample is one series of the Prometheus text format.
type sample struct {
	labels map[string]string
	value  float64
}

// samples are a scrape's series by metric name.
type samples map[string][]sample

// sum adds the values of name's series whose labels have the given key/value pairs.
func (s samples) sum(name string, match ...string) float64 {
	total := 0.0
	for _, smp := range s[name] {
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			if smp.labels[match[i]] != match[i+1] {
				ok = false
			}
		}
		if ok {
			total += smp.value
		}
	}
	return total
}

// scrape reads a metrics endpoint in the Prometheus text format (the manager's, plain HTTP).
func scrape(url string) (samples, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := samples{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, smp, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", url, err)
		}
		out[name] = append(out[name], smp)
	}
	return out, sc.Err()
}

// parseLine parses `name{k="v",...} value [timestamp]`.
func parseLine(line string) (string, sample, error) {
	smp := sample{labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return "", smp, fmt.Errorf("no value in %q", line)
	}
	name, rest := line[:end], line[end:]
	if strings.HasPrefix(rest, "{") {
		var err error
		if rest, err = parseLabels(rest[1:], smp.labels); err != nil {
			return "", smp, fmt.Errorf("%w in %q", err, line)
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", smp, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	smp.value = v
	return name, smp, err
}

// parseLabels reads `k="v",...}` into labels and returns what follows the closing brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, ", ")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return "", fmt.Errorf("bad labels")
		}
		key := s[:eq]
		s = s[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", fmt.Errorf("unterminated label value")
		}
		labels[key] = val.String()
		s = s[i+1:]
	}
}
