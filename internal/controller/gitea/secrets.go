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

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// secretValue reads, live, the value ref names in a Secret of namespace ns, and the Secret's version. A
// missing Secret or key is DependencyNotReady: the Secret watch brings the resource back when it appears.
func secretValue(ctx context.Context, c *Conn, ns string,
	ref giteav1alpha1.SecretKeyReference) (string, giteav1alpha1.AppliedSecret, error) {
	s := &corev1.Secret{}
	if err := c.Kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, s); err != nil {
		return "", giteav1alpha1.AppliedSecret{}, missingSecret(err, ref.Name)
	}
	value := s.Data[ref.Key]
	if len(value) == 0 {
		return "", giteav1alpha1.AppliedSecret{}, reasonf(giteav1alpha1.ReasonDependencyNotReady,
			"Secret %s has no key %s", ref.Name, ref.Key)
	}
	return string(value), giteav1alpha1.AppliedSecret{UID: s.UID, ResourceVersion: s.ResourceVersion}, nil
}

// secretChanged says whether the Secret ref names is another version than applied (nil: none applied yet).
// It reads the Secret's metadata only.
func secretChanged(ctx context.Context, c *Conn, ns string, ref giteav1alpha1.SecretKeyReference,
	applied *giteav1alpha1.AppliedSecret) (bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, m); err != nil {
		return false, missingSecret(err, ref.Name)
	}
	return applied == nil || applied.UID != m.UID || applied.ResourceVersion != m.ResourceVersion, nil
}

func missingSecret(err error, name string) error {
	if apierrors.IsNotFound(err) {
		return reasonf(giteav1alpha1.ReasonDependencyNotReady, "Secret %s not found", name)
	}
	return err
}
