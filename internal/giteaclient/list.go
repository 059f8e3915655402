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
	"fmt"
	"strconv"

	"code.gitea.io/sdk/gitea"
)

// PageSize is the page size ListAll asks for: Gitea's largest by default (MAX_RESPONSE_ITEMS). A server
// configured lower answers with smaller pages, which ListAll handles.
const PageSize = 50

// maxPages stops a list that never ends, as with a server that ignores the page parameter.
const maxPages = 10000

// ListAll collects every page of a list. list makes one page's call with the options it is given, for
// example
//
//	repos, err := giteaclient.ListAll(ctx, func(o gitea.ListOptions) ([]*gitea.Repository, *gitea.Response, error) {
//		return sdk.ListOrgRepos(org, gitea.ListOrgReposOptions{ListOptions: o})
//	})
//
// (a raw list made with Do returns &gitea.Response{Response: resp}). It stops at an empty page, when it has
// X-Total-Count items, or, without that header, at a page shorter than the longest one so far (the server's
// real page size, which may be below PageSize). Errors are typed with Wrap.
func ListAll[T any](ctx context.Context, list func(gitea.ListOptions) ([]T, *gitea.Response, error)) ([]T, error) {
	var all []T
	longest := 0
	for page := 1; page <= maxPages; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		items, resp, err := list(gitea.ListOptions{Page: page, PageSize: PageSize})
		if err != nil {
			return nil, Wrap(resp, err)
		}
		all = append(all, items...)
		if len(items) == 0 {
			return all, nil
		}
		if total, ok := TotalCount(resp); ok {
			if len(all) >= total {
				return all, nil
			}
			continue
		}
		if len(items) < longest {
			return all, nil
		}
		longest = len(items)
	}
	return nil, fmt.Errorf("gitea: a list went past %d pages", maxPages)
}

// TotalCount is a list's X-Total-Count: how many items all its pages hold; false without the header.
func TotalCount(resp *gitea.Response) (int, bool) {
	if resp == nil || resp.Response == nil {
		return 0, false
	}
	n, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	return n, err == nil
}
