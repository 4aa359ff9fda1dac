package instance

import (
	"context"
	"time"
)

// This file is the waiting side of a pool: requests queued for a slot.

// waitTurn waits for a queued request's wake-up (nil: try again), its
// failure, the queue timeout, or ctx. The queue timeout is extended
// while an instance is starting (startWait).
func (p *pool) waitTurn(ctx context.Context, ch chan error, timer *time.Timer, queued time.Time) error {
	for {
		select {
		case err := <-ch:
			return err
		case <-timer.C:
			if wait := p.startWait(queued); wait > 0 {
				// An instance is still starting for the queue: a cold
				// start has the start timeout, not the queue's.
				timer.Reset(wait)
				continue
			}
			p.abandon(ch)
			p.m.opts.Metrics.throttle(p.key)
			return throttled("Reserve resource exceeded limit: no instance of function '%s' became free within %v", p.function, p.m.opts.QueueTimeout)
		case <-ctx.Done():
			p.abandon(ch)
			return ctx.Err()
		}
	}
}

// startWait is how much longer a request queued at queued may wait
// because an instance is starting: up to the start timeout since it
// queued (the start itself fails its waiters at the start timeout). 0
// when nothing is starting or that time is up.
func (p *pool) startWait(queued time.Time) time.Duration {
	p.mu.Lock()
	starting := p.starting
	p.mu.Unlock()
	if starting == 0 {
		return 0
	}
	// A little past the start timeout: the start's own failure, with
	// the function's output, should reach the waiter first.
	return max(time.Until(queued.Add(p.m.opts.StartTimeout+time.Second)), 0)
}

// abandon removes a waiter that gave up, passing on a wake-up it may have
// received meanwhile.
func (p *pool) abandon(ch chan error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, list := range [...]*[]chan error{&p.waiters, &p.asyncWaiters} {
		for i, w := range *list {
			if w == ch {
				*list = append((*list)[:i], (*list)[i+1:]...)
				return
			}
		}
	}
	select {
	case err := <-ch:
		if err == nil {
			p.wakeLocked(1)
		}
	default:
	}
}
