package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type wrkResult struct {
	Target string  `json:"target"`
	Conns  int     `json:"connections"`
	RPS    float64 `json:"requests_per_sec"` // median of the rounds
	P50us  float64 `json:"p50_us"`           // median of the rounds
	P99us  float64 `json:"p99_us"`           // median of the rounds
	// RoundsRPS are the rounds' requests/s, in round order.
	RoundsRPS []float64 `json:"rounds_requests_per_sec,omitempty"`
	// RoundsP50us are the rounds' p50s, in round order.
	RoundsP50us []float64 `json:"rounds_p50_us,omitempty"`
	// MeanUs, SDUs and MaxUs are one run's "Latency" thread stats (Avg,
	// Stdev, Max), for a comparison with h2load's mean (h2c.go); the
	// medians of the rounds leave them out.
	MeanUs float64 `json:"mean_us,omitempty"`
	SDUs   float64 `json:"sd_us,omitempty"`
	MaxUs  float64 `json:"max_us,omitempty"`
	// Requests is one run's count ("N requests in"), left out of the
	// medians too.
	Requests int `json:"requests,omitempty"`
}

// Lines of wrk's --latency output; compiled once, never changed.
var (
	reRPS   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP     = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	reLat   = regexp.MustCompile(`(?m)^\s+Latency\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)\s`)
	reBad   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reTotal = regexp.MustCompile(`(\d+) requests in `)
	reErr   = regexp.MustCompile(`Socket errors: .*`)
	// reUnexpected is the line a checking script (asyncScript) prints:
	// answers whose status was not the one the run expects.
	reUnexpected = regexp.MustCompile(`Unexpected status answers: (\d+)`)
)

// runWrk runs wrk for d (whole seconds, at least 1) at conns connections,
// two threads unless there is one connection, and returns its requests/s
// and p50/p99; any non-2xx answer or socket error is an error, since the
// figures would then not be those of the path being measured.
func runWrk(ctx context.Context, u, host string, conns int, d time.Duration) (wrkResult, error) {
	var headers []string
	if host != "" {
		headers = []string{"Host: " + host}
	}
	return runWrkWith(ctx, wrkRun{url: u, headers: headers, conns: conns, d: d})
}

// wrkRun is one wrk run: its URL and extra headers ("Name: value"), its
// connections and duration; rejects: every answer must be a non-2xx one
// (a path measured for how fast it refuses); script: a wrk Lua script
// (-s), for a method and body of its own.
type wrkRun struct {
	url     string
	headers []string
	conns   int
	d       time.Duration
	rejects bool
	script  string
}

func runWrkWith(ctx context.Context, w wrkRun) (wrkResult, error) {
	threads := 1
	if w.conns > 1 {
		threads = 2
	}
	secs := int(math.Max(1, math.Round(w.d.Seconds())))
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(w.conns), "-d" + strconv.Itoa(secs) + "s", "--timeout", "5s", "--latency"}
	for _, h := range w.headers {
		args = append(args, "-H", h)
	}
	if w.script != "" {
		args = append(args, "-s", w.script)
	}
	args = append(args, w.url)
	ctx, cancel := context.WithTimeout(ctx, w.d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if w.rejects {
		if err := allRejected(string(out)); err != nil {
			return wrkResult{}, err
		}
		return parseWrk(reBad.ReplaceAllString(string(out), ""), w.conns)
	}
	return parseWrk(string(out), w.conns)
}

// allRejected checks that wrk counted every request as non-2xx.
func allRejected(s string) error {
	bad, total := reBad.FindStringSubmatch(s), reTotal.FindStringSubmatch(s)
	if bad == nil || total == nil || bad[1] != total[1] {
		return fmt.Errorf("wrk: not every request was refused\n%s", s)
	}
	return nil
}

func parseWrk(s string, conns int) (wrkResult, error) {
	r := wrkResult{Conns: conns}
	if m := reBad.FindStringSubmatch(s); m != nil {
		return r, fmt.Errorf("wrk: %s non-2xx responses\n%s", m[1], s)
	}
	if m := reUnexpected.FindStringSubmatch(s); m != nil && m[1] != "0" {
		return r, fmt.Errorf("wrk: %s answers with an unexpected status\n%s", m[1], s)
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
		v := micros(pm[2], pm[3])
		if pm[1] == "50" {
			r.P50us = v
		} else {
			r.P99us = v
		}
	}
	if m := reTotal.FindStringSubmatch(s); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := reLat.FindStringSubmatch(s); m != nil {
		r.MeanUs, r.SDUs, r.MaxUs = micros(m[1], m[2]), micros(m[3], m[4]), micros(m[5], m[6])
	}
	if r.RPS <= 0 || r.P50us <= 0 || r.P99us <= 0 {
		return r, fmt.Errorf("wrk: incomplete numbers\n%s", s)
	}
	return r, nil
}

// micros converts a duration as wrk and h2load print it (a number and
// us, ms or s) to microseconds.
func micros(num, unit string) float64 {
	v, _ := strconv.ParseFloat(num, 64)
	switch unit {
	case "ms":
		v *= 1e3
	case "s":
		v *= 1e6
	}
	return v
}
