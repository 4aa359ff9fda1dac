package instance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// acquireAsyncClass runs AcquireAsync in a goroutine.
func acquireAsyncClass(m *Manager, ctx context.Context, fn *fc.Function, requestID string) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		l, err := m.AcquireAsync(ctx, fn, requestID)
		ch <- acquired{l, err}
	}()
	return ch
}

func asyncWaiting(m *Manager, fn *fc.Function) int {
	p := poolOf(m, fn)
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.asyncWaiters)
}

func TestAsyncClassIsCappedAtHalf(t *testing.T) {
	m, sb := newMgr(t, Options{MaxPerFunction: 4})
	fn := testFn(1) // 4 slots: async may hold 2
	ctx := context.Background()
	a1, err := m.AcquireAsync(ctx, fn, "a1")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := m.AcquireAsync(ctx, fn, "a2")
	if err != nil {
		t.Fatal(err)
	}
	third := acquireAsyncClass(m, ctx, fn, "a3")
	waitFor(t, "the third async request to wait", func() bool { return asyncWaiting(m, fn) == 1 })
	// Sync traffic still finds the other half.
	s1, s2 := mustAcquire(t, m, fn, "s1"), mustAcquire(t, m, fn, "s2")
	if sb.count() != 4 {
		t.Fatalf("%d instances started; want 4 (2 async, 2 sync)", sb.count())
	}
	notYet(t, third, "async acquire beyond the share")
	s1.Release() // a free slot, but the async class is at its share
	time.Sleep(30 * time.Millisecond)
	notYet(t, third, "async acquire beyond the share with a free slot")
	a1.Release()
	r := recv(t, third, "the third async acquire")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, l := range []*Lease{a2, s2, r.l} {
		l.Release()
	}
}

func TestSyncWaitersGoBeforeAsyncWaiters(t *testing.T) {
	m, _ := newMgr(t, Options{MaxPerFunction: 4})
	fn := testFn(1)
	ctx := context.Background()
	a1, err := m.AcquireAsync(ctx, fn, "a1")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2, s3 := mustAcquire(t, m, fn, "s1"), mustAcquire(t, m, fn, "s2"), mustAcquire(t, m, fn, "s3")
	asyncW := acquireAsyncClass(m, ctx, fn, "a2") // room in its class, no slot
	waitFor(t, "the async waiter", func() bool { return asyncWaiting(m, fn) == 1 })
	syncW := acquireAsync(m, ctx, fn, "s4") // (the sync class, in a goroutine)
	waitFor(t, "the sync waiter", func() bool { return queued(m, fn) == 1 })

	s1.Release()
	if r := recv(t, syncW, "the sync waiter"); r.err != nil {
		t.Fatal(r.err)
	} else {
		defer r.l.Release()
	}
	time.Sleep(20 * time.Millisecond)
	notYet(t, asyncW, "the async waiter, queued before the sync one")
	s2.Release()
	if r := recv(t, asyncW, "the async waiter"); r.err != nil {
		t.Fatal(r.err)
	} else {
		r.l.Release()
	}
	a1.Release()
	s3.Release()
}

func TestAsyncWaitIsBoundedByContextOnly(t *testing.T) {
	m, _ := newMgr(t, Options{MaxPerFunction: 2, QueueTimeout: 30 * time.Millisecond, QueueDepth: 1})
	fn := testFn(1) // 2 slots: async may hold 1
	a1, err := m.AcquireAsync(context.Background(), fn, "a1")
	if err != nil {
		t.Fatal(err)
	}
	// Several async requests wait well past the sync queue's timeout and
	// beyond its depth: none is throttled.
	var waiting []<-chan acquired
	for i, id := range []string{"a2", "a3", "a4"} {
		waiting = append(waiting, acquireAsyncClass(m, context.Background(), fn, id))
		waitFor(t, "async waiter "+id, func() bool { return asyncWaiting(m, fn) == i+1 })
	}
	time.Sleep(100 * time.Millisecond)
	for _, ch := range waiting {
		notYet(t, ch, "an async waiter")
	}
	// A cancelled wait ends with its context's error and leaves the line.
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := acquireAsyncClass(m, ctx, fn, "a5")
	waitFor(t, "the fourth async waiter", func() bool { return asyncWaiting(m, fn) == 4 })
	cancel()
	if r := recv(t, cancelled, "the cancelled waiter"); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled async acquire: %v; want context.Canceled", r.err)
	}
	if n := asyncWaiting(m, fn); n != 3 {
		t.Fatalf("%d async waiters after a cancel; want 3", n)
	}
	// Each release hands the class's one slot to the next, in order.
	prev := a1
	for i, ch := range waiting {
		prev.Release()
		r := recv(t, ch, "async waiter")
		if r.err != nil {
			t.Fatalf("waiter %d: %v", i, r.err)
		}
		prev = r.l
	}
	prev.Release()
}

func TestAsyncWaitersFailWithTheStart(t *testing.T) {
	m, sb := newMgr(t, Options{MaxPerFunction: 2})
	sb.setFail(errors.New("no such image"))
	_, err := m.AcquireAsync(context.Background(), testFn(1), "a1")
	if err == nil {
		t.Fatal("async acquire succeeded with a failing start")
	}
}
