package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// variant is one openfc build or setting in an A/B run: -ab
// "name=binary[:log-level[:serve flags]],…" ("" binary: this tree's
// build; "" log level: warn). Everything after the second colon is extra
// `openfc serve` flags separated by spaces, so a flag's value may hold a
// colon but no comma (the variants' separator).
type variant struct {
	name, bin, logLevel string
	args                []string
}

// abSyntax is -ab's syntax, for its errors and its flag's help.
const abSyntax = "name=binary[:log-level[:serve flags]],…"

func parseVariants(spec string) ([]variant, error) {
	var vs []variant
	for _, item := range strings.Split(spec, ",") {
		name, rest, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-ab %q: want %s", spec, abSyntax)
		}
		bin, rest, _ := strings.Cut(rest, ":")
		level, flags, _ := strings.Cut(rest, ":")
		if level == "" {
			level = "warn"
		}
		var args []string
		if strings.TrimSpace(flags) != "" {
			args = strings.Fields(flags)
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return nil, fmt.Errorf("-ab variant %q: serve flags %q must start with a flag (%s)", name, flags, abSyntax)
		}
		vs = append(vs, variant{name: name, bin: bin, logLevel: level, args: args})
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
		t, err := startVariant(ctx, children, v, built, filepath.Dir(bootstrap), filepath.Join(tmp, v.name), res)
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
func startVariant(ctx context.Context, children *procs, v variant, built, codeDir, dir string, res *results) (target, error) {
	bin := v.bin
	if bin == "" {
		bin = built
	}
	logf("A/B: starting openfc serve for %s (%s)", v.name, strings.Join(append([]string{"--log-level", v.logLevel}, v.args...), " "))
	srv, _, err := startWarmServer(ctx, children, bin, codeDir, dir, v.logLevel, res, v.args...)
	if err != nil {
		return target{}, err
	}
	return target{"openfc-" + v.name, srv.proxyURL("warm"), ""}, nil
}

// measureWarmAB measures the targets in interleaved rounds and records
// each variant's requests/s against nginx and, against the first
// variant, its requests/s (the medians' ratio and the median of the
// rounds' own ratios) and its p50 less the first's.
func measureWarmAB(ctx context.Context, cfg config, targets []target, res *results) {
	warmUp(ctx, targets, res)
	res.Warm = warmMedians(targets, warmRounds(ctx, cfg, targets, res))
	fig := map[roundKey]wrkResult{}
	for _, w := range res.Warm {
		fig[roundKey{w.Target, w.Conns}] = w
	}
	first := targets[1].name
	for _, t := range targets[1:] {
		for _, c := range []int{1, 32} {
			k := fmt.Sprintf("%s_c%d", t.name, c)
			v, ok := fig[roundKey{t.name, c}]
			if !ok {
				continue
			}
			if n := fig[roundKey{"nginx", c}]; n.RPS > 0 {
				res.Ratios[k+"_rps_vs_nginx"] = round(v.RPS/n.RPS, 3)
			}
			f, ok := fig[roundKey{first, c}]
			if !ok || f.RPS <= 0 || t.name == first {
				continue
			}
			res.Ratios[k+"_rps_vs_"+first] = round(v.RPS/f.RPS, 3)
			if p, ok := pairedMedian(v, f); ok {
				res.Ratios[k+"_rps_vs_"+first+"_paired_median"] = round(p, 3)
			}
			res.Ratios[k+"_p50_us_minus_"+first] = round(v.P50us-f.P50us, 1)
		}
	}
}
