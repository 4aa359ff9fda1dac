package gateway

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// The warm path's pieces and what each may allocate per request. The
// tests fail when a change makes one allocate more; the benchmarks
// (-benchmem) show the cost. BenchmarkWarmPath measures them together.

// warmRequest is a call on the warm path as invoke hands it to upstream:
// its outgoing request, with the call's hooks.
func warmRequest() (*Gateway, *call) {
	g := New(Options{Region: "cn-hangzhou", AccountID: "1234567890123456", Metrics: NewMetrics(prometheus.NewRegistry())})
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 30}
	r := &http.Request{Method: "GET", Host: "127.0.0.1:8080", RemoteAddr: "127.0.0.1:5555", Body: http.NoBody, Header: http.Header{
		"User-Agent": {"curl/8.5.0"}, "Accept": {"*/*"}, "Accept-Encoding": {"gzip, deflate, br"},
		"Cookie": {"session=abc"}, "X-Fc-Request-Id": {"spoofed"}, "Connection": {"keep-alive"},
	}}
	c := &call{g: g, requestID: fc.NewRequestID(), r: r, fn: fn, qualifier: fc.LATEST, path: "/hello/world", rawQuery: "a=1&b=2",
		basePath: "/2016-08-15/proxy/svc/fn", controlPath: fc.ControlHTTPInvoke, proxyForm: true}
	c.up = upstream.Request{Method: r.Method, Path: c.path, RawQuery: c.rawQuery, Host: r.Host, Header: r.Header, Hooks: c}
	g.headers.of(fn) // rendered once per function, not per request
	return g, c
}

// TestWriteHeadAllocs: writing the head an instance gets, FC's header
// rules (the call's hooks) included, allocates nothing.
func TestWriteHeadAllocs(t *testing.T) {
	_, c := warmRequest()
	bw := bufio.NewWriterSize(io.Discard, 4096)
	if n := testing.AllocsPerRun(200, func() { upstream.WriteHead(bw, &c.up); bw.Flush() }); n != 0 {
		t.Errorf("writing the head allocates %.0f times per request; want 0", n)
	}
}

func BenchmarkWriteHead(b *testing.B) {
	_, c := warmRequest()
	bw := bufio.NewWriterSize(io.Discard, 4096)
	b.ReportAllocs()
	for b.Loop() {
		upstream.WriteHead(bw, &c.up)
		bw.Flush()
	}
}

func TestMetricsEndAllocs(t *testing.T) {
	g, _ := warmRequest()
	start := time.Now()
	g.opts.Metrics.end(start, "svc/fn", 200, "", "success") // the series is created once
	if n := testing.AllocsPerRun(200, func() {
		g.opts.Metrics.begin()
		g.opts.Metrics.end(start, "svc/fn", 200, "", "success")
	}); n != 0 {
		t.Errorf("recording a request's metrics allocates %.0f times; want 0", n)
	}
}

func BenchmarkMetrics(b *testing.B) {
	g, _ := warmRequest()
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		g.opts.Metrics.begin()
		g.opts.Metrics.end(start, "svc/fn", 200, "", "success")
	}
}

func TestHeaderCacheAllocs(t *testing.T) {
	g, c := warmRequest()
	if n := testing.AllocsPerRun(200, func() { _ = g.headers.of(c.fn) }); n != 0 {
		t.Errorf("looking up a function's rendered headers allocates %.0f times; want 0", n)
	}
}
