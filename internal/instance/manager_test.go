package instance

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// fakeSandbox starts fakeInstances; a test can make starts fail or slow.
type fakeSandbox struct {
	mu        sync.Mutex
	started   []*fakeInstance
	failStart error
	delay     time.Duration
	// addr is the Address of the instances it starts ("": host network).
	addr string
}

func (f *fakeSandbox) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failStart != nil {
		return nil, f.failStart
	}
	in := &fakeInstance{id: spec.ID, done: make(chan struct{}), readyAt: time.Now().Add(f.delay), spec: spec, addr: f.addr}
	f.started = append(f.started, in)
	return in, nil
}

func (f *fakeSandbox) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started)
}

type fakeInstance struct {
	id      string
	spec    sandbox.Spec
	addr    string
	readyAt time.Time
	done    chan struct{}
	once    sync.Once
	stopped atomic.Bool
	syncs   atomic.Int32 // SyncOutput calls
	// exitErr is ExitErr (nil: "exit status 3"); set it before exit.
	exitErr error
}

func (i *fakeInstance) ID() string      { return i.id }
func (i *fakeInstance) Address() string { return i.addr }
func (i *fakeInstance) DialContext(ctx context.Context) (net.Conn, error) {
	if time.Now().Before(i.readyAt) {
		return nil, errors.New("connection refused")
	}
	a, b := net.Pipe()
	b.Close()
	return a, nil
}
func (i *fakeInstance) Ready(ctx context.Context) error {
	c, err := i.DialContext(ctx)
	if err != nil {
		return err
	}
	return c.Close()
}
func (i *fakeInstance) Done() <-chan struct{} { return i.done }
func (i *fakeInstance) ExitErr() error {
	if i.exitErr != nil {
		return i.exitErr
	}
	return errors.New("exit status 3")
}
func (i *fakeInstance) SyncOutput(time.Duration) bool { i.syncs.Add(1); return true }
func (i *fakeInstance) exit()                         { i.once.Do(func() { close(i.done) }) }
func (i *fakeInstance) Stop(ctx context.Context) error {
	i.stopped.Store(true)
	i.exit()
	return nil
}

type fakeCode struct{}

func (fakeCode) CodeDir(ctx context.Context, checksum string) (string, func(), error) {
	return "/tmp", func() {}, nil
}

func newTestManager(t *testing.T, sb *fakeSandbox, max int) *Manager {
	t.Helper()
	m := New(Options{Sandbox: sb, Code: fakeCode{}, MaxPerFunction: max, StartTimeout: 2 * time.Second})
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func testFn(conc int) *fc.Function {
	return &fc.Function{ServiceName: "s", FunctionName: "f", Runtime: "custom", InstanceConcurrency: conc, Timeout: 3, MemorySize: 128,
		CustomRuntimeConfig: &fc.CustomRuntimeConfig{Command: []string{"x"}}}
}

func TestSlotsAndScaleOut(t *testing.T) {
	sb := &fakeSandbox{}
	m := newTestManager(t, sb, 2)
	fn := testFn(1)
	ctx := context.Background()
	l1, err := m.Acquire(ctx, fn, "req")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := m.Acquire(ctx, fn, "req")
	if err != nil {
		t.Fatal(err)
	}
	if l1.InstanceID() == l2.InstanceID() || sb.count() != 2 {
		t.Fatalf("two busy slots with concurrency 1 must be two instances; got %s %s (%d started)", l1.InstanceID(), l2.InstanceID(), sb.count())
	}
	// At the cap: the third waits until a slot frees.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := m.Acquire(short, fn, "req"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third acquire at the cap: %v; want deadline exceeded", err)
	}
	got := make(chan *Lease)
	go func() {
		l, err := m.Acquire(ctx, fn, "req")
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	time.Sleep(50 * time.Millisecond)
	l1.Release()
	l3 := <-got
	if l3.InstanceID() != l1.InstanceID() || sb.count() != 2 {
		t.Fatalf("the freed slot must be reused: got %s, %d started", l3.InstanceID(), sb.count())
	}
	l2.Release()
	l3.Release()
	l3.Release() // idempotent
}

func TestConcurrencyShare(t *testing.T) {
	sb := &fakeSandbox{}
	m := newTestManager(t, sb, 5)
	fn := testFn(3)
	var leases []*Lease
	for i := 0; i < 3; i++ {
		l, err := m.Acquire(context.Background(), fn, "req")
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, l)
	}
	if sb.count() != 1 {
		t.Fatalf("3 requests with concurrency 3 started %d instances; want 1", sb.count())
	}
	if _, err := m.Acquire(context.Background(), fn, "req"); err != nil || sb.count() != 2 {
		t.Fatalf("4th request: err %v, %d instances; want a second instance", err, sb.count())
	}
}

func TestColdStartBuffersWaiters(t *testing.T) {
	sb := &fakeSandbox{delay: 150 * time.Millisecond}
	m := newTestManager(t, sb, 1)
	fn := testFn(1)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := m.Acquire(context.Background(), fn, "req")
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Millisecond)
			ok.Add(1)
			l.Release()
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || sb.count() != 1 {
		t.Fatalf("%d of 5 served by %d instances; want 5 by 1", ok.Load(), sb.count())
	}
}

func TestStartFailure(t *testing.T) {
	sb := &fakeSandbox{failStart: errors.New("no such file")}
	m := newTestManager(t, sb, 2)
	_, err := m.Acquire(context.Background(), testFn(1), "req")
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeFunctionNotStarted {
		t.Fatalf("got %v; want FunctionNotStarted", err)
	}
}

func TestCrashedInstanceIsReplaced(t *testing.T) {
	sb := &fakeSandbox{}
	m := newTestManager(t, sb, 2)
	fn := testFn(1)
	l, err := m.Acquire(context.Background(), fn, "req")
	if err != nil {
		t.Fatal(err)
	}
	sb.started[0].exit()
	if exited, _ := l.Exited(time.Second); !exited {
		t.Fatal("Exited did not see the exit")
	}
	l.Release()
	deadline := time.Now().Add(2 * time.Second)
	for len(m.ListInstances("", "")) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	l2, err := m.Acquire(context.Background(), fn, "req")
	if err != nil {
		t.Fatal(err)
	}
	if l2.InstanceID() == l.InstanceID() || sb.count() != 2 {
		t.Fatalf("after a crash got instance %s (%d started); want a new one", l2.InstanceID(), sb.count())
	}
}

func TestConfigChangeRetiresInstances(t *testing.T) {
	sb := &fakeSandbox{}
	m := newTestManager(t, sb, 2)
	fn := testFn(1)
	l, err := m.Acquire(context.Background(), fn, "req")
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	same := *fn // same configuration, new pointer: keeps the pool
	l, err = m.Acquire(context.Background(), &same, "req")
	if err != nil || sb.count() != 1 {
		t.Fatalf("same config: err %v, %d started; want reuse", err, sb.count())
	}
	l.Release()
	changed := *fn
	changed.Timeout = 9
	if _, err := m.Acquire(context.Background(), &changed, "req"); err != nil || sb.count() != 2 {
		t.Fatalf("changed config: err %v, %d started; want a new instance", err, sb.count())
	}
	deadline := time.Now().Add(2 * time.Second)
	for !sb.started[0].stopped.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !sb.started[0].stopped.Load() {
		t.Fatal("the old configuration's idle instance was not stopped")
	}
}

func TestShutdownStopsEverything(t *testing.T) {
	sb := &fakeSandbox{}
	m := New(Options{Sandbox: sb, Code: fakeCode{}, MaxPerFunction: 3})
	for i := 0; i < 3; i++ {
		if _, err := m.Acquire(context.Background(), testFn(1), "req"); err != nil {
			t.Fatal(err)
		}
	}
	m.Shutdown(context.Background())
	for _, in := range sb.started {
		if !in.stopped.Load() {
			t.Fatalf("instance %s still running after Shutdown", in.id)
		}
	}
	if _, err := m.Acquire(context.Background(), testFn(1), "req"); err == nil {
		t.Fatal("Acquire after Shutdown succeeded")
	}
}

// TestTryAcquire: the no-wait fast path takes a free slot of a ready
// instance and nothing else: not before the pool exists, not when every
// slot is busy, not ahead of queued requests, not on a changed
// configuration; its leases are ordinary (markers, release).
func TestTryAcquire(t *testing.T) {
	sink := &fakeSink{}
	m, _ := newMgr(t, Options{MaxPerFunction: 1, Logs: sink})
	fn := testFn(1)
	if _, ok := m.TryAcquire(fn, "r0"); ok {
		t.Fatal("TryAcquire started or found an instance before any Acquire")
	}
	l1 := mustAcquire(t, m, fn, "r1") // starts the instance
	if _, ok := m.TryAcquire(fn, "r2"); ok {
		t.Fatal("TryAcquire took a busy slot (concurrency 1)")
	}
	l1.Release()
	l2, ok := m.TryAcquire(fn, "r2")
	if !ok {
		t.Fatal("TryAcquire missed the free slot")
	}
	if len(sink.find("FC Invoke Start RequestId: r2")) != 1 {
		t.Error("no FC Invoke Start marker for the fast-path lease")
	}
	// A request queues behind l2; a free slot then belongs to it, not to
	// a newcomer on the fast path.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := acquireAsync(m, ctx, fn, "r3")
	waitFor(t, "r3 queued", func() bool { return queued(m, fn) == 1 })
	if _, ok := m.TryAcquire(fn, "r4"); ok {
		t.Fatal("TryAcquire overtook a queued request")
	}
	l2.Release()
	got := recv(t, waiting, "r3 after the release")
	if got.err != nil {
		t.Fatal(got.err)
	}
	got.l.Release()
	// A changed configuration is a new pool: the fast path declines it.
	changed := testFn(1)
	changed.MemorySize = 256
	if _, ok := m.TryAcquire(changed, "r5"); ok {
		t.Fatal("TryAcquire served a changed configuration from the old pool")
	}
	if l, ok := m.TryAcquire(fn, "r6"); !ok {
		t.Fatal("TryAcquire declined the warm, free instance")
	} else {
		l.Release()
	}
}

// TestColdStartOutlastsQueueTimeout: a request waiting for a cold start
// is bounded by the start timeout, not the (shorter) queue timeout; one
// waiting for a busy instance still gets the queue timeout.
func TestColdStartOutlastsQueueTimeout(t *testing.T) {
	sb := &fakeSandbox{delay: 600 * time.Millisecond}
	m := New(Options{Sandbox: sb, Code: fakeCode{}, MaxPerFunction: 1, StartTimeout: 5 * time.Second, QueueTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	fn := testFn(1)
	start := time.Now()
	l, err := m.Acquire(context.Background(), fn, "cold")
	if err != nil {
		t.Fatalf("after %v: %v; want the instance that took 600 ms to start", time.Since(start), err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("got an instance after %v; the fake takes 600 ms", d)
	}
	// At the cap of 1 with the one instance busy and nothing starting:
	// the queue timeout applies.
	start = time.Now()
	_, err = m.Acquire(context.Background(), fn, "queued")
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeResourceThrottled || time.Since(start) > 2*time.Second {
		t.Fatalf("busy instance, no start: %v after %v; want ResourceThrottled at the 200 ms queue timeout", err, time.Since(start))
	}
	l.Release()
}
