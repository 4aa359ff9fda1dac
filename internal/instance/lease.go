package instance

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// Lease is one acquired slot on an instance.
type Lease struct {
	in        *inst
	requestID string
	async     bool // of the async acquire class (async.go)
	released  atomic.Bool
}

// Dial opens a connection to the instance's HTTP server.
func (l *Lease) Dial(ctx context.Context) (net.Conn, error) { return l.in.sb.DialContext(ctx) }

// Fail records in the function's log, with the invocation's request id,
// why the invocation failed (the front door's view: a timeout, a crash,
// an answer that broke off).
func (l *Lease) Fail(reason string) {
	l.in.p.m.appendLog(l.in, l.requestID, "Error: "+reason)
}

// InstanceID returns the instance id.
func (l *Lease) InstanceID() string { return l.in.id }

// RuntimeToken returns the secret with which a built-in runtime's
// bootstrap marks its own answers (X-Openfc-Runtime-Token); "" for custom
// runtimes and containers, whose answers are all the user's.
func (l *Lease) RuntimeToken() string { return l.in.token }

// Release ends the invocation and frees the slot. Calling it twice is a
// no-op.
func (l *Lease) Release() {
	if l.released.Swap(true) {
		return
	}
	if l.in.current.Load() != nil {
		// The only request in flight, so the instance's output is being
		// tagged with its id: what it printed before answering must be
		// read before the tagging stops. With several in flight nothing
		// is tagged, and the check (a syscall) is skipped.
		syncOutput(l.in)
	}
	l.in.p.m.marker(l.in, l.requestID, "FC Invoke End RequestId: "+l.requestID)
	l.in.p.release(l.in, l.requestID, l.async)
}

// Exited waits up to d for the instance's process to exit and reports
// whether it did, with its exit description. The gateway uses it to tell a
// crash from a connection error. An exit the manager can explain to the
// client (a container that ran out of memory) comes as an *fc.Error, the
// request's answer.
func (l *Lease) Exited(d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.in.sb.Done():
		return true, exitError(l.in)
	case <-t.C:
		return false, nil
	}
}

// LogTail returns the last maxBytes of this invocation's log so far,
// after letting output that is still in the pipe arrive.
func (l *Lease) LogTail(maxBytes int) []byte {
	return l.in.p.m.invocationLog(l.in, l.requestID, maxBytes)
}
