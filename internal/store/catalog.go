package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

// parent identifies the container of a catalog entry: {} for a service,
// {service} for a function, {service, function} for a trigger and
// {service, qualifier, function} for a scaling config. Lookups with a
// fixed-size key allocate nothing.
type parent [3]string

// item is one catalog entry. A nil val is a tombstone: the key was deleted
// through this store and the watcher has not delivered the delete yet.
type item struct {
	rev uint64
	val any // *fc.Service, *fc.Function, *fc.Trigger, *fc.OnDemandConfig, *fc.ProvisionConfig, *storedVersion or *fc.Alias
}

// catalog is the in-memory copy of the metadata buckets.
//
// Two sources feed it: the bucket watchers, which deliver every change in
// stream order, and this store's own writes, applied as soon as they
// return. Revisions (stream sequences) arbitrate: an entry never goes back
// to an older revision, and a write the watcher has already passed is not
// applied again.
type catalog struct {
	mu   sync.RWMutex
	seen [numBuckets]uint64 // highest revision delivered by each watcher
	tab  [numBuckets]map[parent]map[string]item
	// byURLID indexes triggers by fc.Trigger.URLID (their subdomain id).
	byURLID map[string]trigRef
}

// trigRef locates a trigger in the catalog.
type trigRef struct {
	p    parent
	name string
}

func newCatalog() *catalog {
	c := &catalog{byURLID: map[string]trigRef{}}
	for b := range numBuckets {
		c.tab[b] = map[parent]map[string]item{}
	}
	return c
}

// splitKey turns a key into its parent and name.
func splitKey(b bucket, key string) (parent, string, bool) {
	parts := strings.Split(key, ".")
	if len(parts) != b.segments() {
		return parent{}, "", false
	}
	var p parent
	copy(p[:], parts[:len(parts)-1])
	return p, parts[len(parts)-1], true
}

func (c *catalog) lookup(b bucket, p parent, name string) (item, bool) {
	it, ok := c.tab[b][p][name]
	return it, ok
}

func (c *catalog) set(b bucket, p parent, name string, it item) {
	c.unindex(b, p, name)
	if t, ok := it.val.(*fc.Trigger); ok && b == bTriggers && t.TriggerID != "" {
		c.byURLID[t.URLID()] = trigRef{p, name}
	}
	m := c.tab[b][p]
	if m == nil {
		m = map[string]item{}
		c.tab[b][p] = m
	}
	m[name] = it
}

// unindex drops the subdomain index entry of the trigger stored at p/name.
func (c *catalog) unindex(b bucket, p parent, name string) {
	if b != bTriggers {
		return
	}
	if old, ok := c.tab[b][p][name].val.(*fc.Trigger); ok {
		if k, found := c.byURLID[old.URLID()]; found && k == (trigRef{p, name}) {
			delete(c.byURLID, old.URLID())
		}
	}
}

func (c *catalog) remove(b bucket, p parent, name string) {
	c.unindex(b, p, name)
	m := c.tab[b][p]
	delete(m, name)
	if len(m) == 0 {
		delete(c.tab[b], p)
	}
}

// watched applies a change delivered by b's watcher; val nil means the key
// was deleted or purged.
func (c *catalog) watched(b bucket, key string, rev uint64, val any) {
	p, name, ok := splitKey(b, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[b] = max(c.seen[b], rev)
	if !ok {
		return
	}
	if cur, found := c.lookup(b, p, name); found {
		// Newer already (a local write ahead of the watcher), or the echo
		// of a local write. A tombstone at the same revision is replaced.
		if cur.rev > rev || (cur.rev == rev && cur.val != nil) {
			return
		}
	}
	if val == nil {
		c.remove(b, p, name)
		return
	}
	c.set(b, p, name, item{rev: rev, val: val})
}

// localPut applies a write made through this store at revision rev.
func (c *catalog) localPut(b bucket, key string, rev uint64, val any) {
	p, name, ok := splitKey(b, key)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[b] >= rev {
		return // the watcher delivered this write, or something newer
	}
	if cur, found := c.lookup(b, p, name); found && cur.rev >= rev {
		return
	}
	c.set(b, p, name, item{rev: rev, val: val})
}

// localDelete applies a delete made through this store of the value at
// revision prev. kv.Delete does not return the delete marker's revision,
// but the compare-and-set guarantees it is after prev, so prev+1 is a
// lower bound; the watcher's delete event clears the tombstone.
func (c *catalog) localDelete(b bucket, key string, prev uint64) {
	p, name, ok := splitKey(b, key)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, found := c.lookup(b, p, name)
	switch {
	case found && cur.rev > prev:
		return // a tombstone already, or a value written after the delete
	case !found && c.seen[b] >= prev:
		return // gone, and no older event for the key can still arrive
	}
	c.set(b, p, name, item{rev: prev + 1})
}

// LookupFunction returns, from the catalog, the function and, when it has
// one, its HTTP trigger (the one with the smallest name when there are
// several; nil when there is none). ok is false when the service or
// function is unknown (serviceFound tells which). The values are shared:
// callers must not modify them.
func (s *JetStream) LookupFunction(service, function string) (f *fc.Function, httpTrigger *fc.Trigger, serviceFound, ok bool) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	if it, found := c.lookup(bServices, parent{}, service); !found || it.val == nil {
		return nil, nil, false, false
	}
	it, found := c.lookup(bFunctions, parent{service}, function)
	if !found || it.val == nil {
		return nil, nil, true, false
	}
	f = it.val.(*fc.Function)
	httpTrigger = c.httpTrigger(service, function, "")
	return f, httpTrigger, true, true
}

// LookupService returns, from the catalog, the service named name. The
// value is shared: callers must not modify it.
func (s *JetStream) LookupService(name string) (*fc.Service, bool) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	it, found := c.lookup(bServices, parent{}, name)
	svc, _ := it.val.(*fc.Service)
	return svc, found && svc != nil
}

// LookupTrigger returns, from the catalog, the trigger whose URLID (the id
// in its subdomain) is id, with its function. The values are shared:
// callers must not modify them.
func (s *JetStream) LookupTrigger(id string) (f *fc.Function, t *fc.Trigger, ok bool) {
	c := s.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, found := c.byURLID[id]
	if !found {
		return nil, nil, false
	}
	t, _ = c.tab[bTriggers][k.p][k.name].val.(*fc.Trigger)
	fit, _ := c.lookup(bFunctions, parent{k.p[0]}, k.p[1])
	f, _ = fit.val.(*fc.Function)
	if t == nil || f == nil {
		return nil, nil, false
	}
	return f, t, true
}

// watch feeds bucket b's changes into the catalog until ctx ends. It reports
// on ready once: nil when the initial snapshot is loaded, or the error that
// stopped it before.
func (s *JetStream) watch(ctx context.Context, b bucket, ready chan<- error) {
	defer s.wg.Done()
	w, err := watchAll(ctx, s.kv[b])
	if err != nil {
		ready <- fmt.Errorf("store: watch %s: %w", b.name(), err)
		return
	}
	defer stopWatcher(w)
	loading := true
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				err := fmt.Errorf("store: watch %s: %w", b.name(), errWatchClosed)
				if loading {
					ready <- err
				} else if ctx.Err() == nil {
					s.log.Error("catalog watcher stopped; the catalog will not see further changes", "bucket", b.name(), "err", err)
				}
				return
			}
			if e == nil {
				if loading {
					loading = false
					ready <- nil
				}
				continue
			}
			s.applyEntry(b, e)
		case <-ctx.Done():
			if loading {
				ready <- fmt.Errorf("store: watch %s: %w", b.name(), ctx.Err())
			}
			return
		}
	}
}

// watchAll starts a watcher of kv's keys. Its consumer is created on the
// bucket's leader, which a cluster starting on a loaded machine may not
// have elected yet: retried as placement is. The watcher lives with ctx,
// not with one attempt's.
func watchAll(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyWatcher, error) {
	var w jetstream.KeyWatcher
	err := natsx.RetryPlacement(ctx, func(context.Context) (err error) {
		w, err = kv.WatchAll(ctx)
		return err
	})
	return w, err
}

// errWatchClosed: nats.go closed a watcher's channel, which it does when
// the subscription ends (connection closed).
var errWatchClosed = errors.New("watcher closed")

// applyEntry decodes a watched entry into the catalog.
func (s *JetStream) applyEntry(b bucket, e jetstream.KeyValueEntry) {
	var val any
	if e.Operation() == jetstream.KeyValuePut {
		v, err := decode(b, e.Key(), e.Value())
		if err != nil {
			s.log.Warn("catalog: skipping bad entry", "bucket", b.name(), "key", e.Key(), "rev", e.Revision(), "err", err)
		} else {
			val = v
		}
	}
	s.cat.watched(b, e.Key(), e.Revision(), val)
}
