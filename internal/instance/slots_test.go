package instance

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// fakeSlots is an in-memory cluster of slots shared by several managers;
// each manager gets a view named after its node.
type fakeSlots struct {
	mu    sync.Mutex
	held  map[string]string // key → node
	calls int
}

type fakeSlotsView struct {
	c    *fakeSlots
	node string
}

func (v fakeSlotsView) Reserve(_ context.Context, pool string, limit int, _ string) (string, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	v.c.calls++
	for i := range limit {
		key := pool + "." + strconv.Itoa(i)
		if _, ok := v.c.held[key]; !ok {
			v.c.held[key] = v.node
			return key, nil
		}
	}
	return "", nil
}

func (v fakeSlotsView) Release(_ context.Context, key string) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	delete(v.c.held, key)
}

func (v fakeSlotsView) Holders(pool string) map[string]int {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	out := map[string]int{}
	for key, node := range v.c.held {
		if len(key) > len(pool) && key[:len(pool)+1] == pool+"." {
			out[node]++
		}
	}
	return out
}

func (v fakeSlotsView) Node() string { return v.node }

func (c *fakeSlots) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// Two nodes share a cap of 2: the node whose instances hold both slots
// serves; the other starts none, fails its requests at once with a
// throttle that names the cluster (the gateway forwards them), and
// Elsewhere names the holder. Once an instance stops its slot is free and
// the other node starts one.
func TestSlotsCapInstancesClusterWide(t *testing.T) {
	t.Parallel()
	slots := &fakeSlots{held: map[string]string{}}
	m1, sb1 := newMgr(t, Options{MaxPerFunction: 2, Slots: fakeSlotsView{slots, "n1"}})
	m2, sb2 := newMgr(t, Options{MaxPerFunction: 2, Slots: fakeSlotsView{slots, "n2"}})
	fn := fnNamed("capped", 1)

	if got := m2.Elsewhere(fn); got != nil {
		t.Errorf("Elsewhere with free slots: %v, want nil", got)
	}
	a, b := mustAcquire(t, m1, fn, "a"), mustAcquire(t, m1, fn, "b")
	if sb1.count() != 2 || slots.count() != 2 {
		t.Fatalf("n1 started %d instances holding %d slots, want 2 and 2", sb1.count(), slots.count())
	}
	_, err := m2.Acquire(context.Background(), fn, "c")
	fcErr(t, err, fc.CodeResourceThrottled)
	if sb2.count() != 0 {
		t.Errorf("n2 started %d instances past the cluster's cap", sb2.count())
	}
	if got := m2.Elsewhere(fn); len(got) != 2 || got[0] != "n1" || got[1] != "n1" {
		t.Errorf("n2's Elsewhere: %v, want [n1 n1]", got)
	}
	if got := m1.Elsewhere(fn); got != nil {
		t.Errorf("n1 has instances, yet Elsewhere says %v", got)
	}
	// Still within slotRetry: the next request fails without asking the
	// cluster again.
	slots.mu.Lock()
	calls := slots.calls
	slots.mu.Unlock()
	if _, err := m2.Acquire(context.Background(), fn, "d"); err == nil {
		t.Fatal("a second request on n2 got a lease")
	}
	slots.mu.Lock()
	if slots.calls != calls {
		t.Errorf("the cluster was asked again within slotRetry (%d → %d reserves)", calls, slots.calls)
	}
	slots.mu.Unlock()
	for _, in := range m2.ListInstances("", "") {
		t.Errorf("n2 lists an instance without a slot: %+v", in)
	}

	a.Release()
	b.Release()
	m1.Shutdown(context.Background())
	if slots.count() != 0 {
		t.Fatalf("%d slots still held after n1 shut down", slots.count())
	}
	waitFor(t, "n2 starts once a slot is free", func() bool {
		l, err := m2.Acquire(context.Background(), fn, "e")
		if err != nil {
			return false
		}
		l.Release()
		return true
	})
	if slots.count() != 1 || sb2.count() != 1 {
		t.Errorf("n2 holds %d slots with %d instances, want 1 and 1", slots.count(), sb2.count())
	}
}

// Provisioned instances hold slots too: a node's provisioned target that
// finds the cluster's slots held waits for one rather than exceeding it.
func TestSlotsHoldProvisionedInstances(t *testing.T) {
	t.Parallel()
	slots := &fakeSlots{held: map[string]string{}}
	fn := fnNamed("prov", 1)
	fn.ServiceName = "svc"
	targets := func(n int) func() []Target {
		return func() []Target {
			return []Target{{Service: "svc", Qualifier: fc.LATEST, Function: fn.FunctionName, Target: n}}
		}
	}
	lookup := func(string, string) (*fc.Function, bool) { return fn, true }
	_, sb1 := newMgr(t, Options{MaxPerFunction: 2, Slots: fakeSlotsView{slots, "n1"}, ProvisionTargets: targets(2), LookupFunction: lookup})
	waitFor(t, "n1's 2 provisioned instances", func() bool { return sb1.count() == 2 && slots.count() == 2 })
	m2, sb2 := newMgr(t, Options{MaxPerFunction: 2, Slots: fakeSlotsView{slots, "n2"}, ProvisionTargets: targets(1), LookupFunction: lookup})
	waitFor(t, "n2 tried to provision", func() bool {
		slots.mu.Lock()
		defer slots.mu.Unlock()
		return slots.calls > 2
	})
	if sb2.count() != 0 || len(m2.ListInstances("", "")) != 0 {
		t.Errorf("n2 started %d instances (lists %d) past the cluster's cap", sb2.count(), len(m2.ListInstances("", "")))
	}
}
