package dircache

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestTempKey(t *testing.T) {
	dir := t.TempDir()
	tmp, err := TempDir(dir, "sha-1a")
	if err != nil {
		t.Fatal(err)
	}
	if key, ok := tempKey(filepath.Base(tmp)); !ok || key != "sha-1a" {
		t.Fatalf("tempKey(%s) = %q, %v", filepath.Base(tmp), key, ok)
	}
	if _, ok := tempKey("plain"); ok {
		t.Fatal("a plain name read as a temporary one")
	}
}

// Sweep keeps wanted and busy entries and an unpack in progress; retires
// the rest through trash; removes a crash's leftovers; leaves files alone.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	busyTmp, _ := TempDir(dir, "busy")
	deadTmp, _ := TempDir(dir, "dead")
	for _, d := range []string{"keep", "busy", "old", ".trash-x-1", ".odd"} {
		os.MkdirAll(filepath.Join(dir, d, "sub"), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "README"), nil, 0o644)
	var mu sync.Mutex
	busy := func(k string) bool { return k == "busy" }
	n, err := Sweep(dir, &mu, busy, func(k string) bool { return k != "keep" && !busy(k) }, slog.New(slog.DiscardHandler))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 retired", n, err)
	}
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := []string{filepath.Base(busyTmp), "README", "busy", "keep"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("left %v; want %v (gone: %s)", left, want, filepath.Base(deadTmp))
	}
}
