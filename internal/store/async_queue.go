package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/natsx"
)

// This file is the JetStream side of the async queue (internal/async):
// the stream that holds accepted async requests and the durable consumer
// every node's workers pull from.

// Names of the async queue.
const (
	// AsyncStream holds the accepted async requests, one message each.
	AsyncStream = "openfc_async"
	// AsyncConsumer is the durable pull consumer shared by every node's
	// workers: JetStream hands each message to one of them.
	AsyncConsumer = "openfc_async_workers"
	// asyncSubjectPrefix + "<service>.<function>".
	asyncSubjectPrefix = "openfc.async."
	// asyncDuplicateWindow is how long JetStream remembers a Nats-Msg-Id,
	// so that an accept retried within it (same request id) is stored
	// once.
	asyncDuplicateWindow = 5 * time.Minute
	// asyncMaxAckPending: no bound. A message handed back with a delay
	// (NakWithDelay: a delayed or throttled request) stays pending until
	// it is redelivered, so any bound would let an hour of delayed
	// requests stop every other one; the workers themselves bound what
	// runs.
	asyncMaxAckPending = -1
)

// AsyncQueue is the stream of accepted async requests. Retention is
// WorkQueue: a message is removed once a worker acks it (the invocation
// ended, or was re-queued as a new message for its next retry), so the
// stream holds only work still to do.
type AsyncQueue struct {
	js     jetstream.JetStream
	stream jetstream.Stream
}

// OpenAsyncQueue binds the async stream, creating it (file storage) when
// it does not exist; an existing one keeps its configuration (an operator
// may have raised its replicas on a cluster).
func OpenAsyncQueue(ctx context.Context, js jetstream.JetStream, replicas int) (*AsyncQueue, error) {
	var st jetstream.Stream
	err := natsx.RetryPlacement(ctx, func(ctx context.Context) (err error) {
		st, err = js.Stream(ctx, AsyncStream)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		st, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        AsyncStream,
			Description: "openfc accepted async invocations",
			Subjects:    []string{asyncSubjectPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  asyncDuplicateWindow,
			Discard:     jetstream.DiscardNew,
			Replicas:    max(1, replicas),
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node won the race
			st, err = js.Stream(ctx, AsyncStream)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open the async stream: %w", err)
	}
	return &AsyncQueue{js: js, stream: st}, nil
}

// AsyncSubject is the subject of a request to service/function. FC's
// names are token-safe (no '.', '*', '>' or space).
func AsyncSubject(service, function string) string {
	return asyncSubjectPrefix + service + "." + function
}

// publishAttempt bounds one try at storing a message. On a cluster, a
// stream whose leader's node died answers nothing until its group elects
// another (Raft's election timeout: 4 to 9 s); a try sent meanwhile is
// lost, and the next one reaches the new leader.
const publishAttempt = time.Second

// Publish stores m with Nats-Msg-Id msgID and returns once JetStream
// acknowledged it (stored, or dropped as a duplicate of a message stored
// with that id within the duplicate window). A try that gets no answer is
// repeated until ctx ends: the id makes a repeat of a try that was stored
// but whose ack was lost a duplicate, so the message is stored once.
func (q *AsyncQueue) Publish(ctx context.Context, m *nats.Msg, msgID string) error {
	for {
		actx, cancel := context.WithTimeout(ctx, publishAttempt)
		_, err := q.js.PublishMsg(actx, m, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			return nil
		}
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
			errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
		if !unanswered || ctx.Err() != nil {
			return fmt.Errorf("store: publish to %s: %w", m.Subject, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: publish to %s: %w", m.Subject, err)
		case <-time.After(natsx.PlacementPause): // no responder answers at once: not a busy loop
		}
	}
}

// Consumer binds the workers' durable consumer, creating or updating it
// with ackWait: a message not acked (nor marked in progress) within it is
// handed to another worker.
func (q *AsyncQueue) Consumer(ctx context.Context, ackWait time.Duration) (jetstream.Consumer, error) {
	c, err := q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       AsyncConsumer,
		Description:   "openfc async workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: asyncMaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("store: async consumer: %w", err)
	}
	return c, nil
}
