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
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// SecretReader is implemented by the adapters of kinds whose spec refers to Secrets (webhook secrets,
// passwords). The generic reconciler watches those Secrets' metadata, so a changed value is applied at
// once, not a sync interval later.
type SecretReader[T giteav1alpha1.Managed] interface {
	SecretNames(obj T) []string
}

// secretsIndex indexes managed resources by the Secrets their spec refers to.
const secretsIndex = "gitea.kemper.buzz/secrets"

// watchSecrets adds to b a watch on the Secrets the kind's resources refer to, when its adapter reads any.
func watchSecrets[T giteav1alpha1.Managed](ctx context.Context, mgr ctrl.Manager, b *builder.Builder,
	newObj func() T, newList func() client.ObjectList, adapter Adapter[T]) (*builder.Builder, error) {
	reader, ok := any(adapter).(SecretReader[T])
	if !ok {
		return b, nil
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, newObj(), secretsIndex, func(o client.Object) []string {
		return reader.SecretNames(o.(T))
	}); err != nil {
		return nil, err
	}
	c := mgr.GetClient()
	users := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, s client.Object) []reconcile.Request {
		list := newList()
		err := c.List(ctx, list, client.InNamespace(s.GetNamespace()), client.MatchingFields{secretsIndex: s.GetName()})
		if err != nil {
			return nil
		}
		items, _ := meta.ExtractList(list)
		out := make([]reconcile.Request, 0, len(items))
		for _, item := range items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(item.(client.Object))})
		}
		return out
	})
	return b.WatchesMetadata(&corev1.Secret{}, users), nil
}

// Secret reads a Secret of the resource's namespace, live: the manager caches only Secrets' metadata, so
// their values stay out of its memory but for the moment they are used. A missing one is SecretNotFound;
// the watch on Secrets brings the resource back when it appears.
func (c *Conn) Secret(ctx context.Context, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := c.secrets.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil, reasonf(giteav1alpha1.ReasonSecretNotFound, "Secret %s not found in namespace %s", name, c.namespace)
	}
	return s, err
}

// SecretValue is the value of ref's key, and the Secret's version.
func (c *Conn) SecretValue(ctx context.Context, ref giteav1alpha1.SecretKeyReference) (
	string, giteav1alpha1.SecretVersion, error) {
	s, err := c.Secret(ctx, ref.Name)
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
