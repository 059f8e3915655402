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
	"crypto/x509"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// referencesIndex indexes GiteaProviders by the Secrets and ConfigMaps they read, as "Secret/<name>" and
// "ConfigMap/<name>", so a change to one of them reconciles exactly the providers that use it.
const referencesIndex = "gitea.kemper.buzz/references"

func secretKey(name string) string    { return "Secret/" + name }
func configMapKey(name string) string { return "ConfigMap/" + name }

// references are the index values of a provider: its credentials Secret, its CA bundle and the token
// Secret it owns.
func references(p *giteav1alpha1.GiteaProvider) []string {
	refs := []string{secretKey(p.Spec.Credentials.SecretRef.Name)}
	if tls := p.Spec.TLS; tls != nil && tls.CABundle != nil {
		if ref := tls.CABundle.SecretRef; ref != nil {
			refs = append(refs, secretKey(ref.Name))
		}
		if ref := tls.CABundle.ConfigMapRef; ref != nil {
			refs = append(refs, configMapKey(ref.Name))
		}
	}
	if p.Status.TokenSecretName != "" {
		refs = append(refs, secretKey(p.Status.TokenSecretName))
	}
	return refs
}

// credentials is what the provider's Secret holds. Exactly one way is set: a token, or a username and a
// password to create one with.
type credentials struct {
	token              string
	username, password string
}

func (r *ProviderReconciler) readCredentials(ctx context.Context, p *giteav1alpha1.GiteaProvider) (credentials, error) {
	spec := p.Spec.Credentials
	s, err := readSecret(ctx, r.apiReader, p.Namespace, spec.SecretRef.Name)
	if err != nil {
		return credentials{}, err
	}
	c := credentials{}
	if token := string(s.Data[spec.TokenKey]); token != "" {
		c.token = token
		return c, nil
	}
	c.username, c.password = string(s.Data[spec.UsernameKey]), string(s.Data[spec.PasswordKey])
	if c.username == "" || c.password == "" {
		return credentials{}, reasonf(giteav1alpha1.ReasonSecretNotFound,
			"Secret %s has neither the key %s (a token) nor the keys %s and %s (a username and a password)",
			spec.SecretRef.Name, spec.TokenKey, spec.UsernameKey, spec.PasswordKey)
	}
	return c, nil
}

// readCABundle returns the PEM bundle tls.caBundle names (nil when unset).
func (r *ProviderReconciler) readCABundle(ctx context.Context, p *giteav1alpha1.GiteaProvider) ([]byte, error) {
	if p.Spec.TLS == nil || p.Spec.TLS.CABundle == nil {
		return nil, nil
	}
	src := p.Spec.TLS.CABundle
	var (
		data []byte
		what string
		key  string
	)
	switch {
	case src.SecretRef != nil:
		s, err := readSecret(ctx, r.apiReader, p.Namespace, src.SecretRef.Name)
		if err != nil {
			return nil, err
		}
		key, what = src.SecretRef.Key, "Secret "+src.SecretRef.Name
		data = s.Data[key]
	case src.ConfigMapRef != nil:
		cm := &corev1.ConfigMap{}
		err := r.apiReader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: src.ConfigMapRef.Name}, cm)
		if apierrors.IsNotFound(err) {
			return nil, reasonf(giteav1alpha1.ReasonSecretNotFound, "ConfigMap %s not found in namespace %s",
				src.ConfigMapRef.Name, p.Namespace)
		}
		if err != nil {
			return nil, err
		}
		key, what = src.ConfigMapRef.Key, "ConfigMap "+src.ConfigMapRef.Name
		data = []byte(cm.Data[key])
		if len(data) == 0 {
			data = cm.BinaryData[key]
		}
	}
	if len(data) == 0 {
		return nil, reasonf(giteav1alpha1.ReasonSecretNotFound, "%s has no key %s (the CA bundle)", what, key)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return nil, reasonf(giteav1alpha1.ReasonTLSError, "the key %s of %s holds no PEM certificate", key, what)
	}
	return data, nil
}
