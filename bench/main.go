// Command bench measures openfc's warm request path side by side with a
// direct call, nginx proxy_pass and a bare httputil.ReverseProxy (wrk at 1
// and 32 connections), the cold start of a process-isolated function, a
// 50-request scale-out and the server's memory. It writes a table to stdout,
// <out>/results.json and <out>/chart.svg (design.md §5).
//
//	go run ./bench            # full run (about 5 minutes)
//	go run ./bench -smoke     # a few seconds per scenario; non-zero exit if any scenario yields no numbers
//
// It needs wrk and nginx on PATH (`make bench` installs them) and runs from
// the repository root. Everything listens on 127.0.0.1 only.
//
// The same binary, started with BENCH_UPSTREAM_LISTEN set, is the upstream
// and the function: a tiny HTTP server answering a fixed body, reporting its
// process start and listen times (Unix ns) in X-Bench-Start/X-Bench-Listen
// and on its first stdout line.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// processStart is taken as early as Go lets a program run code.
var processStart = time.Now()

const upstreamBody = "hello from the bench upstream\n"

func main() {
	if addr := os.Getenv("BENCH_UPSTREAM_LISTEN"); addr != "" {
		runUpstream(addr)
		return
	}
	if addr := os.Getenv("BENCH_REVERSEPROXY_LISTEN"); addr != "" {
		runReverseProxy(addr, os.Getenv("BENCH_REVERSEPROXY_TARGET"))
		return
	}
	os.Exit(run())
}

// runUpstream is the upstream server and the function's code.
func runUpstream(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
	listened := time.Now()
	start := strconv.FormatInt(processStart.UnixNano(), 10)
	listen := strconv.FormatInt(listened.UnixNano(), 10)
	fmt.Printf("LISTEN %s START %s\n", listen, start)
	body := []byte(upstreamBody)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hd := w.Header()
		hd["Content-Type"] = []string{"text/plain"}
		hd["X-Bench-Start"] = []string{start}
		hd["X-Bench-Listen"] = []string{listen}
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
}

// runReverseProxy is the bare httputil.ReverseProxy baseline, run as its own
// process like openfc and nginx, with a keep-alive Transport sized for the
// benchmark.
func runReverseProxy(addr, upstream string) {
	target, err := url.Parse(upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reverseproxy:", err)
		os.Exit(1)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // wrk closes connections mid-request at the end of a run
	rp.Transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	srv := &http.Server{Addr: addr, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "reverseproxy:", err)
		os.Exit(1)
	}
}

// ---- process bookkeeping -------------------------------------------------

type procs struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

var children procs

func (p *procs) start(c *exec.Cmd) error {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, c)
	p.mu.Unlock()
	return nil
}

// stopAll sends SIGTERM to each child's process group, then SIGKILL after a
// grace period.
func (p *procs) stopAll() {
	p.mu.Lock()
	cmds := p.cmds
	p.cmds = nil
	p.mu.Unlock()
	done := make(chan struct{})
	for _, c := range cmds {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		}
	}
	go func() {
		for _, c := range cmds {
			_ = c.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, c := range cmds {
			if c.Process != nil {
				_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			}
		}
		<-done
	}
}

// ---- results ---------------------------------------------------------------

type wrkResult struct {
	Target string  `json:"target"`
	Conns  int     `json:"connections"`
	RPS    float64 `json:"requests_per_sec"` // median of the rounds
	P50us  float64 `json:"p50_us"`           // median of the rounds
	P99us  float64 `json:"p99_us"`           // median of the rounds
	// RoundsRPS are the rounds' requests/s, in round order.
	RoundsRPS []float64 `json:"rounds_requests_per_sec,omitempty"`
}

type coldResult struct {
	Runs               int       `json:"runs"`
	FirstResponseMs    []float64 `json:"first_response_ms"`
	AppStartToListenMs []float64 `json:"app_start_to_listen_ms"`
	DirectExecToListen []float64 `json:"direct_exec_to_listen_ms"`
	MedianFirstMs      float64   `json:"median_first_response_ms"`
	MedianAppMs        float64   `json:"median_app_start_to_listen_ms"`
	MedianDirectMs     float64   `json:"median_direct_exec_to_listen_ms"`
	OverheadMs         float64   `json:"overhead_ms"` // median first response - median direct exec-to-listen
}

type scaleResult struct {
	Requests       int            `json:"requests"`
	MaxInstances   int            `json:"max_instances"`
	AllAnsweredMs  float64        `json:"all_answered_ms"`
	Instances      int            `json:"instances_started"`
	Statuses       map[string]int `json:"statuses"`
	LastInstanceMs float64        `json:"last_instance_listen_ms"`
}

type memResult struct {
	IdleServerMB        float64 `json:"idle_server_rss_mb"`
	AfterWarmMB         float64 `json:"after_warm_rss_mb"`
	PerIdleInstanceKB   float64 `json:"per_idle_instance_kb"` // Go heap + stacks in use after a GC
	PerIdleInstanceRSS  float64 `json:"per_idle_instance_rss_kb"`
	IdleInstances       int     `json:"idle_instances"`
	Per1000ConnsKB      float64 `json:"per_1000_idle_conns_kb"` // Go heap + stacks in use after a GC
	Per1000ConnsRSS     float64 `json:"per_1000_idle_conns_rss_kb"`
	IdleConnsOpened     int     `json:"idle_conns_opened"`
	ServerRSSAfterMB    float64 `json:"server_rss_at_end_mb"`
	ServerRSSBeforeColl float64 `json:"server_rss_before_cold_mb"`
}

type results struct {
	When     string         `json:"when"`
	Machine  map[string]any `json:"machine"`
	Command  string         `json:"command"`
	Duration string         `json:"duration_per_scenario"`
	Rounds   int            `json:"rounds"`
	Warm     []wrkResult    `json:"warm"`
	Ratios   map[string]any `json:"ratios"`
	Cold     *coldResult    `json:"cold_start,omitempty"`
	Scale    *scaleResult   `json:"scale_out,omitempty"`
	Memory   *memResult     `json:"memory,omitempty"`
	Failures []string       `json:"failures"`
}

// ---- run -------------------------------------------------------------------

type config struct {
	smoke     bool
	out       string
	duration  time.Duration
	rounds    int
	openfc    string
	coldRuns  int
	idleConns int
}

func run() int {
	var cfg config
	flag.BoolVar(&cfg.smoke, "smoke", false, "short run: 1 s per scenario, 3 cold starts")
	flag.StringVar(&cfg.out, "out", "bench/out", "output directory for results.json and chart.svg")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "wrk duration per target, connection count and round")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds of the warm-path measurements (each figure is the median)")
	flag.StringVar(&cfg.openfc, "openfc", "", "path to a built openfc binary (default: go build ./cmd/openfc)")
	flag.IntVar(&cfg.coldRuns, "cold-runs", 20, "cold-start runs")
	flag.IntVar(&cfg.idleConns, "idle-conns", 1000, "idle client connections for the memory figure")
	flag.Parse()
	if cfg.smoke {
		cfg.duration = time.Second
		cfg.rounds = 1
		cfg.coldRuns = 3
		cfg.idleConns = 200
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		children.stopAll()
		os.Exit(130)
	}()
	defer children.stopAll()

	res, err := bench(cfg)
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

func bench(cfg config) (*results, error) {
	for _, tool := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found on PATH (make bench installs it: apt-get install wrk nginx)", tool)
		}
	}
	tmp, err := os.MkdirTemp("", "openfc-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	res := &results{
		When:     time.Now().UTC().Format(time.RFC3339),
		Machine:  machine(),
		Command:  strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " ")),
		Duration: cfg.duration.String(),
		Rounds:   cfg.rounds,
		Ratios:   map[string]any{},
	}
	fail := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintln(os.Stderr, "FAIL:", msg)
		res.Failures = append(res.Failures, msg)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

	// Binaries: openfc and the function/upstream (this program, stripped).
	openfc := cfg.openfc
	if openfc == "" {
		openfc = filepath.Join(tmp, "openfc")
		logf("building %s", openfc)
		if out, err := exec.Command("go", "build", "-o", openfc, "./cmd/openfc").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/openfc: %v\n%s", err, out)
		}
	}
	codeDir := filepath.Join(tmp, "code")
	if err := os.MkdirAll(codeDir, 0o755); err != nil {
		return nil, err
	}
	bootstrap := filepath.Join(codeDir, "bootstrap")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, "./bench").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./bench (function code): %v\n%s", err, out)
	}

	// Upstream.
	upPort := freePort()
	up := exec.Command(bootstrap)
	up.Env = append(os.Environ(), "BENCH_UPSTREAM_LISTEN=127.0.0.1:"+strconv.Itoa(upPort), "GOMAXPROCS=1")
	if err := children.start(up); err != nil {
		return nil, err
	}
	upURL := fmt.Sprintf("http://127.0.0.1:%d/", upPort)
	if err := waitHTTP(upURL, "", 10*time.Second); err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}

	// nginx.
	ngPort := freePort()
	ngDir := filepath.Join(tmp, "nginx")
	_ = os.MkdirAll(filepath.Join(ngDir, "logs"), 0o755)
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream up { server 127.0.0.1:%[2]d; keepalive 64; }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, ngDir, upPort, ngPort)
	confPath := filepath.Join(ngDir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	ng := exec.Command("nginx", "-c", confPath, "-p", ngDir, "-e", filepath.Join(ngDir, "error.log"))
	ng.Stderr = os.Stderr
	if err := children.start(ng); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	ngURL := fmt.Sprintf("http://127.0.0.1:%d/", ngPort)
	if err := waitHTTP(ngURL, "", 10*time.Second); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}

	// Bare httputil.ReverseProxy, its own process.
	rpPort := freePort()
	rpc := exec.Command(bootstrap)
	rpc.Env = append(os.Environ(), "BENCH_REVERSEPROXY_LISTEN=127.0.0.1:"+strconv.Itoa(rpPort), "BENCH_REVERSEPROXY_TARGET="+upURL)
	rpc.Stderr = os.Stderr
	if err := children.start(rpc); err != nil {
		return nil, err
	}
	rpURL := fmt.Sprintf("http://127.0.0.1:%d/", rpPort)
	if err := waitHTTP(rpURL, "", 10*time.Second); err != nil {
		return nil, fmt.Errorf("reverseproxy: %w", err)
	}

	// openfc.
	ofPort := freePort()
	ofAddr := fmt.Sprintf("127.0.0.1:%d", ofPort)
	ofEnv := append(os.Environ(),
		"OPENFC_ACCESS_KEY_ID=benchkey",
		"OPENFC_ACCESS_KEY_SECRET=benchsecret-0123456789",
		"OPENFC_ENDPOINT=http://"+ofAddr,
		"OPENFC_DATA="+filepath.Join(tmp, "data"),
	)
	// The admin listener's pprof endpoint lets the memory figures be read
	// after a garbage collection in the server (goMemKB).
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	srv := exec.Command(openfc, "serve", "--listen", ofAddr, "--admin-listen", adminAddr, "--pprof", "--data", filepath.Join(tmp, "data"), "--log-level", "warn")
	srv.Env = ofEnv
	srvLog, _ := os.Create(filepath.Join(tmp, "serve.log"))
	srv.Stdout, srv.Stderr = srvLog, srvLog
	if err := children.start(srv); err != nil {
		return nil, fmt.Errorf("openfc serve: %w", err)
	}
	dumpLog := func() {
		b, _ := os.ReadFile(filepath.Join(tmp, "serve.log"))
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		fmt.Fprintf(os.Stderr, "--- openfc serve log (tail) ---\n%s\n", b)
	}
	if err := waitTCP(ofAddr, 30*time.Second); err != nil {
		dumpLog()
		return nil, fmt.Errorf("openfc serve: %w", err)
	}
	cli := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, openfc, args...)
		c.Env = ofEnv
		c.Dir = tmp
		out, err := c.CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("openfc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}

	// Functions: warm (one instance takes all 32 connections), scale
	// (concurrency 1, max 10), cold-0..N-1 (never invoked before their run).
	var sy strings.Builder
	sy.WriteString("edition: 3.0.0\nname: bench\naccess: default\nresources:\n")
	fn := func(name string, conc int) {
		fmt.Fprintf(&sy, `  %[1]s:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %[1]s
      runtime: custom.debian10
      code: ./code
      memorySize: 128
      timeout: 30
      instanceConcurrency: %[2]d
      customRuntimeConfig:
        port: 9000
      environmentVariables:
        BENCH_UPSTREAM_LISTEN: 0.0.0.0:9000
        GOMAXPROCS: "1"
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET, POST]
`, name, conc)
	}
	fn("warm", 100)
	fn("scale", 1)
	for i := 0; i < cfg.coldRuns; i++ {
		fn(fmt.Sprintf("cold-%d", i), 10)
	}
	if err := os.WriteFile(filepath.Join(tmp, "s.yaml"), []byte(sy.String()), 0o644); err != nil {
		return nil, err
	}
	logf("deploying %d functions", cfg.coldRuns+2)
	out, err := cli("deploy", "-f", filepath.Join(tmp, "s.yaml"))
	if err != nil {
		dumpLog()
		return nil, err
	}
	m := regexp.MustCompile(`http://(warm-bench-[^/\s.]+)\.fcapp\.localhost`).FindStringSubmatch(out)
	warmLabel := ""
	if m != nil {
		warmLabel = m[1]
	} else {
		fail("no trigger subdomain for bench/warm in deploy output:\n%s", out)
	}
	if _, err := cli("scaling", "set", "bench/scale", "--max", "10"); err != nil {
		fail("scaling set: %v", err)
	}

	pid := srv.Process.Pid
	time.Sleep(time.Second)
	mem := &memResult{}
	res.Memory = mem
	mem.IdleServerMB = rssKB(pid) / 1024

	// Warm path.
	proxyURL := "http://" + ofAddr + "/2016-08-15/proxy/bench/warm/"
	subURL := "http://" + ofAddr + "/"
	subHost := warmLabel + ".fcapp.localhost"
	if err := waitHTTP(proxyURL, "", 60*time.Second); err != nil {
		dumpLog()
		fail("openfc warm function never answered: %v", err)
	}
	type tgt struct{ name, url, host string }
	targets := []tgt{
		{"direct", upURL, ""},
		{"nginx", ngURL, ""},
		{"reverseproxy", rpURL, ""},
		{"openfc-proxy", proxyURL, ""},
	}
	if warmLabel != "" {
		targets = append(targets, tgt{"openfc-subdomain", subURL, subHost})
	}
	// Rounds: every target is measured once per round, targets and
	// connection counts interleaved (the order rotating), so that drift
	// in the machine's speed (a shared host) hits every target alike; each
	// figure is the median of its rounds.
	warmup := time.Second
	for _, t := range targets {
		if _, err := runWrk(t.url, t.host, 32, warmup); err != nil {
			fail("%s warm-up: %v", t.name, err)
		}
	}
	type key struct {
		name  string
		conns int
	}
	rounds := map[key][]wrkResult{}
	for round := 0; round < cfg.rounds; round++ {
		for _, c := range []int{1, 32} {
			for i := range targets {
				t := targets[(i+round)%len(targets)]
				r, err := runWrk(t.url, t.host, c, cfg.duration)
				if err != nil {
					fail("%s c=%d round %d: %v", t.name, c, round+1, err)
					continue
				}
				logf("round %d/%d %-17s c=%-2d %10.0f req/s  p50 %8.1f µs  p99 %8.1f µs", round+1, cfg.rounds, t.name, c, r.RPS, r.P50us, r.P99us)
				rounds[key{t.name, c}] = append(rounds[key{t.name, c}], r)
			}
		}
	}
	for _, t := range targets {
		for _, c := range []int{1, 32} {
			rs := rounds[key{t.name, c}]
			if len(rs) == 0 {
				continue
			}
			var rps, p50, p99 []float64
			for _, r := range rs {
				rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50us), append(p99, r.P99us)
			}
			res.Warm = append(res.Warm, wrkResult{Target: t.name, Conns: c, RPS: round(median(rps), 0),
				P50us: median(p50), P99us: median(p99), RoundsRPS: rps})
		}
	}
	get := func(name string, c int) *wrkResult {
		for i := range res.Warm {
			if res.Warm[i].Target == name && res.Warm[i].Conns == c {
				return &res.Warm[i]
			}
		}
		return nil
	}
	for _, of := range []string{"openfc-proxy", "openfc-subdomain"} {
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
	time.Sleep(500 * time.Millisecond)
	mem.AfterWarmMB = rssKB(pid) / 1024

	// Direct exec-to-listen of the same binary: the app's own start time.
	cold := &coldResult{Runs: cfg.coldRuns}
	for i := 0; i < cfg.coldRuns; i++ {
		ms, err := directStart(bootstrap)
		if err != nil {
			fail("direct start: %v", err)
			break
		}
		cold.DirectExecToListen = append(cold.DirectExecToListen, ms)
	}

	// Cold start through openfc: each run calls a function never called.
	goBeforeCold, err := goMemKB(adminAddr)
	if err != nil {
		fail("memory: %v", err)
	}
	rssBeforeCold := rssKB(pid)
	mem.ServerRSSBeforeColl = rssBeforeCold / 1024
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < cfg.coldRuns; i++ {
		u := fmt.Sprintf("http://%s/2016-08-15/proxy/bench/cold-%d/", ofAddr, i)
		t0 := time.Now()
		resp, err := client.Get(u)
		if err != nil {
			fail("cold-%d: %v", i, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t1 := time.Now()
		if resp.StatusCode != 200 {
			fail("cold-%d: status %d", i, resp.StatusCode)
			continue
		}
		st, _ := strconv.ParseInt(resp.Header.Get("X-Bench-Start"), 10, 64)
		li, _ := strconv.ParseInt(resp.Header.Get("X-Bench-Listen"), 10, 64)
		if st == 0 || li == 0 || st < t0.UnixNano() {
			fail("cold-%d: not a fresh instance (start %d, request %d)", i, st, t0.UnixNano())
			continue
		}
		cold.FirstResponseMs = append(cold.FirstResponseMs, ms(t1.Sub(t0)))
		cold.AppStartToListenMs = append(cold.AppStartToListenMs, float64(li-st)/1e6)
	}
	if len(cold.FirstResponseMs) > 0 && len(cold.DirectExecToListen) > 0 {
		cold.MedianFirstMs = round(median(cold.FirstResponseMs), 2)
		cold.MedianAppMs = round(median(cold.AppStartToListenMs), 3)
		cold.MedianDirectMs = round(median(cold.DirectExecToListen), 2)
		cold.OverheadMs = round(cold.MedianFirstMs-cold.MedianDirectMs, 2)
		res.Cold = cold
		logf("cold start: first response %.2f ms, direct exec-to-listen %.2f ms (main-to-listen %.3f ms), overhead %.2f ms",
			cold.MedianFirstMs, cold.MedianDirectMs, cold.MedianAppMs, cold.OverheadMs)
	} else {
		fail("cold start produced no numbers")
	}

	// Memory per idle instance: the cold functions' instances now sit idle.
	if n := len(cold.FirstResponseMs); n > 0 {
		goNow, err := goMemKB(adminAddr)
		if err != nil {
			fail("memory: %v", err)
		}
		mem.IdleInstances = n
		mem.PerIdleInstanceKB = round((goNow-goBeforeCold)/float64(n), 1)
		mem.PerIdleInstanceRSS = round((rssKB(pid)-rssBeforeCold)/float64(n), 1)
	}

	// Memory per 1,000 idle client connections.
	goBefore, err := goMemKB(adminAddr)
	if err != nil {
		fail("memory: %v", err)
	}
	before := rssKB(pid)
	conns, err := openIdleConns(ofAddr, "/2016-08-15/proxy/bench/warm/", cfg.idleConns)
	if err != nil {
		fail("idle connections: %v", err)
	} else {
		goNow, err := goMemKB(adminAddr)
		if err != nil {
			fail("memory: %v", err)
		}
		mem.IdleConnsOpened = len(conns)
		mem.Per1000ConnsKB = round((goNow-goBefore)/float64(len(conns))*1000, 0)
		mem.Per1000ConnsRSS = round((rssKB(pid)-before)/float64(len(conns))*1000, 0)
	}
	for _, c := range conns {
		c.Close()
	}

	// Scale-out: 50 concurrent requests against the cold concurrency-1 function.
	sc := &scaleResult{Requests: 50, MaxInstances: 10, Statuses: map[string]int{}}
	var mu sync.Mutex
	starts := map[string]int64{}
	var wg sync.WaitGroup
	sclient := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0}}
	gate := make(chan struct{})
	for i := 0; i < sc.Requests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := sclient.Get("http://" + ofAddr + "/2016-08-15/proxy/bench/scale/")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				sc.Statuses["error"]++
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sc.Statuses[strconv.Itoa(resp.StatusCode)]++
			if s := resp.Header.Get("X-Bench-Start"); s != "" {
				li, _ := strconv.ParseInt(resp.Header.Get("X-Bench-Listen"), 10, 64)
				starts[s] = li
			}
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	sc.AllAnsweredMs = round(ms(time.Since(t0)), 2)
	sc.Instances = len(starts)
	for _, li := range starts {
		if d := float64(li-t0.UnixNano()) / 1e6; d > sc.LastInstanceMs {
			sc.LastInstanceMs = round(d, 2)
		}
	}
	if sc.Statuses["200"] == sc.Requests {
		res.Scale = sc
		logf("scale-out: %d requests answered in %.1f ms by %d instances", sc.Requests, sc.AllAnsweredMs, sc.Instances)
	} else {
		res.Scale = sc
		fail("scale-out: statuses %v", sc.Statuses)
	}
	mem.ServerRSSAfterMB = round(rssKB(pid)/1024, 1)
	mem.IdleServerMB = round(mem.IdleServerMB, 1)
	mem.AfterWarmMB = round(mem.AfterWarmMB, 1)
	mem.ServerRSSBeforeColl = round(mem.ServerRSSBeforeColl, 1)
	if mem.IdleServerMB <= 0 {
		fail("memory: no RSS for the server")
	}
	if len(res.Warm) < 2*len(targets) {
		fail("warm path: %d of %d wrk runs produced numbers", len(res.Warm), 2*len(targets))
	}
	return res, nil
}

// ---- helpers -----------------------------------------------------------------

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after %s", addr, d)
}

func waitHTTP(u, host string, d time.Duration) error {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: 5 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", u, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == upstreamBody {
				return nil
			}
			last = fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: no 200 within %s: %v", u, d, last)
}

var (
	reRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP   = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	reBad = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reErr = regexp.MustCompile(`Socket errors: .*`)
)

func runWrk(u, host string, conns int, d time.Duration) (wrkResult, error) {
	threads := 1
	if conns > 1 {
		threads = 2
	}
	secs := int(math.Max(1, math.Round(d.Seconds())))
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s", "--timeout", "5s", "--latency"}
	if host != "" {
		args = append(args, "-H", "Host: "+host)
	}
	args = append(args, u)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	s := string(out)
	r := wrkResult{Conns: conns}
	if m := reBad.FindStringSubmatch(s); m != nil {
		return r, fmt.Errorf("wrk: %s non-2xx responses\n%s", m[1], s)
	}
	if m := reErr.FindString(s); m != "" {
		return r, fmt.Errorf("wrk: %s\n%s", m, s)
	}
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("wrk: no Requests/sec\n%s", s)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range reP.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		switch pm[3] {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		if pm[1] == "50" {
			r.P50us = v
		} else {
			r.P99us = v
		}
	}
	if r.RPS <= 0 || r.P50us <= 0 || r.P99us <= 0 {
		return r, fmt.Errorf("wrk: incomplete numbers\n%s", s)
	}
	return r, nil
}

// directStart execs the function binary on a free port and returns the time
// from just before exec to its listen stamp, in ms.
func directStart(bin string) (float64, error) {
	port := freePort()
	c := exec.Command(bin)
	c.Env = append(os.Environ(), "BENCH_UPSTREAM_LISTEN=127.0.0.1:"+strconv.Itoa(port), "GOMAXPROCS=1")
	stdout, err := c.StdoutPipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := children.start(c); err != nil {
		return 0, err
	}
	defer func() {
		_ = c.Process.Kill()
		_ = c.Wait()
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "LISTEN" {
			return 0, fmt.Errorf("unexpected first line %q", l)
		}
		li, _ := strconv.ParseInt(f[1], 10, 64)
		return float64(li-t0.UnixNano()) / 1e6, nil
	case <-time.After(10 * time.Second):
		return 0, errors.New("no LISTEN line within 10 s")
	}
}

// openIdleConns opens n keep-alive connections, makes one request on each
// and leaves them open.
func openIdleConns(addr, path string, n int) ([]net.Conn, error) {
	var conns []net.Conn
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return conns, err
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			return conns, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return conns, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return conns, fmt.Errorf("status %d", resp.StatusCode)
		}
		_ = c.SetDeadline(time.Time{})
	}
	return conns, nil
}

// goMemKB has the server collect its garbage (pprof's heap endpoint with
// gc=1) and returns the Go heap and goroutine stacks it then has in use,
// in KB: a figure that, unlike RSS, does not move with garbage not yet
// collected or pages not yet returned to the OS.
func goMemKB(admin string) (float64, error) {
	var b []byte
	// Twice: what sync.Pools hold survives one collection.
	for range 2 {
		resp, err := http.Get("http://" + admin + "/debug/pprof/heap?gc=1&debug=1")
		if err != nil {
			return 0, fmt.Errorf("heap profile: %w", err)
		}
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return 0, fmt.Errorf("heap profile: %d %v", resp.StatusCode, err)
		}
	}
	var err error
	var heap, stack float64
	var found int
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "# HeapInuse = "); ok {
			heap, err = strconv.ParseFloat(v, 64)
			found++
		} else if v, ok := strings.CutPrefix(l, "# Stack = "); ok { // "inuse / sys"
			inuse, _, _ := strings.Cut(v, " ")
			stack, err = strconv.ParseFloat(inuse, 64)
			found++
		}
		if err != nil {
			return 0, fmt.Errorf("heap profile line %q: %w", l, err)
		}
	}
	if found != 2 {
		return 0, fmt.Errorf("heap profile without HeapInuse and Stack lines")
	}
	return (heap + stack) / 1024, nil
}

func rssKB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseFloat(f[1], 64)
				return v
			}
		}
	}
	return 0
}

func machine() map[string]any {
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
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m["kernel"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		m["nginx"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("wrk", "-v").CombinedOutput(); err == nil || len(out) > 0 {
		m["wrk"] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// ---- output ------------------------------------------------------------------

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
	fmt.Printf("%-18s %5s %12s %10s %10s\n", "target", "conns", "req/s", "p50 µs", "p99 µs")
	for _, r := range res.Warm {
		fmt.Printf("%-18s %5d %12.0f %10.1f %10.1f\n", r.Target, r.Conns, r.RPS, r.P50us, r.P99us)
	}
	keys := make([]string, 0, len(res.Ratios))
	for k := range res.Ratios {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println()
	for _, k := range keys {
		fmt.Printf("%-52s %v\n", k, res.Ratios[k])
	}
	if c := res.Cold; c != nil {
		fmt.Printf("\ncold start (median of %d): first response %.2f ms; app exec-to-listen %.2f ms (main-to-listen %.3f ms); overhead %.2f ms\n",
			len(c.FirstResponseMs), c.MedianFirstMs, c.MedianDirectMs, c.MedianAppMs, c.OverheadMs)
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
	val := func(t string, c int, f func(wrkResult) float64) float64 {
		for _, r := range res.Warm {
			if r.Target == t && r.Conns == c {
				return f(r)
			}
		}
		return 0
	}
	const W, panelW, top, barH, gap = 980, 440, 60, 14, 12
	rowH := 2*barH + gap
	height := top + len(targets)*rowH + 60
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", W, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">openfc warm path vs direct, nginx, httputil.ReverseProxy (%s per run, %v CPUs)</text>`+"\n",
		xmlEsc(res.Duration), res.Machine["nproc"])
	colors := map[int]string{1: "#8fb3d9", 32: "#2b6cb0"}
	panels := []struct {
		title string
		f     func(wrkResult) float64
		unit  string
	}{
		{"requests/s (higher is better)", func(r wrkResult) float64 { return r.RPS }, ""},
		{"p50 latency µs (lower is better)", func(r wrkResult) float64 { return r.P50us }, " µs"},
	}
	labelW := 120.0
	for pi, p := range panels {
		x0 := 10 + float64(pi)*(panelW+40)
		maxV := 0.0
		for _, t := range targets {
			for _, c := range []int{1, 32} {
				maxV = math.Max(maxV, val(t, c, p.f))
			}
		}
		if maxV == 0 {
			maxV = 1
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="45" font-weight="bold">%s</text>`+"\n", x0, xmlEsc(p.title))
		scale := (panelW - labelW - 70) / maxV
		for i, t := range targets {
			y := float64(top + i*rowH)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", x0, y+barH+4, xmlEsc(t))
			for j, c := range []int{1, 32} {
				v := val(t, c, p.f)
				by := y + float64(j*barH)
				fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="%d" fill="%s"/>`+"\n", x0+labelW, by, v*scale, barH-2, colors[c])
				fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10">%.0f%s</text>`+"\n", x0+labelW+v*scale+4, by+barH-4, v, p.unit)
			}
		}
	}
	ly := float64(top + len(targets)*rowH + 20)
	for j, c := range []int{1, 32} {
		x := 10 + float64(j)*160
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%d connection(s)</text>`+"\n", x, ly, colors[c], x+16, ly+10, c)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func xmlEsc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
