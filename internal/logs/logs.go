// Package logs holds the output of function instances. The Journal
// (journal.go, read.go) is the cluster's log: records are batched per
// function into JetStream streams, so that every node reads the same and
// they survive restarts. The Store (this file) is a node's in-memory
// cache of its own recent records, for the per-invocation tail (FC's
// X-Fc-Log-Result) read without a round trip; it can also be queried and
// followed on its own. The Store is bounded: each function keeps at most
// Options.MaxBytesPerFunction of records (oldest dropped first) and at
// most Options.MaxFunctions functions are kept (the least recently
// written is evicted).
package logs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options: a cache for the tails of recent invocations.
const (
	DefaultMaxBytesPerFunction = 256 << 10
	DefaultMaxFunctions        = 1000
)

// recordOverhead is what a record costs beyond its strings' bytes, for
// retention accounting (the struct, the slice slot, string headers).
const recordOverhead = 96

// followBuffer is how many live records a Follow stream buffers before
// Append starts dropping records for it.
const followBuffer = 1024

// Record is one line of a function instance's output, or one of the
// runtime markers ("FC Invoke Start RequestId: <id>", …).
type Record struct {
	Time      time.Time `json:"time"`
	Function  string    `json:"function"`       // "service/function"
	Node      string    `json:"node,omitempty"` // the node whose instance wrote it
	Instance  string    `json:"instanceId"`
	RequestID string    `json:"requestId,omitempty"` // the invocation the line belongs to, when known
	Message   string    `json:"message"`             // one line, without the trailing newline
}

// size is what r counts against its function's byte budget.
func (r *Record) size() int {
	return len(r.Message) + len(r.Instance) + len(r.RequestID) + recordOverhead
}

// Filter selects records. The zero Filter selects every kept record.
type Filter struct {
	// RequestID and Instance, when set, must equal the record's.
	RequestID, Instance string
	// Since, when set, excludes records older than it.
	Since time.Time
	// Tail keeps only the last Tail matching records; 0 keeps all.
	Tail int
}

func (f *Filter) match(r *Record) bool {
	return (f.RequestID == "" || r.RequestID == f.RequestID) &&
		(f.Instance == "" || r.Instance == f.Instance) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since))
}

// Options bound a Store. Zero fields take the defaults.
type Options struct {
	// MaxBytesPerFunction bounds each function's records (message, instance
	// and request id bytes plus a fixed per-record overhead). Default 256 KiB.
	MaxBytesPerFunction int
	// MaxFunctions bounds how many functions have records; past it the
	// least recently written function is evicted. Default 1000.
	MaxFunctions int
}

// Store is the in-memory log store. It is safe for concurrent use.
type Store struct {
	opts Options

	// mu guards fns and closed. Append, Query and friends hold it shared
	// (and lock the one function's log); creating, evicting and
	// forgetting a function hold it exclusively.
	mu     sync.RWMutex
	fns    map[string]*funcLog
	closed bool
	// clock orders functions by their last write, for eviction.
	clock atomic.Uint64
}

// funcLog is one function's records, oldest first, and its followers.
type funcLog struct {
	name string

	mu        sync.Mutex
	recs      []Record // recs[head:] are the kept records
	head      int
	bytes     int
	lastWrite uint64 // a Store.clock tick; written with Store.mu shared, read with it exclusive
	subs      map[*follower]struct{}
}

// follower is one Follow stream's subscription.
type follower struct {
	f    Filter
	live chan liveRecord
	// gone is closed (by end) when the function is forgotten or evicted,
	// or the store is closed.
	gone     chan struct{}
	goneOnce sync.Once
	// dropped counts records not delivered since the last one that was;
	// guarded by the function's lock.
	dropped int
}

// end ends the stream; it may be called more than once.
func (f *follower) end() { f.goneOnce.Do(func() { close(f.gone) }) }

// liveRecord is a live record and how many were dropped just before it.
type liveRecord struct {
	rec     Record
	dropped int
}

// New returns an empty store.
func New(o Options) *Store {
	if o.MaxBytesPerFunction <= 0 {
		o.MaxBytesPerFunction = DefaultMaxBytesPerFunction
	}
	if o.MaxFunctions <= 0 {
		o.MaxFunctions = DefaultMaxFunctions
	}
	return &Store{opts: o, fns: make(map[string]*funcLog)}
}

// Append adds a record to its function's log (r.Function) and hands it to
// the function's Follow streams without waiting for them. A zero r.Time is
// set to now. A message longer than the function's whole budget is cut
// to fit. Append is cheap and safe for concurrent use.
func (s *Store) Append(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if limit := s.opts.MaxBytesPerFunction - recordOverhead - len(r.Instance) - len(r.RequestID); len(r.Message) > limit {
		r.Message = r.Message[:max(limit, 0)]
	}
	s.mu.RLock()
	fl := s.fns[r.Function]
	if fl == nil {
		s.mu.RUnlock()
		s.create(r.Function)
		s.mu.RLock()
		if fl = s.fns[r.Function]; fl == nil {
			// Evicted or forgotten in between: the record is dropped,
			// as it would have been an instant later.
			s.mu.RUnlock()
			return
		}
	}
	defer s.mu.RUnlock()
	fl.append(r, s.clock.Add(1), s.opts.MaxBytesPerFunction)
}

// create adds an empty log for function unless it exists, evicting the
// least recently written function when the store is full.
func (s *Store) create(function string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns[function] != nil {
		return
	}
	for len(s.fns) >= s.opts.MaxFunctions {
		s.evictLocked()
	}
	s.fns[function] = &funcLog{name: function, subs: make(map[*follower]struct{})}
}

// evictLocked removes the least recently written function, preferring one
// that nobody follows. s.mu is held exclusively, so no appender runs.
func (s *Store) evictLocked() {
	var victim, followed *funcLog
	for _, fl := range s.fns {
		if len(fl.subs) == 0 {
			if victim == nil || fl.lastWrite < victim.lastWrite {
				victim = fl
			}
		} else if followed == nil || fl.lastWrite < followed.lastWrite {
			followed = fl
		}
	}
	if victim == nil {
		victim = followed
	}
	s.removeLocked(victim)
}

// removeLocked drops fl and ends its Follow streams; s.mu is held
// exclusively.
func (s *Store) removeLocked(fl *funcLog) {
	delete(s.fns, fl.name)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for f := range fl.subs {
		f.end()
	}
	fl.subs = nil
	fl.recs, fl.head, fl.bytes = nil, 0, 0
}

// append adds r, drops the oldest records past maxBytes and offers r to
// the followers.
func (fl *funcLog) append(r Record, tick uint64, maxBytes int) {
	r.Function = fl.name // share one copy of the name
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.lastWrite = tick
	fl.recs = append(fl.recs, r)
	fl.bytes += r.size()
	for fl.bytes > maxBytes && fl.head < len(fl.recs)-1 {
		fl.bytes -= fl.recs[fl.head].size()
		fl.recs[fl.head] = Record{} // let the strings go
		fl.head++
	}
	if fl.head > 64 && fl.head > len(fl.recs)/2 {
		n := copy(fl.recs, fl.recs[fl.head:])
		clear(fl.recs[n:])
		fl.recs, fl.head = fl.recs[:n], 0
	}
	for f := range fl.subs {
		if !f.f.match(&r) {
			continue
		}
		select {
		case f.live <- liveRecord{rec: r, dropped: f.dropped}:
			f.dropped = 0
		default:
			f.dropped++
		}
	}
}

// kept returns the kept records (shared; call with fl.mu held).
func (fl *funcLog) kept() []Record { return fl.recs[fl.head:] }

// selectLocked returns copies of the kept records matching f (with f.Tail
// applied); fl.mu is held.
func (fl *funcLog) selectLocked(f Filter) []Record {
	kept := fl.kept()
	var out []Record
	for i := len(kept) - 1; i >= 0; i-- {
		if f.Tail > 0 && len(out) == f.Tail {
			break
		}
		if f.match(&kept[i]) {
			out = append(out, kept[i])
		}
	}
	slices.Reverse(out)
	return out
}

// Query returns the function's kept records that match f, oldest first.
func (s *Store) Query(function string, f Filter) []Record {
	fl, unlock := s.lockLog(function)
	if fl == nil {
		return nil
	}
	defer unlock()
	return fl.selectLocked(f)
}

// lockLog returns the function's log locked for reading (the store
// shared, the log exclusively) and the function that unlocks both; nil
// when the function has no log.
func (s *Store) lockLog(function string) (*funcLog, func()) {
	s.mu.RLock()
	fl := s.fns[function]
	if fl == nil {
		s.mu.RUnlock()
		return nil, nil
	}
	fl.mu.Lock()
	return fl, func() {
		fl.mu.Unlock()
		s.mu.RUnlock()
	}
}

// Follow streams the function's kept records that match f (f.Tail
// applies to these), then every matching record appended after, until ctx
// ends, the function is forgotten or evicted, or the store is closed; the
// channel is then closed. The backlog and the live records join without
// a gap or a duplicate.
//
// Follow never slows Append down: live records wait in a buffer of
// followBuffer records, and when a reader falls that far behind, Append
// drops records for it. The stream then carries, before the next record
// it does deliver, a record with an empty Instance whose Message says how
// many were dropped.
//
// Follow starts a goroutine that ends with the stream; the caller must
// cancel ctx (or read until the channel closes) to release it.
func (s *Store) Follow(ctx context.Context, function string, f Filter) <-chan Record {
	out := make(chan Record, 64)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		close(out)
		return out
	}
	fl := s.fns[function]
	if fl == nil {
		for len(s.fns) >= s.opts.MaxFunctions {
			s.evictLocked()
		}
		fl = &funcLog{name: function, subs: make(map[*follower]struct{})}
		s.fns[function] = fl
	}
	sub := &follower{f: f, live: make(chan liveRecord, followBuffer), gone: make(chan struct{})}
	fl.mu.Lock()
	backlog := fl.selectLocked(f)
	fl.subs[sub] = struct{}{}
	fl.mu.Unlock()
	s.mu.Unlock()

	go func() {
		defer close(out)
		defer s.unfollow(fl, sub)
		send := func(r Record) bool {
			select {
			case out <- r:
				return true
			case <-ctx.Done():
				return false
			case <-sub.gone:
				return false
			}
		}
		for _, r := range backlog {
			if !send(r) {
				return
			}
		}
		backlog = nil
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.gone:
				return
			case lr := <-sub.live:
				if lr.dropped > 0 && !send(droppedNotice(function, lr)) {
					return
				}
				if !send(lr.rec) {
					return
				}
			}
		}
	}()
	return out
}

// droppedNotice is the record that tells a follower records were lost.
func droppedNotice(function string, lr liveRecord) Record {
	return Record{
		Time:     lr.rec.Time,
		Function: function,
		Message:  fmt.Sprintf("openfc: %d log records dropped here: the reader is too slow", lr.dropped),
	}
}

// unfollow removes a follower, and the function's log when it is left
// empty and unfollowed.
func (s *Store) unfollow(fl *funcLog, sub *follower) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl.mu.Lock()
	delete(fl.subs, sub)
	empty := len(fl.subs) == 0 && len(fl.kept()) == 0
	fl.mu.Unlock()
	if empty && s.fns[fl.name] == fl {
		delete(s.fns, fl.name)
	}
}

// Invocation returns the lines of one invocation — the function's kept
// records with that request id, as "message\n" each — keeping only the
// last maxBytes bytes (all of them when maxBytes <= 0). FC's
// X-Fc-Log-Result is the base64 of the last 4 KB.
func (s *Store) Invocation(function, requestID string, maxBytes int) []byte {
	if requestID == "" {
		return nil
	}
	fl, unlock := s.lockLog(function)
	if fl == nil {
		return nil
	}
	defer unlock()
	kept := fl.kept()
	// Walk back to the first record needed, then write forwards.
	total, first := 0, len(kept)
	for i := len(kept) - 1; i >= 0 && (maxBytes <= 0 || total < maxBytes); i-- {
		if kept[i].RequestID == requestID {
			total += len(kept[i].Message) + 1
			first = i
		}
	}
	if total == 0 {
		return nil
	}
	buf := make([]byte, 0, total)
	for _, r := range kept[first:] {
		if r.RequestID == requestID {
			buf = append(buf, r.Message...)
			buf = append(buf, '\n')
		}
	}
	if maxBytes > 0 && len(buf) > maxBytes {
		buf = buf[len(buf)-maxBytes:]
	}
	return buf
}

// Forget drops the function's records and ends its Follow streams (for a
// deleted function).
func (s *Store) Forget(function string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fl := s.fns[function]; fl != nil {
		s.removeLocked(fl)
	}
}

// Close ends every Follow stream, now and later (a Follow after Close
// returns a closed channel), so that a server can drain its requests.
// Append, Query and Invocation keep working.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, fl := range s.fns {
		fl.mu.Lock()
		for f := range fl.subs {
			f.end()
		}
		fl.mu.Unlock()
	}
}
