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
	"context"
	"sync"
)

// keyWriteLocks holds one lock per Gitea (by the root URL its Clients were given), shared by the Clients
// of every provider of this process that names it.
var keyWriteLocks sync.Map // root URL → chan struct{} (a lock whose wait ends with ctx)

// WithKeyWriteLock runs write while no other such call of this process is in flight to the same Gitea:
// write is a call that adds or deletes an SSH key, or one after which Gitea rewrites its authorized_keys
// file (deleting a user, or a repository with deploy keys).
//
// Gitea (1.26 included) deadlocks for good when it adds a key while it rewrites that file, if it keeps one
// (its default with OpenSSH) and runs on SQLite: adding takes the file's lock inside a database
// transaction, rewriting takes the lock and then reads the keys, which waits for that transaction. One such
// call at a time from us cannot interleave so.
func (c *Client) WithKeyWriteLock(ctx context.Context, write func() error) error {
	v, _ := keyWriteLocks.LoadOrStore(c.root, make(chan struct{}, 1))
	lock := v.(chan struct{})
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-lock }()
	return write()
}
