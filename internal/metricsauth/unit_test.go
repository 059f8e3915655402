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

package metricsauth

import (
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
	} {
		token, ok := bearerToken(tc.header)
		if token != tc.token || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
		}
	}
}

func TestDecisionKeyNamesEveryPartOfTheQuestion(t *testing.T) {
	base := func() authorizationv1.SubjectAccessReviewSpec {
		return authorizationv1.SubjectAccessReviewSpec{
			User: "u", UID: "1", Groups: []string{"a", "b"},
			Extra:                 map[string]authorizationv1.ExtraValue{"k": {"v1", "v2"}},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}
	}
	key := decisionKey(base())
	reordered := base()
	reordered.Groups = []string{"b", "a"}
	if decisionKey(reordered) != key {
		t.Error("the order of the groups changed the key")
	}
	for name, change := range map[string]func(*authorizationv1.SubjectAccessReviewSpec){
		"user":         func(s *authorizationv1.SubjectAccessReviewSpec) { s.User = "v" },
		"uid":          func(s *authorizationv1.SubjectAccessReviewSpec) { s.UID = "2" },
		"a group":      func(s *authorizationv1.SubjectAccessReviewSpec) { s.Groups = []string{"a"} },
		"groups split": func(s *authorizationv1.SubjectAccessReviewSpec) { s.Groups = []string{"a\x00b"} },
		"extra":        func(s *authorizationv1.SubjectAccessReviewSpec) { s.Extra["k"] = authorizationv1.ExtraValue{"v1"} },
		"path":         func(s *authorizationv1.SubjectAccessReviewSpec) { s.NonResourceAttributes.Path = "/other" },
		"verb":         func(s *authorizationv1.SubjectAccessReviewSpec) { s.NonResourceAttributes.Verb = "post" },
	} {
		s := base()
		change(&s)
		if decisionKey(s) == key {
			t.Errorf("changing the %s kept the key", name)
		}
	}
}

func TestCachesStayBounded(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Now())
	r := NewReviewer(nil, nil, clock)
	for i := range 3 * maxCached {
		store(r, r.decisions, fmt.Sprint(i), true, time.Minute)
		if len(r.decisions) > maxCached {
			t.Fatalf("%d entries after %d stores, the bound is %d", len(r.decisions), i+1, maxCached)
		}
	}
	if v, ok := lookup(r, r.decisions, fmt.Sprint(3*maxCached-1)); !ok || !v {
		t.Error("the newest entry is not cached")
	}

	// Expired entries go first: the fresh ones are kept.
	clear(r.decisions)
	for i := range maxCached - 1 {
		store(r, r.decisions, fmt.Sprint("old", i), true, time.Second)
	}
	store(r, r.decisions, "fresh", true, time.Hour)
	clock.SetTime(clock.Now().Add(time.Minute))
	store(r, r.decisions, "new", false, time.Hour)
	if len(r.decisions) != 2 {
		t.Errorf("%d entries, want the 2 fresh ones", len(r.decisions))
	}
	if _, ok := lookup(r, r.decisions, "fresh"); !ok {
		t.Error("a fresh entry was dropped while expired ones could go")
	}
}
