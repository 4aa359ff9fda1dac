package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroups is where this host's cgroup hierarchies are. runc creates a
// container's cgroup (Spec.Linux.CgroupsPath) in each of them; openfc
// reads the memory controller's OOM count and removes what runc left.
type cgroups struct {
	// unified: /sys/fs/cgroup is cgroup v2 (runc's own test); otherwise
	// v1, possibly with a controller-less v2 hierarchy beside it.
	unified bool
	// mounts are the mount points of every cgroup hierarchy, v1 and v2.
	mounts []string
	// memory is the mount of the memory controller (v1) or the unified
	// root (v2).
	memory string
	// swap: the memory+swap limit can be set (v1 with swap accounting;
	// on v2 runc skips memory.swap.max when there is no swap).
	swap bool
}

// findCgroups reads the cgroup mounts.
func findCgroups() (cgroups, error) {
	var cg cgroups
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return cg, fmt.Errorf("no cgroup file system at /sys/fs/cgroup: %w", err)
	}
	cg.unified = st.Type == unix.CGROUP2_SUPER_MAGIC
	mounts, err := readMountInfo()
	if err != nil {
		return cg, err
	}
	for _, m := range mounts {
		switch m.fstype {
		case "cgroup2":
			cg.mounts = append(cg.mounts, m.point)
		case "cgroup":
			cg.mounts = append(cg.mounts, m.point)
			if !cg.unified && cg.memory == "" && slices.Contains(strings.Split(m.superOpts, ","), "memory") {
				cg.memory = m.point
			}
		}
	}
	if cg.unified {
		cg.memory, cg.swap = "/sys/fs/cgroup", true
		ctrl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		if err != nil || !slices.Contains(strings.Fields(string(ctrl)), "memory") {
			return cg, errors.New("cgroup v2 without the memory controller")
		}
	} else if cg.memory != "" {
		_, err := os.Stat(filepath.Join(cg.memory, "memory.memsw.limit_in_bytes"))
		cg.swap = err == nil
	}
	if cg.memory == "" {
		return cg, errors.New("no memory cgroup controller is mounted")
	}
	return cg, nil
}

// oomKills returns how many processes the kernel's OOM killer has killed
// in the memory cgroup path (below the hierarchy root): the oom_kill count
// of memory.oom_control (v1) or memory.events (v2). It must be read
// before runc deletes the cgroup.
func (cg cgroups) oomKills(path string) (int, error) {
	file := "memory.oom_control"
	if cg.unified {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(cg.memory, path, file))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s has no oom_kill count (kernel older than 4.13?)", file)
}

// removeTree removes the cgroup path (below each hierarchy's root) and
// everything below it in every hierarchy, killing the processes still in
// it first. Only that path is touched.
func (cg cgroups) removeTree(path string, log *slog.Logger) {
	for _, mnt := range cg.mounts {
		root := filepath.Join(mnt, path)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		// Deepest first: a cgroup with children cannot be removed.
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := removeCgroup(d, path); err != nil {
				log.Warn("cannot remove a container cgroup", "cgroup", d, "err", err)
			}
		}
	}
}

// removeCgroup kills the processes of cgroup directory dir and removes it.
// prefix is the cgroup path a process must be in to be killed.
func removeCgroup(dir, prefix string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		// cgroup.kill (v2, Linux 5.14) kills every process at once.
		if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) != nil {
			killCgroupProcs(dir, prefix)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killCgroupProcs sends SIGKILL to the processes listed in dir's
// cgroup.procs that are still in a cgroup below prefix when signalled
// (checked after pinning each with a pidfd, so a reused pid is never hit).
func killCgroupProcs(dir, prefix string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if inCgroup(pid, prefix) {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		unix.Close(fd)
	}
}

// inCgroup reports whether process pid is in a cgroup at or below prefix
// in any hierarchy.
func inCgroup(pid int, prefix string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[2] == prefix || strings.HasPrefix(parts[2], prefix+"/")) {
			return true
		}
	}
	return false
}
