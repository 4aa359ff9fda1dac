package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// instance is one child process started by Process.
type instance struct {
	p    *Process
	id   string
	addr string // 127.0.0.1:Port; empty when Spec.Port is 0
	log  *slog.Logger

	// Set by run before Start returns, then read-only. ns is the handle
	// to the instance's network namespace (nil in host-network mode); run
	// closes it once the instance has exited, which fails later dials.
	pid int
	ns  *os.File
	out *output // nil when Spec.Output needs no copier

	done    chan struct{} // closed by run after the process has exited
	exitErr error         // written by run before done is closed

	mu     sync.Mutex
	exited bool // the leader has exited: its pgid may no longer be signalled
}

var _ Instance = (*instance)(nil)

// ID returns Spec.ID.
func (in *instance) ID() string { return in.id }

// Done is closed when the process has exited, its process group has been
// killed and its output has been drained.
func (in *instance) Done() <-chan struct{} { return in.done }

// ExitErr describes how the process exited: nil before Done is closed or
// after exit status 0, else typically an *exec.ExitError ("exit status 3",
// "signal: killed").
func (in *instance) ExitErr() error {
	select {
	case <-in.done:
		return in.exitErr
	default:
		return nil
	}
}

// SyncOutput waits until what the process wrote to stdout and stderr
// before the call has reached Spec.Output, or at most timeout.
func (in *instance) SyncOutput(timeout time.Duration) bool { return in.out.sync(timeout) }

// DialContext connects to 127.0.0.1:Spec.Port inside the instance's
// network namespace, or in the host network without one.
func (in *instance) DialContext(ctx context.Context) (net.Conn, error) {
	select {
	case <-in.done:
		return nil, fmt.Errorf("sandbox: instance %s has exited: %w", in.id, net.ErrClosed)
	default:
	}
	if in.addr == "" {
		return nil, fmt.Errorf("sandbox: instance %s has no port", in.id)
	}
	if in.ns == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", in.addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	// A fresh goroutine, so that a thread that cannot be moved back to the
	// host namespace dies with it rather than with the caller's goroutine.
	go func() {
		c, err := in.p.dialInNS(ctx, in.ns, in.addr)
		ch <- result{c, err}
	}()
	r := <-ch
	if r.err != nil {
		select {
		case <-in.done:
			return nil, fmt.Errorf("sandbox: instance %s has exited: %w", in.id, net.ErrClosed)
		default:
		}
		return nil, fmt.Errorf("sandbox: dial instance %s: %w", in.id, r.err)
	}
	return r.c, nil
}

// Stop sends SIGTERM to the process group, SIGKILL when ctx ends, and
// returns once the process has exited and its namespace handle is closed.
// It is safe to call more than once and concurrently.
func (in *instance) Stop(ctx context.Context) error {
	select {
	case <-in.done:
		return nil
	default:
	}
	in.signal(unix.SIGTERM)
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
	}
	in.log.Debug("instance did not stop in time; killing its process group", "pid", in.pid)
	in.signal(unix.SIGKILL)
	<-in.done
	return nil
}
