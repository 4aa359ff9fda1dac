package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

type scaleResult struct {
	Requests       int            `json:"requests"`
	MaxInstances   int            `json:"max_instances"`
	AllAnsweredMs  float64        `json:"all_answered_ms"`
	Instances      int            `json:"instances_started"`
	Statuses       map[string]int `json:"statuses"`
	LastInstanceMs float64        `json:"last_instance_listen_ms"`
}

// scaleOut releases 50 concurrent requests at once against bench/scale
// (concurrency 1, max 10, never called before) and sets res.Scale, recording
// a failure unless every request got 200.
func scaleOut(ctx context.Context, s *server, res *results) {
	sc := &scaleResult{Requests: 50, MaxInstances: 10, Statuses: map[string]int{}}
	t0, starts := scaleRequests(ctx, s.proxyURL("scale"), sc)
	sc.AllAnsweredMs = round(ms(time.Since(t0)), 2)
	sc.Instances = len(starts)
	for _, li := range starts {
		if d := float64(li-t0.UnixNano()) / 1e6; d > sc.LastInstanceMs {
			sc.LastInstanceMs = round(d, 2)
		}
	}
	res.Scale = sc
	if sc.Statuses["200"] == sc.Requests {
		logf("scale-out: %d requests answered in %.1f ms by %d instances", sc.Requests, sc.AllAnsweredMs, sc.Instances)
	} else {
		res.fail("scale-out: statuses %v", sc.Statuses)
	}
}

// scaleRequests sends sc.Requests GETs to u, held at a gate until all are
// ready so that they arrive together, and counts their statuses into sc. It
// returns when the gate opened and, per instance (its X-Bench-Start), that
// instance's listen stamp.
func scaleRequests(ctx context.Context, u string, sc *scaleResult) (time.Time, map[string]int64) {
	var mu sync.Mutex
	starts := map[string]int64{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0}}
	gate := make(chan struct{})
	for i := 0; i < sc.Requests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := get(ctx, client, u)
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
	return t0, starts
}
