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
	"errors"
	"net/url"
	"strings"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// Gitea keeps the old name of a renamed account (organization or user) or repository as a redirect: a GET of
// the old name answers with the object renamed from it (a 307 the client follows). The adapters find their
// objects by name, so what Gitea answers must be checked to be the object the resource means.

// redirected says whether an object Gitea answered for the name asked (under the name got, with the id
// gotID) was reached through a rename redirect and is not the one the status recorded (id, 0 when none).
// Such an object is another's, and to the resource the name asked is free: Gitea lets an account or a
// repository be created at, or renamed to, a name that only redirects.
func redirected(asked, got string, gotID, id int64) bool {
	return !strings.EqualFold(got, asked) && gotID != id
}

// findAccount finds the organization or user a resource manages: the one at the spec's name (want), or,
// while a rename is not done, the one at the name the status recorded (previous), reported as renamed. get
// reads the account at a name (Gitea's 404 as NotFound); ident says its name and id. An account reached
// through a redirect is ours only with the id the status recorded (id). Once the status has an id, an
// account with another id at want is not ours either: with ours still at previous, renaming ours onto that
// name is Gitea's to refuse (a Conflict); with ours nowhere to be found by name (deleted, or renamed and its
// old name taken since), the account at want is a Conflict (notOursError), never taken over.
func findAccount[T comparable](want, previous string, id int64, get func(name string) (T, error),
	ident func(T) (string, int64)) (acct T, renamed bool, err error) {
	var none T
	at := func(name string) (T, error) {
		a, err := get(name)
		if giteaclient.IsNotFound(err) {
			return none, nil
		}
		if err != nil {
			return none, err
		}
		if got, gotID := ident(a); redirected(name, got, gotID, id) {
			return none, nil
		}
		return a, nil
	}
	ours := func(a T) bool {
		_, gotID := ident(a)
		return id == 0 || gotID == id
	}
	if acct, err = at(want); err != nil || (acct != none && ours(acct)) {
		return acct, false, err
	}
	if previous != "" && !strings.EqualFold(previous, want) {
		old, err := at(previous)
		if err != nil {
			return none, false, err
		}
		if old != none && ours(old) {
			return old, true, nil
		}
	}
	if acct == none {
		return none, false, nil
	}
	name, gotID := ident(acct)
	return none, false, &notOursError{reasonf(giteav1alpha1.ReasonConflict, "the account %s in Gitea (id %d) is not "+
		"the one this resource manages (id %d), which Gitea no longer finds by name: to manage %s, delete the "+
		"resource and create it again (it is then adopted)", name, gotID, id, name).(*reasonError)}
}

// notOursError is findAccount's Conflict: the account at the spec's name is another's, and the resource's own
// is not found. A delete then has nothing of the resource's to delete.
type notOursError struct{ *reasonError }

func (e *notOursError) Unwrap() error { return e.reasonError }

// ignoreNotOurs is err, but nil for a notOursError.
func ignoreNotOurs(err error) error {
	if _, ok := errors.AsType[*notOursError](err); ok {
		return nil
	}
	return err
}

// instanceURL is a provider's url as the Gitea it reaches is known by in status.identity, so that the ways
// of writing one address name one Gitea: the scheme and host in lower case, without the port the scheme
// implies (443 for https, 80 for http), without a trailing dot on the host and without a trailing slash. A
// path (a Gitea served under one) and any other port stay. A url that does not parse (the CRD admits none)
// is taken as written, less a trailing slash.
func instanceURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return strings.TrimRight(raw, "/")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 address
	}
	if port != "" && (scheme != "https" || port != "443") && (scheme != "http" || port != "80") {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}
