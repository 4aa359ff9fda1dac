package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// coldVariants lists the variants: the instance network without its
// namespace pool, the host network, and the binary of -cold-baseline.
func coldVariants(cfg config) []coldVariant {
	vs := []coldVariant{
		{name: "own network, no namespace pool", args: []string{"--instance-netns-pool", "0"}},
		{name: "host network (--netns off)", args: []string{"--netns", "off"}},
	}
	if cfg.coldBaseline != "" {
		vs = append(vs, coldVariant{name: "baseline " + filepath.Base(cfg.coldBaseline), bin: cfg.coldBaseline})
	}
	return vs
}

// measureColdVariants runs each variant's cold starts on a server of its
// own (started, deployed, measured and stopped in turn, so that only one
// runs at a time) and records them next to the default's.
func measureColdVariants(ctx context.Context, cfg config, children *procs, openfc, tmp string, direct float64, res *results) {
	for i, v := range coldVariants(cfg) {
		bin := v.bin
		if bin == "" {
			bin = openfc
		}
		dir := filepath.Join(tmp, fmt.Sprintf("variant-%d", i))
		err := os.MkdirAll(dir, 0o755)
		if err == nil { // the same function code
			err = os.Symlink(filepath.Join(tmp, "code"), filepath.Join(dir, "code"))
		}
		if err != nil {
			res.fail("cold variant %s: %v", v.name, err)
			continue
		}
		logf("cold start variant: %s", v.name)
		srv, err := startServer(children, bin, dir, cfg.logLevel, v.args...)
		if err != nil {
			res.fail("cold variant %s: %v", v.name, err)
			continue
		}
		cold := &coldResult{Runs: cfg.coldRuns}
		if _, err := deploy(ctx, srv, cfg.coldRuns, res); err != nil {
			res.fail("cold variant %s: %v", v.name, err)
		} else {
			coldStarts(ctx, srv, cold, res)
		}
		children.stop(srv.pid)
		if len(cold.FirstResponseMs) == 0 {
			res.fail("cold variant %s produced no numbers", v.name)
			continue
		}
		r := coldVariantResult{Name: v.name, Args: v.args, Runs: len(cold.FirstResponseMs), FirstMs: cold.FirstResponseMs}
		r.MedianFirstMs = round(median(r.FirstMs), 2)
		r.OverheadMs = round(r.MedianFirstMs-direct, 2)
		res.ColdVariants = append(res.ColdVariants, r)
		logf("cold start, %s: first response %.2f ms, overhead %.2f ms (%s)", v.name, r.MedianFirstMs, r.OverheadMs, strings.Join(v.args, " "))
	}
}

// benchCold is -cold-only: the cold starts of the default server and of
// every variant, without the warm path and memory scenarios.
func benchCold(ctx context.Context, cfg config, children *procs) (*results, error) {
	tmp, err := os.MkdirTemp("", "openfc-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := newResults(ctx, cfg)
	openfc, bootstrap, err := buildBinaries(ctx, cfg.openfc, tmp)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(children, openfc, tmp, cfg.logLevel)
	if err != nil {
		return nil, err
	}
	if _, err := deploy(ctx, srv, cfg.coldRuns, res); err != nil {
		return nil, err
	}
	cold := &coldResult{Runs: cfg.coldRuns}
	cold.DirectExecToListen = directStarts(children, bootstrap, cfg.coldRuns, res)
	coldStarts(ctx, srv, cold, res)
	summarizeCold(cold, res)
	children.stop(srv.pid)
	if res.Cold != nil {
		measureColdVariants(ctx, cfg, children, openfc, tmp, res.Cold.MedianDirectMs, res)
	}
	return res, nil
}
