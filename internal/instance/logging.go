package instance

import (
	"bytes"
	"time"

	"github.com/openfc/openfc/internal/logs"
)

// lineWriter splits an instance's output into lines and records each one
// in the log sink, tagged with the request in flight when there is exactly
// one. The sandbox writes from one goroutine per instance.
type lineWriter struct {
	m       *Manager
	in      *inst
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.in.tail.Write(p)
	w.in.lastWrite.Store(time.Now().UnixNano())
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
	w.m.appendLog(w.in, reqID, string(line))
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

// invocationLog returns the last maxBytes of an invocation's log, waiting
// briefly (at most 100 ms) for output still in the pipe: until the
// instance has been quiet for 10 ms.
func (m *Manager) invocationLog(in *inst, requestID string, maxBytes int) []byte {
	if m.opts.Logs == nil {
		return nil
	}
	settleOutput(in)
	return m.opts.Logs.Invocation(in.p.qualified, requestID, maxBytes)
}

// settleOutput lets output still in the pipe arrive (at most 100 ms): the
// function may print just before it answers, so it waits a moment even
// when nothing has arrived yet, then until the instance has been quiet
// for 10 ms.
func settleOutput(in *inst) {
	deadline := time.Now().Add(100 * time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	for time.Now().Before(deadline) && time.Since(time.Unix(0, in.lastWrite.Load())) < 10*time.Millisecond {
		time.Sleep(2 * time.Millisecond)
	}
}
