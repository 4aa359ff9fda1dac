package daemon

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingWriter keeps every write apart.
type recordingWriter struct {
	mu     sync.Mutex
	writes [][]byte
	wrote  chan struct{}
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, append([]byte(nil), p...))
	r.mu.Unlock()
	select {
	case r.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (r *recordingWriter) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.writes...)
}

// TestBatchWriter: lines are written in order and whole, in writes of
// whole lines no larger than a pipe's atomic size (a longer line alone);
// a batch goes out after the interval, at once when the pending bytes
// reach the cap, and what is left when Run's context ends.
func TestBatchWriter(t *testing.T) {
	out := &recordingWriter{wrote: make(chan struct{}, 1)}
	b := newBatchWriter(out, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()

	var want bytes.Buffer
	line := func(i int, size int) {
		l := fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", size))
		want.WriteString(l)
		b.Write([]byte(l))
	}
	for i := range 200 { // about 20 KB: several pipe-sized writes
		line(i, 90)
	}
	line(200, 6000) // longer than a pipe write
	began := time.Now()
	select {
	case <-out.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing was written after the interval")
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("the batch took %v", d)
	}
	for i := 201; i < 201+800; i++ { // past the 64 KB cap: written without Run
		line(i, 90)
	}
	if n := len(out.all()); n < 2 {
		t.Errorf("%d writes after passing the cap", n)
	}
	line(1001, 10) // left pending until the end
	cancel()
	<-done
	var got bytes.Buffer
	for _, w := range out.all() {
		got.Write(w)
		if w[len(w)-1] != '\n' {
			t.Fatalf("a write ends mid-line: %q", w[max(0, len(w)-20):])
		}
		if len(w) > pipeAtomic && bytes.Count(w, []byte("\n")) > 1 {
			t.Fatalf("a write of %d bytes holds several lines", len(w))
		}
	}
	if got.String() != want.String() {
		t.Fatalf("wrote %d bytes; want the %d written, in order", got.Len(), want.Len())
	}
}
