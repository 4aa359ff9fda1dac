// Package async is openfc's asynchronous invocation (FC spec §6): the
// accepted requests queued durably in JetStream, the workers every node
// runs to invoke them, their delays, retries and maximum age, the
// destinations told of the result, and the task records (stateful async
// invocations) that can be listed, read and stopped.
//
// Delivery is at least once: a node that dies while it runs a request
// leaves the message unacknowledged and another node runs it again within
// the ack wait. A task's record counts every attempt, so a rerun shows.
package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
)

// Defaults of Options.
const (
	DefaultWorkers      = 16
	DefaultAckWait      = 15 * time.Second
	defaultRetryBase    = time.Second
	defaultThrottleBase = 500 * time.Millisecond
	maxBackoff          = 5 * time.Minute
	// configTTL is how long a function's async config is reused before
	// it is read again: the accept path reads it for every request.
	configTTL = 2 * time.Second
	// publishTimeout bounds the wait for JetStream's ack of an accept. It
	// outlasts a Raft election (at most 9 s), so that an accept while
	// the queue's leader is on a node that just died waits for the new
	// leader rather than answering 503.
	publishTimeout = 12 * time.Second
	// stopSubject carries the key of a task to stop to every node. It
	// is outside the queue's subjects (openfc.async.>).
	stopSubject = "openfc.tasks.stop"
)

// Runner runs one attempt of an async request through the invocation
// chain (the gateway's RunAsync). Cancelling ctx cuts the attempt short.
type Runner interface {
	RunAsync(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome
}

// Configs reads a function's async config: an error wrapping
// fc.ErrNotFound when it has none (the defaults apply).
type Configs interface {
	GetAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) (*fc.AsyncInvokeConfig, error)
}

// Options configures a Service.
type Options struct {
	// NC carries the stop broadcasts between nodes.
	NC *nats.Conn
	// Queue and Tasks are the stream of requests and the task records.
	Queue *store.AsyncQueue
	Tasks *store.AsyncTasks
	// Configs gives the functions' async configs; nil: defaults for all.
	Configs Configs
	// Runner runs the attempts; Start needs it, Enqueue does not.
	Runner Runner
	// Workers is the number of attempts this node runs at once
	// (default 16).
	Workers int
	// AckWait is how long a message handed to a worker stays its own
	// without a sign of life (default 15 s); workers mark it in progress
	// every AckWait/3 while they run it.
	AckWait time.Duration
	// RetryBase is the wait before the first retry of a function error,
	// doubled for each next one (default 1 s); ThrottleBase the same for
	// a request that found no capacity (default 0.5 s). Both are capped
	// at 5 minutes.
	RetryBase, ThrottleBase time.Duration
	// Region and AccountID make function ARNs (destination records).
	Region, AccountID string
	// HTTPClient posts records to URL destinations (default: a client
	// with a 10 s timeout).
	HTTPClient *http.Client
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service queues async requests and, once started, runs them.
type Service struct {
	o   Options
	log *slog.Logger

	cfgMu sync.Mutex
	cfgs  map[string]cachedConfig

	// running maps the key of each task running on this node to the
	// cancel of its attempt, for stops.
	runMu   sync.Mutex
	running map[string]*runningTask

	stopPulls, stopRuns context.CancelFunc
	wg                  sync.WaitGroup
	sub                 *nats.Subscription
}

type cachedConfig struct {
	cfg     *fc.AsyncInvokeConfig
	expires time.Time
}

// New returns a Service; Enqueue works at once, Start runs the workers.
func New(o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.RetryBase <= 0 {
		o.RetryBase = defaultRetryBase
	}
	if o.ThrottleBase <= 0 {
		o.ThrottleBase = defaultThrottleBase
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, log: o.Logger, cfgs: map[string]cachedConfig{}, running: map[string]*runningTask{}}
}

// Start subscribes to stop broadcasts and starts the workers, which run
// until Shutdown or Close.
func (s *Service) Start(ctx context.Context) error {
	if s.o.Runner == nil {
		return errors.New("async: Start needs a Runner")
	}
	cons, err := s.o.Queue.Consumer(ctx, s.o.AckWait)
	if err != nil {
		return err
	}
	if s.sub, err = s.o.NC.Subscribe(stopSubject, s.onStop); err != nil {
		return fmt.Errorf("async: subscribe to stops: %w", err)
	}
	// Two lifetimes: pulling ends first on Shutdown, attempts under way
	// run on until they end or the shutdown's deadline.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	pullCtx, stopPulls := context.WithCancel(runCtx)
	s.stopRuns, s.stopPulls = stopRuns, stopPulls
	for range s.o.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.work(pullCtx, runCtx, cons)
		}()
	}
	return nil
}

// Shutdown stops taking messages and waits for the attempts under way
// until ctx ends; those still running then are cancelled and their
// messages handed back to the queue, for another node (or this one,
// restarted) to run again.
func (s *Service) Shutdown(ctx context.Context) {
	if s.stopPulls == nil {
		return
	}
	s.stopPulls()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.stopRuns()
		<-done
	}
	s.stopRuns()
	if s.sub != nil {
		_ = s.sub.Unsubscribe()
	}
}

// Close is Shutdown without waiting for the attempts under way.
func (s *Service) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
}

// Enqueue persists req and returns once JetStream acknowledged it. A
// request becomes a task when it names one (req.TaskID) or when the
// function's config has statefulInvocation (Enqueue sets req.TaskID).
// Errors: 400 InvalidArgument for a task id breaking FC's rule
// (fc.CheckTaskID, which also keeps it a safe key segment), 409
// StatefulAsyncInvocationAlreadyExists for a task id in use, 503
// ServiceUnavailable when the queue cannot take the request.
func (s *Service) Enqueue(ctx context.Context, req *fc.AsyncRequest) error {
	q := qualifierOf(req.Qualifier)
	if req.TaskID != "" {
		if err := fc.CheckTaskID(fc.HeaderStatefulAsyncInvocationID, req.TaskID); err != nil {
			return err
		}
	}
	if req.TaskID == "" && s.config(ctx, req.Service, q, req.Function).StatefulInvocation {
		// A generated id follows the rule too: a request id starts
		// with a digit.
		req.TaskID = "task-" + req.RequestID
	}
	data, err := json.Marshal(req)
	if err != nil {
		return fc.Errorf(fc.CodeInternalServerError, "encode async request: %w", err)
	}
	if req.TaskID != "" {
		if err := s.createTask(ctx, req, q); err != nil {
			return err
		}
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	m := nats.NewMsg(store.AsyncSubject(req.Service, req.Function))
	m.Data = data
	if err := s.o.Queue.Publish(pctx, m, req.RequestID); err != nil {
		if req.TaskID != "" {
			// The client gets a 503 and may retry with the same id.
			s.deleteTask(req, q)
		}
		return fc.Errorf(fc.CodeServiceUnavailable, "the async queue cannot take the request now: %w", err)
	}
	return nil
}

// config returns the function's async config, from the cache when it is
// fresh. A missing config (or one that cannot be read) is the defaults.
// The result is shared: callers must not modify it.
func (s *Service) config(ctx context.Context, service, qualifier, function string) *fc.AsyncInvokeConfig {
	if cfg := s.cachedConfig(ctx, service, qualifier, function); cfg != nil {
		return cfg
	}
	return &fc.AsyncInvokeConfig{}
}

func (s *Service) cachedConfig(ctx context.Context, service, qualifier, function string) *fc.AsyncInvokeConfig {
	if s.o.Configs == nil {
		return nil
	}
	key := service + "/" + qualifier + "/" + function
	now := time.Now()
	s.cfgMu.Lock()
	c, ok := s.cfgs[key]
	s.cfgMu.Unlock()
	if ok && now.Before(c.expires) {
		return c.cfg
	}
	cfg, err := s.o.Configs.GetAsyncInvokeConfig(ctx, service, qualifier, function)
	if err != nil {
		if !errors.Is(err, fc.ErrNotFound) {
			s.log.Warn("async: reading the async config, using the defaults", "function", key, "err", err)
			return nil // not cached: read again next time
		}
		cfg = nil
	}
	s.cfgMu.Lock()
	if len(s.cfgs) > 10000 { // bound the cache: functions come and go
		clear(s.cfgs)
	}
	s.cfgs[key] = cachedConfig{cfg: cfg, expires: now.Add(configTTL)}
	s.cfgMu.Unlock()
	return cfg
}

// qualifierOf is q with "" meaning LATEST.
func qualifierOf(q string) string {
	if q == "" {
		return fc.LATEST
	}
	return q
}

// backoff is base doubled n times, capped at 5 minutes.
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d *= 2; d >= maxBackoff {
			return maxBackoff
		}
	}
	return min(d, maxBackoff)
}

// ackCtx bounds the JetStream calls that settle a message.
func ackCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
