package runtimes

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/nodejs"
)

func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	r, err := New(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rt, bdir, ok := r.For("nodejs18")
	if !ok || bdir != filepath.Join(dir, "nodejs") {
		t.Fatalf("For(nodejs18) = %v, %q, %v", rt, bdir, ok)
	}
	if _, err := os.Stat(filepath.Join(bdir, "bootstrap.js")); err != nil {
		t.Errorf("bootstrap not written: %v", err)
	}
	if _, _, ok := r.For("custom"); ok {
		t.Errorf("For(custom) found a launcher")
	}
	l, err := rt.Launch(&fc.Function{Runtime: "nodejs18"}, "/code", bdir)
	if err != nil || l.Command[len(l.Command)-1] != filepath.Join(bdir, "bootstrap.js") {
		t.Errorf("Launch = %v, %v", l, err)
	}
	if _, err := New(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("New over an existing dir: %v", err)
	}
}

func TestNodeCheckMissing(t *testing.T) {
	_, err := nodejs.Runtime{Node: "no-such-node-binary"}.Check("nodejs18")
	if err == nil || !strings.Contains(err.Error(), "apt-get install nodejs") {
		t.Errorf("Check with no node = %v; want the package named", err)
	}
}
