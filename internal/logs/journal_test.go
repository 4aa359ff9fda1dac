package logs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/internal/natsx"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
)

// journal is a Journal on a test's embedded JetStream, its writer running
// until the test ends.
type journal struct {
	*logs.Journal
	conn *natsx.Conn
}

func newJournal(t *testing.T, ctx context.Context, conn *natsx.Conn, node string, cfg store.LogStreamsConfig, o logs.JournalOptions) *journal {
	t.Helper()
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 20
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	o.Streams = store.NewLogStreams(conn.JS, cfg)
	o.Node = node
	if o.FlushInterval == 0 {
		o.FlushInterval = 20 * time.Millisecond
	}
	j := logs.NewJournal(o)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &journal{Journal: j, conn: conn}
}

func record(fn, inst, req, msg string) logs.Record {
	return logs.Record{Function: fn, Instance: inst, RequestID: req, Message: msg}
}

func msgs(rs []logs.Record) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Message
	}
	return strings.Join(out, "|")
}

// query reads fn's records, failing the test on an error.
func query(t *testing.T, ctx context.Context, j *journal, fn string, f logs.Filter) []logs.Record {
	t.Helper()
	recs, err := j.Query(ctx, fn, f)
	if err != nil {
		t.Fatalf("Query(%s): %v", fn, err)
	}
	return recs
}

// streamState is the state of service/function's log stream.
func streamState(t *testing.T, ctx context.Context, conn *natsx.Conn, service, function string) jetstream.StreamState {
	t.Helper()
	st, err := conn.JS.Stream(ctx, store.LogStreamName(service, function))
	if err != nil {
		t.Fatalf("log stream of %s/%s: %v", service, function, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State
}

func TestJournalBatchesAndReadsBackFromAnotherNode(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	n1 := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{})
	n2 := newJournal(t, ctx, conn, "n2", store.LogStreamsConfig{}, logs.JournalOptions{})

	var want []string
	for i := range 200 {
		m := fmt.Sprintf("line %d", i)
		n1.Append(record("s/f", "i1", "r1", m))
		want = append(want, m)
	}
	// n1's read waits for its own buffered records.
	if got := msgs(query(t, ctx, n1, "s/f", logs.Filter{})); got != strings.Join(want, "|") {
		t.Fatalf("n1 reads %q, want the 200 lines in order", got)
	}
	// Another node reads the same from the stream, with the writer's node.
	got := query(t, ctx, n2, "s/f", logs.Filter{})
	if msgs(got) != strings.Join(want, "|") {
		t.Fatalf("n2 reads %q, want the 200 lines in order", msgs(got))
	}
	for _, r := range got {
		if r.Node != "n1" || r.Function != "s/f" || r.Instance != "i1" || r.RequestID != "r1" || r.Time.IsZero() {
			t.Fatalf("record read back = %+v, want node n1, s/f, i1, r1 and a time", r)
		}
	}
	// Batched: far fewer messages than records.
	if st := streamState(t, ctx, conn, "s", "f"); st.Msgs == 0 || st.Msgs > 20 {
		t.Errorf("the stream holds %d messages for 200 records, want a few batches", st.Msgs)
	}
	// A function without output has no stream and no records.
	if got := query(t, ctx, n2, "s/none", logs.Filter{}); len(got) != 0 {
		t.Errorf("a function without output: %d records", len(got))
	}
	// The per-request tail is the writing node's, from memory.
	if tail := string(n1.Invocation("s/f", "r1", 16)); !strings.HasSuffix(tail, "line 199\n") {
		t.Errorf("n1's Invocation tail = %q", tail)
	}
	if tail := n2.Invocation("s/f", "r1", 16); len(tail) != 0 {
		t.Errorf("n2 served no request but its Invocation tail = %q", tail)
	}
}

func TestJournalQueryFilters(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{})
	j.Append(record("s/f", "i1", "", "boot"))
	j.Append(record("s/f", "i1", "r1", "a1"))
	j.Append(record("s/f", "i2", "r2", "b1"))
	j.Append(record("s/f", "i1", "r1", "a2"))
	j.Append(record("s/g", "i3", "r3", "other function"))
	if got := msgs(query(t, ctx, j, "s/f", logs.Filter{})); got != "boot|a1|b1|a2" {
		t.Fatalf("all of s/f = %q", got)
	}
	time.Sleep(20 * time.Millisecond)
	mid := time.Now().UTC()
	j.Append(record("s/f", "i2", "r4", "late"))

	for _, c := range []struct {
		name string
		f    logs.Filter
		want string
	}{
		{"request", logs.Filter{RequestID: "r1"}, "a1|a2"},
		{"instance", logs.Filter{Instance: "i2"}, "b1|late"},
		{"since", logs.Filter{Since: mid}, "late"},
		{"tail", logs.Filter{Tail: 2}, "a2|late"},
		{"instance and tail", logs.Filter{Instance: "i1", Tail: 1}, "a2"},
		{"no match", logs.Filter{RequestID: "nope"}, ""},
	} {
		if got := msgs(query(t, ctx, j, "s/f", c.f)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if got := msgs(query(t, ctx, j, "s/g", logs.Filter{})); got != "other function" {
		t.Errorf("s/g = %q", got)
	}
}

// next receives a record from ch within a few seconds.
func next(t *testing.T, ch <-chan logs.Record) logs.Record {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("the follow stream ended")
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no record followed within 5s")
	}
	return logs.Record{}
}

func TestJournalFollowTailThenLive(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	writer := newJournal(t, ctx, conn, "n3", store.LogStreamsConfig{}, logs.JournalOptions{})
	reader := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{})
	for i := range 5 {
		writer.Append(record("s/f", "i1", "r1", fmt.Sprintf("old %d", i)))
	}
	query(t, ctx, writer, "s/f", logs.Filter{}) // written

	fctx, cancel := context.WithCancel(ctx)
	ch, err := reader.Follow(fctx, "s/f", logs.Filter{Tail: 2})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	for _, want := range []string{"old 3", "old 4"} {
		if r := next(t, ch); r.Message != want {
			t.Fatalf("backlog: got %q, want %q", r.Message, want)
		}
	}
	writer.Append(record("s/f", "i1", "r2", "new"))
	if r := next(t, ch); r.Message != "new" || r.Node != "n3" || r.RequestID != "r2" {
		t.Fatalf("live record = %+v, want n3's \"new\" of r2", r)
	}
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the follow stream did not end with its context")
	}
}

func TestJournalFollowWaitsForFirstOutputAndEndsOnForget(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{})
	ch, err := j.Follow(ctx, "s/quiet", logs.Filter{RequestID: "r9"})
	if err != nil {
		t.Fatalf("Follow of a function without output yet: %v", err)
	}
	j.Append(record("s/quiet", "i1", "r8", "not this request"))
	j.Append(record("s/quiet", "i1", "r9", "first"))
	if r := next(t, ch); r.Message != "first" {
		t.Fatalf("followed %q, want first", r.Message)
	}
	j.Forget("s/quiet")
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a record after Forget")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forget did not end the follow stream")
	}
}

func TestJournalByteLimitDropsOldest(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	const limit = 16 << 10
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{MaxBytes: limit},
		logs.JournalOptions{BatchBytes: 1 << 10})
	line := strings.Repeat("x", 90)
	for i := range 1000 { // ~100 KB of records, into a 16 KiB stream
		j.Append(record("s/f", "i1", "r1", fmt.Sprintf("%04d %s", i, line)))
		if i%100 == 99 {
			query(t, ctx, j, "s/f", logs.Filter{Tail: 1}) // flushed in steps
		}
	}
	got := query(t, ctx, j, "s/f", logs.Filter{})
	if len(got) == 0 || len(got) >= 1000 {
		t.Fatalf("%d records kept of 1000 in a %d-byte stream", len(got), limit)
	}
	if last := got[len(got)-1].Message; !strings.HasPrefix(last, "0999 ") {
		t.Errorf("the newest record kept is %.10q, want 0999", last)
	}
	if first := got[0].Message; strings.HasPrefix(first, "0000 ") {
		t.Errorf("the oldest record is still kept: %.10q", first)
	}
	if st := streamState(t, ctx, conn, "s", "f"); st.Bytes > limit {
		t.Errorf("the stream holds %d bytes, over its %d limit", st.Bytes, limit)
	}
	if d := j.Dropped(); d != 0 {
		t.Errorf("%d records counted dropped; the stream's limit drops the oldest, not the new", d)
	}
}

func TestJournalForgetDeletesStream(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{})
	j.Append(record("s/f", "i1", "r1", "hello"))
	j.Append(record("s/g", "i2", "r2", "kept"))
	if got := msgs(query(t, ctx, j, "s/f", logs.Filter{})); got != "hello" {
		t.Fatalf("before Forget: %q", got)
	}
	query(t, ctx, j, "s/g", logs.Filter{})
	j.Forget("s/f")
	// The writer deletes it in its next round.
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err = conn.JS.Stream(ctx, store.LogStreamName("s", "f")); errors.Is(err, jetstream.ErrStreamNotFound) {
			break
		}
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("the forgotten function's stream: err = %v, want not found", err)
	}
	if got := query(t, ctx, j, "s/f", logs.Filter{}); len(got) != 0 {
		t.Errorf("after Forget: %q", msgs(got))
	}
	if tail := j.Invocation("s/f", "r1", 0); len(tail) != 0 {
		t.Errorf("after Forget the cache still has %q", tail)
	}
	if got := msgs(query(t, ctx, j, "s/g", logs.Filter{})); got != "kept" {
		t.Errorf("another function after Forget: %q", got)
	}
}

func TestJournalDeletedFunctionGetsNoStream(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	exists := func(service, function string) bool { return function != "gone" }
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{Exists: exists})
	j.Append(record("s/gone", "i1", "r1", "a late line"))
	j.Append(record("s/here", "i1", "r1", "a line"))
	query(t, ctx, j, "s/gone", logs.Filter{})
	query(t, ctx, j, "s/here", logs.Filter{})
	if _, err := conn.JS.Stream(ctx, store.LogStreamName("s", "gone")); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("a deleted function's stream: err = %v, want not found", err)
	}
	if _, err := conn.JS.Stream(ctx, store.LogStreamName("s", "here")); err != nil {
		t.Fatalf("an existing function's stream: %v", err)
	}
}

func TestJournalAppendNeverBlocksOnDeadNATS(t *testing.T) {
	ctx, conn := storetest.Conn(t)
	const buffer = 64 << 10
	j := newJournal(t, ctx, conn, "n1", store.LogStreamsConfig{}, logs.JournalOptions{BufferBytes: buffer})
	j.Append(record("s/f", "i1", "r1", "before"))
	query(t, ctx, j, "s/f", logs.Filter{})
	conn.Close() // NATS gone: the connection is closed, the server down

	line := strings.Repeat("y", 100)
	const n = 20000 // ~2.6 MB of records into a 64 KiB buffer
	start := time.Now()
	for i := range n {
		j.Append(record("s/f", "i1", "r2", fmt.Sprintf("%d %s", i, line)))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("%d Appends with NATS down took %v", n, took)
	}
	d := j.Dropped()
	if d == 0 || d >= n {
		t.Fatalf("dropped %d of %d records, want most past the %d-byte buffer", d, n, buffer)
	}
	// The per-request tail still works from memory.
	if tail := string(j.Invocation("s/f", "r2", 200)); !strings.Contains(tail, fmt.Sprintf("%d ", n-1)) {
		t.Errorf("the tail with NATS down = %.40q…, want the last line", tail)
	}
	// A read fails with an error rather than hanging.
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := j.Query(qctx, "s/f", logs.Filter{}); err == nil {
		t.Error("Query with NATS down: no error")
	}
}
