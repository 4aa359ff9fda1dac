// Package codegc collects the code packages nothing references any more:
// the zips in the store, which every node shares, and the directories this
// node unpacked them into.
//
// A package is referenced when a Referrer names its checksum (every
// function in the store; later, published versions). One that is not
// goes, unless this node is using it: a write that stores or reuses it
// holds it until the function is written (Hold), and an instance starting
// from it or running on it keeps it (Dirs.InUse). When the store is shared
// with other nodes, whose writes and instances this node cannot see, a
// zip also has to be unreferenced for a grace period first, as seen by
// this collector, and stored longer ago than that.
//
// Passes run when asked (Kick, Released), every Interval, and once at
// start for what a crash left behind.
package codegc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/store"
)

// Zips is the store's code packages (store.JetStream).
type Zips interface {
	// ListCode lists the stored zips.
	ListCode(ctx context.Context) ([]store.CodeInfo, error)
	// DeleteCode removes a zip; absent is not an error.
	DeleteCode(ctx context.Context, checksum string) error
}

// Dirs is this node's unpacked code (the daemon's code cache).
type Dirs interface {
	// InUse reports whether an instance on this node is starting from
	// or running on the code.
	InUse(checksum string) bool
	// Sweep removes the unpacked code of every checksum keep refuses
	// that is not in use, and whatever interrupted unpacks and sweeps
	// left; it returns how many directories it removed.
	Sweep(keep func(checksum string) bool) (int, error)
}

// Referrer returns checksums that something references: they are kept.
type Referrer func(ctx context.Context) ([]string, error)

// Defaults of Options.
const (
	DefaultGrace    = 10 * time.Minute
	DefaultInterval = time.Minute
)

// Options configure a Collector.
type Options struct {
	Zips Zips
	// Dirs may be nil: no unpacked code on this node.
	Dirs Dirs
	// Referrers name every referenced checksum; a pass whose referrer
	// fails removes nothing.
	Referrers []Referrer
	// Shared says other nodes use the store too: a zip then goes only
	// once it has been unreferenced for Grace, and stored longer ago.
	Shared bool
	// Grace: DefaultGrace when zero.
	Grace time.Duration
	// Interval between passes nobody asked for: DefaultInterval when
	// zero.
	Interval time.Duration
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Collector removes unreferenced code. Its methods are safe for
// concurrent use.
type Collector struct {
	opts Options
	log  *slog.Logger
	kick chan struct{} // a pass is wanted; capacity 1 folds requests

	pass sync.Mutex // one pass at a time; guards unrefSince
	// unrefSince is when a pass first found each stored zip unreferenced
	// (Shared only).
	unrefSince map[string]time.Time

	mu sync.Mutex // guards holds and seq; held while a zip is deleted
	// holds are the checksums writes hold. A pass spares a zip held at
	// any time since it began (its start seq), before it listed the
	// references: the function referencing the zip may have been written
	// after the listing.
	holds map[string]hold
	seq   uint64 // counts Hold and release calls
}

// hold is how many writes hold a checksum, and the seq of the last Hold
// and of the last release.
type hold struct {
	n              int
	held, released uint64
}

// since reports whether h was held at any time after seq start.
func (h hold) since(start uint64) bool { return h.n > 0 || h.held > start || h.released > start }

// New returns a Collector; Run starts its passes.
func New(o Options) *Collector {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{opts: o, log: log, kick: make(chan struct{}, 1),
		unrefSince: map[string]time.Time{}, holds: map[string]hold{}}
}

// Hold keeps checksum from collection until release is called (once; more
// calls do nothing). A write holds the package it stores or reuses until
// the function that references it is written. Hold waits while the zip
// is being deleted: the write then finds it gone and stores it again.
func (c *Collector) Hold(checksum string) (release func()) {
	c.mu.Lock()
	c.seq++
	h := c.holds[checksum]
	h.n++
	h.held = c.seq
	c.holds[checksum] = h
	c.mu.Unlock()
	return sync.OnceFunc(func() {
		c.mu.Lock()
		c.seq++
		h := c.holds[checksum]
		h.n--
		h.released = c.seq
		c.holds[checksum] = h
		c.mu.Unlock()
	})
}

// Kick asks for a pass soon (Run); it never blocks.
func (c *Collector) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Released tells that a write stopped referencing checksum. Its zip goes
// now when nothing references or holds it (and the store is this node's
// alone); a pass follows for the rest (its directory, zips released
// while in use).
func (c *Collector) Released(ctx context.Context, checksum string) {
	defer c.Kick()
	if c.opts.Shared {
		return // the grace period applies: the passes take it
	}
	c.pass.Lock()
	defer c.pass.Unlock()
	start := c.begin()
	refs, err := c.references(ctx)
	if err != nil {
		c.log.Warn("code collection: listing references failed", "err", err)
		return
	}
	if refs[checksum] {
		return
	}
	if deleted, err := c.deleteZip(ctx, checksum, start); err != nil {
		c.log.Warn("code collection: deleting a released zip failed", "checksum", checksum, "err", err)
	} else if deleted {
		c.log.Info("collected released code", "checksum", checksum)
	}
}

// Run runs a pass at once, then whenever asked and every Interval, until
// ctx ends.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		if _, err := c.Collect(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("code collection failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// Result is what a pass removed.
type Result struct {
	Zips, Dirs int
}

// Collect runs one pass: it removes the unpacked directories, then the
// zips, that nothing references and nothing on this node uses.
func (c *Collector) Collect(ctx context.Context) (Result, error) {
	c.pass.Lock()
	defer c.pass.Unlock()
	var res Result
	start := c.begin()
	// The zips are listed before the references: a function written
	// after this listing references a zip listed here only if it was
	// stored before, which Hold and the grace period cover.
	zips, err := c.opts.Zips.ListCode(ctx)
	if err != nil {
		return res, err
	}
	refs, err := c.references(ctx)
	if err != nil {
		return res, err
	}
	if c.opts.Dirs != nil {
		n, err := c.opts.Dirs.Sweep(func(sum string) bool { return refs[sum] })
		res.Dirs = n
		if err != nil {
			return res, err
		}
	}
	now := c.opts.Now()
	listed := make(map[string]bool, len(zips))
	var errs []error
	for _, z := range zips {
		listed[z.Checksum] = true
		if refs[z.Checksum] {
			delete(c.unrefSince, z.Checksum)
			continue
		}
		if !c.graceOver(z, now) {
			continue
		}
		deleted, err := c.deleteZip(ctx, z.Checksum, start)
		if deleted {
			res.Zips++
		}
		errs = append(errs, err)
	}
	for sum := range c.unrefSince {
		if !listed[sum] {
			delete(c.unrefSince, sum)
		}
	}
	if res.Zips > 0 || res.Dirs > 0 {
		c.log.Info("collected unreferenced code", "zips", res.Zips, "dirs", res.Dirs)
	}
	return res, errors.Join(errs...)
}

// begin starts a pass: it returns the seq that holds taken from now on
// exceed, and forgets the holds that ended before.
func (c *Collector) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for sum, h := range c.holds {
		if h.n == 0 {
			delete(c.holds, sum)
		}
	}
	return c.seq
}

// references returns every referenced checksum.
func (c *Collector) references(ctx context.Context) (map[string]bool, error) {
	refs := map[string]bool{}
	for _, r := range c.opts.Referrers {
		sums, err := r(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range sums {
			refs[s] = true
		}
	}
	return refs, nil
}

// graceOver applies the shared store's grace period to an unreferenced
// zip: another node may be starting an instance from it (its catalog a
// moment behind), or writing a function that uses it.
func (c *Collector) graceOver(z store.CodeInfo, now time.Time) bool {
	if !c.opts.Shared {
		return true
	}
	since, ok := c.unrefSince[z.Checksum]
	if !ok {
		c.unrefSince[z.Checksum] = now
		return false
	}
	return now.Sub(since) >= c.opts.Grace && now.Sub(z.ModTime) >= c.opts.Grace
}

// deleteZip deletes an unreferenced zip unless a write held it since the
// pass began (start) or an instance here uses it. The holds stay locked
// during the delete, so a Hold that comes meanwhile waits for it.
func (c *Collector) deleteZip(ctx context.Context, sum string, start uint64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds[sum].since(start) {
		return false, nil
	}
	if c.opts.Dirs != nil && c.opts.Dirs.InUse(sum) {
		return false, nil
	}
	if err := c.opts.Zips.DeleteCode(ctx, sum); err != nil {
		return false, err
	}
	delete(c.unrefSince, sum)
	return true, nil
}
