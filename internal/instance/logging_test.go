package instance

import (
	"strings"
	"testing"
)

// Acquire and Release write FC's invoke markers; instance output is tagged
// with the request in flight when there is exactly one; LogTail returns
// what the sink has for the invocation.
func TestLogMarkersAndTagging(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{tail: []byte("canned tail")}
	out := &syncBuffer{}
	m, sb := newMgr(t, Options{Logs: sink, Output: out})
	fn := fnNamed("logs", 2)
	const function = "s/logs"

	a := mustAcquire(t, m, fn, "req-A")
	id := a.InstanceID()
	w := sb.byID(id).spec.Output
	write := func(s string) {
		t.Helper()
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	// check asserts that exactly one record has msg, with that request id.
	check := func(msg, requestID string) {
		t.Helper()
		recs := sink.find(msg)
		if len(recs) != 1 {
			t.Errorf("%d records %q; want 1 (all: %+v)", len(recs), msg, sink.all())
			return
		}
		r := recs[0]
		if r.RequestID != requestID || r.Function != function || r.Instance != id || r.Time.IsZero() {
			t.Errorf("record %q: %+v; want request %q, function %s, instance %s", msg, r, requestID, function, id)
		}
	}

	check("FC Invoke Start RequestId: req-A", "req-A")
	write("hello from A\n")
	check("hello from A", "req-A")
	write("split ")
	write("line\r\n")
	check("split line", "req-A")

	b := mustAcquire(t, m, fn, "req-B")
	if b.InstanceID() != id {
		t.Fatalf("req-B on %s; want the shared instance %s (concurrency 2)", b.InstanceID(), id)
	}
	check("FC Invoke Start RequestId: req-B", "req-B")
	write("two in flight\n")
	check("two in flight", "") // ambiguous: not tagged

	// syncsDuring counts the output syncs f causes.
	syncsDuring := func(f func()) int32 {
		before := sb.byID(id).syncs.Load()
		f()
		return sb.byID(id).syncs.Load() - before
	}
	if n := syncsDuring(b.Release); n != 0 {
		t.Errorf("releasing one of two requests in flight synced the output %d times; want 0 (nothing is tagged)", n)
	}
	check("FC Invoke End RequestId: req-B", "req-B")
	write("A alone again\n")
	check("A alone again", "req-A")

	if got := string(a.LogTail(123)); got != "canned tail" {
		t.Errorf("LogTail = %q; want the sink's Invocation answer", got)
	}
	sink.mu.Lock()
	asked := strings.Join(sink.asked, ";")
	sink.mu.Unlock()
	if asked != function+"|req-A|123" {
		t.Errorf("Invocation asked for %q; want %q", asked, function+"|req-A|123")
	}

	if n := syncsDuring(a.Release); n != 1 {
		t.Errorf("releasing the only request in flight synced the output %d times; want 1", n)
	}
	check("FC Invoke End RequestId: req-A", "req-A")
	// Output arriving after the response, before the next request,
	// belongs to the request that just ended (it crossed the pipe late).
	write("idle output\n")
	check("idle output", "req-A")
	a.Release() // a second Release writes no second marker
	check("FC Invoke End RequestId: req-A", "req-A")

	// The Output writer gets every line, prefixed with the instance id.
	for _, line := range []string{"hello from A", "split line", "two in flight", "idle output"} {
		if !strings.Contains(out.String(), " "+id+" "+line) {
			t.Errorf("Output lacks %q prefixed with the instance id:\n%s", line, out.String())
		}
	}
	// Markers are in order around the output.
	var order []string
	for _, r := range sink.all() {
		order = append(order, r.Message)
	}
	want := []string{
		"FC Invoke Start RequestId: req-A", "hello from A", "split line",
		"FC Invoke Start RequestId: req-B", "two in flight", "FC Invoke End RequestId: req-B",
		"A alone again", "FC Invoke End RequestId: req-A", "idle output",
	}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("records in order:\n%q\nwant\n%q", order, want)
	}
}

// Without a sink nothing breaks and LogTail is empty.
func TestNoLogSink(t *testing.T) {
	t.Parallel()
	m, sb := newMgr(t, Options{})
	l := mustAcquire(t, m, fnNamed("nosink", 1), "r")
	if _, err := sb.byID(l.InstanceID()).spec.Output.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if got := l.LogTail(100); got != nil {
		t.Errorf("LogTail without a sink = %q", got)
	}
	l.Release()
}

var _ LogSink = (*fakeSink)(nil)

func TestPrefixedID(t *testing.T) {
	for line, want := range map[string]string{
		"2024-05-06T07:08:09.123Z 1-abc [INFO] hello":  "1-abc",
		"2024-05-06T07:08:09Z r2 [ERROR] ":             "r2",
		"2024-05-06T07:08:09.123Z 1-abc hello":         "",
		"hello world [INFO] x":                         "",
		"2024-05-06T07:08:09.123Zx 1-abc [INFO] hello": "",
		"": "",
		"2024-05-06T07:08:09.123456789Z id [DEBUG] m x": "id",
	} {
		if got := prefixedID([]byte(line)); got != want {
			t.Errorf("prefixedID(%q) = %q; want %q", line, got, want)
		}
	}
}
