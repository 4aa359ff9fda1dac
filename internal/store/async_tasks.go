package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// This file keeps the task records (stateful async invocations) of
// internal/async: one KV entry per task, key
// "<service>.<qualifier>.<function>.<id>", value the fc.AsyncTask JSON.

const (
	asyncTasksBucket = "openfc_async_tasks"
	// taskListBatch is how many records a list reads from JetStream at a
	// time.
	taskListBatch = 64
	// taskUpdateRetries bounds Modify's read-modify-write loop.
	taskUpdateRetries = 16
)

// AsyncTasks is the task records' KV bucket.
type AsyncTasks struct {
	js jetstream.JetStream
	kv jetstream.KeyValue
}

// OpenAsyncTasks binds the tasks bucket, creating it when needed.
func OpenAsyncTasks(ctx context.Context, js jetstream.JetStream, replicas int) (*AsyncTasks, error) {
	kv, err := OpenKV(ctx, js, Spec{Name: asyncTasksBucket, Description: "openfc async tasks", Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &AsyncTasks{js: js, kv: kv}, nil
}

func taskKey(service, qualifier, function, id string) string {
	return service + "." + qualifier + "." + function + "." + id
}

func taskKeyOf(t *fc.AsyncTask) string {
	return taskKey(t.ServiceName, t.Qualifier, t.FunctionName, t.InvocationID)
}

// CreateTask stores a new task record: fc.ErrAlreadyExists when its id
// is taken (for that function and qualifier).
func (a *AsyncTasks) CreateTask(ctx context.Context, t *fc.AsyncTask) error {
	for _, n := range []string{t.ServiceName, t.Qualifier, t.FunctionName, t.InvocationID} {
		if !validName(n) {
			return fc.Errorf(fc.CodeInvalidArgument, "task name %q is invalid", n)
		}
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = a.kv.Create(ctx, taskKeyOf(t), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store: task %s: %w", t.InvocationID, fc.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("store: create task %s: %w", t.InvocationID, err)
	}
	return nil
}

// GetTask reads a task record: fc.ErrNotFound when there is none.
func (a *AsyncTasks) GetTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error) {
	t, _, err := a.get(ctx, service, qualifier, function, id)
	return t, err
}

func (a *AsyncTasks) get(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, uint64, error) {
	for _, n := range []string{service, qualifier, function, id} {
		if !validName(n) {
			return nil, 0, fmt.Errorf("store: task %q: %w", id, fc.ErrNotFound)
		}
	}
	e, err := a.kv.Get(ctx, taskKey(service, qualifier, function, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("store: task %s: %w", id, fc.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get task %s: %w", id, err)
	}
	var t fc.AsyncTask
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, 0, fmt.Errorf("store: task %s: %w", id, err)
	}
	return &t, e.Revision(), nil
}

// ModifyTask applies change to the current record and stores the result
// if the record did not change meanwhile (else it reads and tries again).
// change returns false to leave the record as it is. It returns the
// record as stored (or as read, when change declined).
func (a *AsyncTasks) ModifyTask(ctx context.Context, service, qualifier, function, id string, change func(*fc.AsyncTask) bool) (*fc.AsyncTask, error) {
	for range taskUpdateRetries {
		t, rev, err := a.get(ctx, service, qualifier, function, id)
		if err != nil {
			return nil, err
		}
		if !change(t) {
			return t, nil
		}
		data, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		_, err = a.kv.Update(ctx, taskKeyOf(t), data, rev)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) { // ErrKeyExists: wrong last sequence
			return nil, fmt.Errorf("store: update task %s: %w", id, err)
		}
	}
	return nil, fmt.Errorf("store: update task %s: %w", id, fc.ErrConflict)
}

// ListTasks reads the records of one function (and qualifier) in the
// order they were last written, from stream sequence start (0: the
// beginning), and returns those keep accepts, at most limit. next is the
// sequence to continue from, 0 when nothing is left. It reads the KV's
// stream with an ordered consumer filtered on the function's keys, a
// batch at a time, so that memory stays bounded by limit and the batch
// whatever the number of records. A record written while a list is paged
// moves to the end and can be seen twice.
func (a *AsyncTasks) ListTasks(ctx context.Context, service, qualifier, function string, start uint64, limit int, keep func(*fc.AsyncTask) bool) (tasks []*fc.AsyncTask, next uint64, err error) {
	for _, n := range []string{service, qualifier, function} {
		if !validName(n) {
			return nil, 0, nil
		}
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"$KV." + asyncTasksBucket + "." + taskKey(service, qualifier, function, "*")},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		// The server drops the consumer soon after the list.
		InactiveThreshold: 5 * time.Second,
	}
	if start > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	cons, err := a.js.OrderedConsumer(ctx, "KV_"+asyncTasksBucket, cfg)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list tasks: %w", err)
	}
	for {
		batch, err := cons.FetchNoWait(taskListBatch)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list tasks: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, 0, fmt.Errorf("store: list tasks: %w", err)
			}
			if t := decodeTask(m); t != nil && keep(t) {
				tasks = append(tasks, t)
			}
			if meta.NumPending == 0 {
				return tasks, 0, nil
			}
			if len(tasks) == limit {
				return tasks, meta.Sequence.Stream + 1, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, 0, fmt.Errorf("store: list tasks: %w", err)
		}
		if n == 0 {
			return tasks, 0, nil
		}
	}
}

// decodeTask reads a record from the KV's stream; nil for a delete
// marker or a value that is not a task.
func decodeTask(m jetstream.Msg) *fc.AsyncTask {
	if op := m.Headers().Get("KV-Operation"); op != "" && !strings.EqualFold(op, "PUT") {
		return nil
	}
	var t fc.AsyncTask
	if json.Unmarshal(m.Data(), &t) != nil {
		return nil
	}
	return &t
}

// DeleteTask removes a task record; a missing one is fine.
func (a *AsyncTasks) DeleteTask(ctx context.Context, service, qualifier, function, id string) error {
	err := a.kv.Purge(ctx, taskKey(service, qualifier, function, id))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store: delete task %s: %w", id, err)
	}
	return nil
}
