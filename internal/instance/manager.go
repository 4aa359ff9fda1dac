package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/internal/sandbox"
)

// CodeSource provides unpacked code directories.
type CodeSource interface {
	// CodeDir returns the directory holding the unpacked code with the
	// given checksum, unpacking it first if needed. The directory stays
	// (the code is not collected) until release is called: the manager
	// calls it once the instance using it has stopped.
	CodeDir(ctx context.Context, checksum string) (dir string, release func(), err error)
}

// Scaling answers the per-function scaling settings (store catalog).
type Scaling interface {
	// Scaling returns the provisioned target of a function version as its
	// second result (0: none).
	Scaling(service, qualifier, function string) (onDemandMax, provisionTarget int)
	// OnDemandMax returns the on-demand maximumInstanceCount when one is
	// set; 0 then means only provisioned instances serve.
	OnDemandMax(service, qualifier, function string) (limit int, set bool)
}

// Target is one provisioned-instances target.
type Target struct {
	Service, Qualifier, Function string
	Target                       int
}

// LogSink receives instance output and lifecycle markers (logs.Store).
type LogSink interface {
	Append(r logs.Record)
	Invocation(function, requestID string, maxBytes int) []byte
}

// Options configure a Manager. Zero values take the documented defaults.
type Options struct {
	// Sandbox runs the instances: a Spec with Root in a container.
	Sandbox sandbox.Sandbox
	Code    CodeSource
	// Images provides the images of custom-container functions; nil: they
	// fail to start (FunctionNotStarted).
	Images ImageSource
	// RuntimesInContainers runs custom-runtime functions in containers
	// too (--isolation container): the host's root read-only, the code at
	// /code. False runs them as processes.
	RuntimesInContainers bool
	// Runtimes launches the built-in runtimes (nodejs18, python3.10); nil:
	// their functions fail to start (FunctionNotStarted).
	Runtimes Runtimes
	// Region and AccountID are exported to instances.
	Region, AccountID string
	// StartTimeout bounds how long a new instance may take to accept a
	// connection on its CAPort. Default 120 s.
	StartTimeout time.Duration
	// MaxInstances caps instances on this node (FC's regional quota).
	// Default 100.
	MaxInstances int
	// MaxPerFunction caps the instances of one function version when it
	// has no on-demand config. Default MaxInstances.
	MaxPerFunction int
	// QueueDepth bounds the requests waiting for a slot of one function
	// version; more are throttled (429). Default 100.
	QueueDepth int
	// QueueTimeout bounds how long a request waits for a slot before it is
	// throttled. Default 30 s.
	QueueTimeout time.Duration
	// IdleTimeout: an instance idle that long is stopped. Default 5 min.
	IdleTimeout time.Duration
	// StopGrace is how long an instance has between SIGTERM and SIGKILL.
	// Default 10 s.
	StopGrace time.Duration
	// Slots makes the per-function caps cluster-wide (slots.go); nil
	// keeps them this node's (a single node).
	Slots Slots
	// Scaling supplies on-demand and provision configs; nil means none.
	Scaling Scaling
	// ProvisionTargets lists the provisioned targets; nil means none.
	ProvisionTargets func() []Target
	// LookupFunction finds a function for provisioning (store catalog).
	LookupFunction func(service, function string) (*fc.Function, bool)
	// LookupService finds a function's service (store catalog), whose
	// internetAccess its instances start with. Nil, or a service not
	// found, leaves the function's own settings and FC's defaults.
	LookupService func(name string) (*fc.Service, bool)
	// Logs receives instance output and markers; nil discards.
	Logs LogSink
	// Output also receives every instance's output, line-prefixed with a
	// timestamp and the instance id. Nil discards.
	Output io.Writer
	// Metrics may be nil.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 120 * time.Second
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = 100
	}
	if o.MaxPerFunction <= 0 {
		o.MaxPerFunction = o.MaxInstances
	}
	if o.QueueDepth <= 0 {
		o.QueueDepth = 100
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
}

// ErrShuttingDown is returned by Acquire once Shutdown has begun.
var ErrShuttingDown = errors.New("instance manager is shutting down")

// Manager owns every instance of every function on this node.
type Manager struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context // cancelled by Shutdown; parent of instance lifetimes
	cancel context.CancelFunc
	// active counts the goroutines the manager started (spawn) and that
	// have not ended; Shutdown waits for it to reach zero. A counter, not a
	// WaitGroup: a request released during Shutdown may still start one.
	active atomic.Int64

	total atomic.Int64 // instances on this node, starting ones included

	// mu guards closed, pools and byID. Acquire only reads them (RLock),
	// so requests to warm functions do not serialise here.
	mu     sync.RWMutex
	closed bool
	pools  map[poolID]*pool
	byID   map[string]*inst // the registered instances
}

// poolID names a pool: a function version. (A struct key: looking a pool
// up builds no string.)
type poolID struct{ service, function, qualifier string }

// New returns a Manager and starts its background loops (idle reclaim,
// provisioning); Shutdown stops them.
func New(o Options) *Manager {
	o.defaults()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		opts:   o,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		pools:  map[poolID]*pool{},
		byID:   map[string]*inst{},
	}
	m.opts.Metrics.observe(m)
	m.spawn(m.loop)
	return m
}

func poolKey(service, qualifier, function string) string {
	return service + "/" + function + "@" + qualifier
}

// Acquire returns a lease on a slot of a ready instance of fn's version
// (fn.VersionID) for the invocation requestID, starting an instance when
// every slot is busy and the pool may grow, and waiting in the function's
// bounded queue otherwise. The caller must Release the lease.
//
// A request that was waiting when fn's configuration changed (its pool was
// retired) is served by the new configuration rather than failed: a
// redeploy does not fail the requests that arrive meanwhile.
func (m *Manager) Acquire(ctx context.Context, fn *fc.Function, requestID string) (*Lease, error) {
	return m.acquireWith(ctx, fn, requestID, (*pool).acquire)
}

// acquireWith runs a class's acquire on fn's current pool, following a
// configuration change.
func (m *Manager) acquireWith(ctx context.Context, fn *fc.Function, requestID string,
	acquire func(*pool, context.Context, string) (*Lease, error)) (*Lease, error) {
	for tries := 1; ; tries++ {
		p, err := m.poolFor(fn)
		if err != nil {
			return nil, err
		}
		l, err := acquire(p, ctx, requestID)
		if errors.Is(err, errRetired) && tries < maxRetiredTries && m.exists(fn) {
			continue // poolFor finds the current configuration
		}
		if err != nil {
			return nil, err
		}
		m.marker(l.in, requestID, "FC Invoke Start RequestId: "+requestID)
		return l, nil
	}
}

// exists reports whether fn's function is still in the catalog (true when
// the manager has no catalog to ask).
func (m *Manager) exists(fn *fc.Function) bool {
	if m.opts.LookupFunction == nil || fn.VersionID != "" {
		return true
	}
	_, ok := m.opts.LookupFunction(fn.ServiceName, fn.FunctionName)
	return ok
}

// maxRetiredTries bounds how often one request follows a function whose
// configuration keeps changing under it.
const maxRetiredTries = 4

// errRetired is the cause of the error a request gets from a retired
// pool.
var errRetired = errors.New("pool retired")

// retiredError is what a request waiting in a retired pool gets.
func retiredError() error {
	return &fc.Error{Code: fc.CodeServiceUnavailable, Message: "the function's configuration changed; retry", Err: errRetired}
}

// poolIDOf is fn's pool: one per version (fn.Version), so that a
// version's instances serve that version only; an unused version's pool
// is reclaimed when idle like any other.
func poolIDOf(fn *fc.Function) poolID {
	return poolID{service: fn.ServiceName, function: fn.FunctionName, qualifier: fn.Version()}
}

// knownPool returns fn's pool if it exists and already knows this very
// *fc.Function (no fingerprint needed), under the read lock only; nil
// otherwise, or when the manager is closed.
func (m *Manager) knownPool(fn *fc.Function) *pool {
	m.mu.RLock()
	p, closed := m.pools[poolIDOf(fn)], m.closed
	m.mu.RUnlock()
	if closed || p == nil || !p.knows(fn) {
		return nil
	}
	return p
}

// TryAcquire returns a lease on a free slot of a ready instance of fn at
// once, or false when none is free, requests are already queued for fn (a
// newcomer does not overtake them) or fn's pool must first be created.
// It takes no context: nothing waits.
func (m *Manager) TryAcquire(fn *fc.Function, requestID string) (*Lease, bool) {
	p := m.knownPool(fn)
	if p == nil {
		return nil, false
	}
	l := p.tryAcquire(requestID)
	if l == nil {
		return nil, false
	}
	m.marker(l.in, requestID, "FC Invoke Start RequestId: "+requestID)
	return l, true
}

// poolFor returns the current pool of fn, replacing (retiring) the pool of
// an older configuration.
//
// A pool is made for the configuration the catalog holds now
// (LookupFunction), not for fn when they differ: fn may be a request's
// copy from just before an update, whose code the update released. A
// pool of it would retire the current one and start instances from code
// that may be gone.
func (m *Manager) poolFor(fn *fc.Function) (*pool, error) {
	if p := m.knownPool(fn); p != nil {
		return p, nil // the warm path: the pool of this very configuration
	}
	if m.opts.LookupFunction != nil && fn.VersionID == "" { // LATEST is mutable; a version is not
		if cur, ok := m.opts.LookupFunction(fn.ServiceName, fn.FunctionName); ok {
			fn = cur
		}
	}
	id := poolIDOf(fn)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "the server is shutting down")
	}
	p := m.pools[id]
	if p != nil && p.sameConfig(fn) {
		return p, nil
	}
	np := &pool{m: m, key: poolKey(id.service, id.qualifier, id.function), service: id.service, function: id.function, qualified: id.service + "/" + id.function, qualifier: id.qualifier, fn: fn, fingerprint: fingerprint(fn)}
	if p != nil {
		m.log.Info("function configuration changed; retiring its instances", "function", np.key)
		np.restarts = p.restarts
		p.retire()
	}
	m.pools[id] = np
	return np, nil
}

// Forget retires the LATEST pool of a deleted or changed function: a
// published version's snapshot does not change with it, and its pools
// serve on until idle.
func (m *Manager) Forget(service, function string) {
	m.forget(func(id poolID) bool {
		return id.service == service && id.function == function && id.qualifier == fc.LATEST
	})
}

// ForgetService retires the pools of every function of service: a change
// of the service (its internetAccess) is not part of any function's
// fingerprint, yet its instances were started with it.
func (m *Manager) ForgetService(service string) {
	m.forget(func(id poolID) bool { return id.service == service })
}

// forget retires the pools whose ids match.
func (m *Manager) forget(match func(poolID) bool) {
	var gone []*pool
	m.mu.Lock()
	for id, p := range m.pools {
		if match(id) {
			gone = append(gone, p)
			delete(m.pools, id)
		}
	}
	m.mu.Unlock()
	for _, p := range gone {
		p.retire()
	}
}

// Shutdown stops accepting work and stops every instance: PreStop hooks,
// then SIGTERM, then SIGKILL when ctx ends. It returns when all instances
// have exited and the background loops have stopped.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	m.pools = map[poolID]*pool{}
	m.mu.Unlock()
	m.cancel() // aborts cold starts in progress and stops the loops
	var wg sync.WaitGroup
	for _, p := range pools {
		for _, in := range p.drainAll() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.stopInstance(ctx, in, "shutdown")
			}()
		}
	}
	wg.Wait()
	m.waitGoroutines(m.opts.StopGrace + 5*time.Second)
	return nil
}

func (m *Manager) register(in *inst) {
	m.mu.Lock()
	m.byID[in.id] = in
	m.mu.Unlock()
}

// reserve takes one of the node's instance slots. (A compare-and-swap:
// a failed attempt must not count, even briefly, or a concurrent reserve
// fails spuriously and its request waits for a wake-up that never comes.)
func (m *Manager) reserve() bool {
	for {
		n := m.total.Load()
		if n >= int64(m.opts.MaxInstances) {
			return false
		}
		if m.total.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// unreserve gives back one of the node's instance slots. Requests that
// found the node full wait in their pools' queues and no release of
// theirs will free a node slot, so each pool whose waiters outnumber what
// its starts in progress will serve gets one waiter woken to try again.
// No lock may be held.
func (m *Manager) unreserve() {
	m.total.Add(-1)
	for _, p := range m.poolList() {
		p.mu.Lock()
		if p.starting*p.fn.Concurrency() < p.demandLocked() {
			p.wakeLocked(1)
		}
		p.mu.Unlock()
	}
}

// maxFor is the instance cap of a pool: its on-demand maximum, else the
// per-function default; never below its provisioned target.
func (m *Manager) maxFor(p *pool) int {
	return m.capOf(poolID{service: p.service, function: p.function, qualifier: p.qualifier})
}

// capOf is maxFor of the pool id.
func (m *Manager) capOf(id poolID) int {
	limit := m.opts.MaxPerFunction
	if m.opts.Scaling != nil {
		if od, set := m.opts.Scaling.OnDemandMax(id.service, id.qualifier, id.function); set {
			limit = od
		}
		_, target := m.opts.Scaling.Scaling(id.service, id.qualifier, id.function)
		limit = max(limit, target)
	}
	return limit
}

// fingerprint identifies a function configuration: two values with the
// same fingerprint can share instances.
func fingerprint(fn *fc.Function) string {
	b, _ := json.Marshal(fn)
	return fn.ServiceName + "\x00" + string(b)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "c-" + hex.EncodeToString(b[:])
}

// spawn runs f in a goroutine owned by the manager.
func (m *Manager) spawn(f func()) {
	m.active.Add(1)
	go func() {
		defer m.active.Add(-1)
		f()
	}()
}

// waitGoroutines waits (at most d) until every spawned goroutine ended.
func (m *Manager) waitGoroutines(d time.Duration) {
	deadline := time.Now().Add(d)
	for m.active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if n := m.active.Load(); n > 0 {
		m.log.Warn("instance manager goroutines still running after shutdown", "count", n)
	}
}

// poolList returns the current pools (a snapshot).
func (m *Manager) poolList() []*pool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	return pools
}
