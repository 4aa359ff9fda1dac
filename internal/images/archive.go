package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// files is what an import reads an image from: a tarball (`docker save`
// or an OCI archive) or an OCI layout directory. Names are slash
// separated and relative to its root.
type files interface {
	// open opens a regular file; fs.ErrNotExist when there is none.
	open(name string) (io.ReadCloser, error)
}

// tarFiles is a tarball on disk, indexed once: its files are read in
// place (tar stores them uncompressed), never extracted.
type tarFiles struct {
	f *os.File
	// entries maps clean names to their regular file's data, or to the
	// target of their symbolic link (docker save links a layer that two
	// images share).
	entries map[string]tarEntry
}

type tarEntry struct {
	off, size int64
	link      string // a symbolic link's target, clean, from the root
}

// maxLinkHops bounds symbolic links followed within a tarball.
const maxLinkHops = 8

// indexTar indexes the tarball f. Entries whose name leaves the archive
// are ignored: they cannot be asked for.
func indexTar(f *os.File) (*tarFiles, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	t := &tarFiles{f: f, entries: map[string]tarEntry{}}
	tr := tar.NewReader(f) // a Seeker: file data is skipped, not read
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalidf("the upload is not a tarball: %v", err)
		}
		n, err := cleanName(h.Name)
		if err != nil {
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			t.entries[n] = tarEntry{off: off, size: h.Size}
		case tar.TypeSymlink, tar.TypeLink:
			target := h.Linkname
			if h.Typeflag == tar.TypeSymlink {
				target = path.Join(path.Dir(n), target)
			}
			if c, err := cleanName(target); err == nil {
				t.entries[n] = tarEntry{link: c}
			}
		}
	}
	return t, nil
}

func (t *tarFiles) open(name string) (io.ReadCloser, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	for range maxLinkHops {
		e, ok := t.entries[n]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		if e.link == "" {
			return io.NopCloser(io.NewSectionReader(t.f, e.off, e.size)), nil
		}
		n = e.link
	}
	return nil, invalidf("%s: too many symbolic links", name)
}

// dirFiles is an OCI layout directory on this machine.
type dirFiles struct{ root string }

func (d dirFiles) open(name string) (io.ReadCloser, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(n)))
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file: %w", name, fs.ErrNotExist)
	}
	return f, nil
}

// readSmall reads a file that must be small (JSON).
func readSmall(fsys files, name string) ([]byte, error) {
	rc, err := fsys.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxJSONBlob+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxJSONBlob {
		return nil, invalidf("%s is over %d bytes", name, maxJSONBlob)
	}
	return b, nil
}

// blobPath is where an OCI layout keeps a blob.
func blobPath(digest string) (string, error) {
	h, err := parseDigest(digest)
	if err != nil {
		return "", invalidf("%v", err)
	}
	return "blobs/" + h.Algorithm + "/" + h.Hex, nil
}
