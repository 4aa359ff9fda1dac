package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// containerInstance is one container started by Container.
type containerInstance struct {
	c        *Container
	id       string // Spec.ID
	cid      string // runc's container id
	log      *slog.Logger
	bundle   string
	memoryMB int
	// addr is where the container's server listens, as the host dials
	// it: its address and Port on its link, or 127.0.0.1:Port in the
	// host network; empty without a port.
	addr string

	// Set while preparing, before run; read by remove, which only the
	// goroutine that prepared or the owner goroutine calls.
	link    *network.Link
	made    bool // the bundle directory exists
	mounted bool // the overlay is mounted at bundle/rootfs

	// Set by run before Start returns, then read-only.
	proc *os.Process // runc
	out  *output     // nil when Spec.Output needs no copier

	done    chan struct{} // closed by finish once the container is gone
	exitErr error         // written by finish before done is closed
}

var _ Instance = (*containerInstance)(nil)

// ID returns Spec.ID.
func (in *containerInstance) ID() string { return in.id }

// Address is the container's own IP address; empty in the host network.
func (in *containerInstance) Address() string {
	if in.link == nil {
		return ""
	}
	return in.link.Addr.String()
}

// Done is closed when the container's init has exited and the container
// has been removed.
func (in *containerInstance) Done() <-chan struct{} { return in.done }

// ExitErr describes how the container's init exited; it wraps
// ErrOutOfMemory when its memory cgroup killed it.
func (in *containerInstance) ExitErr() error {
	select {
	case <-in.done:
		return in.exitErr
	default:
		return nil
	}
}

// SyncOutput waits until what the container wrote before the call has
// reached Spec.Output, or at most timeout.
func (in *containerInstance) SyncOutput(timeout time.Duration) bool { return in.out.sync(timeout) }

// Ready reports whether the container's server accepts connections.
func (in *containerInstance) Ready(ctx context.Context) error {
	c, err := in.DialContext(ctx)
	if err != nil {
		return err
	}
	return c.Close()
}

// DialContext connects to the container's port.
func (in *containerInstance) DialContext(ctx context.Context) (net.Conn, error) {
	return dialInstance(ctx, in.id, in.addr, in.done)
}

// Stop sends SIGTERM to the container's init (runc forwards the signals
// it gets), then, when ctx ends, SIGKILL to every process of the
// container, and returns once the container is removed. An init (pid 1
// of its namespace) that has no SIGTERM handler ignores SIGTERM, as in
// Docker: such a container stops when ctx ends. Safe to call more than
// once and concurrently.
func (in *containerInstance) Stop(ctx context.Context) error {
	select {
	case <-in.done:
		return nil
	default:
	}
	if err := in.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		in.log.Warn("signal runc", "err", err)
	}
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
	}
	in.log.Debug("container did not stop in time; killing it", "container", in.cid)
	in.kill()
	<-in.done
	return nil
}

// kill sends SIGKILL to every process of the container; when runc cannot
// (the container is not created yet, or runc hangs), it kills runc, after
// which finish deletes whatever container is left.
func (in *containerInstance) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := in.c.runcCmd(ctx, "kill", "--all", in.cid, "KILL").CombinedOutput()
	if err == nil {
		return
	}
	select {
	case <-in.done:
		return
	default:
	}
	in.log.Debug("runc kill failed; killing runc", "err", err, "output", string(out))
	if err := in.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		in.log.Warn("kill runc", "err", err)
	}
}

// remove deletes the container (when runc ran), its cgroup, its root file
// system mount and bundle, and releases its link. Errors are logged:
// whatever is left, the next NewContainer of this owner removes.
func (in *containerInstance) remove(ran bool) {
	if ran {
		if err := in.c.deleteContainer(in.cid); err != nil {
			in.log.Warn("cannot delete the container", "err", err)
		}
		// Everything in the container is dead now, so the pipe ends.
		in.out.drain(outputDrainTimeout)
	}
	// runc removed the cgroup; this finds it only when runc failed
	// half-way.
	in.c.cg.removeTree(in.cgroupPath(), in.log)
	if in.mounted {
		if err := unmount(in.bundle + "/rootfs"); err != nil {
			in.log.Warn("cannot unmount the container's root", "err", err)
		} else {
			in.mounted = false
		}
	}
	if in.made && !in.mounted {
		if err := os.RemoveAll(in.bundle); err != nil {
			in.log.Warn("cannot remove the container's bundle", "err", err)
		}
	}
	if in.link != nil {
		in.c.net.Release(in.link)
	}
}
