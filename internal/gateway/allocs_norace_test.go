//go:build !race

package gateway

import "testing"

// maxWarmPathAllocs bounds the allocations of one warm request, the
// in-process upstream server's (about 40) included: 73 before the
// gateway was cut into stages, 69 after; it must not grow.
const maxWarmPathAllocs = 69

// TestWarmPathAllocs bounds what a warm request allocates. It is built
// without -race only (the race detector makes sync.Pool drop items at
// random, so counts vary); make test-unit runs it so.
func TestWarmPathAllocs(t *testing.T) {
	gw, req := warmGateway(t)
	warmCall(t, gw, req) // the connection, the metric series, the rendered headers
	if n := testing.AllocsPerRun(500, func() { warmCall(t, gw, req) }); n > maxWarmPathAllocs {
		t.Errorf("a warm request allocates %.1f times; the bound is %d", n, maxWarmPathAllocs)
	}
}
