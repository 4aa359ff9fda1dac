package sandbox

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// outputDrainTimeout bounds how long an exited instance waits for its
// output pipe to reach EOF. Only a process that escaped the instance's
// process group (and namespace) can hold the pipe open that long.
const outputDrainTimeout = time.Second

// output connects a child's stdout and stderr to a writer. A nil writer
// becomes /dev/null and an *os.File is handed to the child directly; any
// other writer is fed from a pipe by a copier goroutine, so that the child
// never waits on the writer and exec.Cmd.Wait does not wait on the pipe.
type output struct {
	dst  io.Writer
	r, w *os.File      // the pipe
	done chan struct{} // closed when the copier has returned
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
	cmd.Stdout, cmd.Stderr = w, w
	return &output{dst: dst, r: r, w: w, done: make(chan struct{})}, nil
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
func (o *output) started(log *slog.Logger) {
	if o == nil {
		return
	}
	o.w.Close()
	go func() {
		defer close(o.done)
		copyOutput(o.dst, o.r, log)
	}()
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

// copyOutput copies src to dst until src ends. After a write error it keeps
// reading and discarding so that the instance never blocks on a full pipe.
func copyOutput(dst io.Writer, src io.Reader, log *slog.Logger) {
	buf := make([]byte, 32<<10)
	failed := false
	for {
		n, err := src.Read(buf)
		if n > 0 && !failed {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				failed = true
				log.Warn("instance output dropped: writer failed", "err", werr)
			}
		}
		if err != nil {
			return
		}
	}
}
