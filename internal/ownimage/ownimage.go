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

// Package ownimage finds the image the manager runs from by reading its own Pod, so that a manager
// deployed without NUOP_IMAGE (nuop's guide sets only NUOP_MODE) still knows what its managed operators run.
//
// The Pod is <namespace>/<name>: the name from POD_NAME, else HOSTNAME (a pod's host name is its name,
// unless spec.hostname sets another); the namespace from POD_NAMESPACE, else the service account's
// namespace file. Its container is the one named "manager", else its only container. The image is that
// container's spec image pinned to the digest the kubelet reports in status.containerStatuses[].imageID,
// when that digest belongs to the same repository, so that managed operators run exactly the manager's
// build even when the tag moves; else the spec image as written.
package ownimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manager reads its own Pod, in its own namespace. The namespace "system" becomes the manager's
// (nuop-system) through config/default's kustomization; config/rbac/role_binding.yaml binds the Role. The
// pod's name changes with every rollout, so resourceNames cannot narrow it.
//
// +kubebuilder:rbac:groups="",namespace=system,resources=pods,verbs=get

const (
	// NamespaceFile is where a pod's service account token volume holds the pod's namespace.
	NamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	// ContainerName is the name of the manager's container in config/manager and in nuop's guide.
	ContainerName = "manager"
	// DefaultWait bounds the wait for the kubelet to report the container's imageID: it posts the status
	// of a started container within a few seconds, and the manager may start before it has.
	DefaultWait = 30 * time.Second
)

// Lookup reads the manager's own Pod.
type Lookup struct {
	// Reader reads the Pod live (the manager's API reader: pods are not cached).
	Reader client.Reader
	// PodName and PodNamespace name the Pod; see the package comment for where they come from.
	PodName, PodNamespace string
	// NamespaceFile is read when PodNamespace is empty. Default NamespaceFile.
	NamespaceFile string
	// Wait bounds the wait for the container's imageID; after it the spec image is used. Default DefaultWait.
	Wait time.Duration
}

// Image returns the image of the manager's container, and the Pod it read it from. An error says why it is
// unknown: no pod name or namespace (out of a cluster), the Pod not found or not readable, or a Pod whose
// manager container cannot be told apart.
func (l Lookup) Image(ctx context.Context) (string, types.NamespacedName, error) {
	key, err := l.key()
	if err != nil {
		return "", key, err
	}
	waitFor := l.Wait
	if waitFor <= 0 {
		waitFor = DefaultWait
	}
	var image, imageID string
	poll := func(ctx context.Context) (bool, error) {
		pod := &corev1.Pod{}
		if err := l.Reader.Get(ctx, key, pod); err != nil {
			return false, readError(key, err)
		}
		image, imageID, err = containerImage(pod)
		return err != nil || imageID != "", err
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, waitFor, true, poll)
	if err != nil && !wait.Interrupted(err) {
		return "", key, err
	}
	if image == "" {
		// Interrupted before the first read ended.
		return "", key, fmt.Errorf("reading its own Pod %s: %w", key, ctx.Err())
	}
	return pin(image, imageID), key, nil
}

// readError says why the Pod could not be read, and what would fix it.
func readError(key types.NamespacedName, err error) error {
	hint := ""
	switch {
	case apierrors.IsForbidden(err):
		hint = " (the manager needs get on pods in its namespace: config/rbac's Role manager-role grants it)"
	case apierrors.IsNotFound(err):
		hint = " (if its Pod sets spec.hostname, set POD_NAME from the Downward API's metadata.name)"
	}
	return fmt.Errorf("reading its own Pod %s: %w%s", key, err, hint)
}

// key names the Pod.
func (l Lookup) key() (types.NamespacedName, error) {
	key := types.NamespacedName{Namespace: l.PodNamespace, Name: l.PodName}
	if key.Name == "" {
		return key, errors.New("its Pod's name is unknown: neither POD_NAME nor HOSTNAME is set (not in a pod?)")
	}
	if key.Namespace == "" {
		path := l.NamespaceFile
		if path == "" {
			path = NamespaceFile
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return key, fmt.Errorf("its Pod's namespace is unknown: POD_NAMESPACE is unset and %w", err)
		}
		key.Namespace = strings.TrimSpace(string(data))
		if key.Namespace == "" {
			return key, fmt.Errorf("its Pod's namespace is unknown: POD_NAMESPACE is unset and %s is empty", path)
		}
	}
	return key, nil
}

// containerImage returns the spec image of pod's manager container and the imageID its status reports ("" if
// none yet).
func containerImage(pod *corev1.Pod) (image, imageID string, err error) {
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == ContainerName {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		if len(pod.Spec.Containers) != 1 {
			names := make([]string, len(pod.Spec.Containers))
			for i, c := range pod.Spec.Containers {
				names[i] = c.Name
			}
			return "", "", fmt.Errorf("its Pod %s/%s has the containers %s and none is named %q: name the manager's "+
				"container %[4]q, or set NUOP_IMAGE", pod.Namespace, pod.Name, strings.Join(names, ", "), ContainerName)
		}
		c = &pod.Spec.Containers[0]
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == c.Name {
			imageID = s.ImageID
		}
	}
	return c.Image, imageID, nil
}

// pin returns image pinned to the digest of imageID (as the container runtime reports it: a repository
// digest, perhaps behind a scheme such as docker-pullable://) when imageID is a digest of image's own
// repository and image names no digest yet; else image. A runtime reports a bare image ID (sha256:...) for
// an image loaded without a registry, and, for an image pulled under several names, a digest of any of
// them: neither can be pulled by the managed operators under the name the manager was given.
func pin(image, imageID string) string {
	ref, err := name.ParseReference(image)
	if err != nil {
		return image
	}
	if _, ok := ref.(name.Digest); ok {
		return image
	}
	if _, id, ok := strings.Cut(imageID, "://"); ok {
		imageID = id
	}
	digest, err := name.NewDigest(imageID)
	if err != nil || digest.Context().Name() != ref.Context().Name() {
		return image
	}
	// The repository as written (not normalised to index.docker.io/library/...), without its tag.
	repository := image
	if tag, ok := ref.(name.Tag); ok {
		repository = strings.TrimSuffix(image, ":"+tag.TagStr())
	}
	return repository + "@" + digest.DigestStr()
}
