package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// freePort asks the kernel for a free port on 127.0.0.1. It is released
// before the child binds it, a race accepted for a benchmark on one host.
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

// waitHTTP polls u (with Host host, if set) until it answers 200 with
// upstreamBody, for at most d.
func waitHTTP(ctx context.Context, u, host string, d time.Duration) error {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: 5 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
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

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}
