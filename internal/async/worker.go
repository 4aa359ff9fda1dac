package async

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// This file is the workers: each pulls one message at a time from the
// shared durable consumer (so a busy node does not hold messages other
// nodes could run), decides whether it is due, runs it and settles it.

// Headers of a message re-queued for a retry. The first message of a
// request has neither: its attempt count is 0 and it is due at the
// request's NotBefore.
const (
	headerRetried   = "Openfc-Retried"
	headerNotBefore = "Openfc-Not-Before"
)

// pullWait bounds one wait for a message, so that an idle worker comes
// back to check whether it should stop.
const pullWait = 30 * time.Second

// job is one delivery of a request.
type job struct {
	m   jetstream.Msg
	req fc.AsyncRequest
	q   string // the qualifier, "" made LATEST
	// retried counts the retries of function errors before this attempt.
	retried   int
	notBefore time.Time
	cfg       *fc.AsyncInvokeConfig
	// stopBeat ends the in-progress heartbeat; it is called before the
	// message is settled, so that no late heartbeat undoes a delay.
	stopBeat func()
}

// handBack returns the message to the queue, redelivered after d (at
// once when d ≤ 0).
func (j *job) handBack(d time.Duration) {
	j.stopBeat()
	if d > 0 {
		_ = j.m.NakWithDelay(d)
	} else {
		_ = j.m.Nak()
	}
}

// deadline is when the request's maximum event age runs out.
func (j *job) deadline() time.Time { return j.req.Accepted.Add(j.cfg.MaxAge()) }

func (j *job) isTask() bool { return j.req.TaskID != "" }

// work pulls and handles messages until pullCtx ends; the attempts run
// with runCtx.
func (s *Service) work(pullCtx, ctx context.Context, cons jetstream.Consumer) {
	for pullCtx.Err() == nil {
		fctx, cancel := context.WithTimeout(pullCtx, pullWait)
		m, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if pullCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			s.log.Warn("async: pulling a message", "err", err)
			select {
			case <-pullCtx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.handle(ctx, m)
	}
}

func decodeJob(m jetstream.Msg) (*job, error) {
	j := &job{m: m}
	if err := json.Unmarshal(m.Data(), &j.req); err != nil {
		return nil, err
	}
	j.q = qualifierOf(j.req.Qualifier)
	j.notBefore = j.req.NotBefore
	h := m.Headers()
	if v := h.Get(headerRetried); v != "" {
		j.retried, _ = strconv.Atoi(v)
	}
	if v := h.Get(headerNotBefore); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			j.notBefore = t
		}
	}
	return j, nil
}

// handle decides what to do with one delivery: settle it without running
// (its task was stopped or has finished, it is too old), hand it back
// until it is due, or run it.
func (s *Service) handle(ctx context.Context, m jetstream.Msg) {
	j, err := decodeJob(m)
	if err != nil {
		s.log.Error("async: dropping a message that is not a request", "err", err)
		_ = m.Term()
		return
	}
	// From here the message is this worker's until settled, destinations
	// included (a URL may take 30 s).
	j.stopBeat = sync.OnceFunc(s.heartbeat(m))
	defer j.stopBeat()
	j.cfg = s.config(ctx, j.req.Service, j.q, j.req.Function)
	if j.isTask() {
		t, err := s.o.Tasks.GetTask(ctx, j.req.Service, j.q, j.req.Function, j.req.TaskID)
		switch {
		case errors.Is(err, fc.ErrNotFound):
			j.req.TaskID = "" // its record is gone: run it as a plain request
		case err != nil:
			s.log.Warn("async: reading a task", "task", j.req.TaskID, "err", err)
			j.handBack(time.Second)
			return
		case taskDone(t.Status):
			// Ran already, and the node died before its ack; or stopped.
			s.ack(j)
			return
		case t.Status == fc.TaskStopping:
			s.finish(ctx, j, nil, fc.TaskStopped, "", "")
			return
		}
	}
	now := time.Now()
	if now.After(j.deadline()) {
		s.finish(ctx, j, nil, fc.TaskExpired, "the event is older than its maximum age", conditionExpired)
		return
	}
	if j.notBefore.After(now) {
		j.handBack(j.notBefore.Sub(now))
		return
	}
	s.run(ctx, j)
}

// heartbeat marks m in progress every AckWait/3 until the returned func
// is called, so that the message stays this worker's while it runs, and
// another node gets it within AckWait when this one dies.
func (s *Service) heartbeat(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.o.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// run runs one attempt and settles the message by its outcome.
func (s *Service) run(ctx context.Context, j *job) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rt *runningTask
	if j.isTask() {
		// Registered before the record says Running: a stop that sees
		// Running finds the attempt to cancel here.
		key := taskKey(j.req.Service, j.q, j.req.Function, j.req.TaskID)
		rt = s.register(key, cancel)
		defer s.unregister(key)
		t, err := s.modifyTask(ctx, j, func(t *fc.AsyncTask) bool {
			if taskDone(t.Status) || t.Status == fc.TaskStopping {
				return false
			}
			addEvent(t, fc.TaskRunning, "attempt "+strconv.Itoa(j.retried+1))
			return true
		})
		if err != nil {
			j.handBack(time.Second)
			return
		}
		if t.Status != fc.TaskRunning { // stopped meanwhile
			s.finish(ctx, j, nil, fc.TaskStopped, "", "")
			return
		}
	}
	start := time.Now()
	out := s.o.Runner.RunAsync(actx, &j.req)
	if out.Duration == 0 {
		out.Duration = time.Since(start)
	}
	switch {
	case rt != nil && rt.stopped.Load():
		s.finish(ctx, j, &out, fc.TaskStopped, "stopped while it ran", "")
	case ctx.Err() != nil:
		// This node is shutting down: hand the message back at once.
		j.handBack(0)
	default:
		s.settle(ctx, j, &out)
	}
}

// settle ends or re-queues a request by the outcome of its attempt.
func (s *Service) settle(ctx context.Context, j *job, out *fc.AsyncOutcome) {
	now := time.Now()
	switch v, detail := classify(out, j.req.Event); v {
	case verdictSucceeded:
		s.finish(ctx, j, out, fc.TaskSucceeded, "", "")
	case verdictInvalid:
		s.finish(ctx, j, out, fc.TaskInvalid, detail, "")
	case verdictThrottled:
		n := 0
		if meta, err := j.m.Metadata(); err == nil {
			n = int(meta.NumDelivered) - 1
		}
		d := backoff(s.o.ThrottleBase, n)
		if now.Add(d).After(j.deadline()) {
			s.finish(ctx, j, out, fc.TaskExpired, detail, conditionExpired)
			return
		}
		if j.isTask() {
			_, _ = s.modifyTask(ctx, j, func(t *fc.AsyncTask) bool {
				addEvent(t, fc.TaskEnqueued, "waiting for capacity: "+detail)
				return true
			})
		}
		j.handBack(d)
	default: // a function error
		if j.retried >= j.cfg.Retries() {
			s.finish(ctx, j, out, fc.TaskFailed, detail, conditionRetriesExhausted)
			return
		}
		due := now.Add(backoff(s.o.RetryBase, j.retried))
		if due.After(j.deadline()) {
			s.finish(ctx, j, out, fc.TaskExpired, detail, conditionExpired)
			return
		}
		s.retry(ctx, j, out, due, detail)
	}
}

// retry queues the request again as a new message carrying its retry
// count and due time, then acks this one. A crash in between runs it
// once more (at least once); the new message's id deduplicates a second
// re-queue of the same retry.
func (s *Service) retry(ctx context.Context, j *job, out *fc.AsyncOutcome, due time.Time, detail string) {
	n := j.retried + 1
	m := nats.NewMsg(j.m.Subject())
	m.Data = j.m.Data()
	m.Header.Set(headerRetried, strconv.Itoa(n))
	m.Header.Set(headerNotBefore, due.UTC().Format(time.RFC3339Nano))
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	err := s.o.Queue.Publish(pctx, m, j.req.RequestID+"-retry-"+strconv.Itoa(n))
	cancel()
	if err != nil {
		s.log.Warn("async: re-queueing a retry; trying again later", "request_id", j.req.RequestID, "err", err)
		j.handBack(time.Until(due))
		return
	}
	if j.isTask() {
		_, _ = s.modifyTask(ctx, j, func(t *fc.AsyncTask) bool {
			recordOutcome(t, out)
			t.AlreadyRetriedTimes = n
			addEvent(t, fc.TaskRetrying, detail)
			return true
		})
	}
	s.ack(j)
}

// finish ends a request in status: it tells the destination (for a
// success, a failure or an expiry), records the end and acks the message.
// The destination goes first: a crash before the ack runs the request
// again rather than lose the record.
func (s *Service) finish(ctx context.Context, j *job, out *fc.AsyncOutcome, status, detail, condition string) {
	destStatus := s.notify(ctx, j, out, status, condition)
	if j.isTask() {
		_, err := s.modifyTask(ctx, j, func(t *fc.AsyncTask) bool {
			if taskDone(t.Status) {
				return false
			}
			recordOutcome(t, out)
			t.AlreadyRetriedTimes = j.retried
			t.EndTime = time.Now().UnixMilli()
			t.DestinationStatus = destStatus
			if detail != "" && status != fc.TaskSucceeded {
				t.InvocationErrorMessage = detail
			}
			addEvent(t, status, detail)
			return true
		})
		if err != nil {
			s.log.Warn("async: recording the end of a task", "task", j.req.TaskID, "status", status, "err", err)
		}
	}
	s.ack(j)
}

// recordOutcome copies what an attempt produced into a task record.
func recordOutcome(t *fc.AsyncTask, out *fc.AsyncOutcome) {
	if out == nil {
		return
	}
	t.InstanceID = out.InstanceID
	t.DurationMs = out.Duration.Milliseconds()
	body := out.Body
	if len(body) > fc.MaxTaskReturnPayload {
		body = body[:fc.MaxTaskReturnPayload]
	}
	t.ReturnPayload = string(body)
}

func (s *Service) modifyTask(ctx context.Context, j *job, change func(*fc.AsyncTask) bool) (*fc.AsyncTask, error) {
	return s.o.Tasks.ModifyTask(ctx, j.req.Service, j.q, j.req.Function, j.req.TaskID, change)
}

func (s *Service) ack(j *job) {
	j.stopBeat()
	ctx, cancel := ackCtx()
	defer cancel()
	if err := j.m.DoubleAck(ctx); err != nil {
		s.log.Warn("async: ack", "request_id", j.req.RequestID, "err", err)
	}
}
