package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"syscall"

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

// goLocked runs f in a new goroutine locked to an OS thread that is never
// unlocked, so the runtime destroys the thread when f returns, along with
// anything bound to it (its network namespace, Pdeathsig of its children).
//
// The main thread is the exception: the runtime parks it forever instead
// of destroying it, which would pin a namespace. When the new goroutine
// lands there, it keeps the main thread locked (so nothing else runs on it)
// while f runs on another thread, then unlocks it, unchanged.
func goLocked(f func()) {
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

// probeNetNS checks that this process can create a network namespace and
// bring its loopback up, and returns a handle to the host namespace.
func probeNetNS() (*os.File, error) {
	host, err := openHostNetNS()
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	goLocked(func() {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		errc <- loopbackUp()
	})
	if err := <-errc; err != nil {
		host.Close()
		return nil, err
	}
	return host, nil
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

// enterNewNetNS moves the calling thread, which must be locked and must
// never be unlocked afterwards, into a new network namespace with its
// loopback interface up, and returns a handle to that namespace.
func enterNewNetNS() (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	if err := loopbackUp(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(threadNetNS, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	return f, nil
}

// loopbackUp sets IFF_UP on "lo" in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// setNetNS moves the calling (locked) thread into namespace ns. It fails
// without effect when ns has been closed.
func setNetNS(ns *os.File) error {
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

// killNetNSMembers sends SIGKILL to every process (other than this one)
// whose network namespace is ns: processes that left the instance's
// process group (setsid) but still keep the namespace alive. It rescans a
// few times to catch processes forked during a scan and returns how many
// it killed. As a safety net it refuses to act when ns is not provably
// different from host, the server's namespace.
func killNetNSMembers(ns, host *os.File, log *slog.Logger) int {
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
