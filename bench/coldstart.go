package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

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

// directStarts is the baseline of the cold start: the app's own start time,
// n execs of the function binary by the harness itself; it stops at the
// first failure.
func directStarts(children *procs, bootstrap string, n int, res *results) []float64 {
	var execToListen []float64
	for i := 0; i < n; i++ {
		ms, err := directStart(children, bootstrap)
		if err != nil {
			res.fail("direct start: %v", err)
			break
		}
		execToListen = append(execToListen, ms)
	}
	return execToListen
}

// directStart execs the function binary on a free port and returns the time
// from just before exec to its listen stamp, in ms.
func directStart(children *procs, bin string) (float64, error) {
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

// coldStarts times one GET, on a new connection, to each cold-i function,
// never called before; each run that fails is recorded and skipped.
func coldStarts(ctx context.Context, s *server, cold *coldResult, res *results) {
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < cold.Runs; i++ {
		first, app, err := coldStart(ctx, client, s.proxyURL(fmt.Sprintf("cold-%d", i)))
		if err != nil {
			res.fail("cold-%d: %v", i, err)
			continue
		}
		cold.FirstResponseMs = append(cold.FirstResponseMs, first)
		cold.AppStartToListenMs = append(cold.AppStartToListenMs, app)
	}
}

// coldStart returns the time to the first response and the instance's
// main-to-listen time, in ms. The instance's start stamp must be later than
// the request: otherwise an instance already running answered, and the
// time is not a cold start.
func coldStart(ctx context.Context, client *http.Client, u string) (float64, float64, error) {
	t0 := time.Now()
	resp, err := get(ctx, client, u)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t1 := time.Now()
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	st, _ := strconv.ParseInt(resp.Header.Get("X-Bench-Start"), 10, 64)
	li, _ := strconv.ParseInt(resp.Header.Get("X-Bench-Listen"), 10, 64)
	if st == 0 || li == 0 || st < t0.UnixNano() {
		return 0, 0, fmt.Errorf("not a fresh instance (start %d, request %d)", st, t0.UnixNano())
	}
	return ms(t1.Sub(t0)), float64(li-st) / 1e6, nil
}

// summarizeCold sets res.Cold to the medians and the overhead, the median
// first response less the median direct exec-to-listen (design.md §5).
func summarizeCold(cold *coldResult, res *results) {
	if len(cold.FirstResponseMs) == 0 || len(cold.DirectExecToListen) == 0 {
		res.fail("cold start produced no numbers")
		return
	}
	cold.MedianFirstMs = round(median(cold.FirstResponseMs), 2)
	cold.MedianAppMs = round(median(cold.AppStartToListenMs), 3)
	cold.MedianDirectMs = round(median(cold.DirectExecToListen), 2)
	cold.OverheadMs = round(cold.MedianFirstMs-cold.MedianDirectMs, 2)
	res.Cold = cold
	logf("cold start: first response %.2f ms, direct exec-to-listen %.2f ms (main-to-listen %.3f ms), overhead %.2f ms",
		cold.MedianFirstMs, cold.MedianDirectMs, cold.MedianAppMs, cold.OverheadMs)
}
