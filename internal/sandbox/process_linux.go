package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// NewProcess returns a process sandbox. In NetNSAuto and NetNSOn modes it
// probes once whether private network namespaces work here; NetNSOn fails
// when they do not, NetNSAuto logs a warning and uses the host network.
func NewProcess(o ProcessOptions) (*Process, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := o.NetNS
	if mode == "" {
		mode = NetNSAuto
	}
	p := &Process{log: log}
	switch mode {
	case NetNSOff:
		return p, nil
	case NetNSAuto, NetNSOn:
	default:
		return nil, fmt.Errorf("sandbox: netns mode %q: use %s, %s or %s", o.NetNS, NetNSAuto, NetNSOn, NetNSOff)
	}
	host, err := probeNetNS()
	if err != nil {
		if mode == NetNSOn {
			return nil, fmt.Errorf("sandbox: network namespaces unavailable: %w", err)
		}
		log.Warn("network namespaces unavailable; instances share the host network and must not listen on the same port at once", "err", err)
		return p, nil
	}
	p.netns, p.hostNS = true, host
	return p, nil
}

// Start launches spec's command and returns once the process runs.
func (p *Process) Start(ctx context.Context, spec Spec) (Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	in := &instance{
		p:    p,
		id:   spec.ID,
		log:  p.log.With("instance", spec.ID),
		done: make(chan struct{}),
	}
	port, err := in.choosePort(spec.Port)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	spec.Env = append(append([]string(nil), spec.Env...), portEnv(spec.PortEnv, port)...)
	cmd, err := p.command(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	started := make(chan error, 1)
	// The goroutine owns the child: it returns only after the child has
	// exited and been reaped, and Done is closed then; its thread goes with
	// it.
	goLocked(func() { in.run(ctx, cmd, spec.Output, started) })
	if err := <-started; err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	in.log.Debug("instance process started", "pid", in.pid, "netns", p.netns, "path", cmd.Path)
	return in, nil
}

// choosePort decides the port the instance listens on: its CAPort inside
// its own network namespace; in the host network a free port of its own
// (its CAPort stays a candidate, for servers that ignore FC_SERVER_PORT:
// hostPort checks which one its process holds).
func (in *instance) choosePort(caPort int) (int, error) {
	if caPort < 0 || caPort > 65535 {
		return 0, fmt.Errorf("port %d out of range", caPort)
	}
	if caPort == 0 {
		return 0, nil
	}
	if in.p.netns {
		in.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(caPort))
		return caPort, nil
	}
	port, err := allocPort()
	if err != nil {
		return 0, err
	}
	in.ports = []int{port, caPort}
	return port, nil
}

// portEnv sets each of names to port.
func portEnv(names []string, port int) []string {
	if port == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "=" + strconv.Itoa(port)
	}
	return out
}

// command builds the exec.Cmd for spec, without output wiring.
func (p *Process) command(spec Spec) (*exec.Cmd, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("empty command")
	}
	dir, err := checkDir(spec.Dir)
	if err != nil {
		return nil, err
	}
	path, err := resolveCommand(dir, spec.Command[0], spec.Env)
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{
		Path: path,
		Args: append([]string(nil), spec.Command...),
		Dir:  dir,
		// Non-nil even when spec.Env is empty: a nil Env would inherit
		// the server's environment.
		Env: append([]string{}, spec.Env...),
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid: true,
			// Bound to the starting thread, which lives as long as the
			// child (see run), and to the server process.
			Pdeathsig: syscall.SIGKILL,
		},
	}, nil
}

// run is the body of the owner goroutine of one instance, which goLocked
// runs on a thread of its own. It enters a new network namespace (when
// enabled), starts cmd, reports the outcome on started, then waits for the
// child and releases everything.
//
// The thread stays locked for the whole life of the child because
// Pdeathsig fires when the thread that forked the child exits, and it is
// destroyed afterwards because it may sit in the instance's namespace.
func (in *instance) run(ctx context.Context, cmd *exec.Cmd, output io.Writer, started chan<- error) {
	if in.p.netns {
		ns, err := enterNewNetNS()
		if err != nil {
			started <- fmt.Errorf("network namespace: %w", err)
			return
		}
		in.ns = ns
	}
	fail := func(err error) {
		if in.ns != nil {
			in.ns.Close()
		}
		started <- err
	}
	if err := ctx.Err(); err != nil {
		fail(err)
		return
	}
	out, err := attachOutput(cmd, output)
	if err != nil {
		fail(err)
		return
	}
	if err := cmd.Start(); err != nil {
		out.abort()
		fail(err)
		return
	}
	in.pid = cmd.Process.Pid
	in.out = out
	out.started(in.log, &in.p.outputBufs)
	started <- nil
	in.wait(cmd, out)
}

// wait waits for the child of run to exit, kills what remains of its
// process group (and, with a namespace, every process left inside it),
// drains its output, releases the namespace handle and closes done.
func (in *instance) wait(cmd *exec.Cmd, out *output) {
	// Wait for the exit without reaping, so the pid (and so the process
	// group id) cannot be reused while signal may still target it.
	waitExited(in.pid)
	in.mu.Lock()
	in.exited = true
	_ = unix.Kill(-in.pid, unix.SIGKILL)
	in.mu.Unlock()

	err := cmd.Wait()
	if in.ns != nil {
		if n := killNetNSMembers(in.ns, in.p.hostNS, in.log); n > 0 {
			in.log.Debug("killed processes left in the instance's network namespace", "count", n)
		}
	}
	out.drain(outputDrainTimeout)
	if in.ns != nil {
		in.ns.Close()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		err = fmt.Errorf("wait: %w", err)
	}
	in.exitErr = err
	in.log.Debug("instance process exited", "pid", in.pid, "exit", err)
	close(in.done)
}

// waitExited blocks until process pid has exited, leaving it a zombie.
func waitExited(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// signal sends sig to the instance's process group while its leader has
// not exited. Afterwards the group has already been killed by wait.
func (in *instance) signal(sig unix.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.exited {
		return
	}
	if err := unix.Kill(-in.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		in.log.Warn("signal instance process group", "pid", in.pid, "signal", sig, "err", err)
	}
}

// dialInNS connects to addr from inside network namespace ns on a
// dedicated locked thread, then moves the thread back to the host
// namespace. The socket stays in the namespace it was created in.
func (p *Process) dialInNS(ctx context.Context, ns *os.File, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	if err := setNetNS(ns); err != nil {
		// setns failed, so the thread is still in the host namespace.
		runtime.UnlockOSThread()
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if rerr := setNetNS(p.hostNS); rerr != nil {
		// Leave the thread locked: the runtime destroys it when the calling
		// goroutine returns, instead of reusing a thread in a foreign
		// namespace.
		p.log.Error("cannot return a thread to the host network namespace; discarding the thread", "err", rerr)
		return c, err
	}
	runtime.UnlockOSThread()
	return c, err
}

// Close releases what the sandbox holds beyond its instances (the
// namespaces made ahead, the network rules). Call it after every
// instance has stopped.
func (p *Process) Close(ctx context.Context) error { return nil }
