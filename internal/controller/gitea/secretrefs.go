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

package gitea

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// readSecret reads a Secret live: the manager caches only Secrets' metadata, so their values stay out of its
// memory but for the moment they are used. A missing one is SecretNotFound; the watches on Secrets bring
// the provider or the resource naming it back when it appears.
func readSecret(ctx context.Context, reader client.Reader, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil, reasonf(giteav1alpha1.ReasonSecretNotFound, "Secret %s not found in namespace %s", name, namespace)
	}
	return s, err
}

// SecretValue is the value of ref's key, and the Secret's version.
func (c *Conn) SecretValue(ctx context.Context, ref giteav1alpha1.SecretKeyReference) (
	string, giteav1alpha1.SecretVersion, error) {
	s, err := readSecret(ctx, c.Kube, c.namespace, ref.Name)
	if err != nil {
		return "", giteav1alpha1.SecretVersion{}, err
	}
	value, ok := s.Data[ref.Key]
	if !ok {
		return "", giteav1alpha1.SecretVersion{}, reasonf(giteav1alpha1.ReasonSecretNotFound,
			"Secret %s has no key %s", ref.Name, ref.Key)
	}
	return string(value), giteav1alpha1.SecretVersion{Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion}, nil
}

// SecretChanged says whether the Secret ref names is another version than applied (nil: none applied yet),
// reading only its metadata.
func (c *Conn) SecretChanged(ctx context.Context, ref giteav1alpha1.SecretKeyReference,
	applied *giteav1alpha1.SecretVersion) (bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := c.Kube.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: ref.Name}, m)
	if apierrors.IsNotFound(err) {
		return false, reasonf(giteav1alpha1.ReasonSecretNotFound, "Secret %s not found in namespace %s", ref.Name, c.namespace)
	}
	if err != nil {
		return false, err
	}
	return applied == nil || applied.UID != m.UID || applied.ResourceVersion != m.ResourceVersion, nil
}
