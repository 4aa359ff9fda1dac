package daemon

import (
	"context"
	"fmt"

	"github.com/openfc/openfc/internal/async"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/gateway"
	"github.com/openfc/openfc/internal/store"
)

// This file wires asynchronous invocation: the queue and the task
// records on JetStream, and the async service that accepts into them
// (the gateway's Queue) and runs what they hold (its workers, through the
// gateway's RunAsync).

// openAsync opens the async stream and the task records and builds the
// service; Enqueue works from here on, the workers start in startAsync.
func (d *Daemon) openAsync(ctx context.Context) error {
	o := d.opts
	q, err := store.OpenAsyncQueue(ctx, d.nats.JS, d.replicas)
	if err != nil {
		return err
	}
	tasks, err := store.OpenAsyncTasks(ctx, d.nats.JS, d.replicas)
	if err != nil {
		return err
	}
	d.async = async.New(async.Options{
		NC:        d.nats.NC,
		Queue:     q,
		Tasks:     tasks,
		Configs:   d.store,
		Workers:   o.AsyncWorkers,
		Region:    o.Region,
		AccountID: o.AccountID,
		Logger:    d.log.With("component", "async"),
		// Set in startAsync, before the workers start.
		Runner: runnerFunc(func(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome {
			return d.asyncRunner.RunAsync(ctx, req)
		}),
	})
	return nil
}

// startAsync starts this node's async workers, which run each attempt
// through the gateway: the service was built before it (the gateway's
// Queue), so its Runner reaches the gateway through d.asyncRunner, set
// here before any worker runs.
func (d *Daemon) startAsync(ctx context.Context, gw *gateway.Gateway) error {
	d.asyncRunner = gw
	if err := d.async.Start(ctx); err != nil {
		return fmt.Errorf("starting the async workers: %w", err)
	}
	return nil
}

// runnerFunc gives the async service its Runner.
type runnerFunc func(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome

func (f runnerFunc) RunAsync(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome {
	return f(ctx, req)
}
