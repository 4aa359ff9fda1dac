package network

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Network namespaces belong to threads. The rules this package keeps:
//   - a thread is moved into another namespace only while its goroutine is
//     locked to it (runtime.LockOSThread);
//   - a thread is unlocked only when it is back in the host namespace;
//     otherwise its goroutine returns still locked and the runtime destroys
//     the thread;
//   - the Go runtime never clones new threads from a locked thread, so a
//     foreign namespace does not spread to other threads.

const threadNetNS = "/proc/thread-self/ns/net"

// GoLocked runs f in a new goroutine locked to an OS thread that is never
// unlocked, so the runtime destroys the thread when f returns, along with
// anything bound to it (its network namespace, Pdeathsig of its children).
//
// The main thread is the exception: the runtime parks it forever instead
// of destroying it, which would pin a namespace. When the new goroutine
// lands there, it keeps the main thread locked (so nothing else runs on it)
// while f runs on another thread, then unlocks it, unchanged.
func GoLocked(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f()
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			f()
		}()
		<-done
		runtime.UnlockOSThread()
	}()
}

// openHostNetNS opens the network namespace of the current thread, which
// is the host namespace since unlocked threads never leave it.
func openHostNetNS() (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.OpenFile(threadNetNS, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open host network namespace: %w", err)
	}
	return f, nil
}

// SetNS moves the calling (locked) thread into namespace ns. It fails
// without effect when ns has been closed.
func SetNS(ns *os.File) error {
	rc, err := ns.SyscallConn()
	if err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Setns(int(fd), unix.CLONE_NEWNET)
	}); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("setns: %w", serr)
	}
	return nil
}

// KillMembers sends SIGKILL to every process (other than this one)
// whose network namespace is ns: processes that left the instance's
// process group (setsid) but still keep the namespace alive. It rescans a
// few times to catch processes forked during a scan and returns how many
// it killed. As a safety net it refuses to act when ns is not provably
// different from host, the server's namespace.
func KillMembers(ns, host *os.File, log *slog.Logger) int {
	fi, err := ns.Stat()
	if err != nil {
		log.Warn("cannot identify the instance's network namespace", "err", err)
		return 0
	}
	hfi, err := host.Stat()
	if err != nil || os.SameFile(fi, hfi) {
		log.Error("refusing to kill processes by network namespace: not a private namespace", "err", err)
		return 0
	}
	self := os.Getpid()
	killed := map[int]bool{}
	for range 4 {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			log.Warn("cannot scan for processes left in the instance's network namespace", "err", err)
			break
		}
		fresh := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || killed[pid] || !inNetNS(pid, fi) {
				continue
			}
			// Check again after pinning the process with a pidfd, so a pid
			// reused in between is never signalled.
			pidfd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue
			}
			if inNetNS(pid, fi) {
				err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
				if err == nil || errors.Is(err, unix.ESRCH) {
					killed[pid] = true
					fresh++
				}
			}
			unix.Close(pidfd)
		}
		if fresh == 0 {
			break
		}
	}
	return len(killed)
}

// inNetNS reports whether process pid is in the namespace described by ns.
func inNetNS(pid int, ns os.FileInfo) bool {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/ns/net")
	return err == nil && os.SameFile(fi, ns)
}

// newNamespace makes a network namespace on a thread that is thrown away
// afterwards and returns a handle to it and a netlink handle whose
// sockets live in it. Inside, IPv6 is off (instances get IPv4 only, and
// no address autoconfiguration runs) and loopback is up.
func newNamespace() (*os.File, *netlink.Handle, error) {
	type result struct {
		ns  *os.File
		nl  *netlink.Handle
		err error
	}
	ch := make(chan result, 1)
	GoLocked(func() {
		ns, nl, err := enterNamespace()
		ch <- result{ns, nl, err}
	})
	r := <-ch
	return r.ns, r.nl, r.err
}

// enterNamespace is newNamespace's work on its thread, which must be
// locked and never unlocked afterwards.
func enterNamespace() (*os.File, *netlink.Handle, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, nil, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	// Before any interface exists, so that the veth end moved in never
	// starts IPv6 duplicate address detection and router solicitations.
	for _, k := range []string{"all", "default"} {
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("disable IPv6: %w", err)
		}
	}
	ns, err := os.OpenFile(threadNetNS, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open network namespace: %w", err)
	}
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, nil, fmt.Errorf("netlink in namespace: %w", err)
	}
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		nl.Close()
		ns.Close()
		return nil, nil, fmt.Errorf("loopback up: %w", err)
	}
	return ns, nl, nil
}

// Enter moves the calling thread, which must be locked and never be
// unlocked afterwards, into l's network namespace and into a mount
// namespace of its own where /etc/resolv.conf and /etc/hosts are the
// files Configure wrote. Processes the thread starts live there.
func (l *Link) Enter() error {
	if err := SetNS(l.NS); err != nil {
		return err
	}
	if l.dir == "" {
		return nil
	}
	// A private copy of the mount table; MS_SLAVE keeps the host's
	// later mounts visible but sends none of the instance's back.
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	for _, f := range [][2]string{{l.resolv, "/etc/resolv.conf"}, {l.hosts, "/etc/hosts"}} {
		if err := unix.Mount(f[0], f[1], "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", f[0], f[1], err)
		}
	}
	return nil
}
