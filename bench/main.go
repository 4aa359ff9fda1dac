// Command bench measures openfc's warm request path side by side with a
// direct call, nginx proxy_pass and a bare httputil.ReverseProxy (wrk at 1
// and 32 connections), on the net/http front door and on the event-loop
// one (--http1-server fast, issue 20's decision gate: http1.go), the
// built-in Node.js and Python bootstraps against a custom runtime in the
// same language (runtimes.go), the cold start of a process-isolated
// function, a 50-request scale-out, the server's memory, what a refused
// (unauthenticated) request costs against a signed one (authflood.go) and
// how fast async requests are accepted, with and without --sync-always
// (async.go), h2c against HTTP/1.1 at 32 concurrent streams (h2c.go), and
// three clustered nodes' front doors against a single node (cluster.go).
// It writes a table to stdout, <out>/results.json and <out>/chart.svg
// (design.md §5).
//
//	go run ./bench            # full run (about 8 minutes)
//	go run ./bench -smoke     # a few seconds per scenario; non-zero exit if any scenario yields no numbers
//
// It needs wrk, nginx and h2load on PATH (`make bench` installs them) and
// runs from the repository root. Everything listens on 127.0.0.1 only.
//
// The same binary, started with BENCH_UPSTREAM_LISTEN set, is the upstream
// and the function: a tiny HTTP server answering a fixed body, reporting its
// process start and listen times (Unix ns) in X-Bench-Start/X-Bench-Listen
// and on its first stdout line (upstream.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// processStart is taken as early as Go lets a program run code, which is
// why it is a package variable: its initializer runs before any init
// function or main, and the upstream's main-to-listen figure needs that
// moment. It is written once, at init, and only read afterwards.
var processStart = time.Now()

func main() {
	if addr := os.Getenv("BENCH_UPSTREAM_LISTEN"); addr != "" {
		runUpstream(addr)
		return
	}
	// As a function: the port openfc gives (its CAPort on a network of
	// its own, a free one in the host network).
	if port := os.Getenv("FC_SERVER_PORT"); port != "" {
		runUpstream("0.0.0.0:" + port)
		return
	}
	if addr := os.Getenv("BENCH_REVERSEPROXY_LISTEN"); addr != "" {
		runReverseProxy(addr, os.Getenv("BENCH_REVERSEPROXY_TARGET"))
		return
	}
	os.Exit(run())
}

type config struct {
	smoke     bool
	out       string
	duration  time.Duration
	rounds    int
	openfc    string
	coldRuns  int
	idleConns int
	// logLevel is openfc's --log-level: warn (the default) leaves the
	// access log out, as nginx runs with access_log off; info measures
	// it.
	logLevel string
	// ab, when set, runs only the warm path for openfc variants side by
	// side (benchAB).
	ab string
	// coldBaseline is another openfc binary whose cold start is measured
	// as a variant (the previous commit's, say).
	coldBaseline string
	// coldOnly runs only the cold starts (benchCold).
	coldOnly bool
	// h2cOnly runs only h2c against HTTP/1.1 (benchH2C).
	h2cOnly bool
	// clusterOnly runs only the three-node cluster (benchCluster).
	clusterOnly bool
}

func parseFlags() config {
	var cfg config
	flag.BoolVar(&cfg.smoke, "smoke", false, "short run: 1 s per scenario, 3 cold starts")
	flag.StringVar(&cfg.out, "out", "bench/out", "output directory for results.json and chart.svg")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "wrk duration per target, connection count and round")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds of the warm-path measurements (each figure is the median)")
	flag.StringVar(&cfg.openfc, "openfc", "", "path to a built openfc binary (default: go build ./cmd/openfc)")
	flag.IntVar(&cfg.coldRuns, "cold-runs", 20, "cold-start runs")
	flag.IntVar(&cfg.idleConns, "idle-conns", 1000, "idle client connections for the memory figure")
	flag.StringVar(&cfg.logLevel, "log-level", "warn", "openfc serve --log-level (info: with its access log)")
	flag.StringVar(&cfg.coldBaseline, "cold-baseline", "", "another openfc binary whose cold start is measured as a variant")
	flag.BoolVar(&cfg.coldOnly, "cold-only", false, "only the cold starts: the default server and its variants")
	flag.BoolVar(&cfg.h2cOnly, "h2c-only", false, "only h2c (h2load) against HTTP/1.1 (wrk) on bench/warm")
	flag.BoolVar(&cfg.clusterOnly, "cluster-only", false, "only the three-node cluster against a single node on bench/warm")
	flag.StringVar(&cfg.ab, "ab", "", `warm path only, openfc variants side by side: "`+abSyntax+`" (empty binary: this tree; log level warn; serve flags separated by spaces, e.g. "nethttp=:warn,fast=:warn:--http1-server=fast")`)
	flag.Parse()
	if cfg.smoke {
		cfg.duration = time.Second
		cfg.rounds = 1
		cfg.coldRuns = 3
		cfg.idleConns = 200
	}
	return cfg
}

// run returns the exit status: 1 when the harness could not run or any
// scenario failed to produce numbers.
func run() int {
	cfg := parseFlags()
	children := &procs{}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		children.stopAll()
		os.Exit(130)
	}()
	defer children.stopAll()

	// Ctrl-C is handled above by stopping every child and exiting, so
	// nothing needs to cancel this context.
	scenarios := bench
	switch {
	case cfg.ab != "":
		scenarios = benchAB
	case cfg.coldOnly:
		scenarios = benchCold
	case cfg.h2cOnly:
		scenarios = benchWarmOnly(func(ctx context.Context, cfg config, _ *procs, _, _ string, srv *server, res *results) {
			h2cBench(ctx, cfg, srv, res)
		})
	case cfg.clusterOnly:
		scenarios = benchWarmOnly(clusterBench)
	}
	res, err := scenarios(context.Background(), cfg, children)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		children.stopAll()
		return 1
	}
	children.stopAll()
	if err := writeOutputs(cfg.out, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	printTable(res)
	if len(res.Failures) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d scenario(s) failed:\n  %s\n", len(res.Failures), strings.Join(res.Failures, "\n  "))
		return 1
	}
	return 0
}

// bench starts every target and runs the scenarios. The order matters: the
// memory figures are deltas between samples taken around the cold starts
// and the idle connections, and the cold functions must not have been
// called before their run.
func bench(ctx context.Context, cfg config, children *procs) (*results, error) {
	if err := needTools("wrk", "nginx", "h2load"); err != nil {
		return nil, err
	}
	tmp, openfc, bootstrap, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	res := newResults(ctx, cfg)
	targets, srv, err := startTargets(ctx, children, tmp, openfc, bootstrap, cfg.logLevel)
	if err != nil {
		return nil, err
	}
	warmLabel, err := deploy(ctx, srv, cfg.coldRuns, res)
	if err != nil {
		return nil, err
	}

	time.Sleep(time.Second)
	mem := &memResult{}
	res.Memory = mem
	mem.IdleServerMB = rssKB(srv.pid) / 1024

	waitWarmFunction(ctx, srv, res)
	targets = append(targets, openfcTargets("openfc", srv, warmLabel)...)
	// After the idle sample, like the runtime functions, whose instances
	// are started by their readiness check; stopped after the warm path.
	fast, fastTargets := startFastFrontDoor(ctx, cfg, children, openfc, tmp, res)
	targets = append(targets, fastTargets...)
	targets = append(targets, deployRuntimes(ctx, srv, res)...)
	measureWarm(ctx, cfg, targets, res)
	if fast != nil {
		children.stop(fast.pid)
	}
	runtimeRatios(res)
	http1Ratios(res)
	time.Sleep(500 * time.Millisecond)
	mem.AfterWarmMB = rssKB(srv.pid) / 1024

	cold := &coldResult{Runs: cfg.coldRuns}
	cold.DirectExecToListen = directStarts(children, bootstrap, cfg.coldRuns, res)
	beforeCold := sampleMem(ctx, srv, res)
	mem.ServerRSSBeforeColl = beforeCold.rssKB / 1024
	coldStarts(ctx, srv, cold, res)
	summarizeCold(cold, res)
	memPerIdleInstance(ctx, srv, len(cold.FirstResponseMs), beforeCold, res)
	memPerIdleConns(ctx, srv, cfg.idleConns, res)

	scaleOut(ctx, srv, res)
	finishMemory(srv, res)
	if res.Cold != nil {
		measureColdVariants(ctx, cfg, children, openfc, tmp, res.Cold.MedianDirectMs, res)
	}
	authFlood(ctx, cfg, srv, res)
	h2cBench(ctx, cfg, srv, res)
	asyncBench(ctx, cfg, children, openfc, tmp, srv, res)
	clusterBench(ctx, cfg, children, openfc, tmp, srv, res)
	if len(res.Warm) < 2*len(targets) {
		res.fail("warm path: %d of %d wrk runs produced numbers", len(res.Warm), 2*len(targets))
	}
	return res, nil
}

// toolPackages are the Debian packages of the load generators and nginx.
var toolPackages = map[string]string{"wrk": "wrk", "nginx": "nginx", "h2load": "nghttp2-client"}

// needTools fails unless every tool is on PATH, naming the package that
// brings it: a scenario whose tool is missing fails the run rather than
// being skipped.
func needTools(tools ...string) error {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found on PATH (make bench installs it: apt-get install %s)", tool, toolPackages[tool])
		}
	}
	return nil
}

// buildBinaries returns the openfc binary (built into tmp unless given) and
// <tmp>/code/bootstrap, this program stripped: the upstream, the
// ReverseProxy and the deployed function are all this one binary.
func buildBinaries(ctx context.Context, openfc, tmp string) (string, string, error) {
	if openfc == "" {
		openfc = filepath.Join(tmp, "openfc")
		logf("building %s", openfc)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", openfc, "./cmd/openfc").CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build ./cmd/openfc: %v\n%s", err, out)
		}
	}
	codeDir := filepath.Join(tmp, "code")
	if err := os.MkdirAll(codeDir, 0o755); err != nil {
		return "", "", err
	}
	bootstrap := filepath.Join(codeDir, "bootstrap")
	if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, "./bench").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./bench (function code): %v\n%s", err, out)
	}
	return openfc, bootstrap, nil
}

// startTargets starts the upstream, nginx, the bare ReverseProxy and the
// openfc server, each answering before the next starts, and returns the
// baseline targets (the openfc ones need the deploy first).
func startTargets(ctx context.Context, children *procs, tmp, openfc, bootstrap, logLevel string) ([]target, *server, error) {
	upPort, upURL, err := startUpstream(ctx, children, bootstrap)
	if err != nil {
		return nil, nil, err
	}
	ngURL, err := startNginx(ctx, children, filepath.Join(tmp, "nginx"), upPort)
	if err != nil {
		return nil, nil, err
	}
	rpURL, err := startReverseProxy(ctx, children, bootstrap, upURL)
	if err != nil {
		return nil, nil, err
	}
	srv, err := startServer(children, openfc, tmp, logLevel)
	if err != nil {
		return nil, nil, err
	}
	return []target{
		{"direct", upURL, ""},
		{"nginx", ngURL, ""},
		{"reverseproxy", rpURL, ""},
	}, srv, nil
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

// benchWarmOnly runs one scenario alone (-h2c-only, -cluster-only): one
// openfc server with bench/warm deployed and warm, then run.
func benchWarmOnly(run func(ctx context.Context, cfg config, children *procs, openfc, tmp string, srv *server, res *results)) func(context.Context, config, *procs) (*results, error) {
	return func(ctx context.Context, cfg config, children *procs) (*results, error) {
		if err := needTools("wrk", "h2load"); err != nil {
			return nil, err
		}
		tmp, openfc, _, err := prepare(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		res := newResults(ctx, cfg)
		srv, err := startServer(children, openfc, tmp, cfg.logLevel)
		if err != nil {
			return nil, err
		}
		if _, err := deploy(ctx, srv, 0, res); err != nil {
			return nil, err
		}
		waitWarmFunction(ctx, srv, res)
		run(ctx, cfg, children, openfc, tmp, srv, res)
		return res, nil
	}
}

// prepare makes the run's temporary directory and builds openfc and the
// bootstrap app into it; the caller removes tmp.
func prepare(ctx context.Context, cfg config) (tmp, openfc, bootstrap string, err error) {
	tmp, err = os.MkdirTemp("", "openfc-bench-")
	if err != nil {
		return "", "", "", err
	}
	openfc, bootstrap, err = buildBinaries(ctx, cfg.openfc, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return "", "", "", err
	}
	return tmp, openfc, bootstrap, nil
}
