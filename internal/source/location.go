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
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Location is a parsed source location (nuop's form: a git URL with optional `?ref=` and `&dir=`).
type Location struct {
	// URL is the repository's address as git takes it: the location without its query, port and ssh user
	// kept (https://host:8443/org/repo.git, ssh://git@host:2222/org/repo.git, git@host:org/repo.git).
	URL string
	// Scheme is SchemeHTTPS, SchemeHTTP or SchemeSSH (an scp-style address is ssh).
	Scheme string
	// Ref is the branch, tag or full commit SHA to fetch; "" is the repository's default branch (its HEAD).
	// A full reference name (refs/heads/x, refs/tags/x) is taken as is.
	Ref string
	// Dir is the sub-directory of the repository that is the source's tree, cleaned and relative; "" is the
	// whole repository.
	Dir string
}

// The schemes of a Location.
const (
	SchemeHTTPS = "https"
	SchemeHTTP  = "http"
	SchemeSSH   = "ssh"
)

// scpLike matches git's scp-style address [user@]host:path. The host may be an IPv6 address in brackets.
var scpLike = regexp.MustCompile(`^(?:([^@/]+)@)?(\[[^\]/]+\]|[^@/:\[\]]+):(.+)$`)

// ParseLocation parses a source location: an https, http or ssh:// URL, or an scp-style address
// (`git@host:org/repo.git`), each with an optional query of `ref=<branch|tag|commit>` and `dir=<subdir>`
// (nuop's form). Ports are kept. A location carrying credentials (a user in an http(s) URL, which is how
// tokens are written into URLs, or a password in any URL) is rejected: they belong in a Secret. The ssh user
// (`git@`) is fine. Local paths, other schemes, fragments and query parameters other than ref and dir are
// rejected. Error messages never repeat a credential.
func ParseLocation(loc string) (Location, error) {
	s := strings.TrimSpace(loc)
	if s == "" {
		return Location{}, errors.New("location is empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		return Location{}, errors.New("location contains white space or control characters")
	}
	var (
		l        Location
		rawQuery string
		err      error
	)
	switch {
	case strings.Contains(s, "://"):
		l, rawQuery, err = parseURL(s)
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "."), strings.HasPrefix(s, "~"):
		return Location{}, fmt.Errorf("location %q is a local path, which is not supported: give a git URL "+
			"(https://, http://, ssh:// or git@host:org/repo.git)", s)
	default:
		l, rawQuery, err = parseSCP(s)
	}
	if err != nil {
		return Location{}, err
	}
	if err := l.parseQuery(rawQuery); err != nil {
		return Location{}, err
	}
	return l, nil
}

func parseURL(s string) (Location, string, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL, which may hold credentials: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, "", fmt.Errorf("location is not a valid URL: %s", redact(err.Error()))
	}
	scheme := u.Scheme
	switch scheme {
	case SchemeHTTPS, SchemeHTTP, SchemeSSH:
	case "file":
		return Location{}, "", errors.New("location is a file:// URL, which is not supported: give a git URL " +
			"(https://, http://, ssh:// or git@host:org/repo.git)")
	default:
		return Location{}, "", fmt.Errorf("location has the unsupported scheme %q: use https://, http://, ssh:// "+
			"or git@host:org/repo.git", scheme)
	}
	if u.User != nil {
		_, hasPassword := u.User.Password()
		if scheme != SchemeSSH || hasPassword {
			return Location{}, "", fmt.Errorf("location %s carries credentials: put them in a Secret and name it in "+
				"the source's credentials", redact(s))
		}
		if u.User.Username() == "" {
			return Location{}, "", errors.New("location has an empty user name before @")
		}
	}
	if u.Hostname() == "" {
		return Location{}, "", fmt.Errorf("location %s has no host", s)
	}
	if strings.Trim(u.Path, "/") == "" {
		return Location{}, "", fmt.Errorf("location %s has no repository path", s)
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		return Location{}, "", fmt.Errorf("location %s has a fragment (#...), which is not supported: use ?ref= "+
			"for a branch, tag or commit", s)
	}
	query := u.RawQuery
	u.RawQuery, u.ForceQuery = "", false
	return Location{URL: u.String(), Scheme: scheme}, query, nil
}

func parseSCP(s string) (Location, string, error) {
	addr, query, _ := strings.Cut(s, "?")
	if strings.Contains(addr, "#") {
		return Location{}, "", fmt.Errorf("location %s has a fragment (#...), which is not supported: use ?ref= "+
			"for a branch, tag or commit", redact(s))
	}
	if user, _, ok := strings.Cut(addr, "@"); ok && strings.Contains(user, ":") {
		return Location{}, "", errors.New("location carries credentials (user:password@): put them in a Secret " +
			"and name it in the source's credentials")
	}
	m := scpLike.FindStringSubmatch(addr)
	if m == nil {
		// Not repeated: whatever is before an @ here might be a token.
		return Location{}, "", errors.New("location is neither a URL (https://, http://, ssh://) nor an " +
			"scp-style address (git@host:org/repo.git)")
	}
	switch strings.ToLower(m[2]) {
	case "http", "https", "ssh", "git", "file":
		return Location{}, "", fmt.Errorf("location %q looks like a malformed URL: write %s://host/path", s, m[2])
	}
	if strings.Trim(m[3], "/") == "" {
		return Location{}, "", fmt.Errorf("location %s has no repository path", s)
	}
	return Location{URL: addr, Scheme: SchemeSSH}, query, nil
}

func (l *Location) parseQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("location has an invalid query: %w", err)
	}
	for k, v := range q {
		if len(v) > 1 {
			return fmt.Errorf("location gives %s more than once", k)
		}
		switch k {
		case "ref":
			if err := validateRef(v[0]); err != nil {
				return err
			}
			l.Ref = v[0]
		case "dir":
			dir, err := cleanDir(v[0])
			if err != nil {
				return err
			}
			l.Dir = dir
		default:
			return fmt.Errorf("location has the unknown parameter %q: only ref and dir are supported", k)
		}
	}
	return nil
}

// validateRef checks a ref by git's rules for reference names. "" means the default branch.
func validateRef(ref string) error {
	if ref == "" {
		return nil
	}
	name := plumbing.ReferenceName(ref)
	if !strings.HasPrefix(ref, "refs/") {
		name = plumbing.NewBranchReferenceName(ref)
	}
	if name.Validate() != nil {
		return fmt.Errorf("location has the invalid ref %q: not a valid branch, tag or commit name", ref)
	}
	return nil
}

// cleanDir cleans the `dir` of a location: relative (a leading / is dropped), "" or "." for the repository's
// root, and never outside it.
func cleanDir(dir string) (string, error) {
	var parts []string
	for p := range strings.SplitSeq(dir, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("location has dir %q, which leaves the repository (..)", dir)
		case ".git":
			return "", fmt.Errorf("location has dir %q, which names git's own directory", dir)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/"), nil
}

// CleanPath cleans a source's `path`, where it lands under the sources root. A leading "/" is accepted and
// taken as relative (nuop's examples use `/scripts`); repeated and trailing slashes and "." components are
// dropped. An empty path (also "/" and "."), a ".." component, and a hidden component (a leading dot: script
// discovery skips those, and the root's own files are hidden) are errors.
func CleanPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) || strings.Contains(p, `\`) {
		return "", fmt.Errorf("path %q contains a NUL or a backslash", p)
	}
	var parts []string
	for c := range strings.SplitSeq(p, "/") {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			return "", fmt.Errorf("path %q leaves the sources root (..)", p)
		case strings.HasPrefix(c, "."):
			return "", fmt.Errorf("path %q has the hidden component %q: scripts under it would never be found", p, c)
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("path %q is empty: name a directory under the sources root, such as scripts", p)
	}
	return strings.Join(parts, "/"), nil
}

var (
	// httpUser matches the user information of an http(s) URL: a user alone is commonly a token.
	httpUser = regexp.MustCompile(`(?i)(https?://)[^/@?#\s]+@`)
	// anyPassword matches user:password@ after any scheme.
	anyPassword = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/@:?#\s]*):[^/@?#\s]*@`)
	// scpPassword matches user:password@host: in an scp-style address.
	scpPassword = regexp.MustCompile(`^([^/@:\s]+):[^/@\s]*@`)
)

// redact removes credentials written into URLs in s: the user information of http(s) URLs and any password.
func redact(s string) string {
	s = httpUser.ReplaceAllString(s, "${1}redacted@")
	s = anyPassword.ReplaceAllString(s, "${1}:redacted@")
	return scpPassword.ReplaceAllString(s, "${1}:redacted@")
}
