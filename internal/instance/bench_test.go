package instance

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/logs"
)

// BenchmarkAcquireRelease measures taking and returning a slot on a warm
// instance from many goroutines at once: the slot-acquisition path every
// request takes (the Manager's pool lookup under its read lock, the
// pool's mutex, the log markers). Run with -benchmem -cpu 1,2,4.
func BenchmarkAcquireRelease(b *testing.B) {
	m, fn := warmManager(b)
	ctx := context.Background()
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = "req-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l, err := m.Acquire(ctx, fn, ids[i%len(ids)])
			if err != nil {
				b.Error(err)
				return
			}
			l.Release()
			i++
		}
	})
	b.StopTimer()
	if n := len(m.ListInstances("", "")); n != 1 {
		b.Fatalf("%d instances for a warm function with concurrency 1000; want 1", n)
	}
}

// BenchmarkTryAcquireRelease is the same on the gateway's fast path
// (TryAcquire: no context, no waiting).
func BenchmarkTryAcquireRelease(b *testing.B) {
	m, fn := warmManager(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l, ok := m.TryAcquire(fn, "req")
			if !ok {
				b.Error("no free slot on a warm instance with concurrency 1000")
				return
			}
			l.Release()
		}
	})
}

// warmManager returns a manager with one warm instance of a function of
// concurrency 1000 (fake sandbox, real log store).
func warmManager(b *testing.B) (*Manager, *fc.Function) {
	m := New(Options{Sandbox: &fakeSandbox{}, Code: fakeCode{}, StartTimeout: 2 * time.Second, Logs: logs.New(logs.Options{})})
	b.Cleanup(func() { m.Shutdown(context.Background()) })
	fn := testFn(1000)
	warm, err := m.Acquire(context.Background(), fn, "warm-up") // starts the one instance
	if err != nil {
		b.Fatal(err)
	}
	warm.Release()
	return m, fn
}
