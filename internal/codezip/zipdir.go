package codezip

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// zipEpoch returns the modification time of every entry ZipDir writes, so
// the same tree always yields the same bytes and thus the same checksum.
func zipEpoch() time.Time { return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) }

// ZipDir zips the tree under dir for upload. Entries have relative,
// slash-separated paths in lexical (WalkDir) order; directories are
// included; files keep their permission bits; symlinks are stored as
// symlinks, not followed. dir itself may be a symlink. Timestamps are not
// kept (every entry has the same fixed time) so that zipping an unchanged
// tree gives identical bytes. Other file types (sockets, devices, pipes)
// are an error.
func ZipDir(dir string) ([]byte, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	if fi, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("zip %s: not a directory", dir)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return addEntry(zw, p, filepath.ToSlash(rel), info)
	})
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}

// addEntry writes the file at p (described by info) as the entry name.
func addEntry(zw *zip.Writer, p, name string, info fs.FileInfo) error {
	hdr, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	hdr.Name = name
	hdr.Modified = zipEpoch()
	mode := info.Mode()
	switch {
	case mode.IsDir():
		hdr.Name += "/"
		hdr.Method = zip.Store
		_, err := zw.CreateHeader(hdr)
		return err
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Method = zip.Store
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, filepath.ToSlash(target))
		return err
	case mode.IsRegular():
		hdr.Method = zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	default:
		return fmt.Errorf("%s: unsupported file type %v", name, mode.Type())
	}
}
