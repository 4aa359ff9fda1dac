package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// RuncTimes is how long runc took for one container, command by command.
type RuncTimes struct {
	// Create is `runc create`: namespaces, cgroup, mounts, up to the
	// container's init waiting to exec its command.
	Create time.Duration
	// Start is `runc start`: the init execs the command.
	Start time.Duration
	// Delete is `runc delete --force` of the exited container.
	Delete time.Duration
}

// MeasureRunc creates, starts and deletes a throwaway container on the
// host's root (running `true`, in the host network) and times each runc
// command: what every cold start spends in runc before the function's
// own process runs, which `runc run` does in one command and so cannot
// report apart. For benchmarks; the container's init is reaped by the
// host's init (or nearest subreaper), since `runc create` exits first.
func (c *Container) MeasureRunc(ctx context.Context) (RuncTimes, error) {
	var t RuncTimes
	id := "probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	in := &containerInstance{c: c, id: id, cid: c.prefix + id, log: c.log, bundle: filepath.Join(c.bundleDir(), id), done: make(chan struct{})}
	if err := os.Mkdir(in.bundle, 0o700); err != nil {
		return t, fmt.Errorf("sandbox: measure runc: %w", err)
	}
	in.made = true
	defer in.remove(false)
	p := ociParams{Hostname: id, Args: []string{"true"}, Cwd: "/", Rootfs: filepath.Join(in.bundle, "rootfs"),
		HostRoot: true, CgroupsPath: in.cgroupPath(), CgroupNS: c.cg.unified, NoFile: c.noFile}
	if _, err := in.rootfs(&Spec{Root: &RootFS{}}, &p); err != nil {
		return t, fmt.Errorf("sandbox: measure runc: %w", err)
	}
	b, err := json.Marshal(ociSpec(p))
	if err == nil {
		err = os.WriteFile(filepath.Join(in.bundle, "config.json"), b, 0o600)
	}
	if err != nil {
		return t, fmt.Errorf("sandbox: measure runc: %w", err)
	}
	// No pipes: the container's init inherits runc create's stdio, and
	// a pipe would keep the command from returning.
	run := func(d *time.Duration, args ...string) error {
		began := time.Now()
		cmd := c.runcCmd(ctx, append([]string{"--log", in.runcLog(), "--log-format", "json"}, args...)...)
		err := cmd.Run()
		*d = time.Since(began)
		if err != nil {
			if msg := runcError(in.runcLog()); msg != "" {
				return fmt.Errorf("sandbox: measure runc: %s: %s", args[0], msg)
			}
			return fmt.Errorf("sandbox: measure runc: %s: %w", args[0], err)
		}
		return nil
	}
	if err := run(&t.Create, "create", "--bundle", in.bundle, in.cid); err != nil {
		c.deleteContainer(in.cid)
		return t, err
	}
	if err := run(&t.Start, "start", in.cid); err != nil {
		c.deleteContainer(in.cid)
		return t, err
	}
	return t, run(&t.Delete, "delete", "--force", in.cid)
}
