package instance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// heldCode is a CodeSource that counts the holds on each checksum's
// directory, "/code/<checksum>".
type heldCode struct {
	mu    sync.Mutex
	holds map[string]int
}

func (c *heldCode) CodeDir(_ context.Context, sum string) (string, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds == nil {
		c.holds = map[string]int{}
	}
	c.holds[sum]++
	return "/code/" + sum, sync.OnceFunc(func() {
		c.mu.Lock()
		c.holds[sum]--
		c.mu.Unlock()
	}), nil
}

func (c *heldCode) held(sum string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holds[sum]
}

// catalog is a LookupFunction whose function a test replaces.
type catalog struct{ fn atomic.Pointer[fc.Function] }

func (c *catalog) lookup(service, function string) (*fc.Function, bool) {
	fn := c.fn.Load()
	if fn == nil || fn.ServiceName != service || fn.FunctionName != function {
		return nil, false
	}
	return fn, true
}

func withCode(fn *fc.Function, sum string) *fc.Function {
	c := *fn
	c.CodeChecksum = sum
	return &c
}

// An instance holds its code from its start until its process is gone:
// a retired instance keeps it while it serves its last request, a crash
// or a failed start gives it back.
func TestInstanceHoldsItsCode(t *testing.T) {
	code := &heldCode{}
	m, sb := newMgr(t, Options{Code: code})
	v1 := withCode(fnNamed("held", 1), "v1")
	l := mustAcquire(t, m, v1, "r1")
	if code.held("v1") != 1 {
		t.Fatalf("v1 held %d times while its instance serves; want 1", code.held("v1"))
	}
	m.Forget(v1.ServiceName, v1.FunctionName) // an update: the busy instance stops after its request
	time.Sleep(20 * time.Millisecond)
	if code.held("v1") != 1 {
		t.Fatalf("a retired instance still serving a request gave back its code")
	}
	l.Release()
	waitFor(t, "the retired instance's code to be released", func() bool { return code.held("v1") == 0 })

	v2 := withCode(v1, "v2")
	l2 := mustAcquire(t, m, v2, "r2")
	l2.Release()
	sb.byID(l2.InstanceID()).exit() // a crash
	waitFor(t, "the crashed instance's code to be released", func() bool { return code.held("v2") == 0 })

	sb.setFail(errors.New("no such command"))
	v3 := withCode(v1, "v3")
	if _, err := m.Acquire(context.Background(), v3, "r3"); err == nil {
		t.Fatal("Acquire with a failing sandbox succeeded")
	}
	if n := code.held("v3"); n != 0 {
		t.Errorf("a failed start left its code held %d times", n)
	}
}

// A request waiting for an instance when the function is updated is
// served by the new configuration, not failed; and a request holding the
// configuration from before an update gets the current one, whose code
// is the one still referenced.
func TestUpdateDuringRequests(t *testing.T) {
	code := &heldCode{}
	cat := &catalog{}
	v1 := withCode(fnNamed("upd", 1), "v1")
	cat.fn.Store(v1)
	m, sb := newMgr(t, Options{Code: code, LookupFunction: cat.lookup})
	sb.setDelay(100 * time.Millisecond) // cold starts take a while
	waiting := acquireAsync(m, context.Background(), v1, "waiting")
	waitFor(t, "the request to wait for a cold start", func() bool { return queued(m, v1) == 1 })

	v2 := withCode(v1, "v2")
	cat.fn.Store(v2)
	m.Forget(v1.ServiceName, v1.FunctionName)
	r := recv(t, waiting, "the request that waited across the update")
	if r.err != nil {
		t.Fatalf("the request waiting across an update failed: %v", r.err)
	}
	if dir := sb.byID(r.l.InstanceID()).spec.Dir; dir != "/code/v2" {
		t.Errorf("the waiting request was served from %s; want the new code /code/v2", dir)
	}
	r.l.Release()

	// A request still carrying v1 (looked up just before the update).
	l := mustAcquire(t, m, v1, "stale")
	if dir := sb.byID(l.InstanceID()).spec.Dir; dir != "/code/v2" {
		t.Errorf("a request with the old configuration was served from %s; want /code/v2", dir)
	}
	l.Release()
	if p := poolOf(m, v2); p == nil || !p.sameConfig(v2) {
		t.Error("the stale request replaced the current configuration's pool")
	}
	waitFor(t, "v1's code to be released", func() bool { return code.held("v1") == 0 })
}
