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

package source

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-logr/logr"
)

const (
	// DefaultInterval is the polling interval of a Spec that gives none.
	DefaultInterval = 5 * time.Minute
	// DefaultTimeout bounds one Sync when the Fetcher gives no Timeout.
	DefaultTimeout = 10 * time.Minute

	treesDir   = ".trees"
	tmpPrefix  = ".tmp-"
	remoteName = "origin"
	// fetchedRef is where a shallow fetch puts the one ref it fetches, in the in-memory repository.
	fetchedRef = plumbing.ReferenceName("refs/nuop/fetched")
)

// Spec is one source to fetch.
type Spec struct {
	// Location is the repository and what to take from it, in ParseLocation's form.
	Location string
	// Path is where the source lands under the root, in CleanPath's form.
	Path string
	// Interval is how often Run polls the source; zero or less is DefaultInterval. The API enforces a minimum.
	Interval time.Duration
	// Credentials, if any, authenticate to the repository's server.
	Credentials *Credentials
	// LoadCredentials, when set, reads the credentials before every Sync and replaces Credentials, so that
	// a rotated Secret is used from the next poll on; an error fails that Sync.
	LoadCredentials func(context.Context) (*Credentials, error)
}

// State is what a Sync found: the tree in place and the outcome of the last attempt.
type State struct {
	// Path is the Spec's Path as given, so a caller can match the State to its source.
	Path string `json:"path"`
	// Location is the Spec's Location, with anything that looks like a credential redacted.
	Location string `json:"location"`
	// Revision is the commit whose tree is in place under Path; "" when none has been fetched yet.
	Revision string `json:"revision,omitempty"`
	// FetchedAt is when that tree was switched in.
	FetchedAt time.Time `json:"fetchedAt,omitzero"`
	// LastError is why the last attempt failed; "" when it succeeded. The last good tree stays in place.
	LastError string `json:"lastError,omitempty"`
}

// Fetcher fetches sources into Root. Its zero value, with Root set, is ready to use; Sync is safe for
// concurrent use (calls for one path are serialised).
type Fetcher struct {
	// Root is the sources root, such as /var/run/nuop/sources. It is created if missing.
	Root string
	// Log receives a line per fetched revision and per failure. The zero Logger discards.
	Log logr.Logger
	// Timeout bounds one Sync (ls-remote, fetch and writing the tree); zero is DefaultTimeout.
	Timeout time.Duration
	// OnChange, if set, is called by Run with the states of all its sources whenever one of them changes,
	// after the state file is written. Calls are not concurrent.
	OnChange func([]State)

	mu    sync.Mutex
	paths map[string]*sync.Mutex
	wake  chan struct{}
	// trees is held for reading by Sync and for writing by Prune, which removes what no source references.
	trees sync.RWMutex

	// retryMin overrides defaultRetryMin (tests).
	retryMin time.Duration
	// beforeSwitch, if set, is called with the new tree's directory after it is written and before it is
	// switched in (tests).
	beforeSwitch func(dir string)
}

// current is the tree in place for a path.
type current struct {
	dir       string // absolute directory of the tree, "" for none
	id        string // treeID of the source that fetched it
	revision  string
	fetchedAt time.Time
}

// target is what a ref resolved to on the remote.
type target struct {
	// name is the reference to fetch with depth 1; "" means a full fetch of all branches and tags.
	name plumbing.ReferenceName
	// commit is the commit wanted, peeled from a tag; zero when not advertised (a tag without a peeled value).
	commit plumbing.Hash
	// pinned says the ref is a commit SHA: the fetched commit must be that one.
	pinned bool
}

// Sync brings one source up to date and returns its state. It resolves the ref on the remote first
// (ls-remote); when the tree in place is already that commit of the same repository and dir, it does nothing
// else (a pinned commit SHA already in place needs no network at all). Otherwise it fetches the commit
// (depth 1 through a branch or tag; a full fetch of branches and tags for a commit SHA that is no branch's or
// tag's tip, as go-git cannot fetch a SHA shallowly), writes only `dir` of it into a new tree (no .git
// directory) and switches it in atomically. On failure the last good tree stays in place and LastError says
// why; credentials are never part of it.
func (f *Fetcher) Sync(ctx context.Context, s Spec) State {
	st := State{Path: s.Path, Location: redact(s.Location)}
	p, err := CleanPath(s.Path)
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	root, err := f.root()
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	unlock := f.lockPath(p)
	defer unlock()
	f.trees.RLock()
	defer f.trees.RUnlock()

	cur := currentTree(root, p)
	st.Revision, st.FetchedAt = cur.revision, cur.fetchedAt
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var next current
	if s.LoadCredentials != nil {
		if s.Credentials, err = s.LoadCredentials(ctx); err != nil {
			err = fmt.Errorf("reading the credentials: %w", err)
		}
	}
	if err == nil {
		next, err = f.sync(ctx, root, p, s, cur)
	}
	if err != nil {
		// s.Credentials are those just read, if they were.
		st.LastError = scrub(err.Error(), s.Credentials)
		f.Log.Info("Source not synced; the last good tree stays in place", "path", p,
			"location", st.Location, "revision", cur.revision, "error", st.LastError)
		return st
	}
	st.Revision, st.FetchedAt = next.revision, next.fetchedAt
	return st
}

func (f *Fetcher) sync(ctx context.Context, root, p string, s Spec, cur current) (current, error) {
	loc, err := ParseLocation(s.Location)
	if err != nil {
		return cur, err
	}
	trees := filepath.Join(root, treesDir)
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return cur, err
	}
	id := treeID(p, loc)
	if isCommitSHA(loc.Ref) && cur.id == id && cur.revision == strings.ToLower(loc.Ref) {
		return cur, nil
	}
	topts, err := transportFor(loc, s.Credentials, trees)
	if err != nil {
		return cur, err
	}
	refs, err := lsRemote(ctx, loc, topts)
	if err != nil {
		return cur, remoteError(loc, err)
	}
	t, err := resolveRef(refs, loc.Ref)
	if err != nil {
		return cur, err
	}
	if cur.id == id && !t.commit.IsZero() && cur.revision == t.commit.String() {
		return cur, nil
	}
	st, commit, err := fetchCommit(ctx, loc, topts, t)
	if err != nil {
		return cur, err
	}
	if cur.id == id && cur.revision == commit.Hash.String() {
		return cur, nil
	}
	dir, err := f.writeTree(ctx, st, commit, loc.Dir, trees, id)
	if err != nil {
		return cur, err
	}
	if f.beforeSwitch != nil {
		f.beforeSwitch(dir)
	}
	if err := switchLink(root, p, dir); err != nil {
		_ = os.RemoveAll(dir)
		return cur, err
	}
	f.removeOldTrees(trees, p, dir, cur.dir)
	next := currentTree(root, p)
	f.Log.Info("Source fetched", "path", p, "location", redact(s.Location), "revision", next.revision,
		"previous", cur.revision)
	return next, nil
}

// root is the absolute sources root.
func (f *Fetcher) root() (string, error) {
	if f.Root == "" {
		return "", errors.New("no sources root given")
	}
	root, err := filepath.Abs(f.Root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("sources root: %w", err)
	}
	return root, nil
}

func (f *Fetcher) lockPath(p string) func() {
	f.mu.Lock()
	if f.paths == nil {
		f.paths = map[string]*sync.Mutex{}
	}
	m := f.paths[p]
	if m == nil {
		m = &sync.Mutex{}
		f.paths[p] = m
	}
	f.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// treeID names a source's trees: a tree can be reused only by the same path, repository and dir. It starts
// with pathID(p), which all trees of a path share.
func treeID(p string, l Location) string {
	sum := sha256.Sum256([]byte(l.URL + "\x00" + l.Dir))
	return pathID(p) + hex.EncodeToString(sum[:6])
}

func pathID(p string) string {
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:6])
}

// removeOldTrees removes the trees of path p but the one just switched in and the one it replaced: a reader
// that resolved the link just before the switch may still be reading that one, so it stays until the next
// switch.
func (f *Fetcher) removeOldTrees(trees, p string, keep ...string) {
	entries, err := os.ReadDir(trees)
	if err != nil {
		return
	}
	prefix := pathID(p)
	for _, e := range entries {
		dir := filepath.Join(trees, e.Name())
		if !strings.HasPrefix(e.Name(), prefix) || slices.Contains(keep, dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			f.Log.Info("Cannot remove an old tree", "dir", dir, "error", err.Error())
		}
	}
}

func isCommitSHA(ref string) bool {
	if len(ref) != 40 {
		return false
	}
	_, err := hex.DecodeString(ref)
	return err == nil
}

// currentTree reads the tree in place for a path from its link.
func currentTree(root, p string) current {
	link := filepath.Join(root, filepath.FromSlash(p))
	dest, err := os.Readlink(link)
	if err != nil {
		return current{}
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(link), dest)
	}
	dest = filepath.Clean(dest)
	if filepath.Dir(dest) != filepath.Join(root, treesDir) {
		return current{}
	}
	id, rev, ok := strings.Cut(filepath.Base(dest), "-")
	if !ok || strings.HasPrefix(id, ".") {
		return current{}
	}
	info, err := os.Stat(dest)
	if err != nil || !info.IsDir() {
		return current{}
	}
	return current{dir: dest, id: id, revision: rev, fetchedAt: info.ModTime()}
}

func newRemote(l Location, s *memory.Storage) *git.Remote {
	return git.NewRemote(s, &config.RemoteConfig{Name: remoteName, URLs: []string{l.URL}})
}

func lsRemote(ctx context.Context, l Location, o transportOptions) ([]*plumbing.Reference, error) {
	return newRemote(l, memory.NewStorage()).ListContext(ctx, &git.ListOptions{
		Auth:          o.auth,
		CABundle:      o.caBundle,
		PeelingOption: git.AppendPeeled,
	})
}

// remoteError says what a failed ls-remote or fetch means.
func remoteError(l Location, err error) error {
	where := redact(l.URL)
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("authentication to %s failed: the credentials are missing or wrong (%v)", where, err)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("authentication to %s succeeded, but access to the repository was refused (%v)", where, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("repository %s not found (or the credentials may not see it): %v", where, err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("repository %s is empty: it has no commit to fetch", where)
	}
	msg := err.Error()
	if strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain") {
		return fmt.Errorf("ssh authentication to %s failed: the SSH key is not accepted (%v)", where, err)
	}
	if strings.Contains(msg, "knownhosts:") || strings.Contains(msg, "host key") {
		return fmt.Errorf("the host key of %s is not one of the known hosts given: %v", where, err)
	}
	if strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate") {
		return fmt.Errorf("TLS to %s failed: the server's certificate is not trusted (give a CA bundle for a "+
			"private CA): %v", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// resolveRef picks the reference to fetch for a ref from an ls-remote answer: "" is the default branch (HEAD);
// a full name (refs/...) is taken as is; a short name is a branch or a tag (both of the same name at
// different commits is an error); a 40-hex-digit ref that is neither is a commit SHA.
func resolveRef(refs []*plumbing.Reference, ref string) (target, error) {
	hashes := map[plumbing.ReferenceName]plumbing.Hash{}
	peeled := map[plumbing.ReferenceName]plumbing.Hash{}
	var head *plumbing.Reference
	for _, r := range refs {
		name := r.Name()
		if base, ok := strings.CutSuffix(name.String(), "^{}"); ok {
			peeled[plumbing.ReferenceName(base)] = r.Hash()
			continue
		}
		if name == plumbing.HEAD {
			head = r
		}
		if r.Type() == plumbing.HashReference {
			hashes[name] = r.Hash()
		}
	}
	commitOf := func(n plumbing.ReferenceName) plumbing.Hash {
		// An annotated tag is advertised with its peeled commit (name^{}); a ref without one names a commit.
		// (Should a server not advertise peeled tags, an annotated tag is fetched on every Sync: the tag
		// object is not the commit in place.)
		if h, ok := peeled[n]; ok {
			return h
		}
		return hashes[n]
	}
	switch {
	case ref == "":
		if head == nil {
			return target{}, errors.New("the repository has no default branch (HEAD): give a ref in the location")
		}
		name := plumbing.HEAD
		if head.Type() == plumbing.SymbolicReference {
			name = head.Target()
		}
		if _, ok := hashes[name]; !ok {
			return target{}, fmt.Errorf("the repository's default branch %s has no commit: give a ref in the "+
				"location", name.Short())
		}
		return target{name: name, commit: commitOf(name)}, nil
	case strings.HasPrefix(ref, "refs/"):
		name := plumbing.ReferenceName(ref)
		if _, ok := hashes[name]; !ok {
			return target{}, fmt.Errorf("ref %q not found in the repository", ref)
		}
		return target{name: name, commit: commitOf(name)}, nil
	}
	branch, tag := plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)
	_, isBranch := hashes[branch]
	_, isTag := hashes[tag]
	switch {
	case isBranch && isTag && commitOf(branch) != commitOf(tag):
		return target{}, fmt.Errorf("ref %q is both a branch and a tag: write refs/heads/%s or refs/tags/%s",
			ref, ref, ref)
	case isBranch:
		return target{name: branch, commit: commitOf(branch)}, nil
	case isTag:
		return target{name: tag, commit: commitOf(tag)}, nil
	case isCommitSHA(ref):
		sha := plumbing.NewHash(strings.ToLower(ref))
		// A commit at the tip of a branch or tag is fetched shallowly through it.
		names := make([]plumbing.ReferenceName, 0, len(hashes))
		for n := range hashes {
			if n.IsBranch() || n.IsTag() {
				names = append(names, n)
			}
		}
		sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
		for _, n := range names {
			if commitOf(n) == sha {
				return target{name: n, commit: sha, pinned: true}, nil
			}
		}
		return target{commit: sha, pinned: true}, nil
	}
	return target{}, fmt.Errorf("ref %q not found: the repository has no branch or tag of that name (a commit "+
		"is given by its full 40-digit SHA)", ref)
}

// fetchCommit fetches a target into memory and returns the commit.
func fetchCommit(ctx context.Context, l Location, o transportOptions, t target) (storer.EncodedObjectStorer,
	*object.Commit, error) {
	st := memory.NewStorage()
	remote := newRemote(l, st)
	opts := &git.FetchOptions{
		RemoteName: remoteName,
		Auth:       o.auth,
		CABundle:   o.caBundle,
		Tags:       git.NoTags,
		Force:      true,
	}
	if t.name != "" {
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + t.name.String() + ":" + fetchedRef.String())}
		opts.Depth = 1
	} else {
		opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
	}
	if err := remote.FetchContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, nil, remoteError(l, err)
	}
	h := t.commit
	if t.name != "" {
		ref, err := st.Reference(fetchedRef)
		if err != nil {
			return nil, nil, fmt.Errorf("fetching %s: %w", t.name.Short(), err)
		}
		h = ref.Hash()
	}
	commit, err := peelCommit(st, h)
	switch {
	case err != nil && t.name == "" && errors.Is(err, plumbing.ErrObjectNotFound):
		return nil, nil, fmt.Errorf("commit %s not found in any branch or tag of the repository", t.commit)
	case err != nil:
		return nil, nil, err
	case t.pinned && commit.Hash != t.commit && t.name != "":
		// The branch or tag moved on between ls-remote and fetch: fetch everything.
		return fetchCommit(ctx, l, o, target{commit: t.commit, pinned: true})
	}
	return st, commit, nil
}

// peelCommit returns the commit a hash names, through any tags.
func peelCommit(s storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := object.GetObject(s, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("the ref names a %s, not a commit", obj.Type())
		}
	}
	return nil, errors.New("the ref names a chain of too many tags")
}

// writeTree writes `dir` of a commit into a new tree directory under trees and returns it.
func (f *Fetcher) writeTree(ctx context.Context, s storer.EncodedObjectStorer, c *object.Commit, dir, trees,
	id string) (string, error) {
	tree, err := c.Tree()
	if err != nil {
		return "", err
	}
	short := c.Hash.String()[:12]
	if dir != "" {
		e, err := tree.FindEntry(dir)
		if err != nil {
			return "", fmt.Errorf("dir %q does not exist at commit %s", dir, short)
		}
		if e.Mode != filemode.Dir {
			return "", fmt.Errorf("dir %q is not a directory at commit %s", dir, short)
		}
		if tree, err = object.GetTree(s, e.Hash); err != nil {
			return "", err
		}
	}
	tmp, err := os.MkdirTemp(trees, tmpPrefix+"tree-*")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	w := treeWriter{ctx: ctx, s: s, log: f.Log, commit: short}
	if err := w.write(tree, tmp, ""); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	final := filepath.Join(trees, id+"-"+c.Hash.String())
	// A tree of this name is not in place (else there is nothing to do): it is left from an interrupted run.
	if err := os.RemoveAll(final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	now := time.Now()
	_ = os.Chtimes(final, now, now)
	return final, nil
}

type treeWriter struct {
	ctx    context.Context
	s      storer.EncodedObjectStorer
	log    logr.Logger
	commit string
}

func (w *treeWriter) write(t *object.Tree, dest, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	for _, e := range t.Entries {
		name := e.Name
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return fmt.Errorf("commit %s holds the invalid file name %q", w.commit, name)
		}
		if strings.EqualFold(name, ".git") {
			continue
		}
		p, r := filepath.Join(dest, name), path.Join(rel, name)
		var err error
		switch e.Mode {
		case filemode.Dir:
			var sub *object.Tree
			if sub, err = object.GetTree(w.s, e.Hash); err == nil {
				if err = os.Mkdir(p, 0o755); err == nil {
					err = os.Chmod(p, 0o755) // the umask may have taken bits away
				}
				if err == nil {
					err = w.write(sub, p, r)
				}
			}
		case filemode.Regular, filemode.Deprecated:
			err = w.file(e.Hash, p, 0o644)
		case filemode.Executable:
			err = w.file(e.Hash, p, 0o755)
		case filemode.Symlink:
			err = w.symlink(e.Hash, p, r)
		case filemode.Submodule:
			w.log.Info("Skipping a git submodule: submodules are not fetched", "commit", w.commit, "file", r)
		default:
			w.log.Info("Skipping a file of an unknown mode", "commit", w.commit, "file", r, "mode", e.Mode.String())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *treeWriter) file(h plumbing.Hash, p string, mode fs.FileMode) error {
	blob, err := object.GetBlob(w.s, h)
	if err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p, mode) // the umask may have taken bits away
	}
	return err
}

// symlink writes a symlink that stays inside the tree; one that points out of it (an absolute target, or
// one that climbs out) is skipped, as it would point into the reading container's own files.
func (w *treeWriter) symlink(h plumbing.Hash, p, rel string) error {
	blob, err := object.GetBlob(w.s, h)
	if err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return err
	}
	dest := string(b)
	resolved := path.Join(path.Dir(rel), dest)
	if dest == "" || path.IsAbs(dest) || resolved == ".." || strings.HasPrefix(resolved, "../") ||
		strings.ContainsRune(dest, 0) {
		w.log.Info("Skipping a symlink that points out of the source's tree", "commit", w.commit, "file", rel,
			"target", dest)
		return nil
	}
	return os.Symlink(dest, p)
}

// switchLink points the link for path p at a tree directory, atomically: a new link is made under a
// temporary name and renamed over the old one.
func switchLink(root, p, dir string) error {
	link := filepath.Join(root, filepath.FromSlash(p))
	if err := makeParents(root, p); err != nil {
		return err
	}
	info, err := os.Lstat(link)
	switch {
	case err == nil && info.Mode()&fs.ModeSymlink != 0:
	case err == nil && info.IsDir():
		// A directory here holds other sources' paths (overlapping paths), unless it is empty.
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("path %q is a directory holding the paths of other sources: paths must not nest", p)
		}
	case err == nil:
		return fmt.Errorf("path %q is taken by a file under the sources root", p)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(link), dir)
	if err != nil {
		return err
	}
	tmp := filepath.Join(root, treesDir, tmpPrefix+"link-"+rand.Text())
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// makeParents creates the directories above path p's link; going through a symlink (into another source's
// tree) is refused.
func makeParents(root, p string) error {
	dir := root
	parts := strings.Split(p, "/")
	for i, c := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, c)
		info, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("path %q lies inside the path %q of another source: paths must not nest", p,
				strings.Join(parts[:i+1], "/"))
		case !info.IsDir():
			return fmt.Errorf("path %q: %q is a file under the sources root", p, strings.Join(parts[:i+1], "/"))
		}
	}
	return nil
}

// Prune removes from the root what belongs to no source of keep (paths in CleanPath's form, or as the Specs
// give them): the links of other paths, the directories left empty above them, trees no link points to,
// and anything left half-written by an interrupted Sync. Run prunes when it starts.
func (f *Fetcher) Prune(keep []string) error {
	root, err := f.root()
	if err != nil {
		return err
	}
	f.trees.Lock()
	defer f.trees.Unlock()
	kept := map[string]bool{}
	for _, k := range keep {
		if p, err := CleanPath(k); err == nil {
			kept[p] = true
		}
	}
	trees := filepath.Join(root, treesDir)
	used := map[string]bool{}
	var removed []string
	err = filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if file == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(root, file)
		if err != nil {
			return err
		}
		p := filepath.ToSlash(rel)
		cur := currentTree(root, p)
		switch {
		case cur.dir == "":
			return nil // not ours
		case kept[p]:
			used[cur.dir] = true
		default:
			f.Log.Info("Removing the tree of a source no longer given", "path", p)
			removed = append(removed, file)
			return os.Remove(file)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, file := range removed {
		for dir := filepath.Dir(file); dir != root && strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break // not empty
			}
		}
	}
	var errs []error
	if tmps, err := filepath.Glob(filepath.Join(root, tmpPrefix+"*")); err == nil {
		for _, t := range tmps {
			errs = append(errs, os.RemoveAll(t)) // a state file being written when a run stopped
		}
	}
	entries, err := os.ReadDir(trees)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.Join(errs...)
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(trees, e.Name())
		if !used[dir] {
			errs = append(errs, os.RemoveAll(dir))
		}
	}
	return errors.Join(errs...)
}
