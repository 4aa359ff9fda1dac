package main

import (
	"strings"
	"testing"
)

func warmFig(ws ...wrkResult) map[roundKey]wrkResult {
	fig := map[roundKey]wrkResult{}
	for _, w := range ws {
		fig[roundKey{w.Target, w.Conns}] = w
	}
	return fig
}

func TestGate(t *testing.T) {
	base := []wrkResult{
		{Target: "direct", Conns: 1, RPS: 14000, P50us: 60},
		{Target: "nginx", Conns: 32, RPS: 40000},
		{Target: "openfc-proxy", Conns: 1, RPS: 5000, P50us: 200, RoundsP50us: []float64{200, 260}},
		{Target: "openfc-proxy", Conns: 32, RPS: 20000, RoundsRPS: []float64{20000, 21000}},
	}
	fast := func(rps32, p50 float64) []wrkResult {
		return append(base[:4:4],
			wrkResult{Target: "openfc-fast-proxy", Conns: 1, RPS: 5100, P50us: p50, RoundsP50us: []float64{p50, p50 + 60}},
			wrkResult{Target: "openfc-fast-proxy", Conns: 32, RPS: rps32, RoundsRPS: []float64{rps32, rps32 * 1.05}})
	}

	g := gate(warmFig(fast(30000, 150)...))
	if !g.Pass || g.FastVsNetHTTPc32 != 1.5 || g.FastVsNginxC32 != 0.75 || g.NetHTTPVsNginxC32 != 0.5 ||
		g.FastAddedP50c1 != 90 || g.NetHTTPAddedP50c1 != 140 || g.P50c1FastMinusNetHTTP != -50 {
		t.Errorf("gate met: %+v", g)
	}
	if want := "gate: fast/nethttp c=32 = 1.50x paired (need ≥1.30), p50 c=1 fast − nethttp -50.0 µs paired"; !strings.HasPrefix(g.String(), want) {
		t.Errorf("gate line %q, want it to start with %q", g, want)
	}
	if g := gate(warmFig(fast(30000, 210)...)); g.Pass {
		t.Errorf("a worse p50 at c=1 passed: %+v", g)
	}
	if g := gate(warmFig(fast(25000, 150)...)); g.Pass || g.FastVsNetHTTPc32Paired != 1.25 {
		t.Errorf("1.25x passed: %+v", g)
	}
	g = gate(warmFig(base...))
	if g.Pass || !strings.Contains(g.String(), "not measured") || !strings.Contains(g.Missing, "openfc-fast-proxy c=32") {
		t.Errorf("no fast figures: %+v, %q", g, g)
	}
}
