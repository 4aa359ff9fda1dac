package instance

import (
	"bytes"
	"time"

	"github.com/openfc/openfc/internal/logs"
)

// lineWriter splits an instance's output into lines and records each one
// in the log sink, tagged with the request in flight when there is exactly
// one, or, on a built-in runtime, with the request its bootstrap's prefix
// names (see prefixedID). The sandbox writes from one goroutine per
// instance.
type lineWriter struct {
	m       *Manager
	in      *inst
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.in.tail.Write(p)
	data := p
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			w.partial = append(w.partial, data...)
			if len(w.partial) > 64<<10 { // an endless line: cut it
				w.emit(w.partial)
				w.partial = w.partial[:0]
			}
			return len(p), nil
		}
		line := data[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		w.emit(bytes.TrimSuffix(line, []byte{'\r'}))
		data = data[i+1:]
	}
}

func (w *lineWriter) emit(line []byte) {
	reqID := ""
	if p := w.in.current.Load(); p != nil {
		reqID = *p
	}
	if w.in.token != "" {
		if id := prefixedID(line); id != "" {
			reqID = id
		}
	}
	w.m.appendLog(w.in, reqID, string(line))
}

// prefixedID returns the request id of a line in FC's log format,
// "<RFC 3339 time> <requestId> [LEVEL] <message>", which a built-in
// runtime's bootstrap writes for each line a handler logs: with several
// requests in flight on one instance, it alone knows whose line it is.
// "" when the line is not in that format.
func prefixedID(line []byte) string {
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(ts) < 20 || ts[4] != '-' || ts[10] != 'T' {
		return ""
	}
	id, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(id) == 0 || len(rest) < 3 || rest[0] != '[' {
		return ""
	}
	if _, err := time.Parse(time.RFC3339Nano, string(ts)); err != nil {
		return ""
	}
	return string(id)
}

// appendLog records one line of an instance's log.
func (m *Manager) appendLog(in *inst, requestID, msg string) {
	if m.opts.Logs == nil {
		return
	}
	m.opts.Logs.Append(logs.Record{Time: time.Now().UTC(), Function: in.p.qualified, Instance: in.id, RequestID: requestID, Message: msg})
}

// marker records one of FC's log markers ("FC Invoke Start RequestId: …").
func (m *Manager) marker(in *inst, requestID, msg string) { m.appendLog(in, requestID, msg) }

// outputSyncTimeout bounds how long the end of an invocation (or hook)
// waits for what the instance printed before it answered to be read from
// its output pipe.
const outputSyncTimeout = 100 * time.Millisecond

// syncOutput lets what the instance wrote so far arrive in the log, so
// that a line printed just before the function answered is recorded
// (with its request id) before the end marker.
func syncOutput(in *inst) { in.sb.SyncOutput(outputSyncTimeout) }

// invocationLog returns the last maxBytes of an invocation's log,
// including what the instance printed before it answered.
func (m *Manager) invocationLog(in *inst, requestID string, maxBytes int) []byte {
	if m.opts.Logs == nil {
		return nil
	}
	syncOutput(in)
	return m.opts.Logs.Invocation(in.p.qualified, requestID, maxBytes)
}
