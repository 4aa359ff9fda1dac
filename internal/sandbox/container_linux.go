package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// ContainerOptions configures a Container sandbox.
type ContainerOptions struct {
	// Runc is the path of runc; empty: "runc" looked up in PATH.
	Runc string
	// StateDir holds runc's state, the instances' bundles and writable
	// layers (e.g. DATA/run/containers). It belongs to this sandbox:
	// NewContainer empties it.
	StateDir string
	// Owner identifies this openfc (its data directory) on the host, as
	// network.Options.Owner: it prefixes runc's container ids and names
	// the cgroup all its containers live under, so that cleanup after a
	// crash removes only what this openfc made.
	Owner string
	// Network makes the instances' networks (the process sandbox's, see
	// Process.Network); nil: containers share the host network and are
	// reached on Spec.Port.
	Network *network.Manager
	// Hide are host directories that containers running on the host's
	// root (RootFS.Layers empty) see empty (a small tmpfs of their own):
	// the data directory, with other functions' code and openfc's keys;
	// RootFS.Binds may show parts of it again. StateDir is always
	// hidden.
	Hide []string
	// Logger receives diagnostics. Nil discards.
	Logger *slog.Logger
}

// Container is a Sandbox that runs each instance in a runc container: an
// OCI image's layers under a writable layer of its own (or the host's root,
// read-only, with the code at /code), new pid, mount, uts and ipc
// namespaces, the instance's network namespace, and a cgroup with its
// memory limit.
//
// runc runs in the foreground (`runc run`), a child of this process with
// Pdeathsig SIGKILL; the container itself would survive this process's
// death, which is why NewContainer first removes whatever a killed run of
// the same owner left: containers, mounts, cgroups, state.
type Container struct {
	opts   ContainerOptions
	runc   string
	log    *slog.Logger
	net    *network.Manager
	cg     cgroups
	prefix string // of runc container ids: "openfc_<owner>_"
	// noFile is the containers' open-file limit.
	noFile uint64
	// hostDirs are the host's top-level directories a host-root
	// container sees (read once: they rarely change).
	hostDirs []string
	// outputBufs holds the output copiers' read buffers while their
	// instances are quiet.
	outputBufs sync.Pool

	mu     sync.Mutex
	live   map[*containerInstance]struct{}
	closed bool
}

var _ Sandbox = (*Container)(nil)

// ownerRE and idRE keep owners and instance ids usable in runc container
// ids, cgroup names and file names.
var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	// At most 63 characters: the id is also the container's hostname.
	idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
)

// NewContainer checks runc, removes what a killed run of the same owner
// left, and prepares StateDir. It fails with an error wrapping
// ErrNoRuntime when runc is missing or does not run.
func NewContainer(o ContainerOptions) (*Container, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !ownerRE.MatchString(o.Owner) {
		return nil, fmt.Errorf("sandbox: container owner %q: want up to 32 letters, digits, '-' or '_'", o.Owner)
	}
	if o.StateDir == "" {
		return nil, errors.New("sandbox: containers need a state directory")
	}
	state, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: container state directory: %w", err)
	}
	o.StateDir = state
	var hide []string
	for _, h := range o.Hide {
		if h == "" {
			continue
		}
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, fmt.Errorf("sandbox: hidden path: %w", err)
		}
		hide = append(hide, abs)
	}
	o.Hide = hide
	runc, err := checkRunc(o.Runc)
	if err != nil {
		return nil, err
	}
	cg, err := findCgroups()
	if err != nil {
		return nil, fmt.Errorf("sandbox: containers: %w: %w", ErrNoRuntime, err)
	}
	c := &Container{opts: o, runc: runc, log: log, net: o.Network, cg: cg,
		prefix: "openfc_" + o.Owner + "_", live: map[*containerInstance]struct{}{}}
	var rl unix.Rlimit
	c.noFile = containerNoFile
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		c.noFile = min(c.noFile, rl.Max)
	}
	c.reconcile()
	if err := c.prepareStateDir(); err != nil {
		return nil, fmt.Errorf("sandbox: containers: %w", err)
	}
	if c.hostDirs, err = hostTopDirs(); err != nil {
		return nil, fmt.Errorf("sandbox: containers: %w", err)
	}
	log.Debug("container sandbox ready", "runc", runc, "state", state, "cgroup_v2", cg.unified, "network", c.net != nil)
	return c, nil
}

// checkRunc resolves runc's path and runs `runc --version`.
func checkRunc(path string) (string, error) {
	if path == "" {
		path = "runc"
	}
	abs, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w: %w", ErrNoRuntime, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, abs, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sandbox: %w: %s --version: %w: %s", ErrNoRuntime, abs, err, strings.TrimSpace(string(out)))
	}
	return abs, nil
}

// runcRoot is runc's state directory; bundleDir the parent of the
// instances' bundles.
func (c *Container) runcRoot() string  { return filepath.Join(c.opts.StateDir, "runc") }
func (c *Container) bundleDir() string { return filepath.Join(c.opts.StateDir, "bundles") }

// cgroupParent is the cgroup every container of this owner lives under,
// below each hierarchy's root (absolute, so not below openfc's own
// cgroup: on cgroup v2 a cgroup holding processes can have no children
// with controllers).
func (c *Container) cgroupParent() string { return "/openfc_" + c.opts.Owner }

// cgroupPath is the cgroup of instance id.
func (c *Container) cgroupPath(id string) string { return c.cgroupParent() + "/" + id }

// runcCmd builds `runc --root R args…`.
func (c *Container) runcCmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, c.runc, append([]string{"--root", c.runcRoot()}, args...)...)
}

// hostTopDirs lists the directories of the host's root a host-root
// container sees: all but the kernel's and the runtime's (/proc, /sys,
// /dev, /run, /tmp: the container has its own), /code (the function's),
// and the homes and mount points of people and removable media. Symbolic
// links (/bin -> usr/bin) are kept as links.
func hostTopDirs() ([]string, error) {
	skip := []string{"proc", "sys", "dev", "run", "tmp", "code", "lost+found", "root", "home", "mnt", "media", "boot"}
	ents, err := os.ReadDir("/")
	if err != nil {
		return nil, fmt.Errorf("list the host's root: %w", err)
	}
	var dirs []string
	for _, e := range ents {
		if slices.Contains(skip, e.Name()) || (!e.IsDir() && e.Type()&os.ModeSymlink == 0) {
			continue
		}
		dirs = append(dirs, "/"+e.Name())
	}
	return dirs, nil
}

// Close stops the instances still running (each as Stop with ctx), then
// removes this sandbox's cgroups and the StateDir mount. Call it after
// the instance manager has stopped its instances, and before the network
// manager is closed (instances hold links until they are removed).
func (c *Container) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	live := make([]*containerInstance, 0, len(c.live))
	for in := range c.live {
		live = append(live, in)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range live {
		wg.Go(func() { in.Stop(ctx) })
	}
	wg.Wait()
	c.cg.removeTree(c.cgroupParent(), c.log)
	return c.unmountStateDir()
}

// errClosed is the error of a Start after (or during) Close.
var errClosed = errors.New("the container sandbox is closed")

// isClosed reports whether Close has begun.
func (c *Container) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// track adds a started instance to the live set, which Close stops; it
// fails once Close has begun.
func (c *Container) track(in *containerInstance) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	select {
	case <-in.done: // it exited already; finish has untracked it
	default:
		c.live[in] = struct{}{}
	}
	return nil
}

func (c *Container) untrack(in *containerInstance) {
	c.mu.Lock()
	delete(c.live, in)
	c.mu.Unlock()
}
