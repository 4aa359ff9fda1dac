// Package sandbox runs function instances. An instance is one running copy
// of a function: a process (or later a runc container) whose HTTP server
// listens on the function's CAPort. The instance manager holds Instances
// through this interface and never knows how they run.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

var (
	// ErrOutOfMemory is wrapped by Instance.ExitErr when the instance's
	// memory cgroup killed it for going over Spec.MemoryMB.
	ErrOutOfMemory = errors.New("out of memory")
	// ErrNoRuntime is wrapped by the errors of NewContainer when runc is
	// missing or unusable, and of a Spec with Root given to a sandbox
	// without containers.
	ErrNoRuntime = errors.New("no container runtime (runc)")
)

// Spec says what to run.
type Spec struct {
	// ID is the instance id (also exported to it as FC_INSTANCE_ID).
	ID string
	// Dir is the unpacked code directory and the working directory.
	Dir string
	// Command is argv: Command[0] is looked up in PATH when it has no '/',
	// and resolved relative to Dir when it is a relative path with a '/'.
	Command []string
	// Env is the complete environment of the instance (KEY=value).
	Env []string
	// Port is the CAPort: the port the instance's HTTP server listens on
	// inside its own network namespace. Without one, where instances
	// share the host network, the sandbox gives every instance a free
	// port of its own instead, and reaches it there (or on Port, when its
	// own process listens there).
	Port int
	// PortEnv names the environment variables set to the port the
	// instance should listen on (Port, or the one it was given).
	PortEnv []string
	// Output receives the instance's stdout and stderr. It must be safe for
	// concurrent writes. Nil discards.
	Output io.Writer
	// Net is the instance's network policy and DNS, honoured where the
	// instance has a network of its own.
	Net NetSpec
	// Root, when not nil, runs the instance in a container (runc) with
	// this root filesystem; nil runs it as a plain process.
	Root *RootFS
	// MemoryMB limits the instance's memory (FC's memorySize) where the
	// sandbox can (a container's cgroup); 0: no limit.
	MemoryMB int
}

// RootFS is a container's root filesystem and the image settings that
// come with it.
type RootFS struct {
	// Layers are unpacked image layer directories, lowest first, joined
	// read-only under a writable layer of the instance's own. Empty: the
	// host's root, read-only, with Spec.Dir mounted at /code.
	Layers []string
	// User is the image's user ("uid", "uid:gid", or a name the image's
	// /etc/passwd knows); empty: root.
	User string
	// WorkingDir is the process's working directory inside the
	// container; empty: Spec.Dir's mount (/code), else "/".
	WorkingDir string
	// Binds are host directories bound read-only at the same path, on
	// top of what the container hides (host-root mode only): a built-in
	// runtime's bootstrap, which lives in the hidden data directory.
	Binds []string
}

// NetSpec is what an instance's own network looks like to it.
type NetSpec struct {
	// NoInternet confines the instance to the host (FC's
	// internetAccess: false): only the host's allowed ports at its
	// gateway answer; anything else is refused at once.
	NoInternet bool
	// Nameservers, Searches and Options replace, each when not empty,
	// the host's in the instance's /etc/resolv.conf (FC's customDNS).
	// Options are resolv.conf options ("ndots:2").
	Nameservers []string
	Searches    []string
	Options     []string
}

// Sandbox starts instances.
type Sandbox interface {
	// Start launches the instance and returns once the process runs; it does
	// not wait for the port to accept connections.
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// Instance is one running instance.
type Instance interface {
	// ID returns Spec.ID.
	ID() string
	// Address is the instance's own IP address, which the front door
	// dials; empty where instances share the host network.
	Address() string
	// Ready reports whether the instance's own process accepts
	// connections on its port: nil when it does, else why not (nothing
	// listening yet, or, in the host network, the port held by another
	// process). It also explains a start after the process exited.
	Ready(ctx context.Context) error
	// DialContext opens a TCP connection to the instance's port (inside
	// its network namespace when it has one); in the host network only
	// once the port is its own process's.
	DialContext(ctx context.Context) (net.Conn, error)
	// SyncOutput waits until everything the process wrote to its stdout
	// and stderr before the call has been written to Spec.Output, or at
	// most timeout, and reports whether it got there. It is cheap when
	// nothing is pending.
	SyncOutput(timeout time.Duration) bool
	// Done is closed when the process has exited.
	Done() <-chan struct{}
	// ExitErr describes how the process exited ("exit status 3", "signal:
	// killed"); nil before Done is closed or after a clean exit 0.
	ExitErr() error
	// Stop sends SIGTERM to the instance's process group, then SIGKILL when
	// ctx ends, and returns after the process has exited and its resources
	// (namespace handles) are released. Safe to call more than once.
	Stop(ctx context.Context) error
}

// Choose returns a Sandbox that runs a Spec with Root in container and
// any other in process. container may be nil (runc missing): a Spec with
// Root then fails with an error wrapping ErrNoRuntime.
func Choose(process, container Sandbox) Sandbox {
	if c, ok := container.(*Container); ok && c == nil {
		container = nil // a nil *Container in the interface
	}
	return chooser{process: process, container: container}
}

type chooser struct{ process, container Sandbox }

// Start routes spec by its Root.
func (c chooser) Start(ctx context.Context, spec Spec) (Instance, error) {
	if spec.Root == nil {
		return c.process.Start(ctx, spec)
	}
	if c.container == nil {
		return nil, fmt.Errorf("sandbox: start instance %s in a container: %w", spec.ID, ErrNoRuntime)
	}
	return c.container.Start(ctx, spec)
}
