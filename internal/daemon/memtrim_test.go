package daemon

import (
	"sync"
	"testing"
	"time"
)

// trimLog records when a trimmer trimmed.
type trimLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *trimLog) trim() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times = append(l.times, time.Now())
}

func (l *trimLog) get() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.times...)
}

// A burst of pokes gives one trim, a quiet period after the last one; a
// poke restarts the quiet period; a stopped trimmer does not trim.
func TestMemTrimmer(t *testing.T) {
	const quiet = 50 * time.Millisecond
	var log trimLog
	m := newMemTrimmer(quiet, log.trim)
	wait := func(n int) []time.Time {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(log.get()) < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(3 * quiet) // no further trim may follow
		return log.get()
	}

	time.Sleep(2 * quiet)
	if n := len(log.get()); n != 0 {
		t.Fatalf("%d trims before any poke; want 0", n)
	}

	var last time.Time
	for range 5 {
		last = time.Now()
		m.poke()
	}
	got := wait(1)
	if len(got) != 1 {
		t.Fatalf("%d trims after a burst of pokes; want 1", len(got))
	}
	if d := got[0].Sub(last); d < quiet {
		t.Errorf("trimmed %v after the last poke; want at least the quiet period %v", d, quiet)
	}

	m.poke()
	time.Sleep(quiet / 2)
	second := time.Now()
	m.poke()
	got = wait(2)
	switch {
	case len(got) == 3:
		t.Logf("the sleep between the pokes overran the quiet period: two trims")
	case len(got) != 2:
		t.Fatalf("%d trims in all; want 2", len(got))
	case got[1].Sub(second) < quiet:
		t.Errorf("trimmed %v after the second poke; want a restarted quiet period (%v)", got[1].Sub(second), quiet)
	}

	n := len(log.get())
	m.poke()
	m.stop()
	time.Sleep(3 * quiet)
	if got := len(log.get()); got != n {
		t.Errorf("%d trims after poke+stop; want still %d", got, n)
	}
}
