package main

import (
	"context"
	"fmt"
	"time"
)

// target is one warm-path endpoint; host, when set, is sent as the Host
// header (openfc's trigger subdomain on the server's address).
type target struct{ name, url, host string }

type roundKey struct {
	name  string
	conns int
}

// waitWarmFunction waits for bench/warm's first answer, which starts its
// instance. A failure is recorded rather than returned: the baselines are
// still measured, and the openfc targets' wrk runs record their own failures.
func waitWarmFunction(ctx context.Context, s *server, res *results) {
	if err := waitHTTP(ctx, s.proxyURL("warm"), "", 60*time.Second); err != nil {
		s.dumpLog()
		res.fail("openfc warm function never answered: %v", err)
	}
}

// openfcTargets are bench/warm through the proxy route (<prefix>-proxy)
// and, when the deploy printed its label, through the trigger subdomain
// (<prefix>-subdomain).
func openfcTargets(prefix string, s *server, warmLabel string) []target {
	ts := []target{{prefix + "-proxy", s.proxyURL("warm"), ""}}
	if warmLabel != "" {
		ts = append(ts, target{prefix + "-subdomain", "http://" + s.addr + "/", warmLabel + ".fcapp.localhost"})
	}
	return ts
}

// measureWarm fills res.Warm with each target's median figures and
// res.Ratios with openfc's against the baselines.
func measureWarm(ctx context.Context, cfg config, targets []target, res *results) {
	warmUp(ctx, targets, res)
	rounds := warmRounds(ctx, cfg, targets, res)
	res.Warm = append(res.Warm, warmMedians(targets, rounds)...)
	warmRatios(res)
}

func warmUp(ctx context.Context, targets []target, res *results) {
	for _, t := range targets {
		if _, err := runWrk(ctx, t.url, t.host, 32, time.Second); err != nil {
			res.fail("%s warm-up: %v", t.name, err)
		}
	}
}

// warmRounds measures every target once per round, targets and connection
// counts interleaved (the order rotating), so that drift in the machine's
// speed (a shared host) hits every target alike.
func warmRounds(ctx context.Context, cfg config, targets []target, res *results) map[roundKey][]wrkResult {
	rounds := map[roundKey][]wrkResult{}
	for round := 0; round < cfg.rounds; round++ {
		for _, c := range []int{1, 32} {
			for i := range targets {
				t := targets[(i+round)%len(targets)]
				r, err := runWrk(ctx, t.url, t.host, c, cfg.duration)
				if err != nil {
					res.fail("%s c=%d round %d: %v", t.name, c, round+1, err)
					continue
				}
				logf("round %d/%d %-21s c=%-2d %10.0f req/s  p50 %8.1f µs  p99 %8.1f µs", round+1, cfg.rounds, t.name, c, r.RPS, r.P50us, r.P99us)
				rounds[roundKey{t.name, c}] = append(rounds[roundKey{t.name, c}], r)
			}
		}
	}
	return rounds
}

// warmMedians reduces the rounds to one figure each, the median, in target
// order; a target and connection count with no round is left out.
func warmMedians(targets []target, rounds map[roundKey][]wrkResult) []wrkResult {
	var warm []wrkResult
	for _, t := range targets {
		for _, c := range []int{1, 32} {
			rs := rounds[roundKey{t.name, c}]
			if len(rs) == 0 {
				continue
			}
			var rps, p50, p99 []float64
			for _, r := range rs {
				rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50us), append(p99, r.P99us)
			}
			warm = append(warm, wrkResult{Target: t.name, Conns: c, RPS: round(median(rps), 0),
				P50us: median(p50), P99us: median(p99), RoundsRPS: rps, RoundsP50us: p50})
		}
	}
	return warm
}

// warmRatios compares each openfc target with nginx and the ReverseProxy
// (requests/s) and with the direct call (added p50).
func warmRatios(res *results) {
	get := func(name string, c int) *wrkResult {
		for i := range res.Warm {
			if res.Warm[i].Target == name && res.Warm[i].Conns == c {
				return &res.Warm[i]
			}
		}
		return nil
	}
	for _, of := range []string{"openfc-proxy", "openfc-subdomain", fastPrefix + "-proxy", fastPrefix + "-subdomain"} {
		for _, c := range []int{1, 32} {
			o, n, r, d := get(of, c), get("nginx", c), get("reverseproxy", c), get("direct", c)
			if o == nil {
				continue
			}
			k := fmt.Sprintf("%s_c%d", of, c)
			if n != nil && n.RPS > 0 {
				res.Ratios[k+"_rps_vs_nginx"] = round(o.RPS/n.RPS, 3)
			}
			if r != nil && r.RPS > 0 {
				res.Ratios[k+"_rps_vs_reverseproxy"] = round(o.RPS/r.RPS, 3)
			}
			if d != nil {
				res.Ratios[k+"_added_p50_us_over_direct"] = round(o.P50us-d.P50us, 1)
			}
		}
	}
}
