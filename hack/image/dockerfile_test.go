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

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"k8s.io/utils/ptr"
)

func TestParsePlanExpandsAsBuildKit(t *testing.T) {
	df := `
ARG V=1.0
ARG UNSET
FROM scratch AS named-amd64
FROM example.org/base:${V} AS base-amd64
FROM base-${TARGETARCH}
ARG V
ARG LOCAL=x-${V}
LABEL version="${V}" local=$LOCAL
ENV A=/opt
# Docker expands an ENV's words with the values from before it: PATH sees no B yet.
ENV B=${A}/bin PATH=${B}:/bin
COPY --from=tools /out/tool ${B}/
COPY dir/ /srv/
WORKDIR /srv
WORKDIR sub
USER 1000:1000
CMD ["serve"]
ENTRYPOINT ["/srv/app"]
CMD ["--flag"]
`
	got, err := ParsePlan([]byte(df), map[string]string{"V": "2.0"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Plan{
		Base: "example.org/base:2.0",
		Copies: []Copy{
			{From: "tools", Src: "/out/tool", Dest: "/opt/bin/", Instruction: "COPY --from=tools /out/tool ${B}/"},
			{Src: "dir/", Dest: "/srv/", Instruction: "COPY dir/ /srv/"},
		},
		Env:        []string{"A=/opt", "B=/opt/bin", "PATH=:/bin"},
		Labels:     map[string]string{"version": "2.0", "local": "x-2.0"},
		WorkingDir: "/srv/sub",
		User:       "1000:1000",
		Entrypoint: []string{"/srv/app"},
		Cmd:        []string{"--flag"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}

	// A new ENTRYPOINT drops an earlier CMD, as Docker does.
	got, err = ParsePlan([]byte("FROM scratch\nCMD [\"a\"]\nENTRYPOINT [\"/b\"]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cmd != nil || !cmp.Equal(got.Entrypoint, []string{"/b"}) {
		t.Errorf("entrypoint %q, cmd %q; want [/b] and none", got.Entrypoint, got.Cmd)
	}
}

func TestParsePlanRefusesWhatItCannotApply(t *testing.T) {
	for _, tc := range []struct{ name, dockerfile, want string }{
		{"run", "FROM scratch\nRUN true\n", "cannot apply RUN"},
		{"expose", "FROM scratch\nEXPOSE 8080\n", "cannot apply EXPOSE"},
		{"shell entrypoint", "FROM scratch\nENTRYPOINT /manager\n", "the shell form needs a shell"},
		{"shell cmd", "FROM scratch\nCMD serve\n", "the shell form needs a shell"},
		{"chown", "FROM scratch\nCOPY --chown=1:1 a /a\n", "--chown and --chmod are not supported"},
		{"two sources", "FROM scratch\nCOPY a b /c/\n", "copy one source per COPY"},
		{"wildcard", "FROM scratch\nCOPY *.nu /c/\n", "wildcards are not supported"},
		{"heredoc", "FROM scratch\nCOPY <<EOF /a\nx\nEOF\n", "here-documents are not supported"},
		{"stage with instructions", "FROM scratch AS b\nENV A=1\nFROM b\n", "stage b, which has instructions"},
		{"no FROM", "ARG A=1\n", "no FROM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlan([]byte(tc.dockerfile), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The project's Dockerfile: a distroless static base for amd64 (the one make image stands in for), the
// versions the Makefile provisions and tests with, a static manager build.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ParsePlan(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plan.Base, "gcr.io/distroless/static") || !strings.HasSuffix(plan.Base, ":nonroot") {
		t.Errorf("the amd64 image starts from %s, want gcr.io/distroless/static...:nonroot", plan.Base)
	}

	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}

	makefile, err := os.ReadFile(filepath.Join(repo, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{} // the defaults of the ARGs before the first FROM
	for _, cmd := range meta {
		for _, a := range cmd.Args {
			args[a.Key] = ptr.Deref(a.Value, "")
		}
	}
	for arg, want := range map[string]string{
		"NUSHELL_VERSION": makeVar(t, makefile, "NUSHELL_VERSION"),
		"KUBECTL_VERSION": "v" + makeVar(t, makefile, "ENVTEST_K8S_VERSION"),
	} {
		if args[arg] != want {
			t.Errorf("the Dockerfile's %s is %q, the Makefile provisions %q for the tests", arg, args[arg], want)
		}
	}

	// The builder stage must build the manager as make image does: without cgo, so it is static.
	built := false
	for _, s := range stages {
		for _, c := range s.Commands {
			if run, ok := c.(*instructions.RunCommand); ok && strings.Contains(run.String(), "go build") {
				built = true
				if !strings.Contains(run.String(), "CGO_ENABLED=0") || !strings.Contains(run.String(), "-trimpath") {
					t.Errorf("stage %s builds the manager without CGO_ENABLED=0 -trimpath: %s", s.Name, run)
				}
			}
		}
	}
	if !built {
		t.Error("no stage of the Dockerfile runs go build")
	}
}

// makeVar is the value of `NAME ?= VALUE` in the Makefile.
func makeVar(t *testing.T, makefile []byte, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*\?=\s*(\S+)\s*$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatalf("the Makefile sets no %s", name)
	}
	return string(m[1])
}
