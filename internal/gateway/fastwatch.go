package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// fastWatchDelay is how long a call runs before its connection is
// watched for the client leaving. net/http starts that read for every
// request (a goroutine, a read and two deadline changes each); most calls
// end sooner than this, and one that lasts learns of a client gone within
// about twice the delay. No timer is set per call (a reset and a stop on
// every request, each touching the runtime's timer heap): one ticker per
// server (watcher) looks at the calls in progress, and ticks only while
// there are some.
const fastWatchDelay = 5 * time.Millisecond

// watcher starts the disconnect watch of the calls that have lasted
// fastWatchDelay. Its goroutine is owned by the server's Serve.
type watcher struct {
	active atomic.Int32  // calls in progress
	kick   chan struct{} // the first call after none
	stop   chan struct{}
	once   sync.Once
}

func newWatcher() *watcher {
	return &watcher{kick: make(chan struct{}, 1), stop: make(chan struct{})}
}

// began and ended count a call in and out.
func (w *watcher) began() {
	if w.active.Add(1) == 1 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) ended() { w.active.Add(-1) }

// run ticks while calls are in progress, handing the time to due, until
// close.
func (w *watcher) run(due func(now time.Time)) {
	t := time.NewTicker(fastWatchDelay)
	defer t.Stop()
	for {
		if w.active.Load() == 0 {
			t.Stop()
			select {
			case <-w.kick:
			case <-w.stop:
				return
			}
			t.Reset(fastWatchDelay)
		}
		select {
		case now := <-t.C:
			due(now)
		case <-w.stop:
			return
		}
	}
}

func (w *watcher) close() { w.once.Do(func() { close(w.stop) }) }

// connWatch notices a client that leaves while its call runs: once the
// call has lasted fastWatchDelay and its body was read whole, one byte is
// read from the socket; an error (EOF, reset) cancels the call, a byte
// (the next request, pipelined) is kept for the connection's reader.
type connWatch struct {
	c *fastConn

	mu sync.Mutex
	// cancel ends the call in progress (nil between calls); began is
	// when it began.
	cancel context.CancelFunc
	began  time.Time
	// due: the delay passed; bodyRead: the call's body was read whole
	// and nothing is buffered after it (a pipelined request would be).
	due, bodyRead bool
	// reading: the watch read is in progress; stopped is closed when it
	// ended. stopping: disarm cut it (its error is not the client's).
	reading, stopping bool
	stopped           chan struct{}
	stash             []byte
	stashBuf          [1]byte
	// stashed says stash holds bytes, so that the connection's reads
	// skip the mutex when it does not (nearly always). It is set under mu
	// before read's stopped is closed, which disarm waits for before the
	// connection reads again.
	stashed atomic.Bool
}

func (w *connWatch) init(c *fastConn) { w.c = c }

// arm starts watching the call whose context cancel ends; bodyRead: it
// has no body to read.
func (w *connWatch) arm(cancel context.CancelFunc, bodyRead bool) {
	pipelined := w.c.br.Buffered() > 0
	w.mu.Lock()
	w.cancel, w.began, w.due, w.bodyRead = cancel, time.Now(), false, bodyRead && !pipelined
	w.mu.Unlock()
	w.c.srv.watcher.began()
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
	}
}

// tick starts the watch of a call that began fastWatchDelay before now
// (on the watcher's goroutine).
func (w *connWatch) tick(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel == nil || w.due || now.Sub(w.began) < fastWatchDelay {
		return
	}
	w.due = true
	if w.bodyRead && !w.reading {
		w.startLocked()
	}
}

func (w *connWatch) startLocked() {
	w.reading, w.stopping = true, false
	w.stopped = make(chan struct{})
	go w.read() // ends at the client's first byte or departure, or disarm
}

// read blocks on the socket until the client sends or leaves, or disarm
// cuts it.
func (w *connWatch) read() {
	n, err := w.c.raw.Read(w.stashBuf[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		w.stash = w.stashBuf[:n]
		w.stashed.Store(true)
	}
	if err != nil && !w.stopping && w.cancel != nil {
		w.cancel() // the client left: the call ends (499)
	}
	w.reading = false
	close(w.stopped)
}

// disarm ends the watch of the call that ended (or hands its connection
// over): a watch read in progress is cut and waited for. A second call
// does nothing.
func (w *connWatch) disarm() {
	w.mu.Lock()
	armed := w.cancel != nil
	w.cancel = nil
	reading, stopped := w.reading, w.stopped
	if reading {
		w.stopping = true
	}
	w.mu.Unlock()
	if armed {
		w.c.srv.watcher.ended()
	}
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
	if !w.stashed.Load() {
		return 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.stash) == 0 {
		return 0, false
	}
	n := copy(p, w.stash)
	w.stash = w.stash[n:]
	w.stashed.Store(len(w.stash) > 0)
	return n, true
}

// stashBytes puts b in front of what the socket reads next.
func (w *connWatch) stashBytes(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stash = append(append([]byte(nil), b...), w.stash...)
	w.stashed.Store(len(w.stash) > 0)
}
