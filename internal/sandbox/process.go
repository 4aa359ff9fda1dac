package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// Network namespace modes of ProcessOptions.NetNS.
const (
	// NetNSAuto uses a private network namespace per instance when the
	// kernel allows it and falls back to the host network otherwise.
	NetNSAuto = "auto"
	// NetNSOn requires private network namespaces.
	NetNSOn = "on"
	// NetNSOff runs every instance in the host network.
	NetNSOff = "off"
)

// ProcessOptions configures a Process sandbox.
type ProcessOptions struct {
	// NetNS is NetNSAuto (the default when empty), NetNSOn or NetNSOff.
	// With a network of its own per instance (a namespace, a veth link to
	// the host, an address from Network.CIDR, NAT outward), instances can
	// all listen on the same port, reach the host and the outside but not
	// one another, and the server dials each at its address.
	NetNS string
	// Network configures the instance networks (addresses, pool, rules)
	// when instances get namespaces of their own.
	Network network.Options
	// Logger receives diagnostics. Nil discards.
	Logger *slog.Logger
}

// Process is a Sandbox that runs each instance as a plain child process in
// its own process group and, when enabled, its own network namespace.
//
// Every child is started from a dedicated, locked OS thread that lives
// exactly as long as the child, with Pdeathsig SIGKILL, so no instance
// outlives the server even when the server is killed.
type Process struct {
	log *slog.Logger
	// net makes the instances' networks; nil where instances share the
	// host network.
	net *network.Manager
	// outputBufs holds the output copiers' read buffers (*[]byte) while
	// their instances are quiet.
	outputBufs sync.Pool
}

var _ Sandbox = (*Process)(nil)

// Network returns the manager of the instances' networks, nil where
// instances share the host network; the container sandbox shares it.
func (p *Process) Network() *network.Manager { return p.net }

// NetNSEnabled reports whether instances get private network namespaces.
func (p *Process) NetNSEnabled() bool { return p.net != nil }

// resolveCommand returns the absolute path of the program argv0 names:
// looked up in PATH (from env, else the server's) when it has no '/',
// relative to dir when it is a relative path with a '/', as is when
// absolute. dir must be absolute. The result is an executable regular file.
func resolveCommand(dir, argv0 string, env []string) (string, error) {
	var path string
	switch {
	case argv0 == "":
		return "", errors.New("empty command")
	case filepath.IsAbs(argv0):
		path = argv0
	case strings.Contains(argv0, "/"):
		path = filepath.Join(dir, argv0)
	default:
		return lookPath(dir, argv0, searchPath(env))
	}
	if err := checkExecutable(path); err != nil {
		return "", fmt.Errorf("command %q: %w", argv0, err)
	}
	return path, nil
}

// searchPath returns the PATH an instance with environment env sees: its
// last PATH entry (os/exec keeps the last of duplicate keys), else the
// server's PATH.
func searchPath(env []string) string {
	path, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, found = v, true
		}
	}
	if !found {
		path = os.Getenv("PATH")
	}
	return path
}

// lookPath finds file in the directories of path. Relative directories
// (including the empty one, meaning ".") are relative to dir, the
// instance's working directory, as they would be for a shell running there.
func lookPath(dir, file, path string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, file)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %q: %w", file, path, exec.ErrNotFound)
}

// checkExecutable reports why path cannot be executed, if it cannot.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: %w", path, fs.ErrPermission)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable: %w", path, fs.ErrPermission)
	}
	if err := unix.Access(path, unix.X_OK); err != nil {
		return &fs.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}

// checkDir returns dir as an absolute path after checking it is a directory.
func checkDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("no working directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("working directory %s is not a directory", abs)
	}
	return abs, nil
}
