package gateway

import (
	"context"
	"sync"
	"time"
)

// fastWatchDelay is how long a call runs before its connection is
// watched for the client leaving. net/http starts that read for every
// request (a goroutine, a read and two deadline changes each); most calls
// end sooner than this, and one that lasts learns of a client gone within
// the delay.
const fastWatchDelay = 5 * time.Millisecond

// connWatch notices a client that leaves while its call runs: once the
// call has lasted fastWatchDelay and its body was read whole, one byte is
// read from the socket; an error (EOF, reset) cancels the call, a byte
// (the next request, pipelined) is kept for the connection's reader.
type connWatch struct {
	c     *fastConn
	timer *time.Timer

	mu sync.Mutex
	// cancel ends the call in progress (nil between calls).
	cancel context.CancelFunc
	// due: the delay passed; bodyRead: the call's body was read whole
	// and nothing is buffered after it (a pipelined request would be).
	due, bodyRead bool
	// reading: the watch read is in progress; stopped is closed when it
	// ended. stopping: disarm cut it (its error is not the client's).
	reading, stopping bool
	stopped           chan struct{}
	stash             []byte
	stashBuf          [1]byte
}

func (w *connWatch) init(c *fastConn) {
	w.c = c
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
}

// arm starts watching the call whose context cancel ends; bodyRead: it
// has no body to read.
func (w *connWatch) arm(cancel context.CancelFunc, bodyRead bool) {
	w.mu.Lock()
	w.cancel, w.due, w.bodyRead = cancel, false, bodyRead && w.c.br.Buffered() == 0
	w.mu.Unlock()
	w.timer.Reset(fastWatchDelay)
}

// bodyDone is called (on the connection's goroutine) when the call's
// body was read to its end: a due watch starts now.
func (w *connWatch) bodyDone() {
	pipelined := w.c.br.Buffered() > 0
	w.mu.Lock()
	defer w.mu.Unlock()
	if pipelined || w.cancel == nil {
		return
	}
	w.bodyRead = true
	if w.due && !w.reading {
		w.startLocked()
		go w.read()
	}
}

// fire runs when the delay passed (on the timer's goroutine).
func (w *connWatch) fire() {
	w.mu.Lock()
	if w.cancel == nil || w.reading {
		w.mu.Unlock()
		return
	}
	w.due = true
	if !w.bodyRead {
		w.mu.Unlock()
		return
	}
	w.startLocked()
	w.mu.Unlock()
	w.read()
}

func (w *connWatch) startLocked() {
	w.reading, w.stopping = true, false
	w.stopped = make(chan struct{})
}

// read blocks on the socket until the client sends or leaves, or disarm
// cuts it.
func (w *connWatch) read() {
	n, err := w.c.raw.Read(w.stashBuf[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		w.stash = w.stashBuf[:n]
	}
	if err != nil && !w.stopping && w.cancel != nil {
		w.cancel() // the client left: the call ends (499)
	}
	w.reading = false
	close(w.stopped)
}

// disarm ends the watch of the call that ended (or hands its connection
// over): a watch read in progress is cut and waited for.
func (w *connWatch) disarm() {
	w.timer.Stop()
	w.mu.Lock()
	w.cancel = nil
	reading, stopped := w.reading, w.stopped
	if reading {
		w.stopping = true
	}
	w.mu.Unlock()
	if reading {
		_ = w.c.raw.SetReadDeadline(time.Unix(1, 0)) // in the past: the read returns
		<-stopped
		_ = w.c.raw.SetReadDeadline(time.Time{})
	}
}

// cancelCall cancels the call in progress, if any.
func (w *connWatch) cancelCall() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
}

// takeStash hands out what the watch read ahead.
func (w *connWatch) takeStash(p []byte) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.stash) == 0 {
		return 0, false
	}
	n := copy(p, w.stash)
	w.stash = w.stash[n:]
	return n, true
}

// stashBytes puts b in front of what the socket reads next.
func (w *connWatch) stashBytes(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stash = append(append([]byte(nil), b...), w.stash...)
}
