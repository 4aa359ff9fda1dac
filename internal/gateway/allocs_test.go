package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
)

// The warm path's pieces and what each may allocate per request. The
// tests fail when a change makes one allocate more; the benchmarks
// (-benchmem) show the cost. BenchmarkWarmPath measures them together.

func warmRequest() (*Gateway, *http.Request, *invocation) {
	g := New(Options{Region: "cn-hangzhou", AccountID: "1234567890123456", Metrics: NewMetrics(prometheus.NewRegistry())})
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 30}
	r := &http.Request{Method: "GET", Host: "127.0.0.1:8080", RemoteAddr: "127.0.0.1:5555", Body: http.NoBody, Header: http.Header{
		"User-Agent": {"curl/8.5.0"}, "Accept": {"*/*"}, "Accept-Encoding": {"gzip, deflate, br"},
		"Cookie": {"session=abc"}, "X-Fc-Request-Id": {"spoofed"}, "Connection": {"keep-alive"},
	}}
	inv := &invocation{requestID: fc.NewRequestID(), fn: fn, qualifier: fc.LATEST, path: "/hello/world", rawQuery: "a=1&b=2",
		basePath: "/2016-08-15/proxy/svc/fn", controlPath: "/http-invoke", proxyForm: true}
	g.headers.of(fn) // rendered once per function, not per request
	return g, r, inv
}

func TestWriteHeadAllocs(t *testing.T) {
	g, r, inv := warmRequest()
	bw := bufio.NewWriterSize(io.Discard, 4096)
	if n := testing.AllocsPerRun(200, func() { g.writeHead(bw, r, inv, false); bw.Flush() }); n != 0 {
		t.Errorf("writeHead allocates %.0f times per request; want 0", n)
	}
}

func BenchmarkWriteHead(b *testing.B) {
	g, r, inv := warmRequest()
	bw := bufio.NewWriterSize(io.Discard, 4096)
	b.ReportAllocs()
	for b.Loop() {
		g.writeHead(bw, r, inv, false)
		bw.Flush()
	}
}

func TestMetricsEndAllocs(t *testing.T) {
	g, _, _ := warmRequest()
	start := time.Now()
	g.opts.Metrics.end(start, "svc/fn", 200, "", false) // the series is created once
	if n := testing.AllocsPerRun(200, func() {
		g.opts.Metrics.begin()
		g.opts.Metrics.end(start, "svc/fn", 200, "", false)
	}); n != 0 {
		t.Errorf("recording a request's metrics allocates %.0f times; want 0", n)
	}
}

func BenchmarkMetrics(b *testing.B) {
	g, _, _ := warmRequest()
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		g.opts.Metrics.begin()
		g.opts.Metrics.end(start, "svc/fn", 200, "", false)
	}
}

// poolPair returns a pool whose dial connects to a server that keeps its
// connections open.
func poolPair(tb testing.TB) *connPool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	var d net.Dialer
	p := newConnPool(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	})
	tb.Cleanup(func() {
		p.closeIdle()
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return p
}

func TestConnPoolAllocs(t *testing.T) {
	p := poolPair(t)
	ctx := context.Background()
	c, err := p.get(ctx, "instance:80")
	if err != nil {
		t.Fatal(err)
	}
	p.put(c)
	if n := testing.AllocsPerRun(200, func() {
		c, err := p.get(ctx, "instance:80")
		if err != nil {
			t.Fatal(err)
		}
		p.put(c)
	}); n != 0 {
		t.Errorf("taking and returning a pooled connection (with its liveness peek) allocates %.0f times; want 0", n)
	}
	if n := p.idleCount(); n != 1 {
		t.Errorf("%d idle connections; want the one reused", n)
	}
}

// BenchmarkConnPool takes and returns a pooled connection: "peek" as after
// an answer the framing does not end (or a pause), "recent" as under load
// (no liveness syscall).
func BenchmarkConnPool(b *testing.B) {
	for _, framed := range []bool{false, true} {
		name := "peek"
		if framed {
			name = "recent"
		}
		b.Run(name, func(b *testing.B) {
			p := poolPair(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c, err := p.get(ctx, "instance:80")
				if err != nil {
					b.Fatal(err)
				}
				c.framed = framed
				p.put(c)
			}
		})
	}
}

func TestHeaderCacheAllocs(t *testing.T) {
	g, _, inv := warmRequest()
	if n := testing.AllocsPerRun(200, func() { _ = g.headers.of(inv.fn) }); n != 0 {
		t.Errorf("looking up a function's rendered headers allocates %.0f times; want 0", n)
	}
}
