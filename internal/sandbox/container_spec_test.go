package sandbox

import (
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestOCISpecImage(t *testing.T) {
	s := ociSpec(ociParams{
		Hostname: "c-1", Args: []string{"/server"}, Env: []string{"A=1"}, Cwd: "/app",
		User: specs.User{UID: 1000, GID: 1000}, Rootfs: "/b/rootfs", CodeDir: "/data/code",
		NetNS: "/proc/1/fd/7", Resolv: "/n/resolv.conf", Hosts: "/b/hosts",
		CgroupsPath: "/openfc_o/c-1", MemoryMB: 512, NoFile: 1000, Swap: true, Masked: []string{"/x"},
	})
	if s.Root.Readonly || s.Root.Path != "/b/rootfs" || s.Hostname != "c-1" {
		t.Errorf("root %+v, hostname %q: want the writable overlay, c-1", s.Root, s.Hostname)
	}
	p := s.Process
	if !p.NoNewPrivileges || p.Cwd != "/app" || p.User.UID != 1000 {
		t.Errorf("process %+v", p)
	}
	if !slices.Equal(p.Env, []string{"A=1", defaultPath}) {
		t.Errorf("env %q: want the default PATH added", p.Env)
	}
	if len(p.Capabilities.Effective) != 0 || len(p.Capabilities.Permitted) != 0 || !slices.Contains(p.Capabilities.Bounding, "CAP_KILL") {
		t.Errorf("capabilities of a non-root user: %+v", p.Capabilities)
	}
	if slices.Contains(p.Capabilities.Bounding, "CAP_NET_RAW") || slices.Contains(p.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Errorf("bounding set %q", p.Capabilities.Bounding)
	}
	if p.Rlimits[0].Hard != 1000 {
		t.Errorf("rlimits %+v", p.Rlimits)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 512<<20 || *r.Memory.Swap != 512<<20 || *r.CPU.Shares != 256 || r.Pids.Limit == nil || *r.Pids.Limit != containerPids {
		t.Errorf("resources: memory %d swap %d shares %d", *r.Memory.Limit, *r.Memory.Swap, *r.CPU.Shares)
	}
	var types []specs.LinuxNamespaceType
	for _, ns := range s.Linux.Namespaces {
		types = append(types, ns.Type)
		if ns.Type == specs.NetworkNamespace && ns.Path != "/proc/1/fd/7" {
			t.Errorf("network namespace path %q", ns.Path)
		}
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.NetworkNamespace} {
		if !slices.Contains(types, want) {
			t.Errorf("namespaces %v: no %s", types, want)
		}
	}
	if s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("sysctl %v", s.Linux.Sysctl)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/x") || !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") {
		t.Errorf("masked paths %v", s.Linux.MaskedPaths)
	}
	mounts := map[string]specs.Mount{}
	for _, m := range s.Mounts {
		mounts[m.Destination] = m
	}
	for dest, src := range map[string]string{"/code": "/data/code", "/etc/resolv.conf": "/n/resolv.conf", "/etc/hosts": "/b/hosts"} {
		if m := mounts[dest]; m.Source != src || !slices.Contains(m.Options, "ro") {
			t.Errorf("mount %s: %+v", dest, m)
		}
	}
	for _, dest := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys", "/tmp"} {
		if _, ok := mounts[dest]; !ok {
			t.Errorf("no %s mount", dest)
		}
	}
	if _, ok := mounts["/run"]; ok {
		t.Error("an image got the host-root /run")
	}
}

func TestOCISpecHostRoot(t *testing.T) {
	s := ociSpec(ociParams{Args: []string{"sh"}, Env: []string{"PATH=/bin"}, Cwd: "/code", Rootfs: "/b/rootfs",
		HostRoot: true, HostDirs: []string{"/usr", "/etc"}, CgroupsPath: "/o/c"})
	if !s.Root.Readonly {
		t.Error("the host's root is writable")
	}
	if !slices.Equal(s.Process.Env, []string{"PATH=/bin"}) {
		t.Errorf("env %q", s.Process.Env)
	}
	if !slices.Contains(s.Process.Capabilities.Effective, "CAP_NET_BIND_SERVICE") {
		t.Errorf("root's capabilities %+v", s.Process.Capabilities)
	}
	if s.Linux.Resources.Memory != nil || s.Linux.Sysctl != nil {
		t.Errorf("memory %+v, sysctl %v without a limit or a network", s.Linux.Resources.Memory, s.Linux.Sysctl)
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Error("a network namespace in the host network")
		}
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
		if m.Destination == "/usr" && (m.Source != "/usr" || !slices.Contains(m.Options, "ro") || slices.Contains(m.Options, "rbind")) {
			t.Errorf("host mount %+v", m)
		}
	}
	if !slices.Contains(dests, "/run") || !slices.Contains(dests, "/etc") || slices.Contains(dests, "/code") {
		t.Errorf("mounts %v", dests)
	}
}

func TestResolveUser(t *testing.T) {
	root := fstest.MapFS{
		"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\n")},
		"etc/group":  {Data: []byte("root:x:0:\napp:x:1001:\nextra:x:2000:app,other\nmore:x:3000:other,app\n")},
	}
	open := func(name string) (io.ReadCloser, error) { return root.Open(strings.TrimPrefix(name, "/")) }
	for _, tc := range []struct {
		user string
		want specs.User
	}{
		{"", specs.User{}},
		{"app", specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000, 3000}}},
		{"1000", specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000, 3000}}},
		{"app:extra", specs.User{UID: 1000, GID: 2000, AdditionalGids: []uint32{3000}}},
		{"app:5", specs.User{UID: 1000, GID: 5, AdditionalGids: []uint32{2000, 3000}}},
		{"4242", specs.User{UID: 4242}},
		{"4242:7", specs.User{UID: 4242, GID: 7}},
		{"root", specs.User{}},
	} {
		got, err := resolveUser(tc.user, open)
		if err != nil || got.UID != tc.want.UID || got.GID != tc.want.GID || !slices.Equal(got.AdditionalGids, tc.want.AdditionalGids) {
			t.Errorf("resolveUser(%q) = %+v, %v; want %+v", tc.user, got, err, tc.want)
		}
	}
	for _, user := range []string{"nobody", "app:nogroup", ":1", "app:"} {
		if got, err := resolveUser(user, open); err == nil {
			t.Errorf("resolveUser(%q) = %+v, want an error", user, got)
		}
	}
	empty := func(string) (io.ReadCloser, error) { return nil, fs.ErrNotExist }
	if _, err := resolveUser("app", empty); err == nil || !strings.Contains(err.Error(), "/etc/passwd") {
		t.Errorf("a name without /etc/passwd: %v", err)
	}
	if got, err := resolveUser("10:20", empty); err != nil || got.UID != 10 || got.GID != 20 {
		t.Errorf("numeric ids without /etc/passwd: %+v, %v", got, err)
	}
}
