package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/openfc/openfc/internal/codezip"
)

// codeStore is what the code cache needs of the store (store.JetStream).
type codeStore interface {
	// GetCode opens the zip stored under checksum; fc.ErrNotFound when
	// absent.
	GetCode(ctx context.Context, checksum string) (io.ReadCloser, error)
}

// codeCache unpacks code packages from the store into dir/<checksum>, once
// per checksum, and serves the directories to the instance manager.
type codeCache struct {
	dir   string
	store codeStore
	lim   codezip.Limits

	mu       sync.Mutex
	inflight map[string]*sync.Mutex
}

func newCodeCache(dir string, st codeStore, lim codezip.Limits) *codeCache {
	return &codeCache{dir: dir, store: st, lim: lim, inflight: map[string]*sync.Mutex{}}
}

// CodeDir implements instance.CodeSource.
func (c *codeCache) CodeDir(ctx context.Context, checksum string) (string, error) {
	if checksum == "" || filepath.Base(checksum) != checksum {
		return "", fmt.Errorf("invalid code checksum %q", checksum)
	}
	dest := filepath.Join(c.dir, checksum)
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	c.mu.Lock()
	m := c.inflight[checksum]
	if m == nil {
		m = &sync.Mutex{}
		c.inflight[checksum] = m
	}
	c.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("code dir: %w", err)
	}
	rc, err := c.store.GetCode(ctx, checksum)
	if err != nil {
		return "", fmt.Errorf("fetching code %s: %w", checksum, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return "", fmt.Errorf("fetching code %s: %w", checksum, err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", fmt.Errorf("code cache: %w", err)
	}
	if err := codezip.Unpack(b, dest, c.lim); err != nil {
		return "", fmt.Errorf("unpacking code %s: %w", checksum, err)
	}
	return dest, nil
}
