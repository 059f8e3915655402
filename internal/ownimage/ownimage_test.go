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

package ownimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestPin(t *testing.T) {
	for _, tc := range []struct {
		name, image, imageID, want string
	}{
		{"containerd's repository digest", "ghcr.io/org/nuop:v1", "ghcr.io/org/nuop@" + digest, "ghcr.io/org/nuop@" + digest},
		{"cri-dockerd's scheme", "ghcr.io/org/nuop:v1", "docker-pullable://ghcr.io/org/nuop@" + digest, "ghcr.io/org/nuop@" + digest},
		{"a Docker Hub short name keeps its spelling", "controller:latest", "docker.io/library/controller@" + digest,
			"controller@" + digest},
		{"no tag", "ghcr.io/org/nuop", "ghcr.io/org/nuop@" + digest, "ghcr.io/org/nuop@" + digest},
		{"a registry with a port", "localhost:5000/nuop:dev", "localhost:5000/nuop@" + digest, "localhost:5000/nuop@" + digest},
		{"no imageID yet", "ghcr.io/org/nuop:v1", "", "ghcr.io/org/nuop:v1"},
		{"a bare image ID (loaded without a registry)", "nuop:demo", digest, "nuop:demo"},
		{"docker's bare image ID", "nuop:demo", "docker://" + digest, "nuop:demo"},
		{"a digest of another repository", "ghcr.io/org/nuop:v1", "mirror.example/org/nuop@" + digest, "ghcr.io/org/nuop:v1"},
		{"already pinned", "ghcr.io/org/nuop@" + digest, "ghcr.io/org/nuop@sha256:" + strings.Repeat("f", 64),
			"ghcr.io/org/nuop@" + digest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pin(tc.image, tc.imageID); got != tc.want {
				t.Errorf("pin(%q, %q) = %q, want %q", tc.image, tc.imageID, got, tc.want)
			}
		})
	}
}

func TestContainerImage(t *testing.T) {
	pod := func(containers ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "nuop-1"}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "img/" + c})
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses,
				corev1.ContainerStatus{Name: c, ImageID: "id/" + c})
		}
		return p
	}
	for _, tc := range []struct {
		name            string
		pod             *corev1.Pod
		image, imageID  string
		wantErrContains string
	}{
		{name: "the container named manager", pod: pod("proxy", "manager"), image: "img/manager", imageID: "id/manager"},
		{name: "the only container, whatever its name", pod: pod("nuop"), image: "img/nuop", imageID: "id/nuop"},
		{name: "several, none named manager", pod: pod("proxy", "nuop"),
			wantErrContains: `its Pod ops/nuop-1 has the containers proxy, nuop and none is named "manager"`},
		{name: "no status yet", pod: func() *corev1.Pod { p := pod("manager"); p.Status = corev1.PodStatus{}; return p }(),
			image: "img/manager"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			image, imageID, err := containerImage(tc.pod)
			if tc.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErrContains)
				}
				return
			}
			if err != nil || image != tc.image || imageID != tc.imageID {
				t.Errorf("got %q, %q, %v; want %q, %q", image, imageID, err, tc.image, tc.imageID)
			}
		})
	}
}

func TestKey(t *testing.T) {
	dir := t.TempDir()
	nsFile := filepath.Join(dir, "namespace")
	if err := os.WriteFile(nsFile, []byte("nuop-system\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		lookup          Lookup
		want            types.NamespacedName
		wantErrContains string
	}{
		{name: "POD_NAMESPACE wins over the file", lookup: Lookup{PodName: "p", PodNamespace: "ops", NamespaceFile: nsFile},
			want: types.NamespacedName{Namespace: "ops", Name: "p"}},
		{name: "the service account's namespace file", lookup: Lookup{PodName: "p", NamespaceFile: nsFile},
			want: types.NamespacedName{Namespace: "nuop-system", Name: "p"}},
		{name: "no name", lookup: Lookup{PodNamespace: "ops"}, wantErrContains: "neither POD_NAME nor HOSTNAME is set"},
		{name: "no namespace file", lookup: Lookup{PodName: "p", NamespaceFile: filepath.Join(dir, "missing")},
			wantErrContains: "POD_NAMESPACE is unset and open " + filepath.Join(dir, "missing")},
		{name: "an empty namespace file", lookup: Lookup{PodName: "p", NamespaceFile: empty},
			wantErrContains: "POD_NAMESPACE is unset and " + empty + " is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.lookup.key()
			if tc.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErrContains)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
