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

package engine

import (
	"testing"

	"kemper.buzz/nuop/internal/script"
)

func TestStatusSaysWhenAScriptRunsInPlace(t *testing.T) {
	s := &script.Script{Dir: "/scripts/a", Config: script.Config{Name: "a", Version: "v1", Kind: "ConfigMap"}}
	if got := statusOf(s, StateReady, "running").Message; got != "running" {
		t.Errorf("message of a script run from its snapshot: %q", got)
	}
	s.InPlace = "runs from its directory, not from a private copy (why)"
	if got, want := statusOf(s, StateReady, "running").Message, "running; "+s.InPlace; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
