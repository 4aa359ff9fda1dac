package sandbox

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits of every container (see ociSpec for why these values).
const (
	// containerPids bounds processes plus threads: a fork bomb stops
	// there, while a JVM's or a Node worker pool's threads fit easily.
	containerPids = 4096
	// containerNoFile is the open-file limit, soft and hard, unless
	// openfc's own hard limit is lower (runc cannot raise it: it sets
	// rlimits after dropping CAP_SYS_RESOURCE): servers with many
	// keep-alive connections need more than the usual 1024.
	containerNoFile = 65536
	// containerTmpSize bounds /tmp, a tmpfs whose pages count against
	// the memory limit: FC's instances have a 512 MB disk.
	containerTmpSize = "512m"
	// codeMount is where Spec.Dir appears inside a container.
	codeMount = "/code"
	// defaultPath is PATH when Spec.Env has none (Docker's default).
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// containerCaps is the capability set of a container whose user is root:
// Docker's default set without NET_RAW (raw sockets, ARP spoofing on the
// instance link), MKNOD (no device could be used anyway: the device
// cgroup denies them), SYS_CHROOT, SETFCAP and AUDIT_WRITE, which an
// HTTP server has no use for. What is left lets an entrypoint running as
// root fix file ownership and modes in its writable layer, drop to
// another user, signal its children and bind ports below 1024.
var containerCaps = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_NET_BIND_SERVICE",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
}

// maskedPaths and readonlyPaths are runc's defaults (`runc spec`): kernel
// interfaces a container must not read or change.
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// ociParams is what ociSpec needs to know about one container.
type ociParams struct {
	Hostname string // the instance id
	Args     []string
	Env      []string
	Cwd      string
	User     specs.User
	// Rootfs is the root directory: the overlay of an image, or a
	// skeleton of HostDirs (host-root mode).
	Rootfs string
	// HostDirs, in host-root mode, are the host's top-level directories
	// bound read-only into the skeleton ("/usr", "/etc", …).
	HostDirs []string
	HostRoot bool
	// CodeDir is mounted read-only at /code when not empty.
	CodeDir string
	// NetNS is the path of the network namespace to join; empty: the
	// host's.
	NetNS string
	// Resolv and Hosts are mounted read-only at /etc when not empty.
	Resolv, Hosts string
	// CgroupsPath is the container's cgroup, below the hierarchy roots.
	CgroupsPath string
	// CgroupNS gives the container a cgroup namespace (cgroup v2).
	CgroupNS bool
	MemoryMB int
	// NoFile is the open-file limit.
	NoFile uint64
	// Swap says the memory+swap limit can be set (v1 swap accounting,
	// or v2).
	Swap bool
	// Masked are paths hidden in the container besides runc's defaults.
	Masked []string
	// Hidden are host directories covered by an empty tmpfs of the
	// container's own, in host-root mode; unlike Masked (which runc
	// applies last) Binds can go on top of them.
	Hidden []string
	// Binds are host directories bound read-only at the same path, after
	// Hidden.
	Binds []string
}

// ociSpec builds the runtime spec of a container.
//
// Resources: the memory limit is MemoryMB with no swap on top (memory +
// swap = the same limit), so going over it is an OOM kill, as in FC, not
// slow paging. CPU is shared in proportion to memory, as FC allots vCPUs:
// its performance instances have 1 vCPU per 2 GB and FC 3.0 allows 1:1 to
// 1:4, so shares = MemoryMB/2 gives a 2 GB function the weight of one
// ordinary cgroup (1024), a 512 MB one a quarter of it. These are shares,
// not quotas: an idle host lends its CPUs to whoever needs them.
//
// The root filesystem of an image is writable: it is the overlay whose
// upper layer is the instance's own, so the image's layers stay read-only
// and writes vanish with the instance; in host-root mode it is read-only.
func ociSpec(p ociParams) *specs.Spec {
	s := &specs.Spec{
		Version:  specs.Version,
		Hostname: p.Hostname,
		Root:     &specs.Root{Path: p.Rootfs, Readonly: p.HostRoot},
		Process: &specs.Process{
			Args:            p.Args,
			Env:             withDefaultPath(p.Env),
			Cwd:             p.Cwd,
			User:            p.User,
			NoNewPrivileges: true,
			Capabilities:    capabilities(p.User.UID),
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: p.NoFile, Soft: p.NoFile}},
		},
		Mounts: containerMounts(p),
		Linux: &specs.Linux{
			CgroupsPath:   p.CgroupsPath,
			Resources:     resources(p.MemoryMB, p.Swap),
			Namespaces:    namespaces(p.NetNS, p.CgroupNS),
			MaskedPaths:   append(slices.Clone(maskedPaths), p.Masked...),
			ReadonlyPaths: slices.Clone(readonlyPaths),
		},
	}
	if p.NetNS != "" {
		// Per network namespace, so only with the instance's own:
		// an image whose user is not root may still listen on port 80,
		// and ping works without NET_RAW (as Docker does).
		s.Linux.Sysctl = map[string]string{
			"net.ipv4.ip_unprivileged_port_start": "0",
			"net.ipv4.ping_group_range":           "0 2147483647",
		}
	}
	return s
}

// withDefaultPath adds Docker's default PATH to env when it has none, so
// that runc finds a bare command name.
func withDefaultPath(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			return env
		}
	}
	return append(slices.Clone(env), defaultPath)
}

// capabilities gives root containerCaps; another user gets them only as
// its bounding set (what a setuid program could reach, which
// no_new_privileges forbids anyway), not as capabilities it holds.
func capabilities(uid uint32) *specs.LinuxCapabilities {
	c := &specs.LinuxCapabilities{Bounding: slices.Clone(containerCaps)}
	if uid == 0 {
		c.Effective = slices.Clone(containerCaps)
		c.Permitted = slices.Clone(containerCaps)
	}
	return c
}

func namespaces(netns string, cgroupns bool) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
	}
	if netns != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: netns})
	}
	if cgroupns {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func resources(memoryMB int, swap bool) *specs.LinuxResources {
	r := &specs.LinuxResources{
		// Deny every device; runc adds the standard ones (null, zero,
		// random, tty, …) it creates in /dev.
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(containerPids))},
	}
	if memoryMB > 0 {
		limit := int64(memoryMB) << 20
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if swap {
			r.Memory.Swap = ptr(limit)
		}
		r.CPU = &specs.LinuxCPU{Shares: ptr(uint64(max(2, memoryMB/2)))}
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// containerMounts are the kernel file systems every container has, then
// the host's directories (host-root mode), the code and the instance's
// network files. runc mounts them in this order.
func containerMounts(p ociParams) []specs.Mount {
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		// The container's own cgroup, read-only: runtimes (the JVM,
		// Node.js) size their heaps from its memory limit.
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + containerTmpSize}},
	}
	if p.HostRoot {
		// A /run of its own: the host's holds its daemons' sockets.
		m = append(m, specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755", "size=65536k"}})
		for _, d := range p.HostDirs {
			// "bind", not "rbind": only the directory's own file
			// system, none mounted below it.
			m = append(m, specs.Mount{Destination: d, Type: "bind", Source: d, Options: []string{"bind", "ro", "nosuid", "nodev"}})
		}
	}
	for _, d := range p.Hidden {
		m = append(m, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "mode=755", "size=64k"}})
	}
	for _, d := range p.Binds {
		m = append(m, specs.Mount{Destination: d, Type: "bind", Source: d, Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	if p.CodeDir != "" {
		m = append(m, specs.Mount{Destination: codeMount, Type: "bind", Source: p.CodeDir, Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	for _, f := range [][2]string{{p.Resolv, "/etc/resolv.conf"}, {p.Hosts, "/etc/hosts"}} {
		if f[0] != "" {
			m = append(m, specs.Mount{Destination: f[1], Type: "bind", Source: f[0], Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
		}
	}
	return m
}
