package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// The event-loop HTTP/1.1 front door (issue 20). A second `openfc serve
// --http1-server fast` (its own data dir and ports, the run's function
// code, bench/warm deployed) is measured in the same interleaved
// warm-path rounds as the main server, which runs the default front door
// (net/http): the decision gate compares the two in one run.

// fastPrefix names the fast server's targets (openfc-fast-proxy,
// openfc-fast-subdomain) next to the main server's (openfc-proxy,
// openfc-subdomain).
const fastPrefix = "openfc-fast"

// gateNeed is the gate's requests/s at 32 connections, fast ÷ net/http.
const gateNeed = 1.30

// http1Gate is the decision gate's figures, from the proxy-form targets:
// fast is openfc-fast-proxy, nethttp is openfc-proxy.
type http1Gate struct {
	// Missing names what had no figures; the rest is then incomplete.
	Missing string `json:"missing,omitempty"`
	// FastVsNetHTTPc32 is the medians' ratio of requests/s at 32
	// connections; Paired the median of the rounds' own ratios.
	FastVsNetHTTPc32       float64 `json:"fast_rps_vs_nethttp_c32"`
	FastVsNetHTTPc32Paired float64 `json:"fast_rps_vs_nethttp_c32_paired_median,omitempty"`
	Need                   float64 `json:"need_fast_rps_vs_nethttp_c32"`
	FastP50c1              float64 `json:"fast_p50_us_c1"`
	NetHTTPP50c1           float64 `json:"nethttp_p50_us_c1"`
	P50c1FastMinusNetHTTP  float64 `json:"p50_us_c1_fast_minus_nethttp"`
	// P50c1PairedDiff is the median of the rounds' own p50 differences
	// (fast less net/http) at 1 connection.
	P50c1PairedDiff   float64 `json:"p50_us_c1_fast_minus_nethttp_paired_median"`
	FastVsNginxC32    float64 `json:"fast_rps_vs_nginx_c32"`
	NetHTTPVsNginxC32 float64 `json:"nethttp_rps_vs_nginx_c32"`
	FastAddedP50c1    float64 `json:"fast_added_p50_us_c1_over_direct"`
	NetHTTPAddedP50c1 float64 `json:"nethttp_added_p50_us_c1_over_direct"`
	// Pass: requests/s at c=32 ≥ Need × net/http's and p50 at c=1 no
	// worse than net/http's (the tests being green is the gate's other
	// half, not measured here).
	Pass bool `json:"pass"`
}

// startFastFrontDoor starts the second server with --http1-server fast and
// returns it (nil on a failure, recorded in res) and its warm targets.
func startFastFrontDoor(ctx context.Context, cfg config, children *procs, openfc, tmp string, res *results) (*server, []target) {
	logf("starting a second openfc serve --http1-server fast")
	srv, label, err := startWarmServer(ctx, children, openfc, filepath.Join(tmp, "code"), filepath.Join(tmp, "fast"), cfg.logLevel, res, "--http1-server", "fast")
	if err != nil {
		res.fail("fast front door: %v", err)
		return nil, nil
	}
	return srv, openfcTargets(fastPrefix, srv, label)
}

// http1Ratios records, per route form and connection count, the fast
// front door's requests/s against net/http's (the medians' ratio and the
// paired median) and its p50 less net/http's, then the gate.
func http1Ratios(res *results) {
	fig := map[roundKey]wrkResult{}
	for _, w := range res.Warm {
		fig[roundKey{w.Target, w.Conns}] = w
	}
	for _, form := range []string{"proxy", "subdomain"} {
		for _, c := range []int{1, 32} {
			f, okF := fig[roundKey{fastPrefix + "-" + form, c}]
			n, okN := fig[roundKey{"openfc-" + form, c}]
			if !okF || !okN || n.RPS <= 0 {
				continue
			}
			k := fmt.Sprintf("%s-%s_c%d", fastPrefix, form, c)
			res.Ratios[k+"_rps_vs_openfc-"+form] = round(f.RPS/n.RPS, 3)
			if p, ok := pairedMedian(f, n); ok {
				res.Ratios[k+"_rps_vs_openfc-"+form+"_paired_median"] = round(p, 3)
			}
			res.Ratios[k+"_p50_us_minus_openfc-"+form] = round(f.P50us-n.P50us, 1)
		}
	}
	res.HTTP1Gate = gate(fig)
}

// gate reads the decision gate's figures off the warm medians.
func gate(fig map[roundKey]wrkResult) *http1Gate {
	fast, net := fastPrefix+"-proxy", "openfc-proxy"
	g := &http1Gate{Need: gateNeed}
	var missing []string
	get := func(name string, c int) wrkResult {
		w, ok := fig[roundKey{name, c}]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s c=%d", name, c))
		}
		return w
	}
	f32, n32, ng32 := get(fast, 32), get(net, 32), get("nginx", 32)
	f1, n1, d1 := get(fast, 1), get(net, 1), get("direct", 1)
	if len(missing) > 0 {
		g.Missing = fmt.Sprint(missing)
	}
	if n32.RPS > 0 {
		g.FastVsNetHTTPc32 = round(f32.RPS/n32.RPS, 3)
	}
	if p, ok := pairedMedian(f32, n32); ok {
		g.FastVsNetHTTPc32Paired = round(p, 3)
	}
	if ng32.RPS > 0 {
		g.FastVsNginxC32 = round(f32.RPS/ng32.RPS, 3)
		g.NetHTTPVsNginxC32 = round(n32.RPS/ng32.RPS, 3)
	}
	g.FastP50c1, g.NetHTTPP50c1 = f1.P50us, n1.P50us
	g.P50c1FastMinusNetHTTP = round(f1.P50us-n1.P50us, 1)
	pairedP50, okP50 := pairedP50Diff(f1, n1)
	g.P50c1PairedDiff = round(pairedP50, 1)
	g.FastAddedP50c1 = round(f1.P50us-d1.P50us, 1)
	g.NetHTTPAddedP50c1 = round(n1.P50us-d1.P50us, 1)
	// The machine drifts between rounds: the gate reads the pairs (each
	// round measures both servers seconds apart), not the medians.
	g.Pass = g.Missing == "" && g.FastVsNetHTTPc32Paired >= gateNeed && okP50 && pairedP50 <= 0
	return g
}

// String is the gate's summary line, printed last and drawn on the chart.
func (g *http1Gate) String() string {
	if g.Missing != "" {
		return "gate: not measured, no figures for " + g.Missing
	}
	verdict := "figures not met"
	if g.Pass {
		verdict = "figures met"
	}
	return fmt.Sprintf("gate: fast/nethttp c=32 = %.2fx paired (need ≥%.2f), p50 c=1 fast − nethttp %+.1f µs paired (need ≤0): %s",
		g.FastVsNetHTTPc32Paired, g.Need, g.P50c1PairedDiff, verdict)
}

// details is the gate's second line: the targets against nginx and direct.
func (g *http1Gate) details() string {
	return fmt.Sprintf("      medians: c=32 %.2fx, p50 c=1 fast %.1f µs vs nethttp %.1f µs; c=32 vs nginx: fast %.2fx, nethttp %.2fx (target ≥0.85); added p50 c=1 over direct: fast %.1f µs, nethttp %.1f µs (target ≤100)",
		g.FastVsNetHTTPc32, g.FastP50c1, g.NetHTTPP50c1, g.FastVsNginxC32, g.NetHTTPVsNginxC32, g.FastAddedP50c1, g.NetHTTPAddedP50c1)
}
