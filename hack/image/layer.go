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
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one directory or regular file of a layer. Its content is src (a file on this machine) or data.
type entry struct {
	path     string // absolute, in the image
	mode     int64  // permission bits, sticky bit included
	uid, gid int
	dir      bool
	src      string
	data     []byte
}

func dirEntry(p string, mode int64) entry { return entry{path: p, mode: mode, dir: true} }

// layerFiles is the content of one layer.
type layerFiles []entry

// withParents adds the missing parent directories (root's, 0755, as a Docker build creates them) and
// sorts the entries so that each directory comes before what it holds.
func (l layerFiles) withParents() layerFiles {
	have := map[string]bool{}
	for _, e := range l {
		have[e.path] = true
	}
	out := slices.Clone(l)
	for _, e := range l {
		for p := path.Dir(e.path); p != "/" && !have[p]; p = path.Dir(p) {
			have[p] = true
			out = append(out, dirEntry(p, 0o755))
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.path, b.path) })
	return out
}

// layer makes a layer of the files, every time stamp set to mtime so that the same inputs make the same
// digest. The gzip-compressed form is kept in memory once computed: it is hashed, then written.
func (l layerFiles) layer(mtime time.Time, mediaType types.MediaType) (v1.Layer, error) {
	files := l.withParents()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		r, w := io.Pipe()
		go func() { _ = w.CloseWithError(writeTar(w, files, mtime)) }()
		return r, nil
	}, tarball.WithMediaType(mediaType), tarball.WithCompressedCaching)
}

func writeTar(w io.Writer, files layerFiles, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range files {
		if err := writeEntry(tw, e, mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	h := &tar.Header{
		Name:    strings.TrimPrefix(e.path, "/"),
		Mode:    e.mode,
		Uid:     e.uid,
		Gid:     e.gid,
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	if e.dir {
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		return tw.WriteHeader(h)
	}
	h.Typeflag = tar.TypeReg
	if e.src == "" {
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(e.data)
		return err
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// copyFiles returns what `COPY src dest` puts into the image, src being a file or directory on this
// machine, as Docker does it: a file lands at dest (or in it, when dest ends with /), a directory's content
// lands in dest. Files and directories belong to root; modes are normalised as git keeps them (0755 for
// executables, 0644 for other files, 0755 for directories), so a checkout's umask does not change the
// image. include, when not nil, says which paths (relative to src, slash-separated) are copied.
func copyFiles(src, dest string, include func(rel string) (bool, error)) (layerFiles, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if include != nil {
			ok, err := include(".")
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s is excluded by .dockerignore", src)
			}
		}
		if strings.HasSuffix(dest, "/") {
			dest = path.Join(dest, filepath.Base(src))
		}
		return layerFiles{fileEntry(src, path.Clean(dest), st.Mode())}, nil
	}
	dest = path.Clean(dest)
	files := layerFiles{dirEntry(dest, 0o755)}
	copied := 0
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if include != nil {
			ok, err := include(rel)
			if err != nil || !ok {
				return err // an excluded directory is still walked: a pattern may let something in it back in
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			files = append(files, dirEntry(path.Join(dest, rel), 0o755))
		case info.Mode().IsRegular():
			files = append(files, fileEntry(p, path.Join(dest, rel), info.Mode()))
			copied++
		default:
			return fmt.Errorf("%s: only regular files and directories are copied (this is %s)", p, info.Mode().Type())
		}
		return nil
	})
	if err == nil && copied == 0 {
		err = fmt.Errorf("%s holds no file to copy (is it excluded by .dockerignore?)", src)
	}
	return files, err
}

func fileEntry(src, dest string, mode fs.FileMode) entry {
	perm := int64(0o644)
	if mode&0o100 != 0 {
		perm = 0o755
	}
	return entry{path: dest, mode: perm, src: src}
}
