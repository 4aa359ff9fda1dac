package async

import (
	"testing"
)

// BenchmarkEnqueue measures durable accepts (each returns after
// JetStream's ack), 32 at a time as the bench's c=32.
func BenchmarkEnqueue(b *testing.B) {
	e := newEnv(b)
	s := e.service(b, nil)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Enqueue(e.ctx, request("svc", "fn")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
}
