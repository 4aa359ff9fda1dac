package sandbox

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outputDrainTimeout bounds how long an exited instance waits for its
// output pipe to reach EOF. Only a process that escaped the instance's
// process group (and namespace) can hold the pipe open that long.
const outputDrainTimeout = time.Second

// output connects a child's stdout and stderr to a writer. A nil writer
// becomes /dev/null and an *os.File is handed to the child directly; any
// other writer is fed from a pipe by a copier goroutine, so that the child
// never waits on the writer and exec.Cmd.Wait does not wait on the pipe.
//
// The copier counts what it has read from the pipe and what it has
// written on, so that sync can wait until everything the child wrote
// before a moment has reached dst: a line printed just before a function
// answers then lands inside its invocation, before "FC Invoke End".
type output struct {
	dst  io.Writer
	r, w *os.File        // the pipe
	rc   syscall.RawConn // r's
	done chan struct{}   // closed when the copier has returned

	// mu guards the counters, and is held across each read from the pipe
	// so that the bytes in the pipe plus read always count everything the
	// child has written so far.
	mu      sync.Mutex
	read    int64         // bytes read from the pipe
	written int64         // of those, bytes handed to dst (or dropped after a failure)
	wake    chan struct{} // closed and cleared when written grows; nil when nobody waits
	// queued asks the kernel how many bytes wait in the pipe, into
	// inPipe and inPipeErr (made once: a closure per sync would allocate).
	queued    func(fd uintptr)
	inPipe    int
	inPipeErr error
}

// attachOutput wires cmd's stdout and stderr to dst. The result's methods
// are nil-safe.
func attachOutput(cmd *exec.Cmd, dst io.Writer) (*output, error) {
	switch f := dst.(type) {
	case nil:
		return nil, nil // exec.Cmd opens /dev/null
	case *os.File:
		cmd.Stdout, cmd.Stderr = f, f
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	o := &output{dst: dst, r: r, w: w, rc: rc, done: make(chan struct{})}
	o.queued = func(fd uintptr) { o.inPipe, o.inPipeErr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) } // FIONREAD
	return o, nil
}

// abort releases the pipe after a failed start.
func (o *output) abort() {
	if o == nil {
		return
	}
	o.r.Close()
	o.w.Close()
}

// started closes the parent's copy of the write end and starts the copier.
// The copier is owned by the instance's run goroutine, which waits for it
// in drain.
func (o *output) started(log *slog.Logger, bufs *sync.Pool) {
	if o == nil {
		return
	}
	o.w.Close()
	go func() {
		defer close(o.done)
		o.copy(log, bufs)
	}()
}

// sync waits until everything the child wrote before the call has been
// handed to dst, or at most timeout, and reports whether it got there.
// It costs a lock and one ioctl when nothing is pending.
func (o *output) sync(timeout time.Duration) bool {
	if o == nil {
		return true
	}
	o.mu.Lock()
	if err := o.rc.Control(o.queued); err != nil || o.inPipeErr != nil { // the pipe is closed: the copier is done
		o.mu.Unlock()
		return false
	}
	target := o.read + int64(o.inPipe)
	var t *time.Timer
	for o.written < target {
		if o.wake == nil {
			o.wake = make(chan struct{})
		}
		wake := o.wake
		o.mu.Unlock()
		if t == nil {
			t = time.NewTimer(timeout)
			defer t.Stop()
		}
		select {
		case <-wake:
		case <-o.done:
			return false
		case <-t.C:
			return false
		}
		o.mu.Lock()
	}
	o.mu.Unlock()
	return true
}

// outputBufSize is the copier's read size.
const outputBufSize = 32 << 10

// copy copies the pipe to dst until the pipe ends or is closed. After a
// write error it keeps reading and discarding so that the instance never
// blocks on a full pipe. Its buffer comes from bufs while the pipe has
// data and goes back while it waits, so that an idle instance holds none.
func (o *output) copy(log *slog.Logger, bufs *sync.Pool) {
	var buf *[]byte
	defer func() {
		if buf != nil {
			bufs.Put(buf)
		}
	}()
	failed := false
	var n int
	var rerr error
	read := func(fd uintptr) bool {
		if buf == nil {
			buf, _ = bufs.Get().(*[]byte)
			if buf == nil {
				b := make([]byte, outputBufSize)
				buf = &b
			}
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		for {
			n, rerr = unix.Read(int(fd), *buf)
			if !errors.Is(rerr, syscall.EINTR) {
				break
			}
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			bufs.Put(buf)
			buf = nil
			return false // wait until the pipe is readable
		}
		if n > 0 {
			o.read += int64(n)
		}
		return true
	}
	for {
		n, rerr = 0, nil
		err := o.rc.Read(read)
		if n > 0 {
			if !failed {
				if _, werr := o.dst.Write((*buf)[:n]); werr != nil {
					failed = true
					log.Warn("instance output dropped: writer failed", "err", werr)
				}
			}
			o.mu.Lock()
			o.written += int64(n)
			if o.wake != nil {
				close(o.wake)
				o.wake = nil
			}
			o.mu.Unlock()
		}
		if err != nil || rerr != nil || n <= 0 { // closed, failed, or EOF
			return
		}
	}
}

// drain waits until every writer has closed the pipe, or at most timeout,
// then closes the read end (which stops the copier) and waits for the
// copier.
func (o *output) drain(timeout time.Duration) {
	if o == nil {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-o.done:
	case <-t.C:
	}
	o.r.Close()
	<-o.done
}
