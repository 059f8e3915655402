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
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/script"
)

// BatchEntry is what a reconcile-batch answer says about one object of its batch (SCRIPT-PROTOCOL
// section 8).
type BatchEntry struct {
	// Result is unchanged, changed or error; "" when the answer says nothing usable about the object,
	// and Problem says why.
	Result string
	// Object is a changed entry's object (decoded, in JSON's types), written back as a reconcile's stdout
	// would be (see WrittenBackObject); nil when the entry has none (the script made its own changes).
	Object map[string]any
	// Message is an error entry's message. It is script output: logged, never put in events.
	Message string
	// Problem says why the object failed although the run exited 0. It never quotes the script's output,
	// since it goes into events.
	Problem string
}

// BatchAnswer is the answer of a reconcile-batch run read against the batch it answers.
type BatchAnswer struct {
	// Entries are the objects' entries, in the order of the batch.
	Entries []BatchEntry
	// Unknown names the entries for objects that are not in the batch; they are ignored.
	Unknown []string
	// Detail is why the answer could not be read, when it could not. It may quote the output, so it is
	// logged as output is.
	Detail error
}

// ReadBatchAnswer reads the stdout of a reconcile-batch run that exited 0: a YAML 1.2 list with one
// `{namespace, name, result, object, message}` entry per object, in any order. An object without an
// entry, with two, or whose entry has a result other than unchanged, changed or error (or a field of the
// wrong type) fails; an answer cut at the output cap, not such a list, or with an entry that does not name
// its object fails every object.
func ReadBatchAnswer(batch []*unstructured.Unstructured, run script.Result) BatchAnswer {
	a := BatchAnswer{Entries: make([]BatchEntry, len(batch))}
	failAll := func(problem string, detail error) BatchAnswer {
		for i := range a.Entries {
			a.Entries[i] = BatchEntry{Problem: problem}
		}
		a.Detail = detail
		return a
	}
	if run.StdoutDropped > 0 {
		return failAll(fmt.Sprintf("the answer is longer than the output cap of %d bytes: lower `batch`",
			len(run.Stdout)), nil)
	}
	entries, err := parseBatchAnswer(run.Stdout)
	if err != nil {
		return failAll("the answer is not a YAML list of {namespace, name, result} entries (the log says why)", err)
	}
	index := make(map[types.NamespacedName]int, len(batch))
	for i, obj := range batch {
		index[client.ObjectKeyFromObject(obj)] = i
	}
	seen := make([]int, len(batch))
	for _, e := range entries {
		i, ok := index[e.key]
		if !ok {
			a.Unknown = append(a.Unknown, e.key.String())
			continue
		}
		seen[i]++
		a.Entries[i] = e.entry
	}
	for i := range a.Entries {
		switch {
		case seen[i] == 0:
			a.Entries[i] = BatchEntry{Problem: "the answer has no entry for it"}
		case seen[i] > 1:
			a.Entries[i] = BatchEntry{Problem: "the answer has more than one entry for it"}
		}
	}
	return a
}

// keyedEntry is one entry of an answer with the object it names.
type keyedEntry struct {
	key   types.NamespacedName
	entry BatchEntry
}

// parseBatchAnswer decodes an answer, one YAML 1.2 document (JSON included): `yes` stays a string.
func parseBatchAnswer(stdout []byte) ([]keyedEntry, error) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return nil, errors.New("stdout is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(stdout))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("stdout holds more than one YAML document")
	}
	normal, err := jsonCompatible(doc)
	if err != nil {
		return nil, err
	}
	list, ok := normal.([]any)
	if !ok {
		return nil, fmt.Errorf("stdout is a %s, not a list: print the list with `to yaml`", kindOf(normal))
	}
	out := make([]keyedEntry, 0, len(list))
	for i, item := range list {
		e, err := readEntry(item)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func readEntry(item any) (keyedEntry, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return keyedEntry{}, fmt.Errorf("a %s, not a mapping", kindOf(item))
	}
	var e keyedEntry
	var err error
	// A cluster-scoped object has no namespace: missing, null and "" are alike.
	if e.key.Namespace, err = stringField(m, "namespace"); err != nil {
		return e, err
	}
	if e.key.Name, err = stringField(m, "name"); err != nil {
		return e, err
	}
	if e.key.Name == "" {
		return e, errors.New("no name")
	}
	// Once the entry names its object, a badly typed field fails that object alone, not the batch (a nu
	// `catch {|e| ...}` that puts the error record itself in `message` is an easy mistake).
	result, err := stringField(m, "result")
	if err != nil {
		e.entry.Problem = "its entry's result is not unchanged, changed or error"
		return e, nil
	}
	if e.entry.Message, err = stringField(m, "message"); err != nil {
		e.entry = BatchEntry{Problem: "its entry's " + err.Error()}
		return e, nil
	}
	switch result {
	case resultUnchanged, resultError:
		e.entry.Result = result
	case resultChanged:
		e.entry.Result = result
		switch obj := m["object"].(type) {
		case nil:
		case map[string]any:
			e.entry.Object = obj
		default:
			e.entry = BatchEntry{Problem: "its entry's object is not a mapping"}
		}
	default:
		e.entry.Problem = "its entry's result is not unchanged, changed or error"
	}
	return e, nil
}

// stringField reads an optional string field; missing and null read as "".
func stringField(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s is a %s, not a string", key, kindOf(v))
	}
}

// kindOf names a decoded YAML value's type for a message.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case string:
		return "string"
	case nil:
		return "null"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}
