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
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=deploykeys,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=deploykeys/status,verbs=patch

// deployKeys is the DeployKey adapter.
type deployKeys struct{}

func init() {
	registerKind("DeployKey", func() *giteav1alpha1.DeployKey { return &giteav1alpha1.DeployKey{} },
		func() client.ObjectList { return &giteav1alpha1.DeployKeyList{} }, Adapter[*giteav1alpha1.DeployKey](deployKeys{}))
}

// deployKey is a deploy key as Gitea's API shows it.
type deployKey struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Fingerprint string `json:"fingerprint"`
	ReadOnly    bool   `json:"read_only"`
}

func (deployKeys) repository(c *Conn, k *giteav1alpha1.DeployKey) string {
	return repositoryOf(c, k.Spec.RepositoryReference, k.Status.AtProvider.Repository)
}

func (deployKeys) Dependencies(k *giteav1alpha1.DeployKey) []Dependency {
	return parentDependencies(k.Spec.RepositoryRef, nil)
}

// Key is the repository and the key's fingerprint (the key as written when it does not parse; Observe
// reports that).
func (a deployKeys) Key(c *Conn, k *giteav1alpha1.DeployKey) string {
	fp, err := fingerprint(k.Spec.Key)
	if err != nil {
		fp = k.Spec.Key
	}
	return strings.ToLower(a.repository(c, k)) + " " + fp
}

// fingerprint is the key's SHA256 fingerprint, as Gitea writes it.
func fingerprint(key string) (string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", reasonf(giteav1alpha1.ReasonInvalidSpec, "key is no SSH public key: %v", err)
	}
	return ssh.FingerprintSHA256(pub), nil
}

// Observe finds the key by its fingerprint; failing that, the key the status recorded is the one to
// replace (the spec's key changed).
func (a deployKeys) Observe(ctx context.Context, c *Conn, k *giteav1alpha1.DeployKey) (Observation, error) {
	fp, err := fingerprint(k.Spec.Key)
	if err != nil {
		return Observation{}, err
	}
	repo := a.repository(c, k)
	found, err := a.find(ctx, c, repo, fp, k.Status.ID)
	if err != nil || found == nil {
		return Observation{}, err
	}
	k.Status.AtProvider = giteav1alpha1.DeployKeyObservation{Repository: repo, Title: found.Title,
		Fingerprint: found.Fingerprint, ReadOnly: found.ReadOnly}
	var d drift
	d.check("key", found.Fingerprint != fp)
	d.str("title", k.Spec.Title, found.Title)
	d.boolean("readOnly", k.Spec.ReadOnly, found.ReadOnly)
	return Observation{Exists: true, ID: found.ID, Drift: d.fields, State: found}, nil
}

// find is the repository's key with fingerprint fp, else the key with id (when not 0), else nil. A key of
// fingerprint fp with another id is another's while the key with id is still there (the spec's key changed to
// one the repository already has): taking it would leave this resource's key behind and later delete that
// one, so it is a Conflict. Once the key with id is gone, the key of fingerprint fp is the spec's.
func (deployKeys) find(ctx context.Context, c *Conn, repo, fp string, id int64) (*deployKey, error) {
	var keys []*deployKey
	_, err := c.Client.Do(ctx, http.MethodGet, repoPath(repo)+"/keys", url.Values{"fingerprint": {fp}}, nil, &keys)
	if giteaclient.IsNotFound(err) {
		return nil, repositoryMissing(repo)
	}
	if err != nil {
		return nil, err
	}
	var match *deployKey
	for _, key := range keys {
		if key.Fingerprint == fp {
			match = key
			break
		}
	}
	if id == 0 || (match != nil && match.ID == id) {
		return match, nil
	}
	old := &deployKey{}
	_, err = c.Client.Do(ctx, http.MethodGet, keyPath(repo, id), nil, nil, old)
	switch {
	case giteaclient.IsNotFound(err):
		return match, nil
	case err != nil:
		return nil, err
	case match != nil:
		return nil, reasonf(giteav1alpha1.ReasonConflict, "the key %s is already deploy key %d (%q) of %s, which this "+
			"resource did not create (its key is %d, %q): remove that key in Gitea, or use another key",
			fp, match.ID, match.Title, repo, id, old.Title)
	}
	return old, nil
}

func keyPath(repo string, id int64) string {
	return repoPath(repo) + "/keys/" + strconv.FormatInt(id, 10)
}

func (a deployKeys) Create(ctx context.Context, c *Conn, k *giteav1alpha1.DeployKey) error {
	return a.create(ctx, c, k, a.repository(c, k))
}

func (deployKeys) create(ctx context.Context, c *Conn, k *giteav1alpha1.DeployKey, repo string) error {
	body := map[string]any{
		"key":       k.Spec.Key,
		"title":     or(k.Spec.Title, k.Name),
		"read_only": or(k.Spec.ReadOnly, true),
	}
	created := &deployKey{}
	if err := c.Client.WithKeyWriteLock(ctx, func() error {
		_, err := c.Client.Do(ctx, http.MethodPost, repoPath(repo)+"/keys", nil, body, created)
		return err
	}); err != nil {
		return err
	}
	k.Status.ID = created.ID
	return nil
}

// Update replaces the key: Gitea cannot edit one. The old key goes first (its title must be free); were
// the create lost, the next sync creates the key again.
func (a deployKeys) Update(ctx context.Context, c *Conn, k *giteav1alpha1.DeployKey, observed Observation) error {
	repo := a.repository(c, k)
	if err := deleteKey(ctx, c, repo, observed.ID); err != nil {
		return err
	}
	return a.create(ctx, c, k, repo)
}

// Delete deletes the key the status recorded, else (no id recorded: a create whose status write was lost)
// the spec's key found by its fingerprint.
func (a deployKeys) Delete(ctx context.Context, c *Conn, k *giteav1alpha1.DeployKey) error {
	repo := a.repository(c, k)
	if repo == "" {
		return nil
	}
	if k.Status.ID != 0 {
		return deleteKey(ctx, c, repo, k.Status.ID)
	}
	fp, err := fingerprint(k.Spec.Key)
	if err != nil {
		return err
	}
	found, err := a.find(ctx, c, repo, fp, 0)
	if err != nil || found == nil {
		return err
	}
	return deleteKey(ctx, c, repo, found.ID)
}

func deleteKey(ctx context.Context, c *Conn, repo string, id int64) error {
	return ignoreAbsent(c.Client.WithKeyWriteLock(ctx, func() error {
		_, err := c.Client.Do(ctx, http.MethodDelete, keyPath(repo, id), nil, nil, nil)
		return err
	}))
}
