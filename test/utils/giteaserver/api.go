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

package giteaserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// StatusError is an API answer outside 2xx.
type StatusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s /api/v1%s: %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), e.Body)
}

// Do calls the API as the admin: path is under /api/v1 (with its query, e.g. "/orgs?page=2"), body (when
// not nil) is sent as JSON and a 2xx answer decoded into out (when not nil). It returns the answer's
// headers (X-Total-Count), also with a *StatusError.
func (s *Server) Do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	return s.request(ctx, func(r *http.Request) { r.Header.Set("Authorization", "token "+s.AdminToken) },
		method, path, body, out)
}

// CreateUser creates an active local user who need not change the password, a site admin when admin.
func (s *Server) CreateUser(ctx context.Context, name, password string, admin bool) error {
	if _, err := s.Do(ctx, http.MethodPost, "/admin/users", map[string]any{
		"username": name, "login_name": name, "email": name + "@example.com", "password": password,
		"must_change_password": false,
	}, nil); err != nil {
		return err
	}
	if !admin {
		return nil
	}
	// The create call has no admin flag; an edit must repeat the login source (0, local) and name.
	_, err := s.Do(ctx, http.MethodPatch, "/admin/users/"+url.PathEscape(name), map[string]any{
		"source_id": 0, "login_name": name, "admin": true,
	}, nil)
	return err
}

// CreateToken mints a token with every scope for user, authenticating as them (Gitea allows nothing
// else). name must be new for that user.
func (s *Server) CreateToken(ctx context.Context, user, password, name string) (string, error) {
	var tok struct {
		SHA1 string `json:"sha1"`
	}
	if _, err := s.request(ctx, func(r *http.Request) { r.SetBasicAuth(user, password) }, http.MethodPost,
		"/users/"+url.PathEscape(user)+"/tokens", map[string]any{"name": name, "scopes": []string{"all"}}, &tok); err != nil {
		return "", err
	}
	return tok.SHA1, nil
}

func (s *Server) request(ctx context.Context, auth func(*http.Request), method, path string, body, out any) (http.Header, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/v1"+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != nil {
		auth(req)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, &StatusError{Method: method, Path: path, Code: resp.StatusCode, Body: string(bytes.TrimSpace(data))}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("%s /api/v1%s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}
