package runtimes

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
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

// countingRuntime counts Check calls.
type countingRuntime struct {
	launch.Runtime
	calls *int
}

func (c countingRuntime) Check(rt string) (string, error) { *c.calls++; return "old", nil }

func TestCheckRemembered(t *testing.T) {
	calls := 0
	now := time.Unix(1000, 0)
	c := newChecked(countingRuntime{calls: &calls}, func() time.Time { return now })
	for range 3 {
		if w, err := c.Check("nodejs18"); w != "old" || err != nil {
			t.Fatalf("Check = %q, %v", w, err)
		}
	}
	if calls != 1 {
		t.Fatalf("the launcher was asked %d times within the TTL; want 1", calls)
	}
	now = now.Add(checkTTL + time.Second)
	c.Check("nodejs18")
	c.Check("nodejs20")
	if calls != 3 {
		t.Fatalf("after the TTL and for another runtime: %d calls; want 3", calls)
	}
}
