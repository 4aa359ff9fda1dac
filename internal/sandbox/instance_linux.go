package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// instance is one child process started by Process.
type instance struct {
	p   *Process
	id  string
	log *slog.Logger
	// addr is the instance's address and Port on its own network; empty
	// in the host network (or without a port). There, ports are the
	// candidates (the port it was given, its CAPort) and confirmed the
	// one its own process was found listening on (hostPort).
	addr      string
	ports     []int
	confirmed atomic.Pointer[string]

	// link is the instance's network (nil in the host network), set
	// before run; run releases it once the instance has exited.
	link *network.Link

	// Set by run before Start returns, then read-only.
	pid int
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

// Ready reports whether the instance's process accepts connections: a
// connection to its port inside its namespace, or, in the host network,
// a listening socket of its own process group on its port.
func (in *instance) Ready(ctx context.Context) error {
	if in.link == nil && len(in.ports) > 0 {
		_, err := in.hostPort()
		if err != nil {
			return fmt.Errorf("sandbox: instance %s: %w", in.id, err)
		}
		return nil
	}
	c, err := in.DialContext(ctx)
	if err != nil {
		return err
	}
	return c.Close()
}

// DialContext connects to the instance's port at its address, or, in
// the host network, to the port its own process listens on.
func (in *instance) DialContext(ctx context.Context) (net.Conn, error) {
	addr := in.addr
	if in.link == nil && len(in.ports) > 0 {
		var err error
		if addr, err = in.hostPort(); err != nil {
			return nil, fmt.Errorf("sandbox: instance %s: %w", in.id, err)
		}
	}
	return dialInstance(ctx, in.id, addr, in.done)
}

// dialInstance connects to addr, the port of instance id, which is gone
// once done is closed: a dial then, or one that fails after, says the
// instance exited (net.ErrClosed) rather than how the dial failed.
func dialInstance(ctx context.Context, id, addr string, done <-chan struct{}) (net.Conn, error) {
	select {
	case <-done:
		return nil, fmt.Errorf("sandbox: instance %s has exited: %w", id, net.ErrClosed)
	default:
	}
	if addr == "" {
		return nil, fmt.Errorf("sandbox: instance %s has no port", id)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		select {
		case <-done:
			return nil, fmt.Errorf("sandbox: instance %s has exited: %w", id, net.ErrClosed)
		default:
		}
		return nil, fmt.Errorf("sandbox: dial instance %s: %w", id, err)
	}
	return c, nil
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

// Address is the instance's own IP address; empty in the host network.
func (in *instance) Address() string {
	if in.link == nil {
		return ""
	}
	return in.link.Addr.String()
}
