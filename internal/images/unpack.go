package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// extractLayer writes an uncompressed layer into root, an empty directory
// that only this extraction uses, as an overlayfs lower directory:
// whiteouts become 0/0 character devices, opaque markers the
// trusted.overlay.opaque xattr. Entries keep their mode, owner, times
// and (but trusted.*) xattrs; devices are skipped. It never follows a
// symbolic link: an entry whose parent path goes through one is refused,
// a file is created with O_NOFOLLOW|O_EXCL after whatever was at its path
// went. It returns the layer's diff ID.
func extractLayer(r io.Reader, root string) (string, error) {
	x := &extractor{root: root}
	return x.run(r)
}

type extractor struct {
	root string
	// dirs are the directories the layer names, whose times are set once
	// everything inside them is written.
	dirs []*tar.Header
}

func (x *extractor) run(r io.Reader) (string, error) {
	// The extraction reads the tar through the digest: the layer is read
	// once.
	d := newDigester()
	r = io.TeeReader(r, d)
	if err := x.entries(r); err != nil {
		return "", err
	}
	// The tar's end blocks and padding belong to the digest too.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("reading the layer: %w", err)
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		h := x.dirs[i]
		if err := setTimes(x.path(h.Name), h); err != nil {
			return "", err
		}
	}
	return d.digest(), nil
}

// path is the host path of a clean entry name.
func (x *extractor) path(name string) string {
	n, _ := cleanName(name)
	return filepath.Join(x.root, filepath.FromSlash(n))
}

// entries extracts every entry of the tar.
func (x *extractor) entries(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return invalidf("reading the layer's tar: %v", err)
		}
		e, err := checkEntry(h)
		if err != nil {
			return err
		}
		if err := x.entry(tr, h, e); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
	}
}

// entry writes one checked entry.
func (x *extractor) entry(tr io.Reader, h *tar.Header, e entry) error {
	switch e.kind {
	case kindSkip:
		return nil
	case kindOpaque:
		dir, err := x.parents(e.name, true)
		if err != nil {
			return err
		}
		return setOpaque(dir)
	case kindWhiteout:
		p, err := x.parents(e.name, false)
		if err != nil {
			return err
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		return mkWhiteout(p)
	}
	if e.name == "." {
		x.dirs = append(x.dirs, h)
		return x.meta(x.root, h)
	}
	p, err := x.parents(e.name, false)
	if err != nil {
		return err
	}
	if err := x.create(tr, h, e, p); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeLink {
		return nil // the target's metadata is the link's
	}
	if h.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, h)
	}
	if err := x.meta(p, h); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeDir {
		return nil
	}
	return setTimes(p, h)
}

// create makes the entry at p, replacing what an earlier entry put there
// (a directory stays when the entry is a directory too).
func (x *extractor) create(tr io.Reader, h *tar.Header, e entry, p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.IsDir() && h.Typeflag == tar.TypeDir:
		return nil
	default:
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.Mkdir(p, 0o700)
	case tar.TypeSymlink:
		return os.Symlink(h.Linkname, p)
	case tar.TypeFifo:
		return mkfifo(p)
	case tar.TypeLink:
		target, err := x.parents(e.link, false)
		if err != nil {
			return err
		}
		ti, err := os.Lstat(target)
		if err != nil || !(ti.Mode().IsRegular() || ti.Mode()&fs.ModeSymlink != 0) {
			return invalidf("a hard link to %q, which the layer does not hold", h.Linkname)
		}
		return os.Link(target, p)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, tr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parents returns the host path of name after making sure every parent
// directory exists (made 0755 when the layer does not name it) and none
// is a symbolic link or something else than a directory. With self, name
// itself must be such a directory too.
func (x *extractor) parents(name string, self bool) (string, error) {
	if name == "." {
		return x.root, nil
	}
	parts := strings.Split(name, "/")
	if !self {
		parts = parts[:len(parts)-1]
	}
	p := x.root
	for _, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if err := mkdir755(p); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return "", invalidf("its path goes through the symbolic link %q", strings.TrimPrefix(p, x.root+"/"))
		}
		if !fi.IsDir() {
			return "", invalidf("its path goes through %q, which is not a directory", strings.TrimPrefix(p, x.root+"/"))
		}
	}
	return filepath.Join(x.root, filepath.FromSlash(name)), nil
}

// mkdir755 makes a directory a layer does not describe: rwxr-xr-x, as
// Docker makes them, whatever the server's umask (a container's user must
// be able to walk it).
func mkdir755(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	return os.Chmod(p, 0o755)
}

// meta sets owner, then mode (a chown clears setuid bits), then xattrs.
func (x *extractor) meta(p string, h *tar.Header) error {
	if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := os.Chmod(p, h.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	for k, v := range h.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		// trusted.* would let a layer forge overlayfs's own attributes.
		if !ok || strings.HasPrefix(attr, "trusted.") {
			continue
		}
		setXattr(p, attr, v) // best effort: the file system may not take it
	}
	return nil
}

// setTimes sets an entry's access and modification times, the link's own
// for a symbolic link.
func setTimes(p string, h *tar.Header) error {
	atime := h.AccessTime
	if atime.IsZero() {
		atime = h.ModTime
	}
	if h.ModTime.IsZero() {
		return nil
	}
	return lutimes(p, atime, h.ModTime)
}
