package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/natsx"
)

// This file is the JetStream side of the instance logs (internal/logs
// decides what goes in them, when, and what is read back): one stream
// per function, so that each function has its own byte limit, holding
// opaque batch messages on one subject.

// Names of the log streams.
const (
	// logSubjectPrefix + "<service>.<function>" is a function's subject.
	logSubjectPrefix = "openfc.logs."
	// logStreamPrefix + an encoding of the function's name (LogStreamName).
	logStreamPrefix = "openfc_logs_"
	// logReaderIdle is how long the server keeps a reader's consumer
	// after its reader went silent without deleting it (a crash).
	logReaderIdle = 30 * time.Second
	// logReaderResets bounds how often a follower's consumer is created
	// again after an error (a leader change; a deleted stream ends it).
	logReaderResets = 8
	// logSinceSlack widens a Since read: a message's stored time is when
	// the stream got it, while its records carry the writing node's clock
	// from before, and the clocks of nodes may differ a little.
	logSinceSlack = time.Minute
)

// ErrNoLogStream is returned when a function has no log stream (yet).
var ErrNoLogStream = errors.New("store: no log stream")

// LogStreamsConfig is the configuration of the streams LogStreams
// creates.
type LogStreamsConfig struct {
	// Replicas is how many copies JetStream keeps (a cluster's
	// --replicas; 1 on a single node).
	Replicas int
	// MaxBytes is each stream's byte limit (--log-bytes-per-function):
	// past it the oldest messages go. JetStream reserves it per stream.
	MaxBytes int64
	// MaxAge, when set, is how long a message is kept (--log-max-age).
	MaxAge time.Duration
}

// LogStreams creates, writes, reads and deletes the functions' log
// streams. It is safe for concurrent use.
type LogStreams struct {
	js  jetstream.JetStream
	cfg LogStreamsConfig
}

// NewLogStreams returns the log streams on js; nothing is created until
// Ensure.
func NewLogStreams(js jetstream.JetStream, cfg LogStreamsConfig) *LogStreams {
	return &LogStreams{js: js, cfg: cfg}
}

// LogSubject is the subject of service/function's log. FC's names are
// token-safe (no '.', '*', '>' or space).
func LogSubject(service, function string) string {
	return logSubjectPrefix + service + "." + function
}

// LogStreamName is the stream of service/function's log. Stream names
// cannot hold '.', and FC names may hold '_' and '-', so a plain join
// could make two functions one stream ("a_b"/"c" and "a"/"b_c"): the
// service's length, written first, says where it ends.
func LogStreamName(service, function string) string {
	return logStreamPrefix + strconv.Itoa(len(service)) + "_" + service + "_" + function
}

func (l *LogStreams) config(service, function string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        LogStreamName(service, function),
		Description: "openfc instance logs of " + service + "/" + function,
		Subjects:    []string{LogSubject(service, function)},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxBytes:    l.cfg.MaxBytes,
		MaxAge:      l.cfg.MaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    max(1, l.cfg.Replicas),
	}
}

// Ensure creates service/function's stream when it does not exist, and
// brings an existing one's limits to the configured ones (the flags may
// have changed since it was created; its replicas are left as they are,
// an operator may have changed them). It retries while a cluster cannot
// place the stream, until ctx ends.
func (l *LogStreams) Ensure(ctx context.Context, service, function string) error {
	want := l.config(service, function)
	err := natsx.RetryPlacement(ctx, func(ctx context.Context) error {
		st, err := l.js.Stream(ctx, want.Name)
		if err == nil {
			cfg := st.CachedInfo().Config
			if cfg.MaxBytes == want.MaxBytes && cfg.MaxAge == want.MaxAge {
				return nil
			}
			cfg.MaxBytes, cfg.MaxAge = want.MaxBytes, want.MaxAge
			_, err = l.js.UpdateStream(ctx, cfg)
			return err
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		_, err = l.js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node won the race
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: log stream of %s/%s: %w", service, function, err)
	}
	return nil
}

// Publish appends one message to service/function's log and returns once
// JetStream stored it. It returns ErrNoLogStream when the stream does not
// exist: creating it is the caller's decision (Ensure).
func (l *LogStreams) Publish(ctx context.Context, service, function string, data []byte) error {
	_, err := l.js.Publish(ctx, LogSubject(service, function), data,
		jetstream.WithExpectStream(LogStreamName(service, function)), jetstream.WithRetryAttempts(0))
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		return ErrNoLogStream
	}
	if err != nil {
		return fmt.Errorf("store: publish to the log of %s/%s: %w", service, function, err)
	}
	return nil
}

// Delete removes service/function's log stream; a missing one is fine.
func (l *LogStreams) Delete(ctx context.Context, service, function string) error {
	err := l.js.DeleteStream(ctx, LogStreamName(service, function))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("store: delete the log stream of %s/%s: %w", service, function, err)
	}
	return nil
}

// LogCursor reads one function's log stream in order, through an ordered
// consumer: first the backlog (the messages there when it was opened,
// from a start time on), then, for as long as the caller keeps calling
// Next, the messages stored after. It is not safe for concurrent use.
type LogCursor struct {
	js       jetstream.JetStream
	stream   string
	cons     jetstream.Consumer
	it       jetstream.MessagesContext
	last     uint64 // the stream's last sequence when the cursor opened
	caughtUp bool
}

// Open opens a cursor on service/function's log from the first message
// stored at or after since (a zero since: the first kept). It returns
// ErrNoLogStream when the function has no stream. The caller must Close
// the cursor.
func (l *LogStreams) Open(ctx context.Context, service, function string, since time.Time) (*LogCursor, error) {
	name := LogStreamName(service, function)
	st, err := l.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, ErrNoLogStream
	}
	if err != nil {
		return nil, fmt.Errorf("store: log stream of %s/%s: %w", service, function, err)
	}
	cfg := jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: logReaderIdle,
		MaxResetAttempts:  logReaderResets,
	}
	if !since.IsZero() {
		start := since.Add(-logSinceSlack)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := l.js.OrderedConsumer(ctx, name, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: reading the log of %s/%s: %w", service, function, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("store: reading the log of %s/%s: %w", service, function, err)
	}
	c := &LogCursor{js: l.js, stream: name, cons: cons, it: it, last: st.CachedInfo().State.LastSeq}
	if info := cons.CachedInfo(); info == nil || info.NumPending == 0 {
		c.caughtUp = true // nothing stored from the start on
	}
	return c, nil
}

// CaughtUp reports whether the backlog has been read: every message the
// stream held when the cursor opened (from its start on) was returned by
// Next. It is true at once when there was none.
func (c *LogCursor) CaughtUp() bool { return c.caughtUp }

// Next returns the next message's data, waiting for one until ctx ends.
// After the stream is deleted it returns an error (once the consumer's
// few attempts to come back failed).
func (c *LogCursor) Next(ctx context.Context) ([]byte, error) {
	m, err := c.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("store: reading the log stream %s: %w", c.stream, err)
	}
	if md, err := m.Metadata(); err == nil && (md.Sequence.Stream >= c.last || md.NumPending == 0) {
		c.caughtUp = true
	}
	return m.Data(), nil
}

// Close stops the cursor and deletes its consumer (the server would
// after logReaderIdle anyway).
func (c *LogCursor) Close() {
	c.it.Stop()
	if info := c.cons.CachedInfo(); info != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.js.DeleteConsumer(ctx, c.stream, info.Name)
	}
}
