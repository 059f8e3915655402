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

package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	// The Prometheus Operator's module holds its CRDs (example/prometheus-operator-crd), which this suite
	// installs in envtest. Go keeps a module in go.mod only while a package of it is imported: this is its
	// smallest one, without side effects.
	_ "github.com/prometheus-operator/prometheus-operator/pkg/versionutil"
)

const prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator"

// prometheusOperatorCRDs is the directory of the Prometheus Operator's CRDs in the module cache, at the
// version go.mod requires (the one of the API types this suite decodes the monitors with).
func prometheusOperatorCRDs() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-json", prometheusOperatorModule).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %v\n%s", prometheusOperatorModule, err, stderrOf(err))
	}
	var mod struct{ Version, Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", err
	}
	if mod.Dir == "" {
		return "", fmt.Errorf("%s %s is not in the module cache: run `go mod download` in test/monitoring",
			prometheusOperatorModule, mod.Version)
	}
	dir := filepath.Join(mod.Dir, "example", "prometheus-operator-crd")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("the CRDs of %s %s: %w", prometheusOperatorModule, mod.Version, err)
	}
	return dir, nil
}
