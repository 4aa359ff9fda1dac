package logs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/store"
)

// This file is the durable log: instance output is batched per function
// and written, by one goroutine (Run), to the function's JetStream stream
// (store.LogStreams), which every node reads (read.go). Writing never
// waits for NATS: records wait in a bounded buffer, and what does not fit
// is dropped and counted.

// Defaults for JournalOptions.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultBatchBytes    = 64 << 10
	DefaultBufferBytes   = 8 << 20
)

const (
	// ensureTimeout bounds creating (or checking) a function's stream in
	// one round; a cluster that cannot place it yet is tried again after
	// ensureRetry, the function's records waiting meanwhile.
	ensureTimeout = 5 * time.Second
	ensureRetry   = 2 * time.Second
	// publishTimeout bounds one message's publish; after a failure that
	// is not the stream's answer (NATS unreachable) the round ends and the
	// next waits, from publishBackoff doubling up to maxPublishBackoff.
	publishTimeout    = 5 * time.Second
	publishBackoff    = 250 * time.Millisecond
	maxPublishBackoff = 5 * time.Second
	// finalFlushTimeout bounds the last round, when Run stops.
	finalFlushTimeout = 3 * time.Second
	// syncWait bounds how long a read waits for this node's records to
	// be written before it reads the stream.
	syncWait = 2 * time.Second
	// forgetTimeout bounds deleting a forgotten function's stream.
	forgetTimeout = 5 * time.Second
	// warnEvery spaces the warnings about dropped records and failed
	// writes.
	warnEvery = 30 * time.Second
)

// JournalOptions configure a Journal. Zero durations and sizes take the
// defaults.
type JournalOptions struct {
	// Streams holds the functions' log streams.
	Streams *store.LogStreams
	// Node names this node in every record it writes (Record.Node).
	Node string
	// Cache keeps this node's recent records for Invocation (the
	// per-request tail, read without a round trip); nil: a default Store.
	Cache *Store
	// Exists reports whether service/function exists; a function's
	// stream is created only then (records of a deleted function still
	// trickling in are dropped). Nil: every function exists.
	Exists func(service, function string) bool
	// FlushInterval is how long a record may wait to be written with
	// others. Default 100 ms.
	FlushInterval time.Duration
	// BatchBytes bounds one message (many records); a function with that
	// much waiting is written at once. Keep it well below the streams'
	// byte limit. Default 64 KiB.
	BatchBytes int
	// BufferBytes bounds the records waiting to be written, all
	// functions together; past it Append drops records. Default 8 MiB.
	BufferBytes int
	Logger      *slog.Logger
}

// Journal is the instance log of the whole cluster: Append batches this
// node's records into the functions' streams, Query and Follow read them
// from any node, Invocation reads this node's cache. It is safe for
// concurrent use; Run writes.
type Journal struct {
	o     JournalOptions
	cache *Store
	log   *slog.Logger
	// kick asks Run for a round now (a batch is full, or a reader waits).
	kick chan struct{}

	mu      sync.Mutex
	pending map[string]*pendingLog // function → records waiting
	// buffered is the size of the records waiting or being written.
	buffered int
	// inflight are the functions of the round being written.
	inflight map[string]bool
	// ready are the functions whose stream Run has ensured.
	ready map[string]bool
	// retryAt holds back a function whose stream could not be ensured.
	retryAt map[string]time.Time
	// syncs wait for the end of the next round.
	syncs []chan struct{}
	// follows are the Follow streams of each function (read.go).
	follows map[string]map[*journalFollower]struct{}
	// forgotten are deleted functions whose streams Run deletes next.
	forgotten map[string]bool
	closed    bool

	dropped atomic.Uint64

	// Run's own: when it last warned, and what it had counted then.
	warnedAt      time.Time
	warnedDropped uint64
	failedAt      time.Time
}

// pendingLog is one function's records waiting to be written.
type pendingLog struct {
	recs  []Record
	bytes int
}

// NewJournal returns a journal; Run writes what Append buffers.
func NewJournal(o JournalOptions) *Journal {
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultBufferBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cache := o.Cache
	if cache == nil {
		cache = New(Options{})
	}
	return &Journal{
		o: o, cache: cache, log: o.Logger, kick: make(chan struct{}, 1),
		pending: make(map[string]*pendingLog), inflight: make(map[string]bool),
		ready: make(map[string]bool), retryAt: make(map[string]time.Time),
		follows:   make(map[string]map[*journalFollower]struct{}),
		forgotten: make(map[string]bool),
	}
}

// Dropped returns how many records were dropped since the start: the
// buffer was full (NATS unreachable or too slow), or the stream refused
// them.
func (j *Journal) Dropped() uint64 { return j.dropped.Load() }

// Append records r (r.Function is "service/function") in this node's
// cache and buffers it for the function's stream. It never waits for
// NATS: when the buffer is full, r is dropped (and counted). A zero
// r.Time is set to now; r.Node is set to this node.
func (j *Journal) Append(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	r.Node = j.o.Node
	j.cache.Append(r)
	size := r.size()
	j.mu.Lock()
	if j.buffered+size > j.o.BufferBytes {
		j.mu.Unlock()
		j.dropped.Add(1)
		return
	}
	p := j.pending[r.Function]
	if p == nil {
		p = &pendingLog{}
		j.pending[r.Function] = p
	}
	p.recs = append(p.recs, r)
	p.bytes += size
	j.buffered += size
	full := p.bytes >= j.o.BatchBytes
	j.mu.Unlock()
	if full {
		j.poke()
	}
}

func (j *Journal) poke() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// Invocation returns the last maxBytes of one invocation's lines from
// this node's cache (see Store.Invocation).
func (j *Journal) Invocation(function, requestID string, maxBytes int) []byte {
	return j.cache.Invocation(function, requestID, maxBytes)
}

// Run writes the buffered records every FlushInterval (or sooner when a
// batch is full or a reader waits) until ctx ends, then writes what is
// left within a few seconds and returns. Call it once.
func (j *Journal) Run(ctx context.Context) {
	tick := time.NewTicker(j.o.FlushInterval)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			j.round(fctx)
			cancel()
			return
		case <-tick.C:
		case <-j.kick:
		}
		if j.round(ctx) {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, publishBackoff), maxPublishBackoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
		}
		j.warnDropped()
	}
}

// round writes every function's waiting records and reports whether NATS
// answered; records it could not write wait for the next round.
func (j *Journal) round(ctx context.Context) bool {
	j.mu.Lock()
	work, waiters, forgotten := j.pending, j.syncs, j.forgotten
	j.pending, j.syncs, j.forgotten = make(map[string]*pendingLog, len(work)), nil, make(map[string]bool)
	for fn := range work {
		j.inflight[fn] = true
	}
	j.mu.Unlock()

	j.deleteStreams(ctx, forgotten)
	ok := true
	for fn, p := range work {
		if !ok {
			j.requeue(fn, p.recs)
			continue
		}
		if err := j.write(ctx, fn, p.recs); err != nil {
			ok = false
			if time.Since(j.failedAt) >= warnEvery {
				j.failedAt = time.Now()
				j.log.Warn("writing instance logs failed; records wait in the buffer", "function", fn, "err", err)
			}
		}
	}
	j.mu.Lock()
	clear(j.inflight)
	j.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	return ok
}

var (
	// errGone: the function no longer exists, its records go.
	errGone = errors.New("logs: the function was deleted")
	// errNotYet: the function's stream failed to be created a moment
	// ago; its records wait.
	errNotYet = errors.New("logs: waiting to create the stream again")
)

// write writes fn's records, ensuring its stream first. Records it did
// not write are requeued, or dropped when they never can be; an error
// means NATS did not answer.
func (j *Journal) write(ctx context.Context, fn string, recs []Record) error {
	service, function, _ := strings.Cut(fn, "/")
	if err := j.ensure(ctx, fn, service, function); err != nil {
		if errors.Is(err, errGone) {
			j.release(recs)
			return nil
		}
		j.requeue(fn, recs)
		var apiErr *jetstream.APIError
		if errors.Is(err, errNotYet) || errors.As(err, &apiErr) {
			return nil // this function's stream, not NATS: the others go on
		}
		return err
	}
	for len(recs) > 0 {
		data, n := encodeBatch(j.o.Node, recs, j.o.BatchBytes)
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		err := j.o.Streams.Publish(pctx, service, function, data)
		cancel()
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			j.release(recs[:n])
		case errors.Is(err, store.ErrNoLogStream):
			// Deleted since it was ensured: the next round looks again.
			j.mu.Lock()
			delete(j.ready, fn)
			j.mu.Unlock()
			j.requeue(fn, recs)
			return nil
		case errors.As(err, &apiErr):
			// The stream refused these (its limits): they never will fit.
			j.release(recs[:n])
			j.dropped.Add(uint64(n))
			if time.Since(j.failedAt) >= warnEvery {
				j.failedAt = time.Now()
				j.log.Warn("the log stream refused records", "function", fn, "records", n, "err", err)
			}
		default:
			j.requeue(fn, recs)
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// ensure makes sure fn's stream exists, once per run of the journal (and
// again after it was found missing). errGone: fn was deleted.
func (j *Journal) ensure(ctx context.Context, fn, service, function string) error {
	j.mu.Lock()
	ready, retryAt := j.ready[fn], j.retryAt[fn]
	j.mu.Unlock()
	if ready {
		return nil
	}
	if time.Now().Before(retryAt) {
		return errNotYet
	}
	if j.o.Exists != nil && !j.o.Exists(service, function) {
		return errGone
	}
	ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
	err := j.o.Streams.Ensure(ectx, service, function)
	cancel()
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		j.retryAt[fn] = time.Now().Add(ensureRetry)
		if time.Since(j.failedAt) >= warnEvery {
			j.failedAt = time.Now()
			j.log.Warn("creating a log stream failed; its records wait in the buffer", "function", fn, "err", err)
		}
		return err
	}
	delete(j.retryAt, fn)
	j.ready[fn] = true
	return nil
}

// requeue puts records back at the front of fn's waiting records (their
// bytes never left the buffer's count).
func (j *Journal) requeue(fn string, recs []Record) {
	if len(recs) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.pending[fn]
	if p == nil {
		p = &pendingLog{}
		j.pending[fn] = p
	}
	n := 0
	for i := range recs {
		n += recs[i].size()
	}
	p.recs = append(append(make([]Record, 0, len(recs)+len(p.recs)), recs...), p.recs...)
	p.bytes += n
}

// release takes written (or discarded) records off the buffer's count.
func (j *Journal) release(recs []Record) {
	n := 0
	for i := range recs {
		n += recs[i].size()
	}
	j.mu.Lock()
	j.buffered -= n
	j.mu.Unlock()
}

// warnDropped warns, at most every warnEvery, that records were dropped.
func (j *Journal) warnDropped() {
	d := j.dropped.Load()
	if d == j.warnedDropped || time.Since(j.warnedAt) < warnEvery {
		return
	}
	j.log.Warn("instance log records dropped: the log buffer is full (NATS unreachable or slow)",
		"dropped", d-j.warnedDropped, "total", d, "buffer_bytes", j.o.BufferBytes)
	j.warnedAt, j.warnedDropped = time.Now(), d
}

// sync waits (a little) until the records of function this node has
// buffered so far are written, so that a read on this node sees them.
func (j *Journal) sync(ctx context.Context, function string) {
	j.mu.Lock()
	if j.pending[function] == nil && !j.inflight[function] {
		j.mu.Unlock()
		return
	}
	done := make(chan struct{})
	j.syncs = append(j.syncs, done)
	j.mu.Unlock()
	j.poke()
	t := time.NewTimer(syncWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Forget drops a deleted function's log: its waiting records, its cache
// and its Follow streams now, its stream in Run's next round (never on
// the caller's goroutine: the catalog's watch calls it).
func (j *Journal) Forget(function string) {
	j.mu.Lock()
	if p := j.pending[function]; p != nil {
		j.buffered -= p.bytes
		delete(j.pending, function)
	}
	delete(j.ready, function)
	for f := range j.follows[function] {
		f.end()
	}
	j.forgotten[function] = true
	j.mu.Unlock()
	j.cache.Forget(function)
	j.poke()
}

// deleteStreams deletes the streams of forgotten functions. Every node
// of a cluster tries: a stream another node deleted first is fine.
func (j *Journal) deleteStreams(ctx context.Context, forgotten map[string]bool) {
	for function := range forgotten {
		service, fn, _ := strings.Cut(function, "/")
		dctx, cancel := context.WithTimeout(ctx, forgetTimeout)
		err := j.o.Streams.Delete(dctx, service, fn)
		cancel()
		if err != nil {
			j.log.Warn("deleting a deleted function's log stream failed", "function", function, "err", err)
		}
	}
}

// Close ends every Follow stream, now and later (a Follow after Close
// returns a closed channel), so that a server can drain its requests.
// Append, Query and Invocation keep working.
func (j *Journal) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	for _, fs := range j.follows {
		for f := range fs {
			f.end()
		}
	}
}
