package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// reconcile removes what a run of the same owner left when it was killed
// (SIGKILL, a crash, a power cut): its containers, which outlive their
// runc parent, then their cgroups, the mounts under StateDir and the
// state itself. It touches only runc's state under StateDir, containers
// whose id has this owner's prefix, cgroups under this owner's parent
// and mounts under StateDir.
func (c *Container) reconcile() {
	removed := 0
	ents, _ := os.ReadDir(c.runcRoot())
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), c.prefix) {
			continue
		}
		if err := c.deleteContainer(e.Name()); err != nil {
			c.log.Warn("cannot delete a container a previous run left", "container", e.Name(), "err", err)
			continue
		}
		removed++
	}
	// What runc could not delete (its state was incomplete) dies with
	// its cgroup.
	c.cg.removeTree(c.cgroupParent(), c.log)
	if err := unmountUnder(c.opts.StateDir); err != nil {
		c.log.Warn("cannot unmount what a previous run left", "err", err)
	}
	if left, _ := mountsUnder(c.opts.StateDir); len(left) == 0 {
		// Never while something is mounted below: RemoveAll would
		// delete inside it.
		if err := os.RemoveAll(c.opts.StateDir); err != nil {
			c.log.Warn("cannot remove the container state a previous run left", "dir", c.opts.StateDir, "err", err)
		}
	}
	if removed > 0 {
		c.log.Info("removed containers a previous run left", "count", removed)
	}
}

// deleteContainer runs `runc delete --force id`, which kills the
// container's processes and removes its cgroup and state. A container
// runc does not know counts as deleted.
func (c *Container) deleteContainer(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.runcCmd(ctx, "delete", "--force", id).CombinedOutput()
	if err == nil || strings.Contains(string(out), "does not exist") {
		return nil
	}
	if _, serr := os.Stat(filepath.Join(c.runcRoot(), id)); os.IsNotExist(serr) {
		return nil
	}
	return fmt.Errorf("runc delete %s: %w: %s", id, err, strings.TrimSpace(string(out)))
}
