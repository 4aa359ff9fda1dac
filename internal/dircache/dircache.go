// Package dircache keeps the rules of a directory of unpacked entries that
// instances share (code packages, image layers): an entry is unpacked
// under a temporary name and renamed into place, and removed by being
// renamed to trash first, so that no reader ever finds one half made or
// half removed, and a crash leaves only names Sweep recognises.
package dircache

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const (
	// tempPrefix starts an unpack in progress: tempPrefix + key + "-" + random.
	tempPrefix = ".unpack-"
	// trashPrefix starts an entry on its way out.
	trashPrefix = ".trash-"
)

// TempDir makes the directory an unpack of key goes into before it is
// renamed to its place in parent.
func TempDir(parent, key string) (string, error) {
	return os.MkdirTemp(parent, tempPrefix+key+"-*")
}

// tempKey returns the key of a temporary directory's name.
func tempKey(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, tempPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "-")
	if i < 0 {
		return "", false
	}
	return rest[:i], true
}

// Sweep cleans dir. With lock held it decides, per subdirectory: trash
// and other hidden names (a crash's) go; an unpack in progress stays
// while busy says its key is; an entry goes when retire says so, renamed
// to trash at once. The removals happen after lock is released. It
// returns how many entries it retired; a missing dir is empty.
func Sweep(dir string, lock sync.Locker, busy, retire func(key string) bool, log *slog.Logger) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	var remove []string
	retired := 0
	lock.Lock()
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
			// not the cache's
		case strings.HasPrefix(name, "."):
			if key, ok := tempKey(name); ok && busy(key) {
				continue
			}
			remove = append(remove, name)
		case retire(name):
			trash := trashPrefix + name + "-" + rand.Text() // unique, also across restarts
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, trash)); err != nil {
				log.Warn("cannot remove an unused cache entry", "dir", dir, "entry", name, "err", err)
				continue
			}
			remove = append(remove, trash)
			retired++
		}
	}
	lock.Unlock()
	var errs []error
	for _, name := range remove {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("sweep %s: %w", dir, err))
		}
	}
	return retired, errors.Join(errs...)
}
