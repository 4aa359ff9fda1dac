package async

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/openfc/openfc/internal/fc"
)

// This file is the task records (stateful async invocations): their
// state machine, the API's list/get/stop, and the stop broadcast.
//
//	Enqueued → Running → Succeeded | Failed | Invalid | Expired
//	                   → Retrying → Running …   (a function error, retries left)
//	                   → Enqueued               (no capacity: it waits in the queue)
//	Enqueued | Retrying → Stopped               (stop before it runs)
//	Running → Stopping → Stopped                (stop while it runs)

const (
	// maxTaskEvents bounds a task's timeline (the last ones are kept).
	maxTaskEvents    = 100
	defaultListLimit = 20
	maxListLimit     = 100
)

// taskDone reports whether status is final: a stop then changes nothing.
func taskDone(status string) bool {
	switch status {
	case fc.TaskSucceeded, fc.TaskFailed, fc.TaskStopped, fc.TaskExpired, fc.TaskInvalid:
		return true
	}
	return false
}

// addEvent moves t to status and appends the step to its timeline.
func addEvent(t *fc.AsyncTask, status, detail string) {
	var id int64 = 1
	if n := len(t.Events); n > 0 {
		id = t.Events[n-1].EventID + 1
	}
	t.Status = status
	t.Events = append(t.Events, fc.TaskEvent{EventID: id, Status: status, Timestamp: time.Now().UnixMilli(), EventDetail: detail})
	if len(t.Events) > maxTaskEvents {
		t.Events = append(t.Events[:0], t.Events[len(t.Events)-maxTaskEvents:]...)
	}
}

// createTask stores req's task record, Enqueued: 409 when the id is in
// use for that function.
func (s *Service) createTask(ctx context.Context, req *fc.AsyncRequest, q string) error {
	t := &fc.AsyncTask{
		ServiceName:       req.Service,
		FunctionName:      req.Function,
		Qualifier:         q,
		InvocationID:      req.TaskID,
		StartedTime:       req.Accepted.UnixMilli(),
		RequestID:         req.RequestID,
		InvocationPayload: string(req.Body),
	}
	addEvent(t, fc.TaskEnqueued, "")
	err := s.o.Tasks.CreateTask(ctx, t)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fc.ErrAlreadyExists):
		return fc.Errorf(fc.CodeStatefulAsyncInvocationAlreadyExists, "stateful async invocation %s already exists", req.TaskID)
	case errors.As(err, new(*fc.Error)):
		return err
	default:
		return fc.Errorf(fc.CodeServiceUnavailable, "the async queue cannot take the request now: %w", err)
	}
}

// deleteTask removes the record of a request that was not queued.
func (s *Service) deleteTask(req *fc.AsyncRequest, q string) {
	ctx, cancel := ackCtx()
	defer cancel()
	if err := s.o.Tasks.DeleteTask(ctx, req.Service, q, req.Function, req.TaskID); err != nil {
		s.log.Warn("async: removing the record of a task that was not queued", "task", req.TaskID, "err", err)
	}
}

// GetTask reads a task: 404 StatefulAsyncInvocationNotFound when there is
// none. qualifier "" is LATEST.
func (s *Service) GetTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error) {
	t, err := s.o.Tasks.GetTask(ctx, service, qualifierOf(qualifier), function, id)
	return t, taskError(err, id)
}

func taskError(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fc.ErrNotFound):
		return fc.Errorf(fc.CodeStatefulAsyncInvocationNotFound, "stateful async invocation %s does not exist", id)
	default:
		return fc.AsError(err)
	}
}

// ListTasks lists one function's tasks (qualifier "" is LATEST) that
// pass f's filters, f.Limit at most (1–100, default 20), in the order
// they were last written. nextToken continues the list ("" at its end);
// it is opaque (a position in the records' stream). A record written
// while a list is paged moves to the end and can appear twice.
func (s *Service) ListTasks(ctx context.Context, f fc.TaskFilter) ([]*fc.AsyncTask, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultListLimit
	case limit > maxListLimit:
		limit = maxListLimit
	}
	var start uint64
	if f.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.NextToken)
		if err == nil {
			start, err = strconv.ParseUint(string(b), 10, 64)
		}
		if err != nil || start == 0 {
			return nil, "", fc.Errorf(fc.CodeInvalidArgument, "invalid nextToken %q", f.NextToken)
		}
	}
	keep := func(t *fc.AsyncTask) bool {
		return (f.Status == "" || t.Status == f.Status) &&
			(f.StartedTimeBegin == 0 || t.StartedTime >= f.StartedTimeBegin) &&
			(f.StartedTimeEnd == 0 || t.StartedTime <= f.StartedTimeEnd) &&
			strings.HasPrefix(t.InvocationID, f.Prefix)
	}
	tasks, next, err := s.o.Tasks.ListTasks(ctx, f.Service, qualifierOf(f.Qualifier), f.Function, start, limit, keep)
	if err != nil {
		return nil, "", fc.AsError(err)
	}
	token := ""
	if next > 0 {
		token = base64.RawURLEncoding.EncodeToString(strconv.AppendUint(nil, next, 10))
	}
	if tasks == nil {
		tasks = []*fc.AsyncTask{}
	}
	return tasks, token, nil
}

// StopTask stops a task. One not started yet (Enqueued, Retrying) is
// Stopped at once and never runs; a running one is Stopping, and every
// node is told to cancel it: the node running it ends the attempt and
// records Stopped. A finished task is returned as it is (a stop then is
// a no-op, not an error).
func (s *Service) StopTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error) {
	q := qualifierOf(qualifier)
	t, err := s.o.Tasks.ModifyTask(ctx, service, q, function, id, func(t *fc.AsyncTask) bool {
		switch t.Status {
		case fc.TaskEnqueued, fc.TaskRetrying:
			addEvent(t, fc.TaskStopped, "stopped before it ran")
			t.EndTime = time.Now().UnixMilli()
			return true
		case fc.TaskRunning:
			addEvent(t, fc.TaskStopping, "")
			return true
		}
		return false
	})
	if err != nil {
		return nil, taskError(err, id)
	}
	if t.Status == fc.TaskStopping {
		// Sent again for a task already Stopping: a broadcast can be
		// lost (a node restarting), a second stop is the user's retry.
		if err := s.o.NC.Publish(stopSubject, []byte(taskKey(service, q, function, id))); err != nil {
			return nil, fc.Errorf(fc.CodeServiceUnavailable, "broadcast the stop: %w", err)
		}
	}
	return t, nil
}

func taskKey(service, qualifier, function, id string) string {
	return service + "/" + qualifier + "/" + function + "/" + id
}

// runningTask is an attempt of a task running on this node.
type runningTask struct {
	cancel  context.CancelFunc
	stopped atomic.Bool
}

func (s *Service) register(key string, cancel context.CancelFunc) *runningTask {
	rt := &runningTask{cancel: cancel}
	s.runMu.Lock()
	s.running[key] = rt
	s.runMu.Unlock()
	return rt
}

func (s *Service) unregister(key string) {
	s.runMu.Lock()
	delete(s.running, key)
	s.runMu.Unlock()
}

// onStop cancels the attempt of the task named by a stop broadcast, when
// it runs here.
func (s *Service) onStop(m *nats.Msg) {
	s.runMu.Lock()
	rt := s.running[string(m.Data)]
	s.runMu.Unlock()
	if rt != nil {
		rt.stopped.Store(true)
		rt.cancel()
	}
}
