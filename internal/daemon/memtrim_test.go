package daemon

import (
	"sync/atomic"
	"testing"
	"time"
)

// A burst of pokes gives one trim, a quiet period after the last one; a
// stopped trimmer does not trim.
func TestMemTrimmer(t *testing.T) {
	const quiet = 50 * time.Millisecond
	var trims atomic.Int32
	m := newMemTrimmer(quiet, func() { trims.Add(1) })

	time.Sleep(2 * quiet)
	if n := trims.Load(); n != 0 {
		t.Fatalf("%d trims before any poke; want 0", n)
	}
	begin := time.Now()
	for range 5 {
		m.poke()
		time.Sleep(quiet / 5)
	}
	deadline := time.Now().Add(5 * time.Second)
	for trims.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(begin); d < quiet+4*quiet/5 {
		t.Errorf("trimmed %v after the first poke; want at least the quiet period after the last", d)
	}
	time.Sleep(3 * quiet)
	if n := trims.Load(); n != 1 {
		t.Errorf("%d trims after a burst of pokes; want 1", n)
	}

	m.poke()
	m.stop()
	time.Sleep(3 * quiet)
	if n := trims.Load(); n != 1 {
		t.Errorf("%d trims after poke+stop; want still 1", n)
	}
}
