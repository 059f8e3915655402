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
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/google/go-cmp/cmp"
)

// pages serves n items in pages of at most serverMax (Gitea's MAX_RESPONSE_ITEMS), with X-Total-Count or not,
// and records the pages asked for.
func pages(n, serverMax int, withTotal bool, asked *[]gitea.ListOptions) func(gitea.ListOptions) ([]int, *gitea.Response, error) {
	return func(o gitea.ListOptions) ([]int, *gitea.Response, error) {
		*asked = append(*asked, o)
		size := min(o.PageSize, serverMax)
		var items []int
		for i := (o.Page - 1) * size; i < min(o.Page*size, n); i++ {
			items = append(items, i)
		}
		resp := &gitea.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{}}}
		if withTotal {
			resp.Header.Set("X-Total-Count", strconv.Itoa(n))
		}
		return items, resp, nil
	}
}

func TestListAll(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		serverMax int
		withTotal bool
		wantPages int
	}{
		{"nothing", 0, 50, true, 1},
		{"nothing, no total", 0, 50, false, 1},
		{"one short page", 7, 50, true, 1},
		{"one short page, no total: an empty page ends it", 7, 50, false, 2},
		{"exactly one page", 50, 50, true, 1},
		{"exactly one page, no total", 50, 50, false, 2},
		{"several pages", 120, 50, true, 3},
		{"several pages, no total", 120, 50, false, 3},
		{"a server with smaller pages", 12, 5, true, 3},
		{"a server with smaller pages, no total", 12, 5, false, 3},
		{"a server with smaller pages, no total, a full last page", 10, 5, false, 3},
	}
	for _, tt := range tests {
		var asked []gitea.ListOptions
		got, err := ListAll(t.Context(), pages(tt.n, tt.serverMax, tt.withTotal, &asked))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(got) != tt.n || tt.n > 0 && got[tt.n-1] != tt.n-1 {
			t.Errorf("%s: %d items, want %d", tt.name, len(got), tt.n)
		}
		var want []gitea.ListOptions
		for p := 1; p <= tt.wantPages; p++ {
			want = append(want, gitea.ListOptions{Page: p, PageSize: PageSize})
		}
		if diff := cmp.Diff(want, asked); diff != "" {
			t.Errorf("%s: pages asked (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestListAllStops(t *testing.T) {
	typed := &Error{Kind: KindNotFound, Method: "GET", Path: "/api/v1/orgs/o/repos", StatusCode: 404}
	failing := func(o gitea.ListOptions) ([]int, *gitea.Response, error) {
		if o.Page == 2 {
			return nil, nil, typed
		}
		return make([]int, PageSize), nil, nil
	}
	if _, err := ListAll(t.Context(), failing); err != typed {
		t.Errorf("an error on page 2: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	cancelling := func(gitea.ListOptions) ([]int, *gitea.Response, error) {
		calls++
		cancel()
		return make([]int, PageSize), nil, nil
	}
	if _, err := ListAll(ctx, cancelling); !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("a cancelled list: %v after %d pages", err, calls)
	}

	endless := func(gitea.ListOptions) ([]int, *gitea.Response, error) { return make([]int, 5), nil, nil }
	if _, err := ListAll(t.Context(), endless); err == nil || !strings.Contains(err.Error(), "pages") {
		t.Errorf("a list that never ends: %v", err)
	}
}

func TestListAllThroughTheSDK(t *testing.T) {
	const total, serverMax = 12, 5
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/version" {
			_, _ = fmt.Fprint(w, `{"version":"1.26.0"}`)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		limit = min(limit, serverMax)
		var repos []string
		for i := (page - 1) * limit; i < min(page*limit, total); i++ {
			repos = append(repos, fmt.Sprintf(`{"id":%d,"name":"r%d"}`, i+1, i+1))
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
		_, _ = fmt.Fprintf(w, "[%s]", strings.Join(repos, ","))
	})
	env := newEnv(t, srv.URL)
	sdk, err := env.c.SDK(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	repos, err := ListAll(t.Context(), func(o gitea.ListOptions) ([]*gitea.Repository, *gitea.Response, error) {
		return sdk.ListOrgRepos("o", gitea.ListOrgReposOptions{ListOptions: o})
	})
	if err != nil || len(repos) != total || repos[total-1].Name != "r12" {
		t.Fatalf("ListAll = %d repositories, %v", len(repos), err)
	}
}
