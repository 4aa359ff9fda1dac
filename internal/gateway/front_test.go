package gateway

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// testFront is the gateway's front door for a test: the server
// OPENFC_HTTP1_SERVER names (nethttp, the default, or fast; `make
// test-unit` runs the package under both), on a loopback port.
type testFront struct {
	URL      string
	Listener net.Listener
	srv      *Server
	client   *http.Client
	done     chan struct{}
}

// fastHTTP1 reports whether the tests run against the fast server.
func fastHTTP1(tb testing.TB) bool {
	switch v := os.Getenv("OPENFC_HTTP1_SERVER"); v {
	case "", "nethttp":
		return false
	case "fast":
		return true
	default:
		tb.Fatalf("OPENFC_HTTP1_SERVER=%q: use nethttp or fast", v)
		return false
	}
}

func newFront(tb testing.TB, g *Gateway) *testFront {
	tb.Helper()
	return newFrontOpts(tb, g, ServerOptions{FastHTTP1: fastHTTP1(tb)})
}

// newFrontOpts is newFront with the server's options given.
func newFrontOpts(tb testing.TB, g *Gateway, o ServerOptions) *testFront {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &testFront{URL: "http://" + ln.Addr().String(), Listener: ln, done: make(chan struct{}),
		srv:    g.NewServer(o),
		client: &http.Client{Transport: &http.Transport{}}}
	go func() {
		defer close(f.done)
		_ = f.srv.Serve(ln)
	}()
	tb.Cleanup(f.Close)
	// One answer proves the server runs, with the goroutines it starts
	// (tests that look for leaks take their snapshot after this).
	resp, err := f.client.Get(f.URL + "/")
	if err != nil {
		tb.Fatal(err)
	}
	_ = resp.Body.Close()
	return f
}

// Client is a client for the front door (its idle connections are
// closed with it).
func (f *testFront) Client() *http.Client { return f.client }

// Close shuts the front door down, cutting what is still open.
func (f *testFront) Close() {
	select {
	case <-f.done:
		return
	default:
	}
	f.client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	<-f.done
}
