package instance

import (
	"context"

	"github.com/openfc/openfc/internal/fc"
)

// This file is the async acquire class, for the queue's workers running
// asynchronous invocations. An accepted async request has already been
// answered (202), so it waits for capacity instead of being throttled by
// the queue's depth or timeout; only its context (a stop, a shutdown, the
// worker's own bound) ends the wait. So that it never crowds out callers
// who are waiting on the line, the class is capped at a share of the
// function version's slots and a synchronous waiter is always woken
// before an asynchronous one.

// asyncShareDiv divides a function version's slots (its instance cap ×
// concurrency) into what the async class may hold: half, at least one.
const asyncShareDiv = 2

// AcquireAsync returns a lease of the async class on a slot of fn for
// the invocation requestID: it waits, bounded by ctx alone, while the
// class is at its share or sync requests are waiting. The caller must
// Release the lease.
func (m *Manager) AcquireAsync(ctx context.Context, fn *fc.Function, requestID string) (*Lease, error) {
	return m.acquireWith(ctx, fn, requestID, (*pool).acquireAsync)
}

// asyncCapLocked is how many async leases the pool may hold at once.
// p.mu must be held.
func (p *pool) asyncCapLocked() int {
	return max(1, p.m.maxFor(p)*p.fn.Concurrency()/asyncShareDiv)
}

// asyncRoomLocked is how many more async leases the class may take now.
// p.mu must be held.
func (p *pool) asyncRoomLocked() int {
	return max(0, p.asyncCapLocked()-p.asyncInflight)
}

// demandLocked is how many waiters could use a slot now: every sync
// waiter, and the async ones within their class's room. p.mu must be
// held.
func (p *pool) demandLocked() int {
	return len(p.waiters) + min(len(p.asyncWaiters), p.asyncRoomLocked())
}

// wakeAsyncLocked wakes up to n async waiters, within their class's
// room. p.mu must be held.
func (p *pool) wakeAsyncLocked(n int) {
	n = min(n, p.asyncRoomLocked())
	for ; n > 0 && len(p.asyncWaiters) > 0; n-- {
		p.asyncWaiters[0] <- nil
		p.asyncWaiters = p.asyncWaiters[1:]
	}
}

func (p *pool) acquireAsync(ctx context.Context, requestID string) (*Lease, error) {
	conc := p.fn.Concurrency()
	for {
		p.mu.Lock()
		if p.retired {
			p.mu.Unlock()
			return nil, retiredError()
		}
		if p.asyncRoomLocked() > 0 && len(p.waiters) == 0 {
			if in := p.freeLocked(conc); in != nil {
				l := p.takeLocked(in, requestID)
				l.async = true
				p.asyncInflight++
				p.mu.Unlock()
				return l, nil
			}
			if err := p.maybeStartLocked(); err != nil {
				p.mu.Unlock()
				return nil, err
			}
		}
		ch := make(chan error, 1)
		p.asyncWaiters = append(p.asyncWaiters, ch)
		p.mu.Unlock()
		select {
		case err := <-ch:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			p.abandon(ch)
			return nil, ctx.Err()
		}
	}
}
