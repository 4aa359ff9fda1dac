package instance

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// pool holds the instances of one function version with one configuration.
type pool struct {
	m           *Manager
	key         string
	service     string
	function    string
	qualified   string // "service/function", the logs' function name
	qualifier   string
	fn          *fc.Function // never reassigned: read without locks
	fingerprint string
	// alias is the last other pointer found to have fn's configuration
	// (written under Manager.mu), so that sameConfig stays cheap.
	alias atomic.Pointer[fc.Function]

	mu        sync.Mutex
	instances []*inst      // ready and in rotation
	starting  int          // cold starts in progress
	waiters   []chan error // FIFO; nil error = try again
	// asyncWaiters wait for a slot of the async class (async.go), after
	// every synchronous waiter; asyncInflight counts that class's leases.
	asyncWaiters  []chan error
	asyncInflight int
	retired       bool
	restarts      int // unexpected exits and failed health checks
	// Crash-loop backoff: consecutive failed starts, and no new start
	// before backoffUntil. quickExits counts instances in a row that
	// died within crashLoopWindow of starting (a successful start does
	// not reset it; an instance that lives longer does).
	quickExits   int
	failures     int
	backoffUntil time.Time
	lastErr      error
	// slotWait counts the starts (among starting) still reserving their
	// cluster-wide slot; slotFullUntil is until when no start is tried
	// after every slot was found held (slots.go).
	slotWait      int
	slotFullUntil time.Time
}

// inst is one instance in a pool. Fields below the line are guarded by
// p.mu.
type inst struct {
	id          string
	sb          sandbox.Instance
	p           *pool
	tail        *tailBuffer
	hook        *http.Client // lifecycle hooks and health checks
	started     time.Time
	provisioned bool
	// slot is the instance's cluster-wide slot ("": none, a single
	// node), freed once it has stopped.
	slot string
	// release ends the instance's hold on its code directory (see
	// CodeSource) or image (ImageSource); stopInstance calls it once the
	// process is gone.
	release func()
	// token is the per-instance secret of a built-in runtime's bootstrap
	// (OPENFC_RUNTIME_TOKEN): its answers carrying it are the runtime's
	// own. "" for custom runtimes and containers.
	token string
	// current is the request id of the only request in flight, for
	// tagging output lines; nil when none or several.
	current atomic.Pointer[string]

	inflight int
	reqs     []string // ids of the requests in flight
	served   int64
	lastUsed time.Time
	gone     bool // left the pool (exited, unhealthy, idle, retired)
}

// sameConfig reports whether fn can use this pool, remembering the new
// pointer when only the pointer changed. Manager.mu must be held.
func (p *pool) sameConfig(fn *fc.Function) bool {
	if p.knows(fn) {
		return true
	}
	if fingerprint(fn) != p.fingerprint {
		return false
	}
	p.alias.Store(fn)
	return true
}

// knows reports whether fn is a pointer already matched to p's
// configuration (no fingerprint needed; safe without Manager.mu).
func (p *pool) knows(fn *fc.Function) bool { return p.fn == fn || p.alias.Load() == fn }

func throttled(format string, args ...any) *fc.Error {
	return fc.Errorf(fc.CodeResourceThrottled, format, args...)
}

// tryAcquire takes a free slot when there is one and nobody is waiting.
func (p *pool) tryAcquire(requestID string) *Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.retired || len(p.waiters) > 0 {
		return nil
	}
	in := p.freeLocked(p.fn.Concurrency())
	if in == nil {
		return nil
	}
	return p.takeLocked(in, requestID)
}

// takeLocked gives requestID a slot on in. p.mu must be held.
func (p *pool) takeLocked(in *inst, requestID string) *Lease {
	in.inflight++
	in.served++
	in.reqs = append(in.reqs, requestID)
	in.tagLocked()
	return &Lease{in: in, requestID: requestID}
}

func (p *pool) acquire(ctx context.Context, requestID string) (*Lease, error) {
	conc := p.fn.Concurrency()
	var queued time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		if p.retired {
			p.mu.Unlock()
			return nil, retiredError()
		}
		if in := p.freeLocked(conc); in != nil {
			l := p.takeLocked(in, requestID)
			p.mu.Unlock()
			if !queued.IsZero() {
				p.m.opts.Metrics.queueWait(time.Since(queued))
			}
			return l, nil
		}
		if err := p.maybeStartLocked(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if p.slotFullLocked() && p.noneHereLocked() {
			p.mu.Unlock()
			return nil, p.clusterCapError() // served elsewhere (slots.go)
		}
		if queued.IsZero() && len(p.waiters) >= p.m.opts.QueueDepth {
			p.mu.Unlock()
			p.m.opts.Metrics.throttle(p.key)
			return nil, throttled("Reserve resource exceeded limit: %d requests are already waiting for an instance of function '%s' (queue depth %d)",
				len(p.waiters), p.function, p.m.opts.QueueDepth)
		}
		ch := make(chan error, 1)
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()
		if queued.IsZero() {
			queued = time.Now()
			timer = time.NewTimer(p.m.opts.QueueTimeout)
		}

		if err := p.waitTurn(ctx, ch, timer, queued); err != nil {
			return nil, err
		}
	}
}

// processExited reports whether in's process has exited.
func (in *inst) processExited() bool {
	select {
	case <-in.sb.Done():
		return true
	default:
		return false
	}
}

// freeLocked returns the least busy instance with a free slot, or nil.
func (p *pool) freeLocked(conc int) *inst {
	var best *inst
	for _, in := range p.instances {
		// A process that has exited is skipped even before watch takes
		// it out of rotation: a request that comes right after a crash
		// was answered must not be handed the dead instance.
		if in.inflight < conc && (best == nil || in.inflight < best.inflight) && !in.processExited() {
			best = in
		}
	}
	return best
}

// maybeStartLocked starts one more instance when the waiting requests
// (the caller included) exceed what the instances being started will
// serve, within the function's and the node's caps. It fails fast while
// the function is in crash-loop backoff.
func (p *pool) maybeStartLocked() error {
	conc := p.fn.Concurrency()
	if p.starting*conc > p.demandLocked() {
		return nil // enough capacity is on its way
	}
	if max := p.m.maxFor(p); len(p.instances)+p.starting >= max {
		if max == 0 {
			return throttled("function '%s' has maximumInstanceCount 0 and no provisioned instance", p.function)
		}
		return nil // at the function's cap: wait in the queue
	}
	if wait := time.Until(p.backoffUntil); wait > 0 {
		if len(p.instances)+p.starting > 0 {
			return nil
		}
		return fc.Errorf(fc.CodeFunctionNotStarted, "the function failed to start %d times in a row; the next attempt is in %v. Last error: %v",
			p.failures, wait.Round(time.Millisecond), p.lastErr)
	}
	if p.slotFullLocked() {
		return nil // at the cluster-wide cap: wait, or go elsewhere
	}
	if !p.m.reserve() {
		return nil // at the node's cap: wait in the queue
	}
	p.beginStartLocked(false)
	return nil
}

// beginStartLocked starts one instance in the background; the caller
// reserved its node slot. p.mu must be held.
func (p *pool) beginStartLocked(provisioned bool) {
	p.starting++
	if p.m.opts.Slots != nil {
		p.slotWait++
	}
	p.m.spawn(func() { p.startOne(provisioned) })
}

// startOne takes the new instance's cluster-wide slot, runs its cold
// start and wakes the waiters.
func (p *pool) startOne(provisioned bool) {
	id := newID()
	slot, ok := p.m.takeSlot(p, id) // slots.go
	if !ok {
		p.noSlot()
		return
	}
	in, err := p.m.start(p, provisioned, id, slot)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if err != nil {
		p.failedLocked(err)
		// Fail the requests that were waiting for this start, unless
		// other instances can still serve them.
		if len(p.instances) == 0 && p.starting == 0 {
			p.failWaitersLocked(err)
		}
		return
	}
	p.failures, p.backoffUntil, p.lastErr = 0, time.Time{}, nil
	if in.gone {
		// Its process exited before it joined the pool and watch has
		// already stopped it: keep it out, and let the waiters retry.
		p.wakeLocked(len(p.waiters) + len(p.asyncWaiters))
		return
	}
	if p.retired {
		in.gone = true
		p.m.stopSoon(in, "retired")
		return
	}
	in.lastUsed = time.Now()
	p.instances = append(p.instances, in)
	p.wakeLocked(p.fn.Concurrency())
}

// wakeLocked wakes up to n waiters: synchronous ones first, then
// asynchronous ones while their class has room. p.mu must be held.
func (p *pool) wakeLocked(n int) {
	for ; n > 0 && len(p.waiters) > 0; n-- {
		p.waiters[0] <- nil
		p.waiters = p.waiters[1:]
	}
	p.wakeAsyncLocked(n)
}

// failWaitersLocked ends every waiter, of both classes, with err. p.mu
// must be held.
func (p *pool) failWaitersLocked(err error) {
	for _, ch := range p.waiters {
		ch <- err
	}
	for _, ch := range p.asyncWaiters {
		ch <- err
	}
	p.waiters, p.asyncWaiters = nil, nil
}

// tagLocked points current at the only request in flight, if there is
// exactly one. With none in flight it keeps the last request: output
// travels through a pipe and often arrives just after the response, so
// lines written before the next request belong to the one that ended.
// p.mu must be held.
func (in *inst) tagLocked() {
	switch len(in.reqs) {
	case 0:
	case 1:
		id := in.reqs[0]
		in.current.Store(&id)
	default:
		in.current.Store(nil)
	}
}

// release frees the slot of in that requestID held (async: a lease of
// the async class).
func (p *pool) release(in *inst, requestID string, async bool) {
	p.mu.Lock()
	in.inflight--
	if async {
		p.asyncInflight--
	}
	in.lastUsed = time.Now()
	for i, id := range in.reqs {
		if id == requestID {
			in.reqs = append(in.reqs[:i], in.reqs[i+1:]...)
			break
		}
	}
	in.tagLocked()
	stop := in.gone && in.inflight == 0
	if !in.gone {
		p.wakeLocked(1)
	}
	p.mu.Unlock()
	if stop {
		p.m.stopSoon(in, "retired")
	}
}

// takeOut removes in from rotation; it reports whether it was still in.
// Waiters get a chance to start a replacement. p.mu must be held.
func (p *pool) takeOutLocked(in *inst) bool {
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
	p.wakeLocked(1)
	return true
}

// exited handles an instance whose process ended by itself.
func (p *pool) exited(in *inst) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.takeOutLocked(in) {
		return false
	}
	p.restarts++
	// An instance that dies within seconds of starting counts as a failed
	// start, so a function that crashes as soon as it runs backs off too.
	// Only an instance that died soon after starting, having served at
	// most the request that started it, counts: a function that crashes
	// on some requests is not crash-looping.
	if time.Since(in.started) >= crashLoopWindow || in.served > 1 {
		p.quickExits = 0
		return true
	}
	p.quickExits++
	p.lastErr = fmt.Errorf("instance %s exited %v after it started: %s", in.id, time.Since(in.started).Round(time.Millisecond), describe(in.sb.ExitErr()))
	if p.quickExits >= 3 {
		d := time.Second << min(p.quickExits-3, 5)
		p.failures = max(p.failures, p.quickExits)
		p.backoffUntil = time.Now().Add(d)
		p.m.log.Warn("function keeps crashing right after it starts; backing off", "function", p.key, "crashes", p.quickExits, "backoff", d)
	}
	return true
}

// crashLoopWindow: an instance exiting this soon after its start counts
// towards the crash-loop backoff.
const crashLoopWindow = 5 * time.Second

// failedLocked records a failed start and, from the third in a row,
// backs off (1 s, doubling up to 32 s). p.mu must be held.
func (p *pool) failedLocked(err error) {
	p.failures++
	p.lastErr = err
	if p.failures >= 3 {
		d := time.Second << min(p.failures-3, 5)
		p.backoffUntil = time.Now().Add(d)
		p.m.log.Warn("function keeps failing to start; backing off", "function", p.key, "failures", p.failures, "backoff", d)
	}
}

// unhealthy takes an instance that failed its health check out of
// rotation; it is stopped once its requests end.
func (p *pool) unhealthy(in *inst) {
	p.mu.Lock()
	if !p.takeOutLocked(in) {
		p.mu.Unlock()
		return
	}
	p.restarts++
	stop := in.inflight == 0
	p.mu.Unlock()
	if stop {
		p.m.stopSoon(in, "unhealthy")
	}
}
