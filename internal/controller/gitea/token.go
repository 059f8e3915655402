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
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// Keys of the token Secret a provider owns.
const (
	tokenKey     = "token"
	usernameKey  = "username"
	tokenNameKey = "tokenName"
)

// tokenSecretName names the Secret holding the token a provider created from a username and a password.
func tokenSecretName(p *giteav1alpha1.GiteaProvider) string { return p.Name + "-gitea-token" }

// ensureToken returns the token the provider uses in place of its username and password: the one it created
// before, kept in a Secret it owns, or, when there is none, it was created for another user, or renew is
// set (the stored one stopped working), a new one. Gitea hashes the password on every basic-auth call, so
// the password is used for this one call only.
func (r *ProviderReconciler) ensureToken(ctx context.Context, p *giteav1alpha1.GiteaProvider, cfg giteaclient.Config,
	creds credentials, renew bool) (token, secretName string, err error) {
	secretName = tokenSecretName(p)
	s := &corev1.Secret{}
	err = r.apiReader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: secretName}, s)
	exists := err == nil
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return "", "", err
	case !metav1.IsControlledBy(s, p):
		return "", "", reasonf(giteav1alpha1.ReasonInvalidSpec, "Secret %s exists and does not belong to the provider, which "+
			"keeps the token it creates from the username and password there: delete or rename it", secretName)
	case !renew && string(s.Data[usernameKey]) == creds.username && len(s.Data[tokenKey]) > 0:
		return string(s.Data[tokenKey]), secretName, nil
	}

	cfg.Token, cfg.Username, cfg.Password = "", creds.username, creds.password
	basic, err := giteaclient.New(cfg)
	if err != nil {
		return "", "", err
	}
	// Gitea refuses a second token of the same name, and the old one may still exist: each gets its own.
	name := fmt.Sprintf("nuop-%s-%s-%s", p.Namespace, p.Name, strconv.FormatInt(r.opts.Clock.Now().UnixNano(), 36))
	var created struct {
		SHA1 string `json:"sha1"`
	}
	body := map[string]any{"name": name, "scopes": []string{"all"}}
	path := "/users/" + url.PathEscape(creds.username) + "/tokens"
	if _, err := basic.Do(ctx, http.MethodPost, path, nil, body, &created); err != nil {
		return "", "", err
	}

	if !exists {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name:      secretName,
			Namespace: p.Namespace,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "nuop-manager"},
		}}
		if err := controllerutil.SetControllerReference(p, s, r.client.Scheme()); err != nil {
			return "", "", err
		}
	}
	s.Type = corev1.SecretTypeOpaque
	s.Data = map[string][]byte{tokenKey: []byte(created.SHA1), usernameKey: []byte(creds.username), tokenNameKey: []byte(name)}
	if exists {
		err = r.client.Update(ctx, s)
	} else {
		err = r.client.Create(ctx, s)
	}
	if err != nil {
		return "", "", fmt.Errorf("storing the created token in Secret %s: %w", secretName, err)
	}
	r.recorder.Eventf(p, nil, corev1.EventTypeNormal, "TokenCreated", "CreateToken",
		"created access token %s for %s, kept in Secret %s", name, creds.username, secretName)
	return created.SHA1, secretName, nil
}

// forgetToken deletes the token Secret of a provider that now has a token of its own.
func (r *ProviderReconciler) forgetToken(ctx context.Context, p *giteav1alpha1.GiteaProvider) error {
	if p.Status.TokenSecretName == "" {
		return nil
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Status.TokenSecretName}}
	return client.IgnoreNotFound(r.client.Delete(ctx, s))
}
