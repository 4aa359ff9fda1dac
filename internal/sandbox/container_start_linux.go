package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// Start prepares the instance's bundle (root file system, network, OCI
// spec) and launches `runc run` for it; it returns once runc runs, not
// waiting for the container's server.
func (c *Container) Start(ctx context.Context, spec Spec) (Instance, error) {
	if err := c.checkSpec(ctx, spec); err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	in := &containerInstance{
		c:        c,
		id:       spec.ID,
		cid:      c.prefix + spec.ID,
		log:      c.log.With("instance", spec.ID),
		bundle:   filepath.Join(c.bundleDir(), spec.ID),
		memoryMB: spec.MemoryMB,
		done:     make(chan struct{}),
	}
	if c.isClosed() {
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, errClosed)
	}
	began := time.Now()
	cmd, err := in.prepare(ctx, &spec)
	if err != nil {
		in.remove(false)
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	prepared := time.Since(began)
	started := make(chan error, 1)
	// The goroutine owns runc: it returns after runc has exited and the
	// container is removed, and Done is closed then. Its thread, locked,
	// lives exactly as long as runc, whose Pdeathsig is bound to it.
	network.GoLocked(func() { in.run(cmd, spec.Output, started) })
	if err := <-started; err != nil {
		return nil, fmt.Errorf("sandbox: start instance %s: runc: %w", spec.ID, err)
	}
	if err := c.track(in); err != nil {
		// Close began while this one started, and missed it.
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in.Stop(stop)
		return nil, fmt.Errorf("sandbox: start instance %s: %w", spec.ID, err)
	}
	in.log.Debug("container launched", "container", in.cid, "addr", in.addr,
		"prepare", prepared, "spawn", time.Since(began)-prepared)
	return in, nil
}

// checkSpec refuses what a container cannot run.
func (c *Container) checkSpec(ctx context.Context, spec Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case spec.Root == nil:
		return errors.New("a container needs Spec.Root")
	case !idRE.MatchString(spec.ID):
		return fmt.Errorf("instance id %q: want letters, digits, '.', '-' or '_'", spec.ID)
	case len(spec.Command) == 0 || spec.Command[0] == "":
		return errors.New("empty command (the image has no entrypoint or cmd, and the function none)")
	case spec.Port < 0 || spec.Port > 65535:
		return fmt.Errorf("port %d out of range", spec.Port)
	case spec.MemoryMB < 0:
		return fmt.Errorf("memory %d MB out of range", spec.MemoryMB)
	}
	return nil
}

// prepare makes the bundle: the network (when instances have their own),
// the root file system, the instance's hosts file and config.json; it
// returns the `runc run` command.
func (in *containerInstance) prepare(ctx context.Context, spec *Spec) (*exec.Cmd, error) {
	c := in.c
	if err := os.Mkdir(in.bundle, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("instance id %s is in use", spec.ID)
		}
		return nil, fmt.Errorf("bundle: %w", err)
	}
	in.made = true
	p := ociParams{
		Hostname:    spec.ID,
		Args:        spec.Command,
		Env:         append(append([]string(nil), spec.Env...), portEnv(spec.PortEnv, spec.Port)...),
		Rootfs:      filepath.Join(in.bundle, "rootfs"),
		HostRoot:    len(spec.Root.Layers) == 0,
		CgroupsPath: in.cgroupPath(),
		CgroupNS:    c.cg.unified,
		MemoryMB:    spec.MemoryMB,
		NoFile:      c.noFile,
		Swap:        c.cg.swap,
	}
	if err := in.network(ctx, spec, &p); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	open, err := in.rootfs(spec, &p)
	if err != nil {
		return nil, err
	}
	if spec.Dir != "" {
		if p.CodeDir, err = checkDir(spec.Dir); err != nil {
			return nil, fmt.Errorf("code: %w", err)
		}
	}
	if p.User, err = resolveUser(spec.Root.User, open); err != nil {
		return nil, err
	}
	p.Cwd = workingDir(spec.Root.WorkingDir, p.CodeDir != "")
	b, err := json.Marshal(ociSpec(p))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(in.bundle, "config.json"), b, 0o600); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	// --keep: runc leaves the cgroup of an exited container, so that its
	// OOM count can be read before `runc delete` removes it.
	cmd := exec.Command(c.runc, "--root", c.runcRoot(), "--log", in.runcLog(), "--log-format", "json",
		"run", "--keep", "--bundle", in.bundle, in.cid)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Out of the server's process group, so a terminal's ^C is not
		// forwarded to every container.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	return cmd, nil
}

// workingDir is the process's working directory inside the container.
func workingDir(wd string, hasCode bool) string {
	switch {
	case wd != "":
		return filepath.Join("/", wd)
	case hasCode:
		return codeMount
	}
	return "/"
}

// network gives the instance its link (when the sandbox has a network
// manager) and its resolv.conf and hosts, and decides its address.
func (in *containerInstance) network(ctx context.Context, spec *Spec, p *ociParams) error {
	net := in.c.net
	if net == nil {
		// The host's network and so its resolver and hosts. A host-root
		// container has them already, unless resolv.conf links into
		// /run (systemd-resolved), which it has its own of.
		if r, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil {
			p.Resolv = r
		}
		if _, err := os.Stat("/etc/hosts"); err == nil {
			p.Hosts = "/etc/hosts"
		}
		if spec.Port > 0 {
			in.addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(spec.Port)).String()
		}
		return nil
	}
	l, err := net.Take(ctx)
	if err != nil {
		return err
	}
	in.link = l
	dns := network.DNS{Nameservers: spec.Net.Nameservers, Searches: spec.Net.Searches, Options: spec.Net.Options}
	if err := net.Configure(l, spec.ID, spec.Net.NoInternet, dns); err != nil {
		return err
	}
	resolv, hosts := l.Files()
	// The hosts file plus the container's own name (its hostname), which
	// some runtimes (the JVM) resolve at start.
	b, err := os.ReadFile(hosts)
	if err != nil {
		return err
	}
	b = append(b, l.Addr.String()+"\t"+spec.ID+"\n"...)
	p.Hosts = filepath.Join(in.bundle, "hosts")
	if err := os.WriteFile(p.Hosts, b, 0o644); err != nil {
		return err
	}
	p.Resolv, p.NetNS = resolv, l.NSPath()
	if spec.Port > 0 {
		in.addr = netip.AddrPortFrom(l.Addr, uint16(spec.Port)).String()
	}
	return nil
}

// rootfs makes the root file system: the image's layers under a
// writable layer of the instance's own, or a skeleton where the host's
// top-level directories are mounted read-only. It returns how to open
// files inside it (for the user's lookup).
func (in *containerInstance) rootfs(spec *Spec, p *ociParams) (openInRoot, error) {
	if err := os.Mkdir(p.Rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if p.HostRoot {
		// Mount points for the host's directories, made here because
		// runc cannot create them in a read-only root; links stay links.
		for _, d := range in.c.hostDirs {
			target := filepath.Join(p.Rootfs, d)
			if dest, err := os.Readlink(d); err == nil {
				if err := os.Symlink(dest, target); err != nil {
					return nil, fmt.Errorf("root skeleton: %w", err)
				}
				continue
			}
			if err := os.Mkdir(target, 0o755); err != nil {
				return nil, fmt.Errorf("root skeleton: %w", err)
			}
			p.HostDirs = append(p.HostDirs, d)
		}
		p.Masked = []string{in.c.opts.StateDir}
		p.Hidden, p.Binds = in.c.opts.Hide, spec.Root.Binds
		return rootOpener("/"), nil
	}
	upper, work := filepath.Join(in.bundle, "upper"), filepath.Join(in.bundle, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}
	for _, l := range spec.Root.Layers {
		if !filepath.IsAbs(l) {
			return nil, fmt.Errorf("layer directory %q is not absolute", l)
		}
	}
	if err := mountOverlay(spec.Root.Layers, upper, work, p.Rootfs); err != nil {
		return nil, err
	}
	in.mounted = true
	return rootOpener(p.Rootfs), nil
}

// run is the body of the owner goroutine of one instance, on a locked
// thread of its own: it starts runc, reports the outcome on started,
// waits for runc to exit (the container's init has exited then), and
// removes the container.
func (in *containerInstance) run(cmd *exec.Cmd, output io.Writer, started chan<- error) {
	out, err := attachOutput(cmd, output)
	if err == nil {
		err = cmd.Start()
		if err != nil {
			out.abort()
		}
	}
	if err != nil {
		in.remove(false)
		started <- err
		return
	}
	in.proc = cmd.Process
	in.out = out
	out.started(in.log, &in.c.outputBufs)
	started <- nil
	in.finish(cmd.Wait())
}

// finish reads how the container ended, removes it, releases its network
// and closes done.
func (in *containerInstance) finish(werr error) {
	exit := in.exitError(werr)
	if werr != nil {
		// Before runc delete removes the cgroup.
		n, err := in.c.cg.oomKills(in.cgroupPath())
		if err != nil {
			in.log.Debug("cannot read the container's OOM count", "err", err)
		}
		if n > 0 {
			exit = fmt.Errorf("%w: killed by its memory limit of %d MB (%v)", ErrOutOfMemory, in.memoryMB, exit)
		}
	}
	in.remove(true)
	in.exitErr = exit
	in.log.Debug("container exited", "container", in.cid, "exit", exit)
	close(in.done)
	in.c.untrack(in)
}

// exitError describes how runc exited: runc's own error when it failed
// (from its log), else the container's init's exit. runc exits with the
// init's status, or 128+n when a signal n killed it.
func (in *containerInstance) exitError(werr error) error {
	if werr == nil {
		return nil
	}
	if msg := runcError(in.runcLog()); msg != "" {
		return fmt.Errorf("runc: %s", msg)
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) {
		return fmt.Errorf("wait: %w", werr)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
		if code := ws.ExitStatus(); code > 128 && code < 128+65 {
			return containerSignal(code - 128)
		}
	}
	return werr
}

// containerSignal is the exit of a container whose init a signal killed;
// it reads as exec.ExitError's does ("signal: killed").
type containerSignal syscall.Signal

func (s containerSignal) Error() string { return "signal: " + syscall.Signal(s).String() }

// runcError returns the last error runc logged to its JSON log, if any.
func runcError(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	msg := ""
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e struct{ Level, Msg string }
		if json.Unmarshal(line, &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			msg = e.Msg
		}
	}
	return msg
}

// cgroupPath is the container's cgroup below each hierarchy's root.
func (in *containerInstance) cgroupPath() string { return in.c.cgroupPath(in.id) }

func (in *containerInstance) runcLog() string { return filepath.Join(in.bundle, "runc.log") }
