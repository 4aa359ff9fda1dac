package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// variant is one openfc build or setting in an A/B run: -ab
// "name=binary[:log-level],…" ("" binary: this tree's build).
type variant struct{ name, bin, logLevel string }

func parseVariants(spec string) ([]variant, error) {
	var vs []variant
	for _, item := range strings.Split(spec, ",") {
		name, rest, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-ab %q: want name=binary[:log-level],…", spec)
		}
		bin, level, _ := strings.Cut(rest, ":")
		if level == "" {
			level = "warn"
		}
		vs = append(vs, variant{name: name, bin: bin, logLevel: level})
	}
	return vs, nil
}

// benchAB runs only the warm path, for openfc variants side by side: one
// openfc server per variant (each with bench/warm) and nginx as the
// common yardstick, in the same interleaved rounds, so that a change (a
// build before and after, the access log on and off) is measured against
// the machine's drift rather than across runs.
func benchAB(ctx context.Context, cfg config, children *procs) (*results, error) {
	variants, err := parseVariants(cfg.ab)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "openfc-bench-ab-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := newResults(ctx, cfg)
	built, bootstrap, err := buildBinaries(ctx, "", tmp)
	if err != nil {
		return nil, err
	}
	upPort, _, err := startUpstream(ctx, children, bootstrap)
	if err != nil {
		return nil, err
	}
	ngURL, err := startNginx(ctx, children, filepath.Join(tmp, "nginx"), upPort)
	if err != nil {
		return nil, err
	}
	targets := []target{{"nginx", ngURL, ""}}
	for _, v := range variants {
		t, err := startVariant(ctx, children, v, built, bootstrap, filepath.Join(tmp, v.name), res)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	measureWarmAB(ctx, cfg, targets, res)
	return res, nil
}

// startVariant starts one variant's server with bench/warm deployed and
// returns its proxy-form target.
func startVariant(ctx context.Context, children *procs, v variant, built, bootstrap, dir string, res *results) (target, error) {
	bin := v.bin
	if bin == "" {
		bin = built
	}
	if err := os.MkdirAll(filepath.Join(dir, "code"), 0o755); err != nil {
		return target{}, err
	}
	if err := os.Link(bootstrap, filepath.Join(dir, "code", "bootstrap")); err != nil {
		return target{}, err
	}
	srv, err := startServer(children, bin, dir, v.logLevel)
	if err != nil {
		return target{}, err
	}
	if _, err := deploy(ctx, srv, 0, res); err != nil {
		return target{}, err
	}
	waitWarmFunction(ctx, srv, res)
	return target{"openfc-" + v.name, srv.proxyURL("warm"), ""}, nil
}

// measureWarmAB measures the targets in interleaved rounds and records
// each variant's requests/s against nginx and against the first variant.
func measureWarmAB(ctx context.Context, cfg config, targets []target, res *results) {
	warmUp(ctx, targets, res)
	res.Warm = warmMedians(targets, warmRounds(ctx, cfg, targets, res))
	rps := map[roundKey]float64{}
	for _, w := range res.Warm {
		rps[roundKey{w.Target, w.Conns}] = w.RPS
	}
	first := targets[1].name
	for _, t := range targets[1:] {
		for _, c := range []int{1, 32} {
			k := fmt.Sprintf("%s_c%d", t.name, c)
			if n := rps[roundKey{"nginx", c}]; n > 0 {
				res.Ratios[k+"_rps_vs_nginx"] = round(rps[roundKey{t.name, c}]/n, 3)
			}
			if f := rps[roundKey{first, c}]; f > 0 && t.name != first {
				res.Ratios[k+"_rps_vs_"+first] = round(rps[roundKey{t.name, c}]/f, 3)
			}
		}
	}
}
