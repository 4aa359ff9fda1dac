package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// coldVariant is a server configuration whose cold start is compared with
// the default one's: another binary and/or other serve flags.
type coldVariant struct {
	name string
	bin  string // "" is this tree's binary
	args []string
}

type coldVariantResult struct {
	Name          string    `json:"name"`
	Args          []string  `json:"serve_args,omitempty"`
	Runs          int       `json:"runs"`
	FirstMs       []float64 `json:"first_response_ms"`
	MedianFirstMs float64   `json:"median_first_response_ms"`
	OverheadMs    float64   `json:"overhead_ms"` // less the default run's median direct exec-to-listen
}

// coldVariants lists the variants: the default configuration again (the
// reference in the same rounds), the instance network without its
// namespace pool, the host network, the function in a runc container
// (the host's root, its code at /code), and the binary of -cold-baseline.
func coldVariants(cfg config) []coldVariant {
	vs := []coldVariant{
		{name: "default (own network, namespace pool)"},
		{name: "own network, no namespace pool", args: []string{"--instance-netns-pool", "0"}},
		{name: "host network (--netns off)", args: []string{"--netns", "off"}},
		{name: "runc container (--isolation container)", args: []string{"--isolation", "container"}},
	}
	if cfg.coldBaseline != "" {
		vs = append(vs, coldVariant{name: "baseline " + filepath.Base(cfg.coldBaseline), bin: cfg.coldBaseline})
	}
	return vs
}

// measureColdVariants starts a server per variant, deploys the cold
// functions on each, then takes the cold starts in interleaved rounds
// (cold-i on every server in turn), so that the machine's drift, which
// is larger than the differences measured, hits every variant alike.
func measureColdVariants(ctx context.Context, cfg config, children *procs, openfc, tmp string, direct float64, res *results) {
	vs := coldVariants(cfg)
	srvs := make([]*server, len(vs))
	colds := make([]*coldResult, len(vs))
	for i, v := range vs {
		srv, err := startVariantServer(ctx, cfg, children, openfc, filepath.Join(tmp, fmt.Sprintf("variant-%d", i)), v, res)
		if err != nil {
			res.fail("cold variant %s: %v", v.name, err)
			continue
		}
		srvs[i], colds[i] = srv, &coldResult{Runs: cfg.coldRuns}
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for run := 0; run < cfg.coldRuns; run++ {
		for i, srv := range srvs {
			if srv == nil {
				continue
			}
			first, app, err := coldStart(ctx, client, srv.proxyURL(fmt.Sprintf("cold-%d", run)))
			if err != nil {
				res.fail("cold variant %s: cold-%d: %v", vs[i].name, run, err)
				continue
			}
			colds[i].FirstResponseMs = append(colds[i].FirstResponseMs, first)
			colds[i].AppStartToListenMs = append(colds[i].AppStartToListenMs, app)
		}
	}
	for i, srv := range srvs {
		if srv == nil {
			continue
		}
		children.stop(srv.pid)
		recordVariant(vs[i], colds[i], direct, res)
	}
}

// startVariantServer starts v's server in dir, sharing the run's function
// code, and deploys the cold functions.
func startVariantServer(ctx context.Context, cfg config, children *procs, openfc, dir string, v coldVariant, res *results) (*server, error) {
	bin := v.bin
	if bin == "" {
		bin = openfc
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(dir), "code"), filepath.Join(dir, "code")); err != nil {
		return nil, err
	}
	logf("cold start variant: %s", v.name)
	srv, err := startServer(children, bin, dir, cfg.logLevel, v.args...)
	if err != nil {
		return nil, err
	}
	if _, err := deploy(ctx, srv, cfg.coldRuns, res); err != nil {
		children.stop(srv.pid)
		return nil, err
	}
	return srv, nil
}

// recordVariant adds v's medians to res.
func recordVariant(v coldVariant, cold *coldResult, direct float64, res *results) {
	if len(cold.FirstResponseMs) == 0 {
		res.fail("cold variant %s produced no numbers", v.name)
		return
	}
	r := coldVariantResult{Name: v.name, Args: v.args, Runs: len(cold.FirstResponseMs), FirstMs: cold.FirstResponseMs}
	r.MedianFirstMs = round(median(r.FirstMs), 2)
	r.OverheadMs = round(r.MedianFirstMs-direct, 2)
	res.ColdVariants = append(res.ColdVariants, r)
	logf("cold start, %s: first response %.2f ms, overhead %.2f ms (%s)", v.name, r.MedianFirstMs, r.OverheadMs, strings.Join(v.args, " "))
}

// benchCold is -cold-only: the app's own start time, then the cold starts
// of every variant in interleaved rounds, without the warm path and
// memory scenarios.
func benchCold(ctx context.Context, cfg config, children *procs) (*results, error) {
	tmp, openfc, bootstrap, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := newResults(ctx, cfg)
	direct := directStarts(children, bootstrap, cfg.coldRuns, res)
	if len(direct) == 0 {
		return nil, fmt.Errorf("the function binary did not start")
	}
	measureColdVariants(ctx, cfg, children, openfc, tmp, round(median(direct), 2), res)
	return res, nil
}
