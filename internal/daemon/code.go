package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/dircache"
)

// codeStore is what the code cache needs of the store (store.JetStream).
type codeStore interface {
	// GetCode opens the zip stored under checksum; fc.ErrNotFound when
	// absent.
	GetCode(ctx context.Context, checksum string) (io.ReadCloser, error)
}

// codeCache unpacks code packages from the store into dir/<checksum>, once
// per checksum, and serves the directories to the instance manager. It
// counts the instances that start from or run on each directory (holds):
// Sweep never removes a held directory.
type codeCache struct {
	dir   string
	store codeStore
	lim   codezip.Limits
	log   *slog.Logger
	// released is called after a hold ends, outside the lock (the code
	// collector's Kick: the code may be unreferenced). May be nil.
	released func()

	mu       sync.Mutex
	holds    map[string]int         // checksum → instances holding it
	inflight map[string]*sync.Mutex // checksum → its unpack, while held
}

func newCodeCache(dir string, st codeStore, lim codezip.Limits, log *slog.Logger) *codeCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &codeCache{dir: dir, store: st, lim: lim, log: log, holds: map[string]int{}, inflight: map[string]*sync.Mutex{}}
}

// CodeDir implements instance.CodeSource: the directory holding the
// unpacked code (unpacked first if needed), held until release is called.
func (c *codeCache) CodeDir(ctx context.Context, checksum string) (dir string, release func(), err error) {
	if checksum == "" || filepath.Base(checksum) != checksum || strings.HasPrefix(checksum, ".") {
		return "", nil, fmt.Errorf("invalid code checksum %q", checksum)
	}
	// Held before the directory is looked at: a Sweep either ran before
	// (and the directory is unpacked again) or leaves it alone.
	c.mu.Lock()
	c.holds[checksum]++
	m := c.inflight[checksum]
	if m == nil {
		m = &sync.Mutex{}
		c.inflight[checksum] = m
	}
	c.mu.Unlock()
	release = sync.OnceFunc(func() { c.release(checksum) })
	dest := filepath.Join(c.dir, checksum)
	if err := c.unpack(ctx, m, checksum, dest); err != nil {
		release()
		return "", nil, err
	}
	return dest, release, nil
}

// release ends one hold of checksum.
func (c *codeCache) release(checksum string) {
	c.mu.Lock()
	if c.holds[checksum]--; c.holds[checksum] <= 0 {
		delete(c.holds, checksum)
		delete(c.inflight, checksum) // only holders use it
	}
	c.mu.Unlock()
	if c.released != nil {
		c.released()
	}
}

// unpack makes sure dest holds the code, one unpack per checksum at a
// time (m).
func (c *codeCache) unpack(ctx context.Context, m *sync.Mutex, checksum, dest string) error {
	m.Lock()
	defer m.Unlock()
	if _, err := os.Stat(dest); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("code dir: %w", err)
	}
	rc, err := c.store.GetCode(ctx, checksum)
	if err != nil {
		return fmt.Errorf("fetching code %s: %w", checksum, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("fetching code %s: %w", checksum, err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("code cache: %w", err)
	}
	if err := codezip.Unpack(b, dest, c.lim); err != nil {
		return fmt.Errorf("unpacking code %s: %w", checksum, err)
	}
	return nil
}

// InUse reports whether an instance holds checksum's code (codegc.Dirs).
func (c *codeCache) InUse(checksum string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holds[checksum] > 0
}

// Sweep removes the directory of every checksum that keep refuses and
// nothing holds, the unpacks a crash interrupted and the trash a crash
// left (codegc.Dirs). A directory is first renamed, under the lock, so
// that no CodeDir can find it half removed.
func (c *codeCache) Sweep(keep func(checksum string) bool) (int, error) {
	busy := func(sum string) bool { return c.holds[sum] > 0 }
	retire := func(sum string) bool { return !busy(sum) && !keep(sum) }
	n, err := dircache.Sweep(c.dir, &c.mu, busy, retire, c.log)
	if err != nil {
		return n, fmt.Errorf("code cache: %w", err)
	}
	return n, nil
}
