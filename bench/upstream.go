package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// upstreamBody is what every target answers: waitHTTP checks for it, so a
// target counts as ready only once requests reach the upstream through it.
const upstreamBody = "hello from the bench upstream\n"

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

// startUpstream starts bootstrap as the upstream with GOMAXPROCS=1, like the
// function's instances, and returns its port and URL once it answers.
func startUpstream(ctx context.Context, children *procs, bootstrap string) (int, string, error) {
	port := freePort()
	up := exec.Command(bootstrap)
	up.Env = append(os.Environ(), "BENCH_UPSTREAM_LISTEN=127.0.0.1:"+strconv.Itoa(port), "GOMAXPROCS=1")
	if err := children.start(up); err != nil {
		return 0, "", err
	}
	u := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := waitHTTP(ctx, u, "", 10*time.Second); err != nil {
		return 0, "", fmt.Errorf("upstream: %w", err)
	}
	return port, u, nil
}

// startReverseProxy starts bootstrap as the bare ReverseProxy in front of
// upURL and returns its URL once a request through it answers.
func startReverseProxy(ctx context.Context, children *procs, bootstrap, upURL string) (string, error) {
	port := freePort()
	c := exec.Command(bootstrap)
	c.Env = append(os.Environ(), "BENCH_REVERSEPROXY_LISTEN=127.0.0.1:"+strconv.Itoa(port), "BENCH_REVERSEPROXY_TARGET="+upURL)
	c.Stderr = os.Stderr
	if err := children.start(c); err != nil {
		return "", err
	}
	u := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := waitHTTP(ctx, u, "", 10*time.Second); err != nil {
		return "", fmt.Errorf("reverseproxy: %w", err)
	}
	return u, nil
}
