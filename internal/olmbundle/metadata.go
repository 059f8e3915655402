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

package olmbundle

import (
	"fmt"
	"path"
	"strings"
)

// label is one bundle annotation: a key of metadata/annotations.yaml and a LABEL of the bundle image.
type label struct{ key, value string }

// labels are the bundle's annotations, in operator-sdk's order: what OLM reads to unpack the bundle and
// place it in a package and its channels, then where the scorecard finds its tests.
func (o Options) labels(scorecard bool) (core, tests []label) {
	core = []label{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", o.Package},
		{"operators.operatorframework.io.bundle.channels.v1", strings.Join(o.Channels, ",")},
	}
	if o.DefaultChannel != "" {
		core = append(core, label{"operators.operatorframework.io.bundle.channel.default.v1", o.DefaultChannel})
	}
	if scorecard {
		tests = []label{
			{"operators.operatorframework.io.test.mediatype.v1", "scorecard+v1"},
			{"operators.operatorframework.io.test.config.v1", "tests/scorecard/"},
		}
	}
	return core, tests
}

func renderAnnotations(core, tests []label) []byte {
	var b strings.Builder
	b.WriteString("annotations:\n")
	writeLabels(&b, core, tests, "  ", "annotations", "%s: %s")
	return []byte(b.String())
}

// renderDockerfile is the bundle image's Dockerfile: the annotations as labels, and the bundle's
// directories copied where the labels say they are.
func renderDockerfile(core, tests []label, dir string) []byte {
	var b strings.Builder
	b.WriteString("FROM scratch\n\n")
	writeLabels(&b, core, tests, "", "labels", "LABEL %s=%s")
	b.WriteString("\n# Copy files to locations specified by labels.\n")
	fmt.Fprintf(&b, "COPY %s /manifests/\n", path.Join(dir, "manifests"))
	fmt.Fprintf(&b, "COPY %s /metadata/\n", path.Join(dir, "metadata"))
	if len(tests) > 0 {
		fmt.Fprintf(&b, "COPY %s /tests/scorecard/\n", path.Join(dir, "tests", "scorecard"))
	}
	return []byte(b.String())
}

// writeLabels writes the core labels, then the test ones, each group under operator-sdk's comment, one
// label a line in format (key, value).
func writeLabels(b *strings.Builder, core, tests []label, indent, noun, format string) {
	fmt.Fprintf(b, "%s# Core bundle %s.\n", indent, noun)
	for _, l := range core {
		fmt.Fprintf(b, indent+format+"\n", l.key, l.value)
	}
	if len(tests) > 0 {
		fmt.Fprintf(b, "\n%s# %s for testing.\n", indent, strings.ToUpper(noun[:1])+noun[1:])
		for _, l := range tests {
			fmt.Fprintf(b, indent+format+"\n", l.key, l.value)
		}
	}
}
