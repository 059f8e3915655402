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

package scripts_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// The config keys of SCRIPT-PROTOCOL.md section 2; anything else would be warned about by the engine.
var knownConfigKeys = []string{
	"name", "group", "version", "kind", "labelSelectors", "labelSelector", "fieldSelectors", "namespace",
	"finalizer", "onUnmatch", "requeue_after_change", "requeueAfterChange", "requeue_after_noop",
	"requeueAfterNoop", "timeout", "concurrency", "batch", "batchWindow",
}

// scriptConfig runs `nu mod.nu config` in the script's directory with empty stdin, as the engine does, and
// parses its stdout as YAML 1.2.
func scriptConfig(script string) map[string]any {
	res := runNu(script, nil, scriptEnv(script, "", nil, ""), "mod.nu", "config")
	Expect(res.code).To(Equal(0), "%s", res)
	var config map[string]any
	Expect(yaml.Unmarshal([]byte(res.stdout), &config)).To(Succeed(), "stdout:\n%s", res.stdout)
	return config
}

var _ = Describe("the scripts' config", func() {
	It("ships the four examples, each a directory with mod.nu", func() {
		mods, err := filepath.Glob(filepath.Join(scriptsDir, "*", "mod.nu"))
		Expect(err).NotTo(HaveOccurred())
		names := make([]string, 0, len(mods))
		for _, m := range mods {
			names = append(names, filepath.Base(filepath.Dir(m)))
		}
		Expect(names).To(ConsistOf("config-hash", "config-replicator", "greeting", "label-enforcer"))
	})

	DescribeTable("parses, names its directory, and has only known keys",
		func(script string, want map[string]any) {
			config := scriptConfig(script)
			Expect(config).To(HaveKeyWithValue("name", script))
			for key := range config {
				Expect(knownConfigKeys).To(ContainElement(key), "unknown config key %q", key)
			}
			for key, value := range want {
				Expect(config).To(HaveKeyWithValue(key, value))
			}
			if selectors, ok := config["labelSelectors"]; ok {
				// `yes` must reach the engine as the string "yes", not a boolean.
				Expect(selectors).To(HaveEach(BeAssignableToTypeOf("")))
			}

			// A finalizer needs a finalize command (the engine's load-time check), and only then.
			dir := filepath.Join(scriptsDir, script)
			help := runNu(script, nil, scriptEnv(script, "", nil, ""), filepath.Join(dir, "mod.nu"), "finalize", "--help")
			if _, ok := config["finalizer"]; ok {
				Expect(help.code).To(Equal(0), "%s", help)
			} else {
				Expect(help.code).To(Equal(1), "%s", help)
			}
			// And batch a reconcile-batch command.
			help = runNu(script, nil, scriptEnv(script, "", nil, ""), filepath.Join(dir, "mod.nu"), "reconcile-batch", "--help")
			if _, ok := config["batch"]; ok {
				Expect(help.code).To(Equal(0), "%s", help)
			} else {
				Expect(help.code).To(Equal(1), "%s", help)
			}

			// The kind is served by the API server (the Greeting CRD from scripts/greeting/crd).
			group, _ := config["group"].(string)
			version, _ := config["version"].(string)
			kind, _ := config["kind"].(string)
			mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(clientset.Discovery()))
			_, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind}, version)
			Expect(err).NotTo(HaveOccurred())
		},
		Entry("config-replicator", "config-replicator", map[string]any{
			"group": "", "version": "v1", "kind": "ConfigMap",
			"labelSelectors": map[string]any{"nuop.kemper.buzz/replicate": "yes"},
			"finalizer":      "nuop.kemper.buzz/config-replicator",
			"onUnmatch":      "release",
		}),
		Entry("label-enforcer", "label-enforcer", map[string]any{
			"group": "", "version": "v1", "kind": "ConfigMap",
			"labelSelectors": map[string]any{"nuop.kemper.buzz/enforce-labels": "yes"},
		}),
		Entry("greeting", "greeting", map[string]any{
			"group": "examples.kemper.buzz", "version": "v1alpha1", "kind": "Greeting",
		}),
		Entry("config-hash", "config-hash", map[string]any{
			"group": "", "version": "v1", "kind": "ConfigMap",
			"labelSelectors": map[string]any{"nuop.kemper.buzz/hash": "yes"},
			"batch":          50,
		}),
	)

	It("prints help and exits 0 without a sub-command", func() {
		for _, script := range []string{"config-replicator", "label-enforcer", "greeting", "config-hash"} {
			res := runNu(script, nil, scriptEnv(script, "", nil, ""), "mod.nu")
			Expect(res.code).To(Equal(0), "%s", res)
			Expect(res.stdout).To(ContainSubstring("reconcile"))
		}
	})
})
