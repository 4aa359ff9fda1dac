package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// What a refused request costs (issue 15): authentication runs before
// anything reaches an instance, so a flood without credentials must be
// cheap for the server and start nothing. bench/authflood's guarded
// function has an HTTP trigger with authType function; wrk sends, in
// interleaved rounds, requests without credentials (400), with a made-up
// signature (403), and signed with the bench key (200: one signature,
// good for the 15 minutes FC allows a Date to be off). The ratios are
// rejections/s over the 200s/s of the same path.

// authService is the service of the authentication bench's function.
const authService = "authbench"

// authCase is one kind of request on the guarded path.
type authCase struct {
	name    string
	headers []string
	rejects bool
}

// authFlood deploys the guarded function, measures its refusals, checks
// they started no instance, then measures signed calls.
func authFlood(ctx context.Context, cfg config, s *server, res *results) {
	if err := deployGuarded(ctx, s); err != nil {
		res.fail("auth flood: %v", err)
		return
	}
	u := s.serviceProxyURL(authService, "guarded")
	refusals := []authCase{
		{"auth-reject-missing", nil, true},
		{"auth-reject-badsig", []string{"Date: " + time.Now().UTC().Format(http.TimeFormat),
			"Authorization: " + fcsign.AuthorizationValue("benchkey", "bm90LWEtc2lnbmF0dXJl")}, true},
	}
	// The flood (also the refusals' warm-up): it must start nothing.
	for _, c := range refusals {
		if _, err := runWrkWith(ctx, wrkRun{url: u, headers: c.headers, conns: 32, d: time.Second, rejects: true}); err != nil {
			res.fail("auth flood %s: %v", c.name, err)
		}
	}
	if out, err := s.cli(ctx, "instances", authService+"/guarded", "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		res.fail("auth flood: refused requests started instances (or the list failed): %v %s", err, out)
	}
	signed, err := signedHeaders(u)
	if err != nil {
		res.fail("auth flood: %v", err)
		return
	}
	ok := authCase{"auth-signed-200", signed, false}
	if _, err := runWrkWith(ctx, wrkRun{url: u, headers: ok.headers, conns: 32, d: time.Second}); err != nil {
		res.fail("auth flood warm-up: %v", err)
	}
	rounds := authRounds(ctx, cfg, u, append(refusals, ok), res)
	var targets []target
	for _, c := range append(refusals, ok) {
		targets = append(targets, target{name: c.name})
	}
	res.Warm = append(res.Warm, warmMedians(targets, rounds)...)
	authRatios(res, refusals, ok)
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
				res.Ratios[fmt.Sprintf("%s_c%d_rps_vs_signed_200", c.name, conns)] = round(v/base, 3)
			}
		}
	}
}

// deployGuarded deploys the bench binary as authbench/guarded behind a
// trigger with authType function.
func deployGuarded(ctx context.Context, s *server) error {
	yaml := "edition: 3.0.0\nname: " + authService + "\naccess: default\nresources:\n" +
		strings.Replace(fmt.Sprintf(functionYAML, "guarded", 100), "authType: anonymous", "authType: function", 1)
	path := filepath.Join(s.dir, "s-auth.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		return err
	}
	_, err := s.cli(ctx, "deploy", "-f", path)
	return err
}

// signedHeaders signs a GET of u with the bench key and returns the
// headers wrk repeats.
func signedHeaders(u string) ([]string, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, err
	}
	fcsign.Sign(fcsign.Credentials{AccessKeyID: "benchkey", AccessKeySecret: "benchsecret-0123456789"}, req)
	return []string{"Date: " + req.Header.Get("Date"), "Authorization: " + req.Header.Get("Authorization")}, nil
}
