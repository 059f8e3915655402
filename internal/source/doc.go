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

// Package source fetches a NuOperator's script sources from git (SCRIPT-PROTOCOL section 7) with go-git, into
// a sources root shared with the managed operator, which loads the scripts from there.
//
// Layout of the sources root (Fetcher.Root):
//
//	<path>                  a relative symlink to .trees/<tree>, one per source (a path may be nested: a/b)
//	.trees/<id>-<revision>  the fetched tree: only the source's `dir`, never a .git directory
//	.trees/.tmp-*           trees and links being written (removed on failure and by Prune)
//	.state.json             the state of every source (revision, fetch time, last error), see WriteState
//
// A new revision is written into a new tree directory and switched in by renaming a fresh symlink over the
// old one, so a reader sees either the whole old tree or the whole new one. The replaced tree stays until the
// next switch (a reader that resolved the link just before the switch can finish reading it); older ones are
// removed. A failed fetch keeps the last good tree. Hidden names (a leading dot) are skipped by script
// discovery, so nothing but the sources' trees shows through the root. The symlinks are relative, so the
// root may be mounted at another path in the container that reads it.
//
// The package does not know the API types: callers turn a NuOperator's sources into Specs, reading the
// credentials from Secrets into Credentials. Credentials never go into URLs, logs, errors or State.
package source
