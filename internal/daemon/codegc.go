package daemon

import (
	"context"
	"path/filepath"

	"github.com/openfc/openfc/internal/codegc"
)

// codeGC is this node's code: the cache of unpacked code the instances
// run from, and the collector that removes what no function references.
// The daemon owns the collector's loop: start runs it, stop ends it
// (before the store closes).
type codeGC struct {
	cache     *codeCache
	collector *codegc.Collector
	cancel    context.CancelFunc
	done      chan struct{}
}

// newCodeGC builds the code cache (under <data>/code) and its collector
// on the opened store. Zips go as soon as they are unreferenced when the
// store is this node's alone; once other nodes can reach it (an external
// NATS, or the embedded one listening), the collector's grace period
// protects their uploads and instances.
func (d *Daemon) newCodeGC() *codeGC {
	o := d.opts
	log := d.log.With("component", "code")
	cache := newCodeCache(filepath.Join(o.DataDir, "code"), d.store, codeLimits(o), log)
	c := codegc.New(codegc.Options{
		Zips:      d.store,
		Dirs:      cache,
		Referrers: []codegc.Referrer{d.store.FunctionCodeChecksums, d.store.VersionCodeChecksums},
		Shared:    o.SharedStore(),
		Logger:    log,
	})
	cache.released = c.Kick // an instance stopped: its code may be unreferenced
	return &codeGC{cache: cache, collector: c}
}

// start runs the collector's passes, the first at once: it removes what
// a crash left behind.
func (g *codeGC) start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan struct{})
	go func() {
		defer close(g.done)
		g.collector.Run(ctx)
	}()
}

// stop ends the collector's loop and waits for it. Safe on a nil or
// unstarted codeGC, and more than once.
func (g *codeGC) stop() {
	if g == nil || g.cancel == nil {
		return
	}
	g.cancel()
	<-g.done
}
