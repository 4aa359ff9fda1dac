package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowWriter records what it is given, taking its time over each write,
// like a log sink under load.
type slowWriter struct {
	syncBuffer
	delay time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	return w.syncBuffer.Write(p)
}

// SyncOutput returns only once what the process wrote before the call has
// reached Spec.Output, however slowly the copier gets to it; with nothing
// pending it returns at once.
func TestSyncOutput(t *testing.T) {
	p := newProcess(t, NetNSOff)
	dir := t.TempDir()
	flag := filepath.Join(dir, "flag")
	// Many small writes, each its own read on the copier side, then a
	// flag that says they are all in the pipe.
	script := `for i in $(seq 1 20); do echo "line $i"; done; : > flag; exec sleep 30`
	out := &slowWriter{delay: 10 * time.Millisecond}
	in := start(t, p, Spec{ID: "sync", Dir: dir, Command: []string{"/bin/sh", "-c", script}, Output: out})

	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(flag); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the script never wrote its flag")
		}
		time.Sleep(time.Millisecond)
	}
	if !in.SyncOutput(5 * time.Second) {
		t.Fatal("SyncOutput = false; want true")
	}
	if got := out.String(); !strings.Contains(got, "line 20\n") {
		t.Fatalf("after SyncOutput the output holds %q; want every line written before the call", got)
	}

	begin := time.Now()
	if !in.SyncOutput(5 * time.Second) {
		t.Fatal("SyncOutput with nothing pending = false; want true")
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("SyncOutput with nothing pending took %v", d)
	}

	// After the process is gone, SyncOutput does not wait.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	begin = time.Now()
	in.SyncOutput(5 * time.Second)
	if d := time.Since(begin); d > time.Second {
		t.Errorf("SyncOutput after exit took %v", d)
	}
}

// BenchmarkSyncOutput is the price every invocation pays at its end when
// its instance printed nothing.
func BenchmarkSyncOutput(b *testing.B) {
	p, err := NewProcess(ProcessOptions{NetNS: NetNSOff})
	if err != nil {
		b.Fatal(err)
	}
	in, err := p.Start(b.Context(), Spec{ID: "bench", Dir: b.TempDir(), Command: []string{"sleep", "30"}, Output: &syncBuffer{}})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Stop(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		if !in.SyncOutput(time.Second) {
			b.Fatal("SyncOutput = false")
		}
	}
}

// Output larger than the copier's buffer, in bursts with pauses (the
// buffer goes back to the pool in between), arrives whole and in order.
func TestOutputWholeAndInOrder(t *testing.T) {
	p := newProcess(t, NetNSOff)
	out := &syncBuffer{}
	script := `for i in 1 2 3; do seq -f "$i-%06g" 1 20000; sleep 0.05; done`
	in := start(t, p, Spec{ID: "big", Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", script}, Output: out})
	waitDone(t, in, 10*time.Second)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 60000 {
		t.Fatalf("%d lines of output; want 60000", len(lines))
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%d-%06d", i/20000+1, i%20000+1); l != want {
			t.Fatalf("line %d = %q; want %q", i, l, want)
		}
	}
}
