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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// runResult is what one script run left behind.
type runResult struct {
	code   int
	stdout string
	stderr string
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// scriptEnv is the environment the engine gives a run: PATH with the provisioned kubectl, a writable
// HOME, the kubeconfig of the test API server, and the NUOP_* variables. extraPath, when set, comes first
// on PATH.
func scriptEnv(script, operation string, obj *unstructured.Unstructured, extraPath string) []string {
	path := binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	if extraPath != "" {
		path = extraPath + string(os.PathListSeparator) + path
	}
	env := []string{"PATH=" + path, "HOME=" + homeDir, "KUBECONFIG=" + kubeconfig, "NUOP_SCRIPT=" + script}
	if obj != nil {
		env = append(env,
			"NUOP_OPERATION="+operation,
			"NUOP_OBJECT_API_VERSION="+obj.GetAPIVersion(),
			"NUOP_OBJECT_KIND="+obj.GetKind(),
			"NUOP_OBJECT_NAMESPACE="+obj.GetNamespace(),
			"NUOP_OBJECT_NAME="+obj.GetName(),
		)
	}
	return env
}

// runNu runs nu with args in the script's directory, with stdin and env, and returns how it ended.
func runNu(script string, stdin []byte, env []string, args ...string) runResult {
	dir := filepath.Join(scriptsDir, script)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nuPath, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		res.code = exitErr.ExitCode()
	default:
		Fail(fmt.Sprintf("running nu %v in %s: %v\n%s", args, dir, err, res))
	}
	GinkgoWriter.Printf("nu %s (in %s): %s\n", strings.Join(args, " "), dir, res)
	return res
}

// runScript runs `nu --stdin <dir>/mod.nu <operation>` as the engine does: obj as YAML on stdin, with
// apiVersion and kind set and metadata.managedFields removed.
func runScript(script, operation string, obj *unstructured.Unstructured) runResult {
	return runScriptWithPath(script, operation, obj, "")
}

func runScriptWithPath(script, operation string, obj *unstructured.Unstructured, extraPath string) runResult {
	in := obj.DeepCopy()
	Expect(in.GetAPIVersion()).NotTo(BeEmpty())
	Expect(in.GetKind()).NotTo(BeEmpty())
	unstructured.RemoveNestedField(in.Object, "metadata", "managedFields")
	stdin, err := yaml.Marshal(in.Object)
	Expect(err).NotTo(HaveOccurred())
	mod := filepath.Join(scriptsDir, script, "mod.nu")
	return runNu(script, stdin, scriptEnv(script, operation, obj, extraPath), "--stdin", mod, operation)
}

// fetch reads an object from the API server, as the engine would hand it to a script.
func fetch(gvr schema.GroupVersionResource, namespace, name string) *unstructured.Unstructured {
	obj, err := dyn.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return obj
}

// parseObject parses a script's stdout as YAML 1.2 (as the engine does) into an object.
func parseObject(stdout string) *unstructured.Unstructured {
	var m map[string]any
	Expect(yaml.Unmarshal([]byte(stdout), &m)).To(Succeed(), "stdout:\n%s", stdout)
	// Through JSON, so numbers have the types unstructured expects.
	data, err := json.Marshal(m)
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(obj.UnmarshalJSON(data)).To(Succeed())
	return obj
}

// newNamespace creates a namespace with a unique name starting with prefix.
func newNamespace(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-" + rand.String(5)}}
	_, err := clientset.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return ns.Name
}

func createConfigMap(cm *corev1.ConfigMap) *corev1.ConfigMap {
	created, err := clientset.CoreV1().ConfigMaps(cm.Namespace).Create(context.Background(), cm, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return created
}

func getConfigMap(namespace, name string) *corev1.ConfigMap {
	cm, err := clientset.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return cm
}

// configMapExists says whether namespace/name exists, failing on any error but NotFound.
func configMapExists(namespace, name string) bool {
	_, err := clientset.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	Expect(err).NotTo(HaveOccurred())
	return true
}
