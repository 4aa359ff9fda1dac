package natsx

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is a slog.Handler that keeps every record at or above its level.
type recorder struct {
	level slog.Level
	mu    *sync.Mutex
	recs  *[]slog.Record
}

func newRecorder(level slog.Level) recorder {
	return recorder{level: level, mu: &sync.Mutex{}, recs: &[]slog.Record{}}
}

func (r recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, rec.Clone())
	return nil
}
func (r recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recorder) WithGroup(string) slog.Handler      { return r }

func (r recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), *r.recs...)
}

func attr(rec slog.Record, key string) (slog.Value, bool) {
	var v slog.Value
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}

// saveIndexes copies every stream's index.db (written on a clean stop).
func saveIndexes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	saved := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "index.db" {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			saved[p] = b
		}
		return err
	})
	if err != nil || len(saved) == 0 {
		t.Fatalf("no index.db under %s (%v)", dir, err)
	}
	return saved
}

// A store whose stream index is older than its data, as after kill -9,
// restarts with one info line and no warnings, and keeps its data.
func TestRestartWithStaleIndexIsQuiet(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	c := start(t, Options{DataDir: dir})
	putGet(t, ctx, c.JS, "k1", "v1")
	c.Close()
	stale := saveIndexes(t, dir)

	c = start(t, Options{DataDir: dir})
	putGet(t, ctx, c.JS, "k2", "v2")
	c.Close()
	// Put back the indexes of the first stop: the last block now holds
	// entries the index does not know, which is what a crash leaves.
	for p, b := range stale {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rec := newRecorder(slog.LevelDebug)
	c = start(t, Options{DataDir: dir, Logger: slog.New(rec)})
	kv, err := c.JS.KeyValue(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "k2"); err != nil || string(e.Value()) != "v2" {
		t.Fatalf("k2 after recovery: %v, %v", e, err)
	}

	var recovered []slog.Record
	demoted := 0
	for _, r := range rec.records() {
		switch {
		case r.Level >= slog.LevelWarn:
			t.Errorf("%s: %s", r.Level, r.Message)
		case r.Level == slog.LevelInfo && strings.HasPrefix(r.Message, "recovered "):
			recovered = append(recovered, r)
		case r.Level == slog.LevelDebug && strings.Contains(r.Message, "Stream state outdated"):
			demoted++
		}
	}
	if demoted == 0 {
		t.Error("the file store's recovery warnings are not in the debug log (did the index go stale?)")
	}
	if len(recovered) != 1 {
		t.Fatalf("%d info lines about recovery, want 1", len(recovered))
	}
	want := "recovered 1 streams from " + filepath.Join(dir, "jetstream")
	if got := recovered[0].Message; got != want {
		t.Errorf("recovery line %q, want %q", got, want)
	}
	if v, ok := attr(recovered[0], "rebuilt"); !ok || v.Int64() != 1 {
		t.Errorf("rebuilt = %v, want 1", v)
	}
}

// A first start has nothing to recover and says nothing about it.
func TestFirstStartHasNoRecoveryLine(t *testing.T) {
	rec := newRecorder(slog.LevelInfo)
	start(t, Options{DataDir: t.TempDir(), Logger: slog.New(rec)})
	for _, r := range rec.records() {
		if strings.HasPrefix(r.Message, "recovered ") {
			t.Errorf("first start logged %q", r.Message)
		}
	}
}

func TestIsRecoveryChatter(t *testing.T) {
	for msg, want := range map[string]bool{
		"Filestore [KV_a] Stream state outdated, last block has additional entries, will rebuild":      true,
		"Filestore [KV_a] Stream state outdated, found extra blocks, will rebuild":                     true,
		"Filestore [KV_a] Recovering stream state from index errored: prior state file":                true,
		"Filestore [KV_a] Recovering stream state from index errored: corrupt state file":              true,
		"Filestore [KV_a] Stream state detected prior state, could not locate msg block 3":             true,
		"Filestore [KV_a] TTL state is outdated; attempting to recover using linear scan (seq 1 to 9)": true,
		"Filestore [KV_a] Stream state checksum did not match":                                         false,
		"Filestore [KV_a] Critical write error: disk full":                                             false,
		"Filestore [KV_a] Stream state encountered internal inconsistency on write":                    false,
		"Stream state outdated, last block has additional entries, will rebuild":                       false,
		"JetStream out of resources, will be DISABLED":                                                 false,
	} {
		if got := isRecoveryChatter(msg); got != want {
			t.Errorf("isRecoveryChatter(%q) = %v, want %v", msg, got, want)
		}
	}
}

// Outside recovery, even the file store's recovery wording stays a warning.
func TestServerLoggerWarnsOutsideRecovery(t *testing.T) {
	rec := newRecorder(slog.LevelDebug)
	l := newServerLogger(slog.New(rec))
	const msg = "Filestore [KV_a] Stream state outdated, last block has additional entries, will rebuild"
	l.Warnf(msg)
	l.setRecovering(true)
	l.Warnf(msg)
	l.Warnf("Filestore [KV_a] Stream state checksum did not match")
	l.setRecovering(false)
	got := rec.records()
	want := []slog.Level{slog.LevelWarn, slog.LevelDebug, slog.LevelWarn}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Level != want[i] {
			t.Errorf("record %d %q at %s, want %s", i, r.Message, r.Level, want[i])
		}
	}
	if n := l.rebuiltStreams(); n != 1 {
		t.Errorf("rebuiltStreams = %d, want 1", n)
	}
}

// TestRouteErrorsBeforeJoining: while the node has not joined its cluster
// its failing routes (peers not started yet) are debug; once joined, a
// failing route is a peer lost, an error. Other errors stay errors.
func TestRouteErrorsBeforeJoining(t *testing.T) {
	rec := newRecorder(slog.LevelDebug)
	l := newServerLogger(slog.New(rec))
	l.Errorf("Error trying to connect to route (attempt %v): %v", 1, "dial tcp 127.0.0.1:1: connect: connection refused")
	l.Errorf("JetStream failure: %v", "disk full")
	l.setJoined()
	l.Errorf("Error trying to connect to route (attempt %v): %v", 7, "dial tcp 127.0.0.1:1: connect: connection refused")
	want := []slog.Level{slog.LevelDebug, slog.LevelError, slog.LevelError}
	recs := rec.records()
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.Level != want[i] {
			t.Errorf("record %d %q: level %v, want %v", i, r.Message, r.Level, want[i])
		}
	}
}
