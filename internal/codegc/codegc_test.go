package codegc

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/store"
)

// fakeZips is an in-memory Zips.
type fakeZips struct {
	mu      sync.Mutex
	zips    map[string]time.Time // checksum → ModTime
	deleted []string
}

func newZips(at time.Time, sums ...string) *fakeZips {
	z := &fakeZips{zips: map[string]time.Time{}}
	for _, s := range sums {
		z.zips[s] = at
	}
	return z
}

func (z *fakeZips) ListCode(context.Context) ([]store.CodeInfo, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	var out []store.CodeInfo
	for s, t := range z.zips {
		out = append(out, store.CodeInfo{Checksum: s, ModTime: t})
	}
	return out, nil
}

func (z *fakeZips) DeleteCode(_ context.Context, sum string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	delete(z.zips, sum)
	z.deleted = append(z.deleted, sum)
	return nil
}

// left returns the stored checksums, sorted.
func (z *fakeZips) left() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	var out []string
	for s := range z.zips {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// fakeDirs is a Dirs with unpacked code for some checksums, some in use.
type fakeDirs struct {
	mu    sync.Mutex
	dirs  map[string]bool // checksum → in use
	swept int
}

func (d *fakeDirs) InUse(sum string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dirs[sum]
}

func (d *fakeDirs) Sweep(keep func(string) bool) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.swept++
	n := 0
	for s, inUse := range d.dirs {
		if !inUse && !keep(s) {
			delete(d.dirs, s)
			n++
		}
	}
	return n, nil
}

func (d *fakeDirs) left() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for s := range d.dirs {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// refs is a Referrer naming sums.
func refs(sums ...string) Referrer {
	return func(context.Context) ([]string, error) { return sums, nil }
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func collect(t *testing.T, c *Collector) Result {
	t.Helper()
	res, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
}

func want(t *testing.T, what string, got []string, w ...string) {
	t.Helper()
	if !slices.Equal(got, w) {
		t.Errorf("%s = %v; want %v", what, got, w)
	}
}

// Referenced code stays (any referrer counts), unreferenced code goes,
// and code an instance here starts from or runs on stays, zip and
// directory, until it is no longer used.
func TestReferencedAndInUseKept(t *testing.T) {
	zips := newZips(t0, "fn", "version", "old", "running")
	dirs := &fakeDirs{dirs: map[string]bool{"fn": false, "old": false, "running": true, "stray": false}}
	c := New(Options{Zips: zips, Dirs: dirs, Referrers: []Referrer{refs("fn"), refs("version")}, Now: (&clock{t: t0}).Now})
	if res := collect(t, c); res != (Result{Zips: 1, Dirs: 2}) {
		t.Errorf("Collect = %+v; want 1 zip and 2 dirs removed", res)
	}
	want(t, "zips left", zips.left(), "fn", "running", "version")
	want(t, "dirs left", dirs.left(), "fn", "running")

	dirs.mu.Lock()
	dirs.dirs["running"] = false // its instance stopped
	dirs.mu.Unlock()
	collect(t, c)
	want(t, "zips left after the instance stopped", zips.left(), "fn", "version")
	want(t, "dirs left after the instance stopped", dirs.left(), "fn")
}

// A pass removes nothing when it cannot list every reference.
func TestReferrerErrorRemovesNothing(t *testing.T) {
	zips := newZips(t0, "a")
	dirs := &fakeDirs{dirs: map[string]bool{"a": false}}
	broken := func(context.Context) ([]string, error) { return nil, errors.New("store down") }
	c := New(Options{Zips: zips, Dirs: dirs, Referrers: []Referrer{refs(), broken}})
	if _, err := c.Collect(context.Background()); err == nil {
		t.Error("Collect with a failing referrer succeeded")
	}
	c.Released(context.Background(), "a")
	want(t, "zips left", zips.left(), "a")
	want(t, "dirs left", dirs.left(), "a")
}

// A zip a write holds stays, and so does one held at any time after the
// pass began: the function referencing it may have been written after
// the pass listed the references. Once no write holds it and nothing
// references it, it goes.
func TestHeldKept(t *testing.T) {
	zips := newZips(t0, "held", "raced", "before")
	var c *Collector
	releaseBefore := func() {}
	race := func(context.Context) ([]string, error) {
		// While the pass lists references: one write holds "raced",
		// writes its function and ends; another, holding "before" since
		// before the pass, ends too.
		c.Hold("raced")()
		releaseBefore()
		return nil, nil
	}
	c = New(Options{Zips: zips, Referrers: []Referrer{race}})
	release := c.Hold("held")
	releaseBefore = c.Hold("before")
	collect(t, c)
	want(t, "zips left while held", zips.left(), "before", "held", "raced")

	release()
	release() // a second release is harmless
	c.opts.Referrers = []Referrer{refs()}
	collect(t, c)
	want(t, "zips left once released", zips.left())
}

// Released removes the zip at once when nothing references or holds it,
// and keeps it when something does.
func TestReleased(t *testing.T) {
	ctx := context.Background()
	zips := newZips(t0, "old", "shared", "held", "running")
	dirs := &fakeDirs{dirs: map[string]bool{"running": true}}
	c := New(Options{Zips: zips, Dirs: dirs, Referrers: []Referrer{refs("shared")}})
	release := c.Hold("held")
	for _, s := range []string{"old", "shared", "held", "running"} {
		c.Released(ctx, s)
	}
	want(t, "zips left", zips.left(), "held", "running", "shared")
	select {
	case <-c.kick:
	default:
		t.Error("Released asked for no pass (the directories, the zips in use)")
	}
	release()
	c.Released(ctx, "held")
	want(t, "zips left after the write ended", zips.left(), "running", "shared")
}

// With a shared store a zip goes only after the passes have seen it
// unreferenced for the grace period, and only when it was stored longer
// ago than that: another node may be using it, or writing the function
// that references a fresh upload. Released does not shortcut that.
func TestSharedGracePeriod(t *testing.T) {
	clk := &clock{t: t0}
	zips := newZips(t0.Add(-time.Hour), "old")
	zips.zips["fresh"] = t0
	zips.zips["back"] = t0.Add(-time.Hour)
	zips.zips["restored"] = t0.Add(-time.Hour)
	ref := []string{"back"}
	referrer := func(context.Context) ([]string, error) { return ref, nil }
	c := New(Options{Zips: zips, Referrers: []Referrer{referrer}, Shared: true, Grace: 10 * time.Minute, Now: clk.Now})
	c.Released(context.Background(), "old")
	collect(t, c)
	want(t, "zips left at first sight", zips.left(), "back", "fresh", "old", "restored")

	clk.add(5 * time.Minute)
	ref = nil // "back" is unreferenced from now on
	zips.mu.Lock()
	zips.zips["restored"] = clk.Now() // deleted and stored again by another node
	zips.mu.Unlock()
	collect(t, c)
	want(t, "zips left within the grace period", zips.left(), "back", "fresh", "old", "restored")

	clk.add(5 * time.Minute)
	collect(t, c)
	want(t, "zips left after the grace period", zips.left(), "back", "restored")

	ref = []string{"back"} // referenced again: its clock starts over
	clk.add(5 * time.Minute)
	collect(t, c)
	want(t, "zips left once the one stored again is old enough", zips.left(), "back")
	ref = nil
	clk.add(time.Minute)
	collect(t, c)
	clk.add(9 * time.Minute)
	collect(t, c)
	want(t, "zips left 9 minutes after the last reference", zips.left(), "back")
	clk.add(2 * time.Minute)
	collect(t, c)
	want(t, "zips left 11 minutes after the last reference", zips.left())
}

// Run passes at once (what a crash left), on Kick and every Interval, and
// returns when ctx ends.
func TestRun(t *testing.T) {
	zips := newZips(t0, "crash")
	dirs := &fakeDirs{dirs: map[string]bool{}}
	c := New(Options{Zips: zips, Dirs: dirs, Referrers: []Referrer{refs()}, Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	waitFor(t, "the first pass", func() bool { return len(zips.left()) == 0 })
	zips.mu.Lock()
	zips.zips["later"] = t0
	zips.mu.Unlock()
	c.Kick()
	waitFor(t, "the kicked pass", func() bool { return len(zips.left()) == 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	c2 := New(Options{Zips: newZips(t0), Dirs: dirs, Referrers: []Referrer{refs()}, Interval: 20 * time.Millisecond})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go c2.Run(ctx2)
	before := func() int { dirs.mu.Lock(); defer dirs.mu.Unlock(); return dirs.swept }()
	waitFor(t, "passes on the interval", func() bool {
		dirs.mu.Lock()
		defer dirs.mu.Unlock()
		return dirs.swept >= before+3
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
