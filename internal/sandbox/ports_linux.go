package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// This file is how an instance in the host network is reached only
// through its own process: instances there cannot all listen on their
// CAPort, so each is given a free port (FC_SERVER_PORT), and before a
// port is used the kernel is asked which process listens on it. Without
// that check, a function whose server failed on a port another function
// holds would be "ready" there and get that function's requests.

// allocPort returns a port free on every address at the time of the call.
func allocPort() (int, error) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("allocating a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// listeners returns the inodes of the TCP sockets listening on port, on
// any address, IPv4 or IPv6.
func listeners(port int) map[uint64]bool {
	inodes := map[uint64]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // the header line
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); !ok || err != nil || int(p) != port {
				continue
			}
			if ino, err := strconv.ParseUint(fs[9], 10, 64); err == nil && ino != 0 {
				inodes[ino] = true
			}
		}
	}
	return inodes
}

// socketOwner returns a process among pids holding one of inodes, or 0.
func socketOwner(inodes map[uint64]bool, pids []int) int {
	if len(inodes) == 0 {
		return 0
	}
	for _, pid := range pids {
		fds, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
		for _, fd := range fds {
			link, err := os.Readlink(fd)
			if err != nil {
				continue
			}
			if s, ok := strings.CutPrefix(link, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil && inodes[ino] {
					return pid
				}
			}
		}
	}
	return 0
}

// allPids lists the processes.
func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// groupMembers lists the processes of process group pgid.
func groupMembers(pgid int) []int {
	var out []int
	for _, pid := range allPids() {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(string(b[i+1:]))
		if len(fs) > 2 && fs[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}

// describeProcess names a process for an error message.
func describeProcess(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return "pid " + strconv.Itoa(pid)
	}
	cmd := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(cmd) > 80 {
		cmd = cmd[:80] + "…"
	}
	return fmt.Sprintf("pid %d: %s", pid, cmd)
}

// hostPort finds the port the instance's own process listens on, among
// the one it was given and its CAPort, and keeps it. Without one it says
// why: nothing listens yet, or the CAPort is another process's.
func (in *instance) hostPort() (string, error) {
	if a := in.confirmed.Load(); a != nil {
		return *a, nil
	}
	members := groupMembers(in.pid)
	for _, port := range in.ports {
		if socketOwner(listeners(port), members) != 0 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			in.confirmed.Store(&addr)
			return addr, nil
		}
	}
	given, caPort := in.ports[0], in.ports[len(in.ports)-1]
	if pid := socketOwner(listeners(caPort), allPids()); pid != 0 && caPort != given {
		return "", fmt.Errorf("port %d is held by another process (%s), not by this instance, which was given port %d in FC_SERVER_PORT: "+
			"where instances share the host network, listen on FC_SERVER_PORT, or give the function another caPort, "+
			"or run openfc serve as root with --netns on (a network namespace per instance)", caPort, describeProcess(pid), given)
	}
	if caPort == given {
		return "", fmt.Errorf("nothing listens on port %d yet", given)
	}
	return "", fmt.Errorf("nothing listens on port %d (FC_SERVER_PORT) or %d (caPort) yet", given, caPort)
}
