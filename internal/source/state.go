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

package source

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// StateFile is the name of the state file under the sources root.
const StateFile = ".state.json"

// stateFile is the state file's content.
type stateFile struct {
	Sources []State `json:"sources"`
}

// WriteState writes the states of all sources to root/.state.json, atomically (a temporary file renamed over
// the old one), so a reader, such as the managed operator reporting them in status, never sees half a file.
func WriteState(root string, states []State) error {
	if states == nil {
		states = []State{}
	}
	b, err := json.MarshalIndent(stateFile{Sources: states}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(root, tmpPrefix+"state-*")
	if err != nil {
		return fmt.Errorf("writing the source state: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, filepath.Join(root, StateFile))
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("writing the source state: %w", err)
	}
	return nil
}

// ReadState reads the states WriteState wrote under root. A missing file is an error that wraps
// fs.ErrNotExist (nothing was fetched yet, or the fetcher has not started).
func ReadState(root string) ([]State, error) {
	b, err := os.ReadFile(filepath.Join(root, StateFile))
	if err != nil {
		return nil, fmt.Errorf("reading the source state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("reading the source state %s: %w", filepath.Join(root, StateFile), err)
	}
	return f.Sources, nil
}
