package daemon

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/internal/store"
)

// This file builds the instance logs: a JetStream stream per function
// that every node writes its instances' output to and reads from
// (logs.Journal on store.LogStreams), and this node's cache of its own
// recent records for the per-request tail.

// newLogs builds the journal and registers its metric; startLogs runs its
// writer until stopLogs.
func (d *Daemon) newLogs(reg prometheus.Registerer) {
	o := d.opts
	streams := store.NewLogStreams(d.nats.JS, store.LogStreamsConfig{
		Replicas: d.replicas,
		MaxBytes: int64(o.LogBytesPerFunction),
		MaxAge:   o.LogMaxAge,
	})
	d.logs = logs.NewJournal(logs.JournalOptions{
		Streams: streams,
		Node:    d.nodeName,
		Cache:   logs.New(logs.Options{MaxBytesPerFunction: min(o.LogBytesPerFunction, logs.DefaultMaxBytesPerFunction)}),
		Exists: func(service, function string) bool {
			_, _, _, ok := d.store.LookupFunction(service, function)
			return ok
		},
		// A message well inside the stream's limit, so that a small
		// --log-bytes-per-function still keeps several.
		BatchBytes: min(logs.DefaultBatchBytes, max(o.LogBytesPerFunction/4, 256)),
		Logger:     d.log.With("component", "logs"),
	})
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "openfc_log_records_dropped_total",
		Help: "Instance log records dropped: the buffer was full (NATS unreachable or slow), or the log stream refused them.",
	}, func() float64 { return float64(d.logs.Dropped()) }))
}

func (d *Daemon) startLogs(ctx context.Context) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.logs.Run(lctx)
	}()
	// After the instances stopped (their last lines), before NATS goes.
	d.stopLogs = func() {
		cancel()
		<-done
	}
}
