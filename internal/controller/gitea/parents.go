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

// What the kinds that belong to a repository (webhooks, deploy keys, branch protections) share: the
// repository is named "owner/name" or by a Repository resource (repositoryRef).

// fullNamer is a Repository resource, resolved through an interface so these kinds do not depend on its
// types.
type fullNamer interface{ GiteaFullName() (owner, name string) }

// repositoryOf is the repository ("owner/name") given as a string or through ref, or seen (the one last
// observed) when the referenced resource is gone, as while the dependent is being deleted.
func repositoryOf(c *Conn, repository *string, ref *giteav1alpha1.LocalObjectReference, seen string) string {
	if repository != nil {
		return *repository
	}
	if ref != nil {
		if dep, ok := c.Dep(Dependency{Kind: kindRepository, Name: ref.Name}); ok {
			if r, ok := dep.(fullNamer); ok {
				if owner, name := r.GiteaFullName(); owner != "" {
					return owner + "/" + name
				}
			}
		}
	}
	return seen
}

// repositoryDependencies is the Repository resource ref names, if any.
func repositoryDependencies(ref *giteav1alpha1.LocalObjectReference) []Dependency {
	if ref == nil {
		return nil
	}
	return []Dependency{{Kind: kindRepository, Name: ref.Name}}
}

// splitRepository is the owner and the name of "owner/name".
func splitRepository(fullName string) (owner, name string) {
	owner, name, _ = strings.Cut(fullName, "/")
	return owner, name
}

// repoPath is the API path of a repository ("owner/name").
func repoPath(fullName string) string {
	owner, name, _ := strings.Cut(fullName, "/")
	return "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
}

// repositoryMissing is the error for a repository Gitea answered 404 for.
func repositoryMissing(fullName string) error {
	return reasonf(giteav1alpha1.ReasonNotFound, "the repository %s does not exist in Gitea", fullName)
}

// ignoreAbsent drops an error that says the object, or the repository holding it, does not exist: for a
// delete, success.
func ignoreAbsent(err error) error {
	if re, ok := errors.AsType[*reasonError](err); ok && re.reason == giteav1alpha1.ReasonNotFound {
		return nil
	}
	if giteaclient.IsNotFound(err) {
		return nil
	}
	return err
}
