package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

type results struct {
	When     string         `json:"when"`
	Machine  map[string]any `json:"machine"`
	Command  string         `json:"command"`
	Duration string         `json:"duration_per_scenario"`
	Rounds   int            `json:"rounds"`
	Warm     []wrkResult    `json:"warm"`
	Ratios   map[string]any `json:"ratios"`
	Cold     *coldResult    `json:"cold_start,omitempty"`
	// ColdVariants are cold starts of other server configurations
	// (without the namespace pool, in the host network, a baseline
	// binary), measured right after Cold.
	ColdVariants []coldVariantResult `json:"cold_start_variants,omitempty"`
	Scale        *scaleResult        `json:"scale_out,omitempty"`
	Memory       *memResult          `json:"memory,omitempty"`
	// H2C is h2c (h2load) against HTTP/1.1 (wrk) on bench/warm (h2c.go).
	H2C []h2cResult `json:"h2c,omitempty"`
	// HTTP1Gate is issue 20's decision gate: the fast front door against
	// net/http's (http1.go).
	HTTP1Gate *http1Gate `json:"http1_gate,omitempty"`
	Failures  []string   `json:"failures"`
}

func newResults(ctx context.Context, cfg config) *results {
	return &results{
		When:     time.Now().UTC().Format(time.RFC3339),
		Machine:  machine(ctx),
		Command:  strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " ")),
		Duration: cfg.duration.String(),
		Rounds:   cfg.rounds,
		Ratios:   map[string]any{},
	}
}

// fail records a scenario that produced no (or wrong) numbers. The run goes
// on so that the other scenarios still report, and exits 1 at the end.
func (r *results) fail(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintln(os.Stderr, "FAIL:", msg)
	r.Failures = append(r.Failures, msg)
}

// machine describes the host and the tools' versions, since the figures
// only mean something next to them.
func machine(ctx context.Context) map[string]any {
	m := map[string]any{"nproc": runtime.NumCPU(), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					m["cpu_model"] = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "uname", "-sr").Output(); err == nil {
		m["kernel"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "nginx", "-v").CombinedOutput(); err == nil {
		m["nginx"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "h2load", "--version").Output(); err == nil {
		m["h2load"] = strings.TrimSpace(string(out))
	}
	// wrk -v exits non-zero after printing its version.
	if out, err := exec.CommandContext(ctx, "wrk", "-v").CombinedOutput(); err == nil || len(out) > 0 {
		m["wrk"] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

func writeOutputs(dir string, res *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(chartSVG(res)), 0o644)
}

func printTable(res *results) {
	fmt.Printf("\nmachine: %v CPUs, %v\n\n", res.Machine["nproc"], res.Machine["cpu_model"])
	fmt.Printf("%-22s %5s %12s %10s %10s\n", "target", "conns", "req/s", "p50 µs", "p99 µs")
	for _, r := range res.Warm {
		fmt.Printf("%-22s %5d %12.0f %10.1f %10.1f\n", r.Target, r.Conns, r.RPS, r.P50us, r.P99us)
	}
	printH2C(res)
	keys := make([]string, 0, len(res.Ratios))
	for k := range res.Ratios {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println()
	for _, k := range keys {
		fmt.Printf("%-64s %v\n", k, res.Ratios[k])
	}
	if c := res.Cold; c != nil {
		fmt.Printf("\ncold start (median of %d): first response %.2f ms; app exec-to-listen %.2f ms (main-to-listen %.3f ms); overhead %.2f ms\n",
			len(c.FirstResponseMs), c.MedianFirstMs, c.MedianDirectMs, c.MedianAppMs, c.OverheadMs)
	}
	for _, v := range res.ColdVariants {
		fmt.Printf("cold start, %s (median of %d): first response %.2f ms; overhead %.2f ms\n", v.Name, v.Runs, v.MedianFirstMs, v.OverheadMs)
	}
	if s := res.Scale; s != nil {
		fmt.Printf("scale-out: %d concurrent requests (concurrency 1, max %d): all answered in %.1f ms, %d instances started (last listened at %.1f ms), statuses %v\n",
			s.Requests, s.MaxInstances, s.AllAnsweredMs, s.Instances, s.LastInstanceMs, s.Statuses)
	}
	if m := res.Memory; m != nil {
		fmt.Printf("memory: idle server RSS %.1f MB (after warm runs %.1f MB, at end %.1f MB); Go heap+stacks after GC: %.1f KB per idle instance (%d instances), %.0f KB per 1,000 idle client connections (%d opened)\n",
			m.IdleServerMB, m.AfterWarmMB, m.ServerRSSAfterMB, m.PerIdleInstanceKB, m.IdleInstances, m.Per1000ConnsKB, m.IdleConnsOpened)
		fmt.Printf("        (RSS deltas, which move with the GC: %.1f KB per idle instance, %.0f KB per 1,000 connections)\n", m.PerIdleInstanceRSS, m.Per1000ConnsRSS)
	}
	if g := res.HTTP1Gate; g != nil {
		fmt.Printf("\n%s\n%s\n", g, g.details())
	}
}

// The chart's geometry, in pixels: two panels side by side, a row of two
// bars (1 and 32 connections) per target.
const (
	chartW      = 980
	chartPanelW = 440
	chartTop    = 60
	chartBarH   = 14
	chartGap    = 12
	chartRowH   = 2*chartBarH + chartGap
	chartLabelW = 145.0
)

// chartPanel is one half of the chart: a figure of wrkResult and its unit.
type chartPanel struct {
	title string
	f     func(wrkResult) float64
	unit  string
}

// chartSVG draws requests/s (left) and p50 latency (right) per target at 1
// and 32 connections as plain SVG bars.
func chartSVG(res *results) string {
	var targets []string
	seen := map[string]bool{}
	for _, r := range res.Warm {
		if !seen[r.Target] {
			seen[r.Target] = true
			targets = append(targets, r.Target)
		}
	}
	height := chartTop + len(targets)*chartRowH + 60
	if res.HTTP1Gate != nil {
		height += 20
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">openfc warm path vs direct, nginx, httputil.ReverseProxy (%s per run, %v CPUs)</text>`+"\n",
		xmlEsc(res.Duration), res.Machine["nproc"])
	colors := map[int]string{1: "#8fb3d9", 32: "#2b6cb0"}
	panels := []chartPanel{
		{"requests/s (higher is better)", func(r wrkResult) float64 { return r.RPS }, ""},
		{"p50 latency µs (lower is better)", func(r wrkResult) float64 { return r.P50us }, " µs"},
	}
	for pi, p := range panels {
		drawPanel(&b, 10+float64(pi)*(chartPanelW+40), p, targets, res.Warm, colors)
	}
	ly := float64(chartTop + len(targets)*chartRowH + 20)
	for j, c := range []int{1, 32} {
		x := 10 + float64(j)*160
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%d connection(s)</text>`+"\n", x, ly, colors[c], x+16, ly+10, c)
	}
	if g := res.HTTP1Gate; g != nil {
		fmt.Fprintf(&b, `<text x="10" y="%.0f" font-weight="bold">%s</text>`+"\n", ly+32, xmlEsc(g.String()))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanel draws p's bars for every target at x0, scaled so that the
// largest value fills the panel.
func drawPanel(b *strings.Builder, x0 float64, p chartPanel, targets []string, warm []wrkResult, colors map[int]string) {
	val := func(t string, c int) float64 {
		for _, r := range warm {
			if r.Target == t && r.Conns == c {
				return p.f(r)
			}
		}
		return 0
	}
	maxV := 0.0
	for _, t := range targets {
		for _, c := range []int{1, 32} {
			maxV = math.Max(maxV, val(t, c))
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	fmt.Fprintf(b, `<text x="%.0f" y="45" font-weight="bold">%s</text>`+"\n", x0, xmlEsc(p.title))
	scale := (chartPanelW - chartLabelW - 70) / maxV
	for i, t := range targets {
		y := float64(chartTop + i*chartRowH)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", x0, y+chartBarH+4, xmlEsc(t))
		for j, c := range []int{1, 32} {
			v := val(t, c)
			by := y + float64(j*chartBarH)
			fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.1f" height="%d" fill="%s"/>`+"\n", x0+chartLabelW, by, v*scale, chartBarH-2, colors[c])
			fmt.Fprintf(b, `<text x="%.1f" y="%.0f" font-size="10">%.0f%s</text>`+"\n", x0+chartLabelW+v*scale+4, by+chartBarH-4, v, p.unit)
		}
	}
}

func xmlEsc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
