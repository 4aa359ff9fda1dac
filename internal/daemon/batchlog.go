package daemon

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"
)

// batchWriter gathers log lines and writes them out in batches: the
// access log's line per request would otherwise cost a write syscall per
// request (about 12 % of the front door's throughput, measured). Lines
// wait at most interval, or go at once when maxPending bytes wait. Each
// write to out holds whole lines and at most pipeAtomic bytes, so that
// lines written to the same pipe by others are never cut into.
type batchWriter struct {
	out        io.Writer
	interval   time.Duration
	maxPending int

	mu      sync.Mutex
	pending []byte
	kick    chan struct{} // a batch started: Run's timer should run
}

// pipeAtomic is the size up to which a write to a pipe is atomic (Linux's
// PIPE_BUF).
const pipeAtomic = 4096

func newBatchWriter(out io.Writer, interval time.Duration) *batchWriter {
	return &batchWriter{out: out, interval: interval, maxPending: 64 << 10, kick: make(chan struct{}, 1)}
}

// Write queues p (whole lines, as slog handlers write them).
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	first := len(b.pending) == 0
	b.pending = append(b.pending, p...)
	if len(b.pending) >= b.maxPending {
		b.flushLocked()
		b.mu.Unlock()
		return len(p), nil
	}
	b.mu.Unlock()
	if first {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Run writes each batch interval after its first line, until ctx ends;
// then it writes what is left.
func (b *batchWriter) Run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.Flush()
			return
		case <-b.kick:
			t.Reset(b.interval)
		case <-t.C:
			b.Flush()
		}
	}
}

// Flush writes every pending line now.
func (b *batchWriter) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

// flushLocked writes the pending lines in pipe-atomic pieces cut at line
// ends (a single line longer than that goes whole). b.mu is held, which
// keeps batches in order.
func (b *batchWriter) flushLocked() {
	buf := b.pending
	for len(buf) > 0 {
		n := len(buf)
		if n > pipeAtomic {
			if i := bytes.LastIndexByte(buf[:pipeAtomic], '\n'); i >= 0 {
				n = i + 1
			} else if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				n = i + 1
			}
		}
		_, _ = b.out.Write(buf[:n]) // a log that cannot be written is lost, as with a direct write
		buf = buf[n:]
	}
	b.pending = b.pending[:0]
}
