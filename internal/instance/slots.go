package instance

import (
	"context"
	"slices"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// This file makes the instance caps cluster-wide: with Options.Slots, a
// new instance also takes one of its function version's slots in the
// cluster (store.Slots), and a node that finds them all held by others
// sends its requests there (Elsewhere; the gateway forwards them).

// Slots are the cluster-wide instance slots (store.Slots).
type Slots interface {
	// Reserve takes one of the limit slots of pool for instance and
	// returns its key, or "" when all are held. It is a round trip to
	// the cluster: never called under a lock.
	Reserve(ctx context.Context, pool string, limit int, instance string) (string, error)
	// Release frees a slot Reserve returned.
	Release(ctx context.Context, key string)
	// Holders returns how many slots of pool each node holds.
	Holders(pool string) map[string]int
	// Node is this node's name, as Holders names it.
	Node() string
}

// slotRetry is how long a pool that found every cluster-wide slot held
// waits before trying again: a slot frees only when an instance on
// another node stops (or its node dies and its slots expire).
const slotRetry = 500 * time.Millisecond

// slotTimeout bounds one reserve or release round trip.
const slotTimeout = 5 * time.Second

// takeSlot reserves a cluster-wide slot for the new instance id of p.
// It reports false when every slot is held (or the cluster could not be
// asked: a cap is not exceeded on a guess). Without Slots there is
// nothing to take.
func (m *Manager) takeSlot(p *pool, id string) (string, bool) {
	if m.opts.Slots == nil {
		return "", true
	}
	ctx, cancel := context.WithTimeout(m.ctx, slotTimeout)
	defer cancel()
	key, err := m.opts.Slots.Reserve(ctx, p.key, m.maxFor(p), id)
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("reserving an instance slot in the cluster", "function", p.key, "err", err)
		}
		return "", false
	}
	if key == "" {
		return "", false
	}
	p.mu.Lock()
	p.slotWait--
	p.mu.Unlock()
	return key, true
}

// giveBack frees what a start reserved: its cluster-wide slot ("":
// none), then its node slot. No lock may be held.
func (m *Manager) giveBack(slot string) {
	if slot != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), slotTimeout)
		m.opts.Slots.Release(ctx, slot)
		cancel()
	}
	m.unreserve()
}

// noSlot undoes a start that found no cluster-wide slot, as a cap hit:
// no start is tried again for slotRetry. With no instance of its own
// here, the pool's synchronous waiters fail with clusterCapError (the
// gateway forwards them to a node that has instances); async ones wait,
// and one waiter is woken after slotRetry to try again.
func (p *pool) noSlot() {
	p.mu.Lock()
	p.starting--
	p.slotWait--
	p.slotFullUntil = time.Now().Add(slotRetry)
	if p.noneHereLocked() {
		err := p.clusterCapError()
		for _, ch := range p.waiters {
			ch <- err
		}
		p.waiters = nil
	}
	p.mu.Unlock()
	p.m.unreserve()
	p.m.spawn(func() {
		t := time.NewTimer(slotRetry)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.m.ctx.Done():
			return
		}
		p.mu.Lock()
		p.wakeLocked(1)
		p.mu.Unlock()
	})
}

// slotFullLocked reports whether the pool found every cluster-wide slot
// held less than slotRetry ago. p.mu must be held.
func (p *pool) slotFullLocked() bool {
	return p.m.opts.Slots != nil && time.Now().Before(p.slotFullUntil)
}

// noneHereLocked reports whether this node has no instance of the pool,
// ready or starting. p.mu must be held.
func (p *pool) noneHereLocked() bool { return len(p.instances)+p.starting == 0 }

// clusterCapError is what a request gets on a node without an instance
// of a function version whose cluster-wide cap other nodes hold.
func (p *pool) clusterCapError() error {
	return throttled("Reserve resource exceeded limit: the %d instances function '%s' may run are all running on other nodes of the cluster",
		p.m.maxFor(p), p.function)
}

// Elsewhere returns the other nodes holding instances of fn's version,
// one entry per instance (sorted), when a request for it is better served
// there: this node has no instance of it, ready or starting, and cannot
// start one because the cluster-wide cap is reached. It returns nil
// otherwise, and always on a single node (no Slots).
func (m *Manager) Elsewhere(fn *fc.Function) []string {
	s := m.opts.Slots
	if s == nil {
		return nil
	}
	id := poolIDOf(fn)
	m.mu.RLock()
	p := m.pools[id]
	m.mu.RUnlock()
	if p != nil {
		p.mu.Lock()
		none := p.noneHereLocked()
		p.mu.Unlock()
		if !none {
			return nil
		}
	}
	holders := s.Holders(poolKey(id.service, id.qualifier, id.function))
	total := 0
	for _, n := range holders {
		total += n
	}
	if total == 0 || total < m.capOf(id) {
		return nil
	}
	var out []string
	for node, n := range holders {
		for ; n > 0 && node != s.Node(); n-- {
			out = append(out, node)
		}
	}
	slices.Sort(out)
	return out
}
