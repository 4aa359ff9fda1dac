package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HTTP/2 cleartext at the front door: openfc serves h2c with prior
// knowledge besides HTTP/1.1 on its plain listener, and design.md asks
// for "h2c req/s over 32 streams ≥ HTTP/1.1 at 32 connections". h2load
// (nghttp2-client) speaks h2c with prior knowledge to an http:// URL; it
// runs 32 concurrent streams against bench/warm's proxy URL over 2
// connections (-c2 -m16, two threads as wrk's -t2) and over 1 (-c1
// -m32), and wrk runs HTTP/1.1 at 32 connections against the same URL
// in the same interleaved rounds: the yardstick of the ratios, measured
// within seconds of the h2c runs (the warm-path scenario's figure, taken
// minutes earlier, is compared too).
//
// h2load prints requests/s and the min/max/mean/sd of the time for a
// request, no percentiles; --log-file writes a line per request (start,
// status, µs) from which p50 and p99 are computed, at the cost of one
// write(2) per request in the load generator. So each h2c setting is run
// twice per round: plain, for requests/s and the mean (the figures of the
// ratios), and with the log file, for the percentiles (and that pass's
// requests/s, which shows the log's cost). Any request that failed,
// errored, timed out or got a status other than 2xx, or a protocol other
// than h2c, fails the run.

// h2cSetting is one h2load load shape: clients (connections) and
// concurrent streams per client.
type h2cSetting struct {
	name             string
	clients, streams int
}

// h2cSettings are the measured shapes, 32 concurrent streams each.
var h2cSettings = []h2cSetting{
	{"h2c-c2m16", 2, 16},
	{"h2c-c1m32", 1, 32},
}

// h1Yardstick is the HTTP/1.1 target of the h2c rounds: wrk at 32
// connections.
const h1Yardstick = "h1-c32"

// h2cSample is one run's figures; P50us and P99us come from wrk or from
// h2load's log file (zero for a plain h2load run). ServerCPUus is the
// openfc process's CPU time (user + system) over the run divided by the
// requests done.
type h2cSample struct {
	ServerCPUus                 float64
	round                       int
	RPS                         float64
	MinUs, MaxUs, MeanUs, SDUs  float64
	P50us, P99us                float64
	Total, Succeeded, Failed    int
	Errored, TimedOut, LogLines int
	logPass                     bool
}

// h2cResult is one target's figures: medians over the rounds, but the
// minimum and maximum of the rounds' min and max.
type h2cResult struct {
	Target         string  `json:"target"`
	Protocol       string  `json:"protocol"`
	Tool           string  `json:"tool"`
	Connections    int     `json:"connections"`
	StreamsPerConn int     `json:"streams_per_connection"`
	RPS            float64 `json:"requests_per_sec"`
	MeanUs         float64 `json:"mean_us"`
	SDUs           float64 `json:"sd_us"`
	MinUs          float64 `json:"min_us,omitempty"` // wrk prints none
	MaxUs          float64 `json:"max_us"`
	P50us          float64 `json:"p50_us"`
	P99us          float64 `json:"p99_us"`
	// ServerCPUus is the openfc server's CPU time per request (median of
	// the plain runs): unlike requests/s, barely moved by the machine's
	// drift or by what else runs on it.
	ServerCPUus float64   `json:"server_cpu_us_per_request"`
	RoundsRPS   []float64 `json:"rounds_requests_per_sec"`
	// The percentile pass (h2load --log-file): its requests/s, lower
	// than the plain run's by the log's cost.
	LogPassRPS       float64   `json:"log_pass_requests_per_sec,omitempty"`
	RoundsLogPassRPS []float64 `json:"rounds_log_pass_requests_per_sec,omitempty"`
}

// h2cTarget is one measured run kind in the rotation.
type h2cTarget struct {
	name string // the h2cResult it feeds
	log  bool   // h2load with --log-file
	run  func(ctx context.Context, d time.Duration) (h2cSample, error)
}

// h2cBench measures h2c against HTTP/1.1 on s's bench/warm (proxy form).
func h2cBench(ctx context.Context, cfg config, s *server, res *results) {
	u := s.proxyURL("warm")
	logDir, err := os.MkdirTemp(h2loadLogRoot(), "openfc-bench-h2load-")
	if err != nil {
		res.fail("h2c: %v", err)
		return
	}
	defer os.RemoveAll(logDir)
	targets := []h2cTarget{{name: h1Yardstick, run: func(ctx context.Context, d time.Duration) (h2cSample, error) {
		r, err := runWrk(ctx, u, "", 32, d)
		return h2cSample{RPS: r.RPS, MeanUs: r.MeanUs, SDUs: r.SDUs, MaxUs: r.MaxUs, P50us: r.P50us, P99us: r.P99us, Total: r.Requests}, err
	}}}
	for _, st := range h2cSettings {
		for _, log := range []bool{false, true} {
			targets = append(targets, h2cTarget{name: st.name, log: log, run: func(ctx context.Context, d time.Duration) (h2cSample, error) {
				logFile := ""
				if log {
					logFile = filepath.Join(logDir, fmt.Sprintf("%s-%d.log", st.name, time.Now().UnixNano()))
					defer os.Remove(logFile)
				}
				return runH2load(ctx, u, st.clients, st.streams, d, logFile)
			}})
		}
	}
	for _, t := range targets { // warm-up: the connections, and a first check
		if t.log {
			continue
		}
		if _, err := t.run(ctx, time.Second); err != nil {
			res.fail("%s warm-up: %v", t.name, err)
		}
	}
	samples := h2cRounds(ctx, cfg, s.pid, targets, res)
	res.H2C = append(res.H2C, h2cMedians(samples)...)
	h2cRatios(res, samples)
}

// h2loadLogRoot is where the per-request logs go: a tmpfs when there is
// one, so that the log's write(2) per request costs no disk.
func h2loadLogRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// h2cRounds runs every target once per round, the order rotating as in
// warmRounds, and takes the CPU time of the server (pid) around each run.
func h2cRounds(ctx context.Context, cfg config, pid int, targets []h2cTarget, res *results) map[string][]h2cSample {
	samples := map[string][]h2cSample{}
	for round := 0; round < cfg.rounds; round++ {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			name := t.name
			if t.log {
				name += " (log)"
			}
			cpu0, cpuErr := cpuSeconds(pid)
			r, err := t.run(ctx, cfg.duration)
			if err != nil {
				res.fail("%s round %d: %v", name, round+1, err)
				continue
			}
			if cpu1, err := cpuSeconds(pid); err == nil && cpuErr == nil && r.Total > 0 {
				r.ServerCPUus = (cpu1 - cpu0) * 1e6 / float64(r.Total)
			}
			r.round, r.logPass = round, t.log
			logf("round %d/%d %-17s %10.0f req/s  mean %8.1f µs  p50 %8.1f µs  p99 %8.1f µs  server CPU %5.1f µs/req", round+1, cfg.rounds, name, r.RPS, r.MeanUs, r.P50us, r.P99us, r.ServerCPUus)
			samples[t.name] = append(samples[t.name], r)
		}
	}
	return samples
}

// h2cMedians reduces the rounds to one result per target: requests/s,
// mean and sd from the plain runs, percentiles from the log pass (h2c)
// or from wrk (HTTP/1.1).
func h2cMedians(samples map[string][]h2cSample) []h2cResult {
	var out []h2cResult
	add := func(r h2cResult) {
		var rps, mean, sd, p50, p99, logRPS, cpu []float64
		minUs, maxUs := math.Inf(1), 0.0
		for _, s := range samples[r.Target] {
			if s.logPass {
				logRPS = append(logRPS, s.RPS)
				p50, p99 = append(p50, s.P50us), append(p99, s.P99us)
				continue
			}
			rps, mean, sd = append(rps, s.RPS), append(mean, s.MeanUs), append(sd, s.SDUs)
			if s.ServerCPUus > 0 {
				cpu = append(cpu, s.ServerCPUus)
			}
			if r.Protocol != "h2c" {
				p50, p99 = append(p50, s.P50us), append(p99, s.P99us)
			}
			if s.MinUs > 0 {
				minUs = math.Min(minUs, s.MinUs)
			}
			maxUs = math.Max(maxUs, s.MaxUs)
		}
		if len(rps) == 0 {
			return
		}
		if math.IsInf(minUs, 1) {
			minUs = 0
		}
		r.RPS, r.MeanUs, r.SDUs = round(median(rps), 0), round(median(mean), 1), round(median(sd), 1)
		r.MinUs, r.MaxUs = minUs, maxUs
		r.P50us, r.P99us = round(median(p50), 1), round(median(p99), 1)
		r.ServerCPUus = round(median(cpu), 1)
		r.RoundsRPS = rps
		if len(logRPS) > 0 {
			r.LogPassRPS, r.RoundsLogPassRPS = round(median(logRPS), 0), logRPS
		}
		out = append(out, r)
	}
	add(h2cResult{Target: h1Yardstick, Protocol: "http/1.1", Tool: "wrk", Connections: 32, StreamsPerConn: 1})
	for _, st := range h2cSettings {
		add(h2cResult{Target: st.name, Protocol: "h2c", Tool: "h2load", Connections: st.clients, StreamsPerConn: st.streams})
	}
	return out
}

// h2cRatios records each h2c setting's requests/s over HTTP/1.1's at 32
// connections (the medians' ratio and the median of the rounds' own
// ratios), over the warm-path scenario's openfc-proxy figure when this
// run measured it, its added mean and p50, and the log pass's cost.
func h2cRatios(res *results, samples map[string][]h2cSample) {
	get := func(name string) *h2cResult {
		for i := range res.H2C {
			if res.H2C[i].Target == name {
				return &res.H2C[i]
			}
		}
		return nil
	}
	h1 := get(h1Yardstick)
	var warm *wrkResult
	for i := range res.Warm {
		if res.Warm[i].Target == "openfc-proxy" && res.Warm[i].Conns == 32 {
			warm = &res.Warm[i]
		}
	}
	h1ByRound := map[int]float64{}
	for _, s := range samples[h1Yardstick] {
		h1ByRound[s.round] = s.RPS
	}
	for _, st := range h2cSettings {
		h := get(st.name)
		if h == nil {
			res.fail("%s produced no numbers", st.name)
			continue
		}
		k := strings.ReplaceAll(st.name, "-", "_")
		res.Ratios[k+"_rps"] = h.RPS
		if h1 != nil && h1.RPS > 0 {
			res.Ratios[k+"_rps_vs_h1_c32"] = round(h.RPS/h1.RPS, 3)
			res.Ratios[k+"_added_mean_us_over_h1_c32"] = round(h.MeanUs-h1.MeanUs, 1)
			if h.P50us > 0 {
				res.Ratios[k+"_added_p50_us_over_h1_c32"] = round(h.P50us-h1.P50us, 1)
			}
			var per []float64
			for _, s := range samples[st.name] {
				if b := h1ByRound[s.round]; !s.logPass && b > 0 {
					per = append(per, s.RPS/b)
				}
			}
			if len(per) > 0 {
				res.Ratios[k+"_rps_vs_h1_c32_paired_median"] = round(median(per), 3)
			}
		}
		if h1 != nil && h1.ServerCPUus > 0 && h.ServerCPUus > 0 {
			res.Ratios[k+"_server_cpu_per_request_vs_h1_c32"] = round(h.ServerCPUus/h1.ServerCPUus, 3)
		}
		if warm != nil && warm.RPS > 0 {
			res.Ratios[k+"_rps_vs_warm_openfc_proxy_c32"] = round(h.RPS/warm.RPS, 3)
		}
		if h.LogPassRPS > 0 {
			res.Ratios[k+"_log_pass_rps_vs_plain"] = round(h.LogPassRPS/h.RPS, 3)
		}
	}
}

// h2load's output lines; compiled once, never changed.
var (
	reH2Finished = regexp.MustCompile(`finished in [0-9.]+(?:us|ms|s), ([0-9.]+) req/s`)
	reH2Requests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	reH2Status   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	// h2load's threads print side by side, so the protocol may run into
	// another thread's line ("Application protocol: h2cMain benchmark…").
	reH2Proto = regexp.MustCompile(`Application protocol: (h2c|h2|http/1\.1|\S+)`)
	reH2Time  = regexp.MustCompile(`time for request:\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)`)
)

// runH2load runs h2load for d (whole seconds, at least 1) with clients
// connections of streams concurrent streams each (h2c with prior
// knowledge: the URL is http://), one thread per client up to two, as
// wrk; with logFile, h2load writes its per-request log there and the
// percentiles are computed from it.
func runH2load(ctx context.Context, u string, clients, streams int, d time.Duration, logFile string) (h2cSample, error) {
	threads := min(clients, 2)
	secs := int(math.Max(1, math.Round(d.Seconds())))
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(clients), "-m" + strconv.Itoa(streams), "-D", strconv.Itoa(secs)}
	if logFile != "" {
		args = append(args, "--log-file", logFile)
	}
	args = append(args, u)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "h2load", args...).CombinedOutput()
	if err != nil {
		return h2cSample{}, fmt.Errorf("h2load %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseH2load(string(out))
	if err != nil {
		return r, fmt.Errorf("h2load %s: %w", strings.Join(args, " "), err)
	}
	if logFile != "" {
		if err := h2loadPercentiles(logFile, &r); err != nil {
			return r, fmt.Errorf("h2load %s: %w", strings.Join(args, " "), err)
		}
	}
	return r, nil
}

// parseH2load reads h2load's summary. h2load exits 0 whatever the
// answers were, so every failure is found here: a protocol other than
// h2c, a request that failed, errored or timed out, a status other than
// 2xx, or numbers missing.
func parseH2load(s string) (h2cSample, error) {
	var r h2cSample
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	for _, m := range reH2Proto.FindAllStringSubmatch(s, -1) {
		if m[1] != "h2c" {
			return r, fmt.Errorf("not h2c (application protocol %q)\n%s", m[1], s)
		}
	}
	if !reH2Proto.MatchString(s) {
		return r, fmt.Errorf("no application protocol\n%s", s)
	}
	m := reH2Requests.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("no requests line\n%s", s)
	}
	r.Total, r.Succeeded, r.Failed, r.Errored, r.TimedOut = atoi(m[1]), atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
	if r.Failed+r.Errored+r.TimedOut > 0 || r.Succeeded == 0 {
		return r, fmt.Errorf("%d succeeded, %d failed, %d errored, %d timed out\n%s", r.Succeeded, r.Failed, r.Errored, r.TimedOut, s)
	}
	sc := reH2Status.FindStringSubmatch(s)
	if sc == nil {
		return r, fmt.Errorf("no status codes line\n%s", s)
	}
	// The status counts include streams whose head came before the end
	// of the run but whose body did not: a 2xx count above the
	// succeeded one is normal, any other status is not.
	if n := atoi(sc[2]) + atoi(sc[3]) + atoi(sc[4]); n > 0 {
		return r, fmt.Errorf("%d answers not 2xx\n%s", n, s)
	}
	f := reH2Finished.FindStringSubmatch(s)
	if f == nil {
		return r, fmt.Errorf("no req/s\n%s", s)
	}
	r.RPS, _ = strconv.ParseFloat(f[1], 64)
	t := reH2Time.FindStringSubmatch(s)
	if t == nil {
		return r, fmt.Errorf("no time for request\n%s", s)
	}
	r.MinUs, r.MaxUs, r.MeanUs, r.SDUs = micros(t[1], t[2]), micros(t[3], t[4]), micros(t[5], t[6]), micros(t[7], t[8])
	if r.RPS <= 0 || r.MeanUs <= 0 || r.MaxUs <= 0 {
		return r, fmt.Errorf("incomplete numbers\n%s", s)
	}
	return r, nil
}

// h2loadPercentiles reads h2load's --log-file (tab-separated: start in
// µs since the epoch, status, µs until the end of the response; more
// columns may follow) into r's p50 and p99. Every line must have a 2xx
// status.
func h2loadPercentiles(path string, r *h2cSample) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var lat []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 {
			return fmt.Errorf("log file %s: bad line %q", path, sc.Text())
		}
		if !strings.HasPrefix(fields[1], "2") || len(fields[1]) != 3 {
			return fmt.Errorf("log file %s: status %s", path, fields[1])
		}
		v, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return fmt.Errorf("log file %s: bad line %q", path, sc.Text())
		}
		lat = append(lat, v)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(lat) == 0 {
		return fmt.Errorf("log file %s: no request", path)
	}
	sort.Float64s(lat)
	r.LogLines = len(lat)
	r.P50us, r.P99us = percentile(lat, 0.50), percentile(lat, 0.99)
	return nil
}

// cpuSeconds is process pid's CPU time so far, user + system, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s: Linux's
// USER_HZ).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return (utime + stime) / 100, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// printH2C prints the h2c rows after the warm-path table.
func printH2C(res *results) {
	if len(res.H2C) == 0 {
		return
	}
	fmt.Printf("\nh2c (h2load) vs HTTP/1.1 (wrk), bench/warm proxy form, medians of %d round(s); h2c p50/p99 from the --log-file pass\n", res.Rounds)
	fmt.Printf("%-10s %-8s %5s %7s %10s %9s %9s %9s %9s %9s %10s %12s\n", "target", "proto", "conns", "streams", "req/s", "mean µs", "sd µs", "p50 µs", "p99 µs", "max µs", "log req/s", "srv CPU µs/r")
	for _, r := range res.H2C {
		fmt.Printf("%-10s %-8s %5d %7d %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %10.0f %12.1f\n", r.Target, r.Protocol, r.Connections,
			r.Connections*r.StreamsPerConn, r.RPS, r.MeanUs, r.SDUs, r.P50us, r.P99us, r.MaxUs, r.LogPassRPS, r.ServerCPUus)
	}
}
