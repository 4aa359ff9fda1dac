package instance

import (
	"context"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// pool holds the instances of one function version with one configuration.
type pool struct {
	m           *Manager
	key         string
	fn          *fc.Function
	fingerprint string

	mu        sync.Mutex
	instances []*inst
	starting  int
	waiters   []chan error // FIFO; nil error = try again
	retired   bool
}

// inst is one instance in a pool. inflight and served are guarded by p.mu.
type inst struct {
	id      string
	sb      sandbox.Instance
	p       *pool
	tail    *tailBuffer
	started time.Time

	inflight int
	served   int64
	gone     bool // left the pool (exited or retired)
}

// sameConfig reports whether fn can use this pool, adopting the new
// pointer when only the pointer changed.
func (p *pool) sameConfig(fn *fc.Function) bool {
	if p.fn == fn {
		return true
	}
	if fingerprint(fn) != p.fingerprint {
		return false
	}
	p.fn = fn
	return true
}

func (p *pool) acquire(ctx context.Context) (*Lease, error) {
	conc := p.fn.Concurrency()
	for {
		p.mu.Lock()
		if p.retired {
			p.mu.Unlock()
			return nil, fc.Errorf(fc.CodeServiceUnavailable, "the function's configuration changed; retry")
		}
		var best *inst
		for _, in := range p.instances {
			if in.inflight < conc && (best == nil || in.inflight < best.inflight) {
				best = in
			}
		}
		if best != nil {
			best.inflight++
			best.served++
			p.mu.Unlock()
			return &Lease{in: best}, nil
		}
		// Every slot is busy: grow when allowed; either way wait for a
		// slot (the new instance's, or one released meanwhile).
		if len(p.instances)+p.starting < p.m.opts.MaxPerFunction &&
			p.starting*conc <= len(p.waiters) {
			p.starting++
			p.m.wg.Add(1)
			go p.startOne()
		}
		ch := make(chan error, 1)
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()

		select {
		case err := <-ch:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			p.mu.Lock()
			p.dropWaiter(ch)
			p.mu.Unlock()
			// A wake-up may have raced with cancellation: pass it on.
			select {
			case err := <-ch:
				if err == nil {
					p.mu.Lock()
					p.wakeLocked(1)
					p.mu.Unlock()
				}
			default:
			}
			return nil, ctx.Err()
		}
	}
}

// startOne runs a cold start and wakes the waiters.
func (p *pool) startOne() {
	defer p.m.wg.Done()
	in, err := p.m.start(p)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if err != nil {
		// Fail the requests that were waiting for this start, unless
		// other instances can still serve them.
		if len(p.instances) == 0 && p.starting == 0 {
			for _, ch := range p.waiters {
				ch <- err
			}
			p.waiters = nil
		}
		return
	}
	if p.retired {
		in.gone = true
		p.m.stopSoon(in)
		return
	}
	p.instances = append(p.instances, in)
	p.wakeLocked(p.fn.Concurrency())
}

// wakeLocked wakes up to n waiters. p.mu must be held.
func (p *pool) wakeLocked(n int) {
	for ; n > 0 && len(p.waiters) > 0; n-- {
		p.waiters[0] <- nil
		p.waiters = p.waiters[1:]
	}
}

func (p *pool) dropWaiter(ch chan error) {
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return
		}
	}
}

// release frees one slot of in.
func (p *pool) release(in *inst) {
	p.mu.Lock()
	in.inflight--
	stop := in.gone && in.inflight == 0 && p.retired
	if !in.gone {
		p.wakeLocked(1)
	}
	p.mu.Unlock()
	if stop {
		p.m.stopSoon(in)
	}
}

// remove takes an exited instance out of the pool; it reports whether the
// instance was still in rotation (an unexpected exit).
func (p *pool) remove(in *inst) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if in.gone {
		return false
	}
	in.gone = true
	for i, x := range p.instances {
		if x == in {
			p.instances = append(p.instances[:i], p.instances[i+1:]...)
			break
		}
	}
	// Waiters may now need a new instance: let one retry.
	p.wakeLocked(1)
	return true
}

// retire takes the pool out of service: idle instances stop now, busy
// ones when their last request ends; waiters retry on the new pool.
func (p *pool) retire() {
	p.mu.Lock()
	p.retired = true
	var idle []*inst
	for _, in := range p.instances {
		in.gone = true
		if in.inflight == 0 {
			idle = append(idle, in)
		}
	}
	p.instances = nil
	for _, ch := range p.waiters {
		ch <- fc.Errorf(fc.CodeServiceUnavailable, "the function's configuration changed; retry")
	}
	p.waiters = nil
	p.mu.Unlock()
	for _, in := range idle {
		p.m.stopSoon(in)
	}
}

// drainAll removes and returns every instance, for shutdown.
func (p *pool) drainAll() []*inst {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = true
	out := p.instances
	for _, in := range out {
		in.gone = true
	}
	p.instances = nil
	for _, ch := range p.waiters {
		ch <- fc.Errorf(fc.CodeServiceUnavailable, "the server is shutting down")
	}
	p.waiters = nil
	return out
}

// Lease is one acquired slot on an instance.
type Lease struct {
	in       *inst
	released bool
}

// Host returns the synthetic host:port that reaches the instance through
// the shared transport (whose DialContext is Manager.DialContext).
func (l *Lease) Host() string { return l.in.id + hostSuffix + ":80" }

// InstanceID returns the instance id.
func (l *Lease) InstanceID() string { return l.in.id }

// Release frees the slot. Calling it twice is a no-op.
func (l *Lease) Release() {
	if l.released {
		return
	}
	l.released = true
	l.in.p.release(l.in)
}

// Exited waits up to d for the instance's process to exit and reports
// whether it did, with its exit description. The gateway uses it to tell a
// crash from a connection error.
func (l *Lease) Exited(d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.in.sb.Done():
		return true, l.in.sb.ExitErr()
	case <-t.C:
		return false, nil
	}
}

// Tail returns the last output of the instance.
func (l *Lease) Tail() string { return l.in.tail.String() }
