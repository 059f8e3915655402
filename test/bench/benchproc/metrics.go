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

package benchproc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"kemper.buzz/nuop/test/utils"
)

// Scrape reads the metrics at address, a URL (plain HTTP). It asks for no format, so client_golang's handler
// answers in the text format.
func Scrape(address string) (utils.Metrics, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(address)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", address, resp.Status)
	}
	metrics, err := utils.ParseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", address, err)
	}
	return metrics, nil
}

// Metrics reads the manager's metrics. The endpoint comes up with the manager, so while the manager runs a
// request that gets no answer is tried again for up to 10 s.
func (m *Manager) Metrics() (utils.Metrics, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		metrics, err := Scrape(m.MetricsURL)
		var connErr *url.Error
		if err == nil || !errors.As(err, &connErr) || time.Now().After(deadline) {
			return metrics, err
		}
		select {
		case <-m.Exited:
			return nil, fmt.Errorf("the manager exited (%v): %w", m.Cmd.ProcessState, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
