package daemon

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// zipStore is a codeStore over zips in memory, by checksum.
type zipStore map[string][]byte

func (z zipStore) GetCode(_ context.Context, sum string) (io.ReadCloser, error) {
	b, ok := z[sum]
	if !ok {
		return nil, fmt.Errorf("code %s: %w", sum, fc.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// appZip is a code package with one file holding tag.
func appZip(t *testing.T, tag string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("app.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, tag)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func newTestCache(t *testing.T, tags ...string) (*codeCache, zipStore, *atomic.Int32) {
	t.Helper()
	st := zipStore{}
	for _, tag := range tags {
		st[tag] = appZip(t, tag)
	}
	c := newCodeCache(filepath.Join(t.TempDir(), "code"), st, codezip.Limits{}, nil)
	var released atomic.Int32
	c.released = func() { released.Add(1) }
	return c, st, &released
}

func codeDir(t *testing.T, c *codeCache, sum string) (string, func()) {
	t.Helper()
	dir, release, err := c.CodeDir(context.Background(), sum)
	if err != nil {
		t.Fatalf("CodeDir(%s): %v", sum, err)
	}
	return dir, release
}

// A directory is held from CodeDir until its release; releasing twice
// counts once, and every release asks for a collection.
func TestCodeCacheHolds(t *testing.T) {
	c, _, released := newTestCache(t, "a")
	dir, r1 := codeDir(t, c, "a")
	if b, err := os.ReadFile(filepath.Join(dir, "app.txt")); err != nil || string(b) != "a" {
		t.Fatalf("unpacked code: %q, %v", b, err)
	}
	_, r2 := codeDir(t, c, "a")
	r1()
	r1()
	if !c.InUse("a") {
		t.Error("a is not in use with one hold left")
	}
	r2()
	if c.InUse("a") {
		t.Error("a is in use with every hold released")
	}
	if n := released.Load(); n != 2 {
		t.Errorf("released was called %d times; want 2", n)
	}
	if _, _, err := c.CodeDir(context.Background(), "missing"); err == nil || c.InUse("missing") {
		t.Errorf("CodeDir of missing code: err %v, in use %v; want an error and no hold", err, c.InUse("missing"))
	}
}

// Sweep removes the directories nothing references and nothing holds,
// and what a crash left (unpacks cut short, trash); it keeps referenced
// and held directories and an unpack in progress. Code swept away is
// unpacked again when an instance needs it.
func TestCodeCacheSweep(t *testing.T) {
	c, _, _ := newTestCache(t, "ref", "held", "old", "busy")
	for _, sum := range []string{"ref", "held", "old"} {
		_, release := codeDir(t, c, sum)
		if sum != "held" {
			release()
		}
	}
	// An unpack of "busy" in progress (held), and a crash's leftovers.
	_, releaseBusy := codeDir(t, c, "busy")
	if err := os.RemoveAll(filepath.Join(c.dir, "busy")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".unpack-busy-1", ".unpack-gone-2", ".trash-x-3", ".trash-y-4/sub", ".gone.unpack-5"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, "README"), []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := c.Sweep(func(sum string) bool { return sum == "ref" })
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Sweep removed %d directories; want 1 (old)", n)
	}
	if got, want := entries(t, c.dir), []string{".unpack-busy-1", "README", "held", "ref"}; !slices.Equal(got, want) {
		t.Errorf("left after Sweep: %v; want %v", got, want)
	}
	releaseBusy()

	dir, release := codeDir(t, c, "old")
	defer release()
	if b, err := os.ReadFile(filepath.Join(dir, "app.txt")); err != nil || string(b) != "old" {
		t.Errorf("code unpacked again after a sweep: %q, %v", b, err)
	}
}

// Sweep of a cache that never unpacked anything is a no-op.
func TestCodeCacheSweepEmpty(t *testing.T) {
	c, _, _ := newTestCache(t)
	if n, err := c.Sweep(func(string) bool { return false }); n != 0 || err != nil {
		t.Errorf("Sweep of a missing dir = %d, %v", n, err)
	}
}
