package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/store"
)

// This file reads the durable log (journal.go) back: a query reads a
// function's stream up to its end, a follower reads on; and it is where
// the stream's messages are encoded and decoded.

const (
	// queryTimeout bounds a query's read of a stream whose context has
	// no deadline of its own.
	queryTimeout = 30 * time.Second
	// followBacklog bounds a follow's backlog when it has no Tail: the
	// records wait in memory until the stream's end is reached.
	followBacklog = 100000
)

// batch is one stream message: records of one function, written by one
// node. The function is the stream's.
type batch struct {
	Node    string        `json:"node,omitempty"`
	Records []batchRecord `json:"records"`
}

type batchRecord struct {
	Time      time.Time `json:"time"`
	Instance  string    `json:"instanceId"`
	RequestID string    `json:"requestId,omitempty"`
	Message   string    `json:"message"`
}

// encodeBatch encodes the first records of recs (at least one) that fit
// in maxBytes, and returns how many it took. A record too long for a
// message of its own has its message cut to fit.
func encodeBatch(node string, recs []Record, maxBytes int) ([]byte, int) {
	head, _ := json.Marshal(node)
	buf := make([]byte, 0, min(maxBytes, 4096))
	buf = append(append(append(buf, `{"node":`...), head...), `,"records":[`...)
	const tail = len(`]}`)
	n := 0
	for _, r := range recs {
		br := batchRecord{Time: r.Time, Instance: r.Instance, RequestID: r.RequestID, Message: r.Message}
		b, _ := json.Marshal(br)
		room := maxBytes - len(buf) - tail - 1 // the comma
		if len(b) > room && n == 0 {
			// Alone and still too long: cut the message until it fits
			// (escapes make the encoding longer than the text).
			for len(b) > room && br.Message != "" {
				br.Message = br.Message[:len(br.Message)*2/3]
				b, _ = json.Marshal(br)
			}
		}
		if len(b) > room && n > 0 {
			break
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		n++
	}
	return append(buf, "]}"...), n
}

// decodeBatch returns the records of a message of function's stream; a
// message it cannot read yields none.
func decodeBatch(function string, data []byte) []Record {
	var b batch
	if json.Unmarshal(data, &b) != nil {
		return nil
	}
	out := make([]Record, len(b.Records))
	for i, r := range b.Records {
		out[i] = Record{Time: r.Time, Function: function, Node: b.Node, Instance: r.Instance, RequestID: r.RequestID, Message: r.Message}
	}
	return out
}

// tailRing keeps the matching records of a read, only the last Tail of
// them when Tail is set.
type tailRing struct {
	f    Filter
	max  int
	recs []Record
}

func newTailRing(f Filter, unbounded int) *tailRing {
	m := f.Tail
	if m <= 0 {
		m = unbounded
	}
	return &tailRing{f: f, max: m}
}

func (t *tailRing) add(recs []Record) {
	for i := range recs {
		if !t.f.match(&recs[i]) {
			continue
		}
		t.recs = append(t.recs, recs[i])
		if t.max > 0 && len(t.recs) >= 2*t.max {
			n := copy(t.recs, t.recs[len(t.recs)-t.max:])
			clear(t.recs[n:])
			t.recs = t.recs[:n]
		}
	}
}

func (t *tailRing) result() []Record {
	if t.max > 0 && len(t.recs) > t.max {
		return t.recs[len(t.recs)-t.max:]
	}
	return t.recs
}

// Query returns function's records that match f, oldest first, as the
// stream holds them (every node's, this node's buffered ones included).
func (j *Journal) Query(ctx context.Context, function string, f Filter) ([]Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, queryTimeout)
		defer cancel()
	}
	j.sync(ctx, function)
	service, fn, _ := strings.Cut(function, "/")
	cur, err := j.o.Streams.Open(ctx, service, fn, f.Since)
	if errors.Is(err, store.ErrNoLogStream) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", function, err)
	}
	defer cur.Close()
	ring := newTailRing(f, 0)
	for !cur.CaughtUp() {
		data, err := cur.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("logs of %s: %w", function, err)
		}
		ring.add(decodeBatch(function, data))
	}
	return ring.result(), nil
}

// journalFollower is one Follow stream, ended by Forget or Close.
type journalFollower struct {
	cancel context.CancelFunc
	once   sync.Once
}

func (f *journalFollower) end() { f.once.Do(f.cancel) }

// Follow streams function's records that match f (f.Tail applies to those
// already stored), then every matching record stored after, from any
// node, until ctx ends, the function is forgotten, or the journal is
// closed; the channel is then closed. The backlog and the live records
// join without a gap or a duplicate (one ordered read of the stream). A
// slow reader slows only its own read of the stream.
//
// The error is the stream's (NATS unreachable): nothing was sent then.
// Follow starts a goroutine that ends with the stream.
func (j *Journal) Follow(ctx context.Context, function string, f Filter) (<-chan Record, error) {
	out := make(chan Record, 64)
	fctx, cancel := context.WithCancel(ctx)
	sub := &journalFollower{cancel: cancel}
	if !j.addFollower(function, sub) {
		cancel()
		close(out)
		return out, nil
	}
	cur, err := j.openFollow(fctx, function, f.Since)
	if err != nil {
		j.removeFollower(function, sub)
		cancel()
		return nil, err
	}
	go func() {
		defer close(out)
		defer j.removeFollower(function, sub)
		defer cancel()
		defer cur.Close()
		send := func(r Record) bool {
			select {
			case out <- r:
				return true
			case <-fctx.Done():
				return false
			}
		}
		ring := newTailRing(f, followBacklog)
		for !cur.CaughtUp() {
			data, err := cur.Next(fctx)
			if err != nil {
				return
			}
			ring.add(decodeBatch(function, data))
		}
		for _, r := range ring.result() {
			if !send(r) {
				return
			}
		}
		for {
			data, err := cur.Next(fctx)
			if err != nil {
				return
			}
			for _, r := range decodeBatch(function, data) {
				if f.match(&r) && !send(r) {
					return
				}
			}
		}
	}()
	return out, nil
}

// openFollow opens a cursor on function's stream for Follow, creating
// the stream when it has none yet (the caller checked that the function
// exists): a follower waits for the first output.
func (j *Journal) openFollow(ctx context.Context, function string, since time.Time) (*store.LogCursor, error) {
	j.sync(ctx, function)
	service, fn, _ := strings.Cut(function, "/")
	cur, err := j.o.Streams.Open(ctx, service, fn, since)
	if errors.Is(err, store.ErrNoLogStream) {
		ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
		err = j.o.Streams.Ensure(ectx, service, fn)
		cancel()
		if err == nil {
			cur, err = j.o.Streams.Open(ctx, service, fn, since)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", function, err)
	}
	return cur, nil
}

func (j *Journal) addFollower(function string, f *journalFollower) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return false
	}
	fs := j.follows[function]
	if fs == nil {
		fs = make(map[*journalFollower]struct{})
		j.follows[function] = fs
	}
	fs[f] = struct{}{}
	return true
}

func (j *Journal) removeFollower(function string, f *journalFollower) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.follows[function], f)
	if len(j.follows[function]) == 0 {
		delete(j.follows, function)
	}
}
