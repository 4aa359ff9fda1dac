package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/natsx"
)

func openSlots(t *testing.T, c *natsx.Conn, node string, ttl time.Duration) *Slots {
	t.Helper()
	s, err := OpenSlots(testCtx(t), c.JS, 1, node, ttl, nil)
	if err != nil {
		t.Fatalf("OpenSlots: %v", err)
	}
	return s
}

func reserve(t *testing.T, s *Slots, pool string, limit int) string {
	t.Helper()
	key, err := s.Reserve(testCtx(t), pool, limit, "c-test")
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return key
}

func TestSlotsReserveUpToLimit(t *testing.T) {
	c := startNATS(t, natsx.Options{DataDir: t.TempDir()})
	a, b := openSlots(t, c, "a", 0), openSlots(t, c, "b", 0)
	const pool = "svc/fn@LATEST"
	k1, k2 := reserve(t, a, pool, 3), reserve(t, b, pool, 3)
	k3 := reserve(t, a, pool, 3)
	if k1 == "" || k2 == "" || k3 == "" {
		t.Fatalf("the first 3 reserves of 3 got %q %q %q", k1, k2, k3)
	}
	if k := reserve(t, b, pool, 3); k != "" {
		t.Fatalf("a 4th reserve of 3 got %q", k)
	}
	// The failed reserve taught b who holds them.
	if h := b.Holders(pool); h["a"] != 2 || h["b"] != 1 {
		t.Errorf("b's view of the holders: %v, want a:2 b:1", h)
	}
	// Another pool has slots of its own; a name with dots and slashes is
	// one token.
	if k := reserve(t, b, "svc.x/fn.y@1", 1); k == "" {
		t.Error("another pool's reserve failed")
	}
	a.Release(testCtx(t), k1)
	k4 := reserve(t, b, pool, 3)
	if k4 != k1 {
		t.Fatalf("after a release the reserve got %q, want the freed %q", k4, k1)
	}
	if k := reserve(t, a, pool, 3); k != "" {
		t.Fatalf("full again, yet a reserve got %q", k)
	}
}

func TestSlotsExpireWhenNotRefreshed(t *testing.T) {
	c := startNATS(t, natsx.Options{DataDir: t.TempDir()})
	const ttl = time.Second
	dead, alive := openSlots(t, c, "dead", ttl), openSlots(t, c, "alive", ttl)
	ctx, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); alive.Run(ctx) }() // alive refreshes; dead never does
	defer func() { cancel(); wg.Wait() }()
	const pool = "svc/fn@LATEST"
	if reserve(t, dead, pool, 2) == "" || reserve(t, alive, pool, 2) == "" {
		t.Fatal("reserves failed")
	}
	if k := reserve(t, alive, pool, 2); k != "" {
		t.Fatalf("full, yet a reserve got %q", k)
	}
	deadline := time.Now().Add(5 * ttl)
	for reserve(t, alive, pool, 2) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the dead holder's slot was not freed within 5 TTLs")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// alive's own first slot outlived the TTL: it was refreshed.
	time.Sleep(2 * ttl)
	if k := reserve(t, dead, pool, 2); k != "" {
		t.Fatalf("alive's refreshed slots were taken: %q", k)
	}
	if h := alive.Holders(pool); h["alive"] != 2 || len(h) != 1 {
		t.Errorf("alive's view: %v, want alive:2", h)
	}
}

func TestSlotsConcurrentReservesNeverExceedLimit(t *testing.T) {
	c := startNATS(t, natsx.Options{DataDir: t.TempDir()})
	const limit, nodes, tries = 4, 4, 10
	var holders [nodes]*Slots
	for i := range holders {
		holders[i] = openSlots(t, c, fmt.Sprintf("n%d", i), 0)
	}
	var held atomic.Int64
	var over atomic.Bool
	var wg sync.WaitGroup
	for _, s := range holders {
		for range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key, err := s.Reserve(testCtx(t), "svc/fn@LATEST", limit, "c")
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				if key == "" {
					return
				}
				if held.Add(1) > limit {
					over.Store(true)
				}
				time.Sleep(5 * time.Millisecond)
				held.Add(-1)
				s.Release(testCtx(t), key)
			}()
		}
	}
	wg.Wait()
	if over.Load() {
		t.Fatalf("more than %d slots were held at once", limit)
	}
}

// A holder that missed its refreshes (a pause longer than the TTL) takes
// its expired slot back when nobody else did, and gives it up when
// another node took it; releasing it then leaves the other's alone.
func TestSlotsRefreshAfterExpiry(t *testing.T) {
	c := startNATS(t, natsx.Options{DataDir: t.TempDir()})
	const ttl = time.Second
	late, other := openSlots(t, c, "late", ttl), openSlots(t, c, "other", ttl)
	const free, taken = "svc/free@LATEST", "svc/taken@LATEST"
	freeKey, takenKey := reserve(t, late, free, 1), reserve(t, late, taken, 1)
	if freeKey == "" || takenKey == "" {
		t.Fatal("reserves failed")
	}
	// Both expire; other takes one of them.
	deadline := time.Now().Add(5 * ttl)
	for reserve(t, other, taken, 1) == "" {
		if time.Now().After(deadline) {
			t.Fatal("late's slot did not expire within 5 TTLs")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan struct{})
	go func() { defer close(done); late.Run(ctx) }() // refreshes every TTL/3
	time.Sleep(ttl / 2)
	if k := reserve(t, other, free, 1); k != "" {
		t.Errorf("late's refresh did not take its free slot back: other reserved %q", k)
	}
	late.Release(testCtx(t), takenKey) // no longer late's: a no-op
	cancel()                           // Run frees what late holds
	<-done
	if k := reserve(t, late, taken, 1); k != "" {
		t.Errorf("late's release freed the slot other holds: late reserved %q", k)
	}
	if k := reserve(t, other, free, 1); k == "" {
		t.Errorf("late's shutdown did not free the slot it took back")
	}
}
