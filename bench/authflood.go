package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// What a refused request costs (issue 15): authentication runs before
// anything reaches an instance, so a flood without credentials must be
// cheap for the server and start nothing. Each guarded function
// (authguards.go: authType function, authType jwt) is flooded with its
// refusals, its instances checked (none), then wrk measures, in
// interleaved rounds, the refusals and the 200 of a good request on the
// same path. The ratios are refusals/s over 200s/s.

// authService is the service of the authentication bench's functions.
const authService = "authbench"

// authCase is one kind of request on a guarded path.
type authCase struct {
	name    string
	headers []string
	rejects bool
}

// guard is a guarded function: its name, its trigger's authType and
// authConfig lines for s.yaml, the refusals measured on its path and the
// request it answers with a 200.
type guard struct {
	fn, triggerYAML string
	refusals        []authCase
	ok              authCase
}

// authFlood deploys the guarded functions, floods each with its refusals,
// checks they started no instance, then measures refusals and 200s in
// interleaved rounds.
func authFlood(ctx context.Context, cfg config, s *server, res *results) {
	guards, err := authGuards(s)
	if err != nil {
		res.fail("auth flood: %v", err)
		return
	}
	if err := deployGuarded(ctx, s, guards); err != nil {
		res.fail("auth flood: %v", err)
		return
	}
	for _, g := range guards {
		measureGuard(ctx, cfg, s, g, res)
	}
}

func measureGuard(ctx context.Context, cfg config, s *server, g guard, res *results) {
	u := s.serviceProxyURL(authService, g.fn)
	// The flood (also the refusals' warm-up): it must start nothing.
	for _, c := range g.refusals {
		if _, err := runWrkWith(ctx, wrkRun{url: u, headers: c.headers, conns: 32, d: time.Second, rejects: true}); err != nil {
			res.fail("auth flood %s: %v", c.name, err)
		}
	}
	if out, err := s.cli(ctx, "instances", authService+"/"+g.fn, "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		res.fail("auth flood: refused requests started instances of %s (or the list failed): %v %s", g.fn, err, out)
	}
	if _, err := runWrkWith(ctx, wrkRun{url: u, headers: g.ok.headers, conns: 32, d: time.Second}); err != nil {
		res.fail("auth flood warm-up %s: %v", g.ok.name, err)
	}
	cases := append(append([]authCase{}, g.refusals...), g.ok)
	rounds := authRounds(ctx, cfg, u, cases, res)
	var targets []target
	for _, c := range cases {
		targets = append(targets, target{name: c.name})
	}
	res.Warm = append(res.Warm, warmMedians(targets, rounds)...)
	authRatios(res, g.refusals, g.ok)
}

// authRounds runs each case at 1 and 32 connections once per round, the
// order rotating as in warmRounds.
func authRounds(ctx context.Context, cfg config, u string, cases []authCase, res *results) map[roundKey][]wrkResult {
	rounds := map[roundKey][]wrkResult{}
	for round := 0; round < cfg.rounds; round++ {
		for _, conns := range []int{1, 32} {
			for i := range cases {
				c := cases[(i+round)%len(cases)]
				r, err := runWrkWith(ctx, wrkRun{url: u, headers: c.headers, conns: conns, d: cfg.duration, rejects: c.rejects})
				if err != nil {
					res.fail("%s c=%d: %v", c.name, conns, err)
					continue
				}
				logf("round %d/%d %-19s c=%-2d %10.0f req/s  p50 %8.1f µs", round+1, cfg.rounds, c.name, conns, r.RPS, r.P50us)
				rounds[roundKey{c.name, conns}] = append(rounds[roundKey{c.name, conns}], r)
			}
		}
	}
	return rounds
}

// authRatios records each refusal's requests/s over the signed 200's.
func authRatios(res *results, refusals []authCase, ok authCase) {
	get := func(name string, conns int) float64 {
		for _, w := range res.Warm {
			if w.Target == name && w.Conns == conns {
				return w.RPS
			}
		}
		return 0
	}
	for _, conns := range []int{1, 32} {
		base := get(ok.name, conns)
		for _, c := range refusals {
			if v := get(c.name, conns); v > 0 && base > 0 {
				res.Ratios[fmt.Sprintf("%s_c%d_rps_vs_%s", c.name, conns, ok.name)] = round(v/base, 3)
			}
		}
	}
}

// deployGuarded deploys the bench binary as each guard's function in
// service authbench.
func deployGuarded(ctx context.Context, s *server, guards []guard) error {
	var sy strings.Builder
	sy.WriteString("edition: 3.0.0\nname: " + authService + "\naccess: default\nresources:\n")
	for _, g := range guards {
		sy.WriteString(strings.Replace(fmt.Sprintf(functionYAML, g.fn, 100), "            authType: anonymous\n", g.triggerYAML, 1))
	}
	path := filepath.Join(s.dir, "s-auth.yaml")
	if err := os.WriteFile(path, []byte(sy.String()), 0o644); err != nil {
		return err
	}
	_, err := s.cli(ctx, "deploy", "-f", path)
	return err
}
