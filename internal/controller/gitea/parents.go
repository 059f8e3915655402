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

// What the kinds that belong to a repository or an organization share: the parent is named by its Gitea name
// or by a resource (repositoryRef, organizationRef), whose current name comes from its status.

// fullNamer is a Repository resource, resolved through an interface so these kinds do not depend on its
// types.
type fullNamer interface{ GiteaFullName() (owner, name string) }

// repositoryOf is the repository ("owner/name") given as a string or through repositoryRef, or seen (the one
// last observed) when the referenced resource is gone, as while the dependent is being deleted.
func repositoryOf(c *Conn, r giteav1alpha1.RepositoryReference, seen string) string {
	if r.Repository != nil {
		return *r.Repository
	}
	if r.RepositoryRef != nil {
		if dep, ok := c.Dep(Dependency{Kind: kindRepository, Name: r.RepositoryRef.Name}); ok {
			if owner, name := dep.(fullNamer).GiteaFullName(); owner != "" {
				return owner + "/" + name
			}
		}
	}
	return seen
}

// organizationOf is the organization's name given as a string or through organizationRef, or seen (the one
// last observed) when the referenced resource is gone, as while the dependent is being deleted.
func organizationOf(c *Conn, o giteav1alpha1.OrganizationReference, seen string) string {
	if o.Organization != nil {
		return string(*o.Organization)
	}
	if o.OrganizationRef != nil {
		if dep, ok := c.Dep(Dependency{Kind: kindOrganization, Name: o.OrganizationRef.Name}); ok {
			if name := dep.(*giteav1alpha1.Organization).GiteaName(); name != "" {
				return name
			}
		}
	}
	return seen
}

// organizationMissing is NotFound when Gitea has no organization named org, or only redirects the name to
// one renamed from it (findAccount): that one's teams and hooks are another's, and a create under the old
// name would follow the redirect into it. nil when the organization is there.
func organizationMissing(c *Conn, org string) error {
	found, _, err := findOrg(c, org, "", 0)
	if err != nil || found != nil {
		return err
	}
	return organizationNotFound(org)
}

// organizationNotFound is the error for an organization Gitea does not have.
func organizationNotFound(org string) error {
	return reasonf(giteav1alpha1.ReasonNotFound, "the organization %s does not exist in Gitea", org)
}

// parentDependencies are the Repository and Organization resources refs name (nil ones are skipped).
func parentDependencies(repositoryRef, organizationRef *giteav1alpha1.LocalObjectReference) []Dependency {
	var deps []Dependency
	if repositoryRef != nil {
		deps = append(deps, Dependency{Kind: kindRepository, Name: repositoryRef.Name})
	}
	if organizationRef != nil {
		deps = append(deps, Dependency{Kind: kindOrganization, Name: organizationRef.Name})
	}
	return deps
}

// splitRepository is the owner and the name of "owner/name".
func splitRepository(fullName string) (owner, name string) {
	owner, name, _ = strings.Cut(fullName, "/")
	return owner, name
}

// repoPath is the API path of a repository ("owner/name").
func repoPath(fullName string) string {
	owner, name := splitRepository(fullName)
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
