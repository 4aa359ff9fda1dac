package async

import (
	"context"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/natsx"
)

// BenchmarkEnqueue measures durable accepts (each returns after
// JetStream's ack), 32 goroutines per CPU, with and without SyncAlways.
func BenchmarkEnqueue(b *testing.B) {
	for _, c := range []struct {
		name string
		sync bool
	}{{"default", false}, {"sync-always", true}} {
		b.Run(c.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			conn, err := natsx.Start(ctx, natsx.Options{DataDir: b.TempDir(), SyncAlways: c.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			e := openEnv(b, ctx, conn)
			s := e.service(b, nil)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Enqueue(ctx, request("svc", "fn")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
		})
	}
}
