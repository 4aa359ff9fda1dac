package codezip

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/openfc/openfc/internal/dircache"
)

// dirMode is the mode of unpacked directories.
const dirMode fs.FileMode = 0o755

// Unpack extracts a code package into dest, which is created and must not
// exist or be an empty directory. It applies every rule of Check itself
// and counts the bytes it actually writes against lim. Files keep their
// permission bits (setuid, setgid and sticky bits are dropped; a file with
// no bits at all gets 0644), symlinks stay symlinks, directories are 0755.
//
// The archive is extracted into a temporary directory next to dest through
// an os.Root, with symlinks created last, and renamed to dest only when
// complete: dest never holds a partial tree, and on error nothing is left.
func Unpack(zipBytes []byte, dest string, lim Limits) error {
	lim = lim.WithDefaults()
	a, err := scan(zipBytes, lim)
	if err != nil {
		return err
	}
	existed, err := checkDest(dest)
	if err != nil {
		return err
	}
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, dirMode); err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	tmp, err := dircache.TempDir(parent, filepath.Base(dest))
	if err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.RemoveAll(tmp)
		}
	}()
	if err := extract(a, tmp, lim); err != nil {
		return err
	}
	if err := os.Chmod(tmp, dirMode); err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	if existed {
		// os.Rename refuses to replace a directory; dest is empty, so
		// Remove (which only removes empty directories) is safe.
		if err := os.Remove(dest); err != nil {
			return fmt.Errorf("unpack code: replace empty %s: %w", dest, err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	renamed = true
	return nil
}

// checkDest reports whether dest exists, failing unless it is absent or
// an empty directory.
func checkDest(dest string) (existed bool, err error) {
	fi, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("unpack code: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("unpack code: %s exists and is not a directory", dest)
	}
	d, err := os.Open(dest)
	if err != nil {
		return false, fmt.Errorf("unpack code: %w", err)
	}
	defer d.Close()
	if _, err := d.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return false, fmt.Errorf("unpack code: %w", err)
		}
		return false, fmt.Errorf("unpack code: %s is not empty", dest)
	}
	return true, nil
}

// extract writes the entries of a under dir: directories, then files,
// then symlinks, so that no path is ever written through a link. Every
// operation goes through an os.Root, which refuses to leave dir.
func extract(a *archive, dir string, lim Limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	defer root.Close()
	budget := lim.MaxUnpackedBytes
	for _, pass := range []kind{kindDir, kindFile, kindSymlink} {
		for _, e := range a.entries {
			if e.kind != pass {
				continue
			}
			n, err := extractEntry(root, e, budget)
			if errors.Is(err, errOverBudget) {
				return lim.unpackedTooLarge(0, e.f.Name)
			}
			if err != nil {
				return err
			}
			if budget -= n; budget < 0 {
				return lim.unpackedTooLarge(0, e.f.Name)
			}
		}
	}
	return nil
}

// extractEntry writes one entry and returns the bytes it counts for.
func extractEntry(root *os.Root, e entry, budget int64) (int64, error) {
	if e.kind == kindDir {
		if err := root.MkdirAll(e.name, dirMode); err != nil {
			return 0, fmt.Errorf("unpack code: %w", err)
		}
		return 0, nil
	}
	if d := path.Dir(e.name); d != "." {
		if err := root.MkdirAll(d, dirMode); err != nil {
			return 0, fmt.Errorf("unpack code: %w", err)
		}
	}
	if e.kind == kindSymlink {
		if err := root.Symlink(e.target, e.name); err != nil {
			return 0, fmt.Errorf("unpack code: %w", err)
		}
		return int64(len(e.target)), nil
	}
	f, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("unpack code: %w", err)
	}
	n, err := copyEntry(f, e, budget)
	if err != nil {
		f.Close()
		return n, err
	}
	// Chmod on the open file: immune to the umask and to path games.
	if err := f.Chmod(e.mode); err != nil {
		f.Close()
		return n, fmt.Errorf("unpack code: %w", err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("unpack code: %w", err)
	}
	return n, nil
}
