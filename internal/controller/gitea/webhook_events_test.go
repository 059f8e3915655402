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
	"slices"
	"testing"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
)

// A hook made in Gitea's UI to send everything cannot be made through the API, so the suite against a real
// Gitea cannot show it: its event names are checked here, as Gitea 1.26's EventsArray lists them.
func TestSendEverythingHookEvents(t *testing.T) {
	everything := []string{"create", "delete", "fork", "push", "issues", "issue_assign", "issue_label",
		"issue_milestone", "issue_comment", "pull_request", "pull_request_assign", "pull_request_label",
		"pull_request_milestone", "pull_request_comment", "pull_request_review_approved",
		"pull_request_review_rejected", "pull_request_review_comment", "pull_request_sync",
		"pull_request_review_request", "wiki", "repository", "release", "package", "status", "workflow_run",
		"workflow_job"}
	spec := []giteav1alpha1.WebhookEvent{"create", "delete", "fork", "push", "issues", "pull_request", "wiki",
		"repository", "release", "package", "status", "workflow_run", "workflow_job"}
	if got, want := recordedEvents(everything), expandEvents(spec); !slices.Equal(got, want) {
		t.Errorf("a hook sending everything reads as %v, not as the spec naming every group %v", got, want)
	}
	// Sent back unmanaged, the events must not widen into their groups, nor lose the review events.
	sent := collapseEvents(recordedEvents([]string{"issues", "pull_request_review_comment", "push"}))
	if want := []string{"issues_only", "pull_request_review", "push"}; !slices.Equal(sent, want) {
		t.Errorf("sent back as %v, want %v", sent, want)
	}
}
