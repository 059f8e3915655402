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

package giteaclient

import (
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Cache holds one Client per GiteaProvider, for the provider's controller to fill and the managed resources'
// controllers to read. A Client is rebuilt only when its provider's configuration changes, so connections,
// the rate limit's bucket and the known server version carry over from one reconcile to the next.
//
// How the controllers use it:
//   - The provider's controller Puts the Config it resolved each time it reads its spec and Secrets. An
//     unchanged Config keeps the cached Client; a changed one replaces it. If the new Config cannot be built
//     (a bad CA bundle), the previous Client stays.
//   - When it cannot resolve a Config at all (its Secret is gone, as when its namespace is being deleted), it
//     leaves the cache alone: the last Client stays, so the resources using the provider can still delete
//     their Gitea objects with it and the namespace does not get stuck.
//   - While the provider is being deleted and the cache has no Client for it (the manager started after the
//     deletion began), it Puts one if it can still resolve a Config.
//   - It Deletes the entry when it removes its finalizer, that is when no resource uses the provider any more.
//   - A managed resource's controller Gets its provider's Client once the provider is Ready, or whatever the
//     provider's state while the resource is being deleted.
type Cache struct {
	mu      sync.Mutex
	clients map[types.NamespacedName]*Client
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{clients: map[types.NamespacedName]*Client{}}
}

// Get returns the provider's Client, if one was Put.
func (c *Cache) Get(provider types.NamespacedName) (*Client, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[provider]
	return cl, ok
}

// Put returns the provider's Client for cfg: the cached one if it was built from an equal Config (the
// process-wide fields aside), else a new one, which replaces it. On error the cache is unchanged.
func (c *Cache) Put(provider types.NamespacedName, cfg Config) (*Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.clients[provider]
	if ok && sameConfig(old.cfg, cfg) {
		return old, nil
	}
	cl, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.clients[provider] = cl
	if ok {
		// Calls in flight on the old Client finish; only its idle connections go.
		old.http.CloseIdleConnections()
	}
	return cl, nil
}

// Delete forgets the provider's Client and its metric series.
func (c *Cache) Delete(provider types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[provider]
	if !ok {
		return
	}
	delete(c.clients, provider)
	cl.http.CloseIdleConnections()
	cl.cfg.Metrics.forget(cl.cfg.Provider)
}

// sameConfig compares the per-provider fields of two Configs. The process-wide ones hold functions and
// registries, which do not compare, and do not change while the process runs.
func sameConfig(a, b Config) bool {
	a.AllowedHosts, a.Metrics, a.Clock, a.Proxy = AllowList{}, nil, nil, nil
	b.AllowedHosts, b.Metrics, b.Clock, b.Proxy = AllowList{}, nil, nil, nil
	return reflect.DeepEqual(a, b)
}
