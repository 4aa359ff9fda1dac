package instance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// With the function's only slot busy, QueueDepth requests wait (FIFO) and
// the next one is throttled at once with 429.
func TestQueueDepthThrottles(t *testing.T) {
	t.Parallel()
	m, sb := newMgr(t, Options{MaxPerFunction: 1, QueueDepth: 2, QueueTimeout: 10 * time.Second})
	fn := fnNamed("queue", 1)
	busy := mustAcquire(t, m, fn, "busy")

	w1 := acquireAsync(m, context.Background(), fn, "w1")
	waitFor(t, "w1 queued", func() bool { return queued(m, fn) == 1 })
	w2 := acquireAsync(m, context.Background(), fn, "w2")
	waitFor(t, "w2 queued", func() bool { return queued(m, fn) == 2 })

	began := time.Now()
	_, err := m.Acquire(context.Background(), fn, "w3")
	fe := fcErr(t, err, fc.CodeResourceThrottled)
	if fe.Status() != http.StatusTooManyRequests {
		t.Errorf("throttle status %d; want 429", fe.Status())
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("the request beyond the queue depth waited %v; want an immediate refusal", d)
	}
	if n := queued(m, fn); n != 2 {
		t.Errorf("%d waiting after the refusal; want 2", n)
	}
	if sb.count() != 1 {
		t.Errorf("%d instances started; MaxPerFunction is 1", sb.count())
	}
	notYet(t, w1, "w1")
	notYet(t, w2, "w2")

	// Each release serves the next waiter, in arrival order, on the one
	// instance.
	busy.Release()
	r1 := recv(t, w1, "w1 after the busy slot was released")
	if r1.err != nil {
		t.Fatalf("w1: %v", r1.err)
	}
	notYet(t, w2, "w2 (the slot went to w1)")
	r1.l.Release()
	r2 := recv(t, w2, "w2 after w1 released")
	if r2.err != nil {
		t.Fatalf("w2: %v", r2.err)
	}
	if r1.l.InstanceID() != busy.InstanceID() || r2.l.InstanceID() != busy.InstanceID() {
		t.Errorf("waiters served by %s and %s; want the one instance %s", r1.l.InstanceID(), r2.l.InstanceID(), busy.InstanceID())
	}
	r2.l.Release()
	if n := queued(m, fn); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// A waiter that gets no slot within QueueTimeout is throttled and leaves
// the queue.
func TestQueueTimeoutThrottles(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	m, sb := newMgr(t, Options{MaxPerFunction: 1, QueueDepth: 2, QueueTimeout: timeout})
	fn := fnNamed("qtimeout", 1)
	busy := mustAcquire(t, m, fn, "busy")

	began := time.Now()
	_, err := m.Acquire(context.Background(), fn, "late")
	waited := time.Since(began)
	fe := fcErr(t, err, fc.CodeResourceThrottled)
	if fe.Status() != http.StatusTooManyRequests {
		t.Errorf("status %d; want 429", fe.Status())
	}
	if waited < timeout || waited > timeout+150*time.Millisecond {
		t.Errorf("throttled after %v; want about %v", waited, timeout)
	}
	if n := queued(m, fn); n != 0 {
		t.Errorf("the timed-out waiter is still queued (%d waiting)", n)
	}
	busy.Release()
	// The abandoned waiter holds nothing: the slot is free at once.
	l := mustAcquire(t, m, fn, "next")
	if l.InstanceID() != busy.InstanceID() || sb.count() != 1 {
		t.Errorf("after the timeout got instance %s (%d started); want the free %s", l.InstanceID(), sb.count(), busy.InstanceID())
	}
	l.Release()
}

// A waiter whose context ends returns ctx.Err and leaves the queue; the
// next release still wakes the waiter behind it.
func TestQueueCancelledWaiterPassesWakeUp(t *testing.T) {
	t.Parallel()
	m, _ := newMgr(t, Options{MaxPerFunction: 1, QueueDepth: 2, QueueTimeout: 20 * time.Second})
	fn := fnNamed("qcancel", 1)
	busy := mustAcquire(t, m, fn, "busy")

	ctx, cancel := context.WithCancel(context.Background())
	a := acquireAsync(m, ctx, fn, "a")
	waitFor(t, "a queued", func() bool { return queued(m, fn) == 1 })
	b := acquireAsync(m, context.Background(), fn, "b")
	waitFor(t, "b queued", func() bool { return queued(m, fn) == 2 })

	cancel()
	ra := recv(t, a, "the cancelled waiter")
	if !errors.Is(ra.err, context.Canceled) || ra.l != nil {
		t.Fatalf("cancelled waiter: lease %v, err %v; want context.Canceled", ra.l != nil, ra.err)
	}
	waitFor(t, "the cancelled waiter to leave the queue", func() bool { return queued(m, fn) == 1 })
	notYet(t, b, "b")

	busy.Release()
	rb := recv(t, b, "b after the release (a lost wake-up leaves it waiting)")
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	rb.l.Release()
}

// The wake-up a waiter received just before it gave up is passed on to the
// next waiter (abandon), deterministically: a ghost waiter at the head of
// the queue takes the release's wake-up and then abandons.
func TestAbandonPassesReceivedWakeUp(t *testing.T) {
	t.Parallel()
	m, _ := newMgr(t, Options{MaxPerFunction: 1, QueueDepth: 5, QueueTimeout: 20 * time.Second})
	fn := fnNamed("qghost", 1)
	busy := mustAcquire(t, m, fn, "busy")
	b := acquireAsync(m, context.Background(), fn, "b")
	waitFor(t, "b queued", func() bool { return queued(m, fn) == 1 })

	p := poolOf(m, fn)
	ghost := make(chan error, 1)
	p.mu.Lock()
	p.waiters = append([]chan error{ghost}, p.waiters...)
	p.mu.Unlock()

	busy.Release() // wakes the ghost, first in line
	if len(ghost) != 1 {
		t.Fatal("the release did not wake the head of the queue")
	}
	notYet(t, b, "b (the wake-up went to the ghost)")
	p.abandon(ghost)
	rb := recv(t, b, "b after the ghost abandoned its wake-up")
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	rb.l.Release()
}

// Cancellation racing with a release: whichever wins, nobody is left
// waiting for a free slot.
func TestQueueCancelRacingRelease(t *testing.T) {
	t.Parallel()
	m, _ := newMgr(t, Options{MaxPerFunction: 1, QueueDepth: 2, QueueTimeout: 20 * time.Second})
	fn := fnNamed("qrace", 1)
	for i := 0; i < 30; i++ {
		busy := mustAcquire(t, m, fn, "busy")
		ctx, cancel := context.WithCancel(context.Background())
		a := acquireAsync(m, ctx, fn, "a")
		waitFor(t, "a queued", func() bool { return queued(m, fn) == 1 })
		b := acquireAsync(m, context.Background(), fn, "b")
		waitFor(t, "b queued", func() bool { return queued(m, fn) == 2 })
		go cancel()
		busy.Release()
		ra := recv(t, a, "a")
		if ra.err == nil {
			ra.l.Release() // a won the slot before it saw the cancellation
		} else if !errors.Is(ra.err, context.Canceled) {
			t.Fatalf("round %d: a: %v", i, ra.err)
		}
		rb := recv(t, b, fmt.Sprintf("b in round %d", i))
		if rb.err != nil {
			t.Fatalf("round %d: b: %v", i, rb.err)
		}
		rb.l.Release()
	}
}

// MaxInstances caps the node across functions: a third function waits
// (and is throttled after QueueTimeout) while two others hold the two
// instances.
func TestNodeCapThrottlesOtherFunctions(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	m, sb := newMgr(t, Options{MaxInstances: 2, QueueTimeout: timeout})
	la := mustAcquire(t, m, fnNamed("a", 1), "a")
	lb := mustAcquire(t, m, fnNamed("b", 1), "b")
	began := time.Now()
	_, err := m.Acquire(context.Background(), fnNamed("c", 1), "c")
	fcErr(t, err, fc.CodeResourceThrottled)
	if d := time.Since(began); d < timeout || d > timeout+150*time.Millisecond {
		t.Errorf("throttled after %v; want a wait of QueueTimeout %v", d, timeout)
	}
	if sb.count() != 2 || m.total.Load() != 2 {
		t.Errorf("%d started, node total %d; want 2 and 2", sb.count(), m.total.Load())
	}
	la.Release()
	lb.Release()
}

// When a function's instance goes away (Forget), the node slot it frees
// serves the request of another function that was waiting for one.
func TestNodeCapSlotFreedByForgetServesWaiter(t *testing.T) {
	t.Parallel()
	m, sb := newMgr(t, Options{MaxInstances: 2, QueueTimeout: 20 * time.Second})
	fa, fb, fc3 := fnNamed("a", 1), fnNamed("b", 1), fnNamed("c", 1)
	la := mustAcquire(t, m, fa, "a")
	lb := mustAcquire(t, m, fb, "b")
	c := acquireAsync(m, context.Background(), fc3, "c")
	waitFor(t, "c queued", func() bool { return queued(m, fc3) == 1 })
	if sb.count() != 2 {
		t.Fatalf("%d started at the node cap of 2", sb.count())
	}

	// Forgetting a with its request still in flight keeps the instance
	// until the request ends.
	m.Forget(fa.ServiceName, fa.FunctionName)
	ia := sb.byID(la.InstanceID())
	time.Sleep(20 * time.Millisecond)
	if ia.stopped.Load() {
		t.Fatal("Forget stopped an instance with a request in flight")
	}
	notYet(t, c, "c while a's instance is still busy")

	la.Release()
	waitFor(t, "a's instance stopped after its last request", ia.stopped.Load)
	rc := recv(t, c, "c after a's instance freed a node slot")
	if rc.err != nil {
		t.Fatalf("c: %v", rc.err)
	}
	if sb.count() != 3 {
		t.Errorf("%d started; want a third for c", sb.count())
	}
	if got := len(m.ListInstances("", "")); got != 2 || m.total.Load() != 2 {
		t.Errorf("%d listed, node total %d; want 2 and 2", got, m.total.Load())
	}
	rc.l.Release()
	lb.Release()
}

// The on-demand maximumInstanceCount replaces MaxPerFunction as the cap.
func TestOnDemandLimitCapsInstances(t *testing.T) {
	t.Parallel()
	sc := &fakeScaling{}
	sc.put("od", scalingCfg{limit: 3, set: true})
	m, sb := newMgr(t, Options{Scaling: sc, MaxPerFunction: 1, QueueTimeout: 20 * time.Second})
	fn := fnNamed("od", 1)
	ids := map[string]bool{}
	var leases []*Lease
	for i := 0; i < 3; i++ {
		l := mustAcquire(t, m, fn, fmt.Sprint("r", i))
		ids[l.InstanceID()] = true
		leases = append(leases, l)
	}
	if len(ids) != 3 || sb.count() != 3 {
		t.Fatalf("3 busy requests with limit 3 (MaxPerFunction 1) got %d instances (%d started); want 3", len(ids), sb.count())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := m.Acquire(ctx, fn, "r3"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("4th request at the limit: %v; want it to wait (deadline exceeded)", err)
	}
	if sb.count() != 3 {
		t.Errorf("%d started; the limit is 3", sb.count())
	}
	if !sc.wasAsked(fn.ServiceName, fc.LATEST, fn.FunctionName) {
		t.Error("the scaling config was not asked for (service, LATEST, function)")
	}
	for _, l := range leases {
		l.Release()
	}
}

// maximumInstanceCount 0 without provisioned instances refuses at once.
func TestOnDemandZeroThrottles(t *testing.T) {
	t.Parallel()
	sc := &fakeScaling{}
	sc.put("zero", scalingCfg{limit: 0, set: true})
	cs := &countingSandbox{}
	m, _ := newMgr(t, Options{Sandbox: cs, Scaling: sc, QueueTimeout: 20 * time.Second})
	began := time.Now()
	_, err := m.Acquire(context.Background(), fnNamed("zero", 1), "r")
	fe := fcErr(t, err, fc.CodeResourceThrottled)
	if fe.Status() != http.StatusTooManyRequests {
		t.Errorf("status %d; want 429", fe.Status())
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("refused after %v; want at once", d)
	}
	if cs.calls.Load() != 0 {
		t.Errorf("%d starts; want none", cs.calls.Load())
	}
	// Unset (no on-demand config): the default cap applies again.
	sc.put("zero", scalingCfg{})
	mustAcquire(t, m, fnNamed("zero", 1), "r2").Release()
}

// A provisioned target raises the cap above the on-demand maximum.
func TestProvisionTargetRaisesCap(t *testing.T) {
	t.Parallel()
	sc := &fakeScaling{}
	sc.put("raised", scalingCfg{limit: 0, set: true, target: 2})
	sc.put("above", scalingCfg{limit: 1, set: true, target: 3})
	m, sb := newMgr(t, Options{Scaling: sc, QueueTimeout: 20 * time.Second})
	for _, tc := range []struct {
		name string
		cap  int
	}{{"raised", 2}, {"above", 3}} {
		fn := fnNamed(tc.name, 1)
		before := sb.count()
		var leases []*Lease
		for i := 0; i < tc.cap; i++ {
			leases = append(leases, mustAcquire(t, m, fn, fmt.Sprint("r", i)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		_, err := m.Acquire(ctx, fn, "extra")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: request beyond the cap %d: %v; want it to wait", tc.name, tc.cap, err)
		}
		if got := sb.count() - before; got != tc.cap {
			t.Errorf("%s: %d instances started; want the cap %d", tc.name, got, tc.cap)
		}
		for _, l := range leases {
			l.Release()
		}
	}
}

// 200 concurrent requests (plus some that give up early) on concurrency 3
// and 4 instances: no instance ever has more than 3 in flight, at most 4
// instances exist, everyone is served, and the node total matches the
// live instances afterwards.
func TestSlotAccountingUnderConcurrency(t *testing.T) {
	t.Parallel()
	const (
		conc     = 3
		maxInst  = 4
		requests = 200
		quitters = 40
	)
	m, sb := newMgr(t, Options{MaxPerFunction: maxInst, QueueDepth: 1000, QueueTimeout: 20 * time.Second})
	fn := fnNamed("busy", conc)

	var (
		mu         sync.Mutex
		inflight   = map[string]int{}
		violations []string
	)
	violate := func(format string, args ...any) {
		mu.Lock()
		violations = append(violations, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() { // snapshots of the manager's own accounting
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			list := m.ListInstances(fn.ServiceName, fn.FunctionName)
			if len(list) > maxInst {
				violate("%d instances listed", len(list))
			}
			for _, in := range list {
				if in.InFlight > conc || in.InFlight < 0 {
					violate("instance %s has %d in flight", in.InstanceID, in.InFlight)
				}
			}
			if n := sb.count(); n > maxInst {
				violate("%d instances started", n)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()

	var wg sync.WaitGroup
	var served, gaveUp atomic.Int32
	for i := 0; i < requests+quitters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i >= requests { // gives up while queued, or not
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(3000))*time.Microsecond)
				defer cancel()
			}
			l, err := m.Acquire(ctx, fn, fmt.Sprint("req-", i))
			if err != nil {
				if i >= requests && errors.Is(err, context.DeadlineExceeded) {
					gaveUp.Add(1)
					return
				}
				violate("request %d: %v", i, err)
				return
			}
			id := l.InstanceID()
			mu.Lock()
			inflight[id]++
			if inflight[id] > conc {
				violations = append(violations, fmt.Sprintf("instance %s serves %d at once", id, inflight[id]))
			}
			mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
			mu.Lock()
			inflight[id]--
			mu.Unlock()
			served.Add(1)
			l.Release()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(8 * time.Second):
		t.Fatalf("requests still pending after 8 s: %d served, %d gave up, %d queued", served.Load(), gaveUp.Load(), queued(m, fn))
	}
	close(stopWatch)
	<-watched

	mu.Lock()
	if len(violations) > 0 {
		t.Errorf("%d violations, first ones: %s", len(violations), strings.Join(violations[:min(5, len(violations))], "; "))
	}
	mu.Unlock()
	if served.Load()+gaveUp.Load() != requests+quitters || served.Load() < requests {
		t.Errorf("%d served, %d gave up; want all %d patient requests served", served.Load(), gaveUp.Load(), requests)
	}
	list := m.ListInstances("", "")
	var total int64
	for _, in := range list {
		if in.State != fc.InstanceReady || in.InFlight != 0 {
			t.Errorf("instance %s: state %s, %d in flight; want Ready and idle", in.InstanceID, in.State, in.InFlight)
		}
		total += in.RequestsServed
	}
	if total != int64(served.Load()) {
		t.Errorf("instances served %d requests; %d were served", total, served.Load())
	}
	if got := m.total.Load(); got != int64(len(list)) || got != int64(sb.running()) {
		t.Errorf("node total %d, %d listed, %d running; want all equal", got, len(list), sb.running())
	}
	if n := queued(m, fn); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// Requests may carry different *fc.Function values of one configuration
// (the catalog re-reads a function): they share the pool and its
// instances, and, under -race, touch no pool field unsafely.
func TestSameConfigDifferentPointersConcurrently(t *testing.T) {
	t.Parallel()
	m, sb := newMgr(t, Options{MaxPerFunction: 2, QueueDepth: 100, QueueTimeout: 20 * time.Second})
	base := fnNamed("copies", 1)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn := *base // a new pointer, the same configuration
			l, err := m.Acquire(context.Background(), &fn, fmt.Sprint("r", i))
			if err != nil {
				t.Error(err)
				return
			}
			l.Release()
		}()
	}
	wg.Wait()
	if sb.count() > 2 {
		t.Errorf("%d instances started for one configuration; MaxPerFunction is 2", sb.count())
	}
}
