package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// NewProcess returns a process sandbox. In NetNSAuto and NetNSOn modes it
// sets up instance networks (which proves they work here); NetNSOn fails
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
	no := o.Network
	if no.Logger == nil {
		no.Logger = log
	}
	net, err := network.New(no)
	if err != nil {
		if mode == NetNSOn {
			return nil, fmt.Errorf("sandbox: instance networks unavailable: %w", err)
		}
		log.Warn("instance networks unavailable (they need root, veth and nftables): instances share the host network, each on a port of its own", "err", err)
		return p, nil
	}
	p.net = net
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
	cmd, err := in.prepare(ctx, &spec)
	if err != nil {
		if in.link != nil {
			p.net.Release(in.link)
		}
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	started := make(chan error, 1)
	// The goroutine owns the child: it returns only after the child has
	// exited and been reaped, and Done is closed then; its thread goes with
	// it.
	network.GoLocked(func() { in.run(ctx, cmd, spec.Output, started) })
	if err := <-started; err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	in.log.Debug("instance process started", "pid", in.pid, "addr", in.Address(), "path", cmd.Path)
	return in, nil
}

// prepare gives the instance its network (when instances have their
// own) and port, and builds its command.
func (in *instance) prepare(ctx context.Context, spec *Spec) (*exec.Cmd, error) {
	if in.p.net != nil {
		l, err := in.p.net.Take(ctx)
		if err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
		in.link = l
		dns := network.DNS{Nameservers: spec.Net.Nameservers, Searches: spec.Net.Searches, Options: spec.Net.Options}
		if err := in.p.net.Configure(l, spec.ID, spec.Net.NoInternet, dns); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	port, err := in.choosePort(spec.Port)
	if err != nil {
		return nil, err
	}
	spec.Env = append(append([]string(nil), spec.Env...), portEnv(spec.PortEnv, port)...)
	return in.p.command(*spec)
}

// choosePort decides the port the instance listens on: its CAPort on its
// own network; in the host network a free port of its own (its CAPort
// stays a candidate, for servers that ignore FC_SERVER_PORT: hostPort
// checks which one its process holds).
func (in *instance) choosePort(caPort int) (int, error) {
	if caPort < 0 || caPort > 65535 {
		return 0, fmt.Errorf("port %d out of range", caPort)
	}
	if caPort == 0 {
		return 0, nil
	}
	if in.link != nil {
		in.addr = netip.AddrPortFrom(in.link.Addr, uint16(caPort)).String()
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

// run is the body of the owner goroutine of one instance, which GoLocked
// runs on a thread of its own. It enters the instance's network (when it
// has one), starts cmd, reports the outcome on started, then waits for the
// child and releases everything.
//
// The thread stays locked for the whole life of the child because
// Pdeathsig fires when the thread that forked the child exits, and it is
// destroyed afterwards because it may sit in the instance's namespace.
func (in *instance) run(ctx context.Context, cmd *exec.Cmd, output io.Writer, started chan<- error) {
	fail := func(err error) {
		if in.link != nil {
			in.p.net.Release(in.link)
		}
		started <- err
	}
	if in.link != nil {
		if err := in.link.Enter(); err != nil {
			fail(fmt.Errorf("network: %w", err))
			return
		}
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
	if in.link != nil {
		if n := network.KillMembers(in.link.NS, in.p.net.Host(), in.log); n > 0 {
			in.log.Debug("killed processes left in the instance's network namespace", "count", n)
		}
	}
	out.drain(outputDrainTimeout)
	if in.link != nil {
		in.p.net.Release(in.link)
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

// Close releases what the sandbox holds beyond its instances (the
// namespaces made ahead, the network rules). Call it after every
// instance has stopped.
func (p *Process) Close(ctx context.Context) error {
	if p.net == nil {
		return nil
	}
	return p.net.Close()
}
