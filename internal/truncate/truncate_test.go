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

package truncate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	if got := String("short", 10); got != "short" {
		t.Errorf("a short string is cut: %q", got)
	}
	long := strings.Repeat("é", 10) // 20 bytes
	for n := 3; n <= 20; n++ {
		cut := String(long, n)
		if len(cut) > n || !utf8.ValidString(cut) || (n < 20 && !strings.HasSuffix(cut, "...")) {
			t.Errorf("String(%q, %d) = %q: longer than %d bytes, not UTF-8, or not marked", long, n, cut, n)
		}
	}
	if got := String(strings.Repeat("a", 10), 8); got != "aaaaa..." {
		t.Errorf("cut to 8 bytes: %q", got)
	}
}
