package instance

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// provisioner returns ProvisionTargets/LookupFunction options for one
// function with a target that the test changes.
func provisioner(fn *fc.Function, target *atomic.Int32) Options {
	return Options{
		ProvisionTargets: func() []Target {
			return []Target{{Service: fn.ServiceName, Qualifier: fc.LATEST, Function: fn.FunctionName, Target: int(target.Load())}}
		},
		LookupFunction: func(service, function string) (*fc.Function, bool) {
			if service == fn.ServiceName && function == fn.FunctionName {
				return fn, true
			}
			return nil, false
		},
	}
}

// readyProvisioned reports whether fn has exactly n instances, all Ready
// and Provisioned, and returns their ids.
func readyProvisioned(m *Manager, fn *fc.Function, n int) (map[string]bool, bool) {
	list := m.ListInstances(fn.ServiceName, fn.FunctionName)
	ids := map[string]bool{}
	for _, in := range list {
		if in.State != fc.InstanceReady || !in.Provisioned {
			return nil, false
		}
		ids[in.InstanceID] = true
	}
	return ids, len(list) == n && len(ids) == n
}

// The reconcile loop starts the provisioned target without any request,
// replaces a provisioned instance that exits, and reclaims the instances
// once the target is 0 and they are idle.
func TestProvisioning(t *testing.T) {
	t.Parallel()
	fn := fnNamed("prov", 1)
	var target atomic.Int32
	target.Store(2)
	o := provisioner(fn, &target)
	o.IdleTimeout = 40 * time.Millisecond // the loop ticks every 10 ms
	m, sb := newMgr(t, o)

	var ids map[string]bool
	waitFor(t, "2 provisioned Ready instances", func() (ok bool) { ids, ok = readyProvisioned(m, fn, 2); return })
	for _, in := range m.ListInstances(fn.ServiceName, fn.FunctionName) {
		if in.RequestsServed != 0 || in.InFlight != 0 {
			t.Errorf("provisioned instance %s served %d requests, %d in flight; want none", in.InstanceID, in.RequestsServed, in.InFlight)
		}
	}
	if sb.count() != 2 || m.total.Load() != 2 {
		t.Fatalf("%d started, node total %d; want 2 and 2", sb.count(), m.total.Load())
	}

	// Idle for several idle timeouts: the target is kept, nothing churns.
	time.Sleep(4 * o.IdleTimeout)
	if now, ok := readyProvisioned(m, fn, 2); !ok || !sameKeys(now, ids) || sb.count() != 2 {
		t.Fatalf("after %v idle: %v (%d started); want the same 2 provisioned instances", 4*o.IdleTimeout, m.ListInstances("", ""), sb.count())
	}

	// A request uses a provisioned instance: no cold start.
	l := mustAcquire(t, m, fn, "r")
	if !ids[l.InstanceID()] || sb.count() != 2 {
		t.Errorf("request served by %s (%d started); want a provisioned instance", l.InstanceID(), sb.count())
	}
	l.Release()

	// One exits: it is replaced.
	gone := sb.all()[0]
	gone.exit()
	var after map[string]bool
	waitFor(t, "the exited provisioned instance replaced", func() (ok bool) {
		after, ok = readyProvisioned(m, fn, 2)
		return ok && !after[gone.id]
	})
	if sb.count() != 3 || !gone.stopped.Load() {
		t.Errorf("%d started, exited one stopped %v; want 3 and true", sb.count(), gone.stopped.Load())
	}
	for _, in := range m.ListInstances(fn.ServiceName, fn.FunctionName) {
		if in.Restarts != 1 {
			t.Errorf("instance %s reports %d restarts; want 1", in.InstanceID, in.Restarts)
		}
	}

	// Target 0: reclaimed once idle.
	target.Store(0)
	waitFor(t, "the instances reclaimed after the target went to 0", func() bool {
		return len(m.ListInstances("", "")) == 0 && sb.running() == 0 && m.total.Load() == 0
	})
	for _, in := range sb.all() {
		if !in.stopped.Load() {
			t.Errorf("instance %s not stopped", in.id)
		}
	}
}

func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// An instance idle for IdleTimeout is stopped and forgotten.
func TestIdleInstanceReclaimed(t *testing.T) {
	t.Parallel()
	const idle = 50 * time.Millisecond
	m, sb := newMgr(t, Options{IdleTimeout: idle})
	fn := fnNamed("idle", 1)
	l := mustAcquire(t, m, fn, "r")
	in := sb.byID(l.InstanceID())
	released := time.Now()
	l.Release()
	waitFor(t, "the idle instance stopped", in.stopped.Load)
	if d := time.Since(released); d < idle {
		t.Errorf("stopped %v after its last request; want at least the idle timeout %v", d, idle)
	}
	waitFor(t, "the idle instance unlisted", func() bool { return len(m.ListInstances("", "")) == 0 && m.total.Load() == 0 })
}

// An instance with a lease held is never reclaimed, however long the
// request runs; it is once the request ends and the idle time passes.
func TestBusyInstanceNotReclaimed(t *testing.T) {
	t.Parallel()
	const idle = 50 * time.Millisecond
	m, sb := newMgr(t, Options{IdleTimeout: idle})
	fn := fnNamed("held", 1)
	l := mustAcquire(t, m, fn, "long")
	in := sb.byID(l.InstanceID())
	time.Sleep(5 * idle)
	if in.stopped.Load() {
		t.Fatal("an instance with a request in flight was reclaimed")
	}
	if list := m.ListInstances("", ""); len(list) != 1 || list[0].InFlight != 1 {
		t.Fatalf("listed %v; want the busy instance", list)
	}
	l.Release()
	waitFor(t, "the instance reclaimed after its request ended", in.stopped.Load)
}

// Idle reclaim keeps the provisioned target: of a provisioned and an
// on-demand instance, both idle, exactly one is stopped, and the one left
// stays (provisioned) however long it idles.
func TestIdleReclaimKeepsProvisioned(t *testing.T) {
	t.Parallel()
	fn := fnNamed("keep", 1)
	var target atomic.Int32
	target.Store(1)
	o := provisioner(fn, &target)
	o.IdleTimeout = 40 * time.Millisecond
	m, sb := newMgr(t, o)
	waitFor(t, "1 provisioned instance", func() bool { _, ok := readyProvisioned(m, fn, 1); return ok })

	l1 := mustAcquire(t, m, fn, "r1")
	l2 := mustAcquire(t, m, fn, "r2") // beyond the target: on demand
	if sb.count() != 2 {
		t.Fatalf("%d started; want 2", sb.count())
	}
	l1.Release()
	l2.Release()
	waitFor(t, "the surplus idle instance reclaimed", func() bool {
		_, ok := readyProvisioned(m, fn, 1)
		return ok && sb.running() == 1 && m.total.Load() == 1
	})
	left := m.ListInstances("", "")[0].InstanceID
	time.Sleep(4 * o.IdleTimeout)
	if list := m.ListInstances("", ""); len(list) != 1 || list[0].InstanceID != left || !list[0].Provisioned || sb.count() != 2 || sb.running() != 1 {
		t.Fatalf("after idling: %+v (%d started, %d running); want %s kept, provisioned, no restart", list, sb.count(), sb.running(), left)
	}
}

// Three failed starts in a row put the function in crash-loop backoff:
// requests fail fast without a start until the backoff (1 s) ends; a
// successful start resets the count.
func TestCrashLoopBackoff(t *testing.T) {
	t.Parallel()
	cs := &countingSandbox{}
	cs.setFail(errors.New("exec: no such file"))
	m, sb := newMgr(t, Options{Sandbox: cs})
	fn := fnNamed("crashloop", 1)

	var third time.Time
	for i := 1; i <= 3; i++ {
		third = time.Now()
		_, err := m.Acquire(context.Background(), fn, "r")
		fe := fcErr(t, err, fc.CodeFunctionNotStarted)
		if strings.Contains(fe.Message, "next attempt") {
			t.Fatalf("failure %d already reports a backoff: %v", i, err)
		}
		if n := cs.calls.Load(); n != int32(i) {
			t.Fatalf("after %d failed requests %d starts; want one each", i, n)
		}
	}

	began := time.Now()
	_, err := m.Acquire(context.Background(), fn, "r")
	fe := fcErr(t, err, fc.CodeFunctionNotStarted)
	if !strings.Contains(fe.Message, "next attempt") || !strings.Contains(fe.Message, "3 times") || !strings.Contains(fe.Message, "no such file") {
		t.Errorf("backoff error %q; want the failure count, the next attempt and the last error", fe.Message)
	}
	if d := time.Since(began); d > 200*time.Millisecond {
		t.Errorf("the request in backoff took %v; want it to fail fast", d)
	}
	if n := cs.calls.Load(); n != 3 {
		t.Fatalf("%d starts; the 4th request in backoff must not start", n)
	}

	// The sandbox recovers; requests keep failing fast without starting
	// until the backoff ends, then one start succeeds.
	cs.setFail(nil)
	var l *Lease
	for l == nil {
		if time.Since(third) > 3*time.Second {
			t.Fatal("no start attempted within 3 s of a 1 s backoff")
		}
		l, err = m.Acquire(context.Background(), fn, "r")
		if err != nil {
			if fe := fcErr(t, err, fc.CodeFunctionNotStarted); !strings.Contains(fe.Message, "next attempt") {
				t.Fatalf("during the backoff: %v", err)
			}
			if n := cs.calls.Load(); n != 3 {
				t.Fatalf("%d starts during the backoff; want 3", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if d := time.Since(third); d < time.Second {
		t.Errorf("a start was attempted %v after the third failure; the backoff is 1 s", d)
	}
	if n := cs.calls.Load(); n != 4 {
		t.Errorf("%d starts; want exactly one after the backoff", n)
	}

	// The success reset the count: after a crash, two more failed starts
	// are each attempted (no backoff before the third).
	l.Release()
	cs.setFail(errors.New("exec: no such file"))
	sb.byID(l.InstanceID()).exit()
	waitFor(t, "the crashed instance gone", func() bool { return len(m.ListInstances("", "")) == 0 })
	for i := 1; i <= 2; i++ {
		_, err := m.Acquire(context.Background(), fn, "r")
		if fe := fcErr(t, err, fc.CodeFunctionNotStarted); strings.Contains(fe.Message, "next attempt") {
			t.Fatalf("failure %d after a success is in backoff (count not reset): %v", i, err)
		}
		if n := cs.calls.Load(); n != int32(4+i) {
			t.Fatalf("%d starts; want %d (a start per request)", n, 4+i)
		}
	}
}

// Shutdown stops every instance (idle, busy, still starting), fails the
// waiting requests, refuses new ones, and leaves no manager goroutine
// behind. Not parallel: it counts the package's goroutines.
func TestShutdownStopsInstancesAndLoops(t *testing.T) {
	before := len(managerGoroutines())
	sb := &fakeSandbox{}
	// The aborted start's instance takes a while to stop, so that Shutdown
	// returning before that stop (in a goroutine of its own) ends shows.
	m := New(Options{Sandbox: slowStopSandbox{sb, "slow", 150 * time.Millisecond}, Code: fakeCode{}, MaxPerFunction: 3,
		IdleTimeout: 40 * time.Millisecond, StartTimeout: time.Hour})

	mustAcquire(t, m, fnNamed("idle", 1), "idle").Release()
	busy := mustAcquire(t, m, fnNamed("busy", 1), "busy")
	sb.setDelay(time.Hour) // the next instance never gets ready
	slowFn := fnNamed("slow", 1)
	slow := acquireAsync(m, context.Background(), slowFn, "slow")
	waitFor(t, "the slow start under way", func() bool {
		list := m.ListInstances(slowFn.ServiceName, slowFn.FunctionName)
		return sb.count() == 3 && len(list) == 1 && list[0].State == fc.InstanceStarting
	})
	if n := len(managerGoroutines()); n <= before {
		t.Fatalf("%d manager goroutines with instances running; the check sees nothing", n)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- m.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Shutdown did not return")
	}
	// Every stop, the aborted start's included, ended before Shutdown
	// returned.
	if n := m.total.Load(); n != 0 {
		t.Errorf("node total %d when Shutdown returned; want 0", n)
	}
	for _, in := range sb.all() {
		if !in.stopped.Load() {
			t.Errorf("instance %s not stopped when Shutdown returned", in.id)
		}
	}
	r := recv(t, slow, "the request waiting for a start")
	var fe *fc.Error
	if r.err == nil || !errors.As(r.err, &fe) || (fe.Code != fc.CodeServiceUnavailable && fe.Code != fc.CodeFunctionNotStarted) {
		t.Errorf("the waiting request got %v; want ServiceUnavailable (or the aborted start's FunctionNotStarted)", r.err)
	}
	if _, err := m.Acquire(context.Background(), fnNamed("idle", 1), "after"); err == nil {
		t.Error("Acquire after Shutdown succeeded")
	} else {
		fcErr(t, err, fc.CodeServiceUnavailable)
	}
	if list := m.ListInstances("", ""); len(list) != 0 {
		t.Errorf("listed after Shutdown: %+v", list)
	}
	busy.Release() // a request that ends after Shutdown: harmless
	if m.total.Load() != 0 {
		t.Errorf("node total %d after a release following Shutdown", m.total.Load())
	}

	deadline := time.Now().Add(waitLimit)
	for {
		left := managerGoroutines()
		if len(left) <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d manager goroutines left after Shutdown (%d before New):\n%s", len(left), before, strings.Join(left, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ListInstances sorts a function's instances by start time.
func TestListInstancesSortedByStartTime(t *testing.T) {
	t.Parallel()
	m, _ := newMgr(t, Options{})
	fn := fnNamed("sorted", 1)
	p, err := m.poolFor(fn)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 3339 strings of these times do not sort as text: "…:05Z" sorts
	// after "…:05.5Z", and "…:05.12Z" after "…:05.123Z".
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	times := []time.Duration{0, 120 * time.Millisecond, 123 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}
	p.mu.Lock()
	for i := len(times) - 1; i >= 0; i-- {
		p.instances = append(p.instances, &inst{id: "c-" + string(rune('a'+i)), p: p, started: base.Add(times[i]),
			sb: &fakeInstance{done: make(chan struct{})}})
	}
	p.mu.Unlock()
	list := m.ListInstances(fn.ServiceName, fn.FunctionName)
	var got []string
	for _, in := range list {
		got = append(got, in.InstanceID)
	}
	if strings.Join(got, ",") != "c-a,c-b,c-c,c-d,c-e" {
		t.Errorf("order %v; want by start time c-a … c-e", got)
	}
}

// slowStopSandbox wraps a fakeSandbox; the instances of function take d
// to stop.
type slowStopSandbox struct {
	*fakeSandbox
	function string
	d        time.Duration
}

func (s slowStopSandbox) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Instance, error) {
	in, err := s.fakeSandbox.Start(ctx, spec)
	if err != nil || !slices.Contains(spec.Env, "FC_FUNCTION_NAME="+s.function) {
		return in, err
	}
	return slowStop{in.(*fakeInstance), s.d}, nil
}

type slowStop struct {
	*fakeInstance
	d time.Duration
}

func (i slowStop) Stop(ctx context.Context) error {
	time.Sleep(i.d)
	return i.fakeInstance.Stop(ctx)
}

// Instances that die right after they start (a crash loop that gets past
// readiness) also make the function back off instead of spinning.
func TestCrashRightAfterStartBacksOff(t *testing.T) {
	sb := &fakeSandbox{}
	m := newTestManager(t, sb, 5)
	fn := testFn(1)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		l, err := m.Acquire(ctx, fn, "r")
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		sb.mu.Lock()
		in := sb.started[len(sb.started)-1]
		sb.mu.Unlock()
		in.exit()
		l.Release()
		deadline := time.Now().Add(3 * time.Second)
		for len(m.ListInstances("", "")) != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	began := time.Now()
	_, err := m.Acquire(ctx, fn, "r")
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeFunctionNotStarted || !strings.Contains(fe.Message, "next attempt") {
		t.Fatalf("after 3 quick crashes got %v; want FunctionNotStarted with a backoff", err)
	}
	if n := sb.count(); n != 3 || time.Since(began) > 200*time.Millisecond {
		t.Fatalf("%d starts, answered in %v; want no new start and a fast answer", n, time.Since(began))
	}
}

func TestNextPoll(t *testing.T) {
	d, waited := time.Millisecond, time.Duration(0)
	for waited < 200*time.Millisecond {
		waited += d
		d = nextPoll(d, waited)
		if d > 4*time.Millisecond {
			t.Fatalf("after %v a starting instance is probed every %v; want ≤ 4 ms while young", waited, d)
		}
	}
	if d := nextPoll(4*time.Millisecond, 3*time.Second); d != 8*time.Millisecond {
		t.Fatalf("after 3 s: %v; want the interval to grow again", d)
	}
	if d := nextPoll(50*time.Millisecond, 3*time.Second); d != 50*time.Millisecond {
		t.Fatalf("after 3 s: %v; want at most 50 ms", d)
	}
}
