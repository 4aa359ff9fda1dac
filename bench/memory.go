package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

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

// serverMem is one sample of the server's memory, in KB: both figures are
// kept because RSS moves with the GC and the scavenger, the Go figure not.
type serverMem struct{ goKB, rssKB float64 }

// sampleMem samples the server's memory; a failed heap profile is recorded
// and leaves goKB 0.
func sampleMem(ctx context.Context, s *server, res *results) serverMem {
	goKB, err := goMemKB(ctx, s.admin)
	if err != nil {
		res.fail("memory: %v", err)
	}
	return serverMem{goKB: goKB, rssKB: rssKB(s.pid)}
}

// memPerIdleInstance sets the growth per idle instance since before: the
// n cold runs' instances now sit idle.
func memPerIdleInstance(ctx context.Context, s *server, n int, before serverMem, res *results) {
	if n == 0 {
		return
	}
	now := sampleMem(ctx, s, res)
	res.Memory.IdleInstances = n
	res.Memory.PerIdleInstanceKB = round((now.goKB-before.goKB)/float64(n), 1)
	res.Memory.PerIdleInstanceRSS = round((now.rssKB-before.rssKB)/float64(n), 1)
}

// memPerIdleConns opens n idle keep-alive connections to the server and
// sets the growth, scaled to 1,000 connections.
func memPerIdleConns(ctx context.Context, s *server, n int, res *results) {
	before := sampleMem(ctx, s, res)
	conns, err := openIdleConns(ctx, s.addr, proxyPath("warm"), n)
	if err != nil {
		res.fail("idle connections: %v", err)
	} else {
		now := sampleMem(ctx, s, res)
		res.Memory.IdleConnsOpened = len(conns)
		res.Memory.Per1000ConnsKB = round((now.goKB-before.goKB)/float64(len(conns))*1000, 0)
		res.Memory.Per1000ConnsRSS = round((now.rssKB-before.rssKB)/float64(len(conns))*1000, 0)
	}
	for _, c := range conns {
		c.Close()
	}
}

// finishMemory takes the last RSS sample, rounds the MB figures to 0.1 MB
// and records a failure when the server's RSS could not be read at all.
func finishMemory(s *server, res *results) {
	mem := res.Memory
	mem.ServerRSSAfterMB = round(rssKB(s.pid)/1024, 1)
	mem.IdleServerMB = round(mem.IdleServerMB, 1)
	mem.AfterWarmMB = round(mem.AfterWarmMB, 1)
	mem.ServerRSSBeforeColl = round(mem.ServerRSSBeforeColl, 1)
	if mem.IdleServerMB <= 0 {
		res.fail("memory: no RSS for the server")
	}
}

// openIdleConns opens n keep-alive connections, makes one request on each
// and leaves them open.
func openIdleConns(ctx context.Context, addr, path string, n int) ([]net.Conn, error) {
	var conns []net.Conn
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	for i := 0; i < n; i++ {
		c, err := dialer.DialContext(ctx, "tcp", addr)
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
func goMemKB(ctx context.Context, admin string) (float64, error) {
	var b []byte
	// Twice: what sync.Pools hold survives one collection.
	for range 2 {
		resp, err := get(ctx, http.DefaultClient, "http://"+admin+"/debug/pprof/heap?gc=1&debug=1")
		if err != nil {
			return 0, fmt.Errorf("heap profile: %w", err)
		}
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return 0, fmt.Errorf("heap profile: %d %v", resp.StatusCode, err)
		}
	}
	return heapInuseKB(string(b))
}

// heapInuseKB reads HeapInuse and the in-use half of Stack from the
// MemStats comment lines at the end of a debug=1 heap profile.
func heapInuseKB(profile string) (float64, error) {
	var err error
	var heap, stack float64
	var found int
	for _, l := range strings.Split(profile, "\n") {
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

// rssKB is pid's VmRSS, 0 when it cannot be read.
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
