package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFileName is the file in the data dir that one server holds locked
// (flock) for its whole life, with its pid inside for the message a second
// server prints.
const lockFileName = "openfc.lock"

// holderWait bounds how long a refused server waits for the holder's pid
// to appear in the lock file: the holder writes it just after taking the
// lock, so a second server started at the same moment may find the file
// empty, or still holding the pid of a killed predecessor.
const holderWait = time.Second

// DataDirInUseError says another process holds the data dir's lock.
type DataDirInUseError struct {
	Dir string
	// PID of the holder; 0 when it could not be read.
	PID int
}

func (e *DataDirInUseError) Error() string {
	holder := "another process (pid unknown)"
	if e.PID > 0 {
		holder = "another openfc server, pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data dir %s is in use by %s: one server per data dir (stop it, or give this one another --data)", e.Dir, holder)
}

// dataLock is a held lock on a data dir. The kernel releases a flock when
// its process dies however it dies, so a server killed with SIGKILL never
// leaves a lock behind; the pid it wrote is only ever read while the lock
// is held by someone, and is overwritten by the next holder.
type dataLock struct{ f *os.File }

// lockDataDir takes the data dir's lock without waiting: a
// *DataDirInUseError when another process holds it.
func lockDataDir(dir string) (*dataLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &DataDirInUseError{Dir: dir, PID: readHolder(path)}
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	return &dataLock{f: f}, nil
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readHolder returns the pid in the lock file once it names a live
// process, waiting up to holderWait for the holder to write it; 0 if it
// never does.
func readHolder(path string) int {
	deadline := time.Now().Add(holderWait)
	for {
		if pid := livePID(path); pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func livePID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	// Signal 0 checks existence; EPERM still means the process exists.
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return 0
	}
	return pid
}

// release unlocks the data dir. The pid stays in the file: it is only
// trusted while someone holds the lock, and the next holder rewrites it.
func (l *dataLock) release() {
	if l == nil {
		return
	}
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
}
