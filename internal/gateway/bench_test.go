package gateway

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
)

// warmGateway is a gateway with one warm function whose instance is a
// real upstream over loopback, and a request for it.
func warmGateway(tb testing.TB) (*Gateway, *http.Request) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(up.Close)
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 30}
	cat := &fakeCatalog{fns: map[string]*fc.Function{"svc/fn": fn},
		trigs: map[string]*fc.Trigger{"svc/fn": trig("aaaa-1111", fc.AuthAnonymous, "GET")}}
	gw := New(Options{
		Catalog: cat, Instances: &fakeInstances{dial: dialTo(up.Listener.Addr().String())}, Verifier: fakeVerifier{},
		Region: "cn-hangzhou", AccountID: "1", TriggerDomain: "fcapp.localhost",
		Metrics: NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	tb.Cleanup(gw.upstream.CloseIdle)
	req := httptest.NewRequest(http.MethodGet, "/2016-08-15/proxy/svc/fn/hello?x=1", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	return gw, req
}

// warmCall serves req once and checks the answer.
func warmCall(tb testing.TB, gw *Gateway, req *http.Request) {
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// BenchmarkWarmPath measures the gateway's own cost per request on the
// warm proxy-form path: routing, checks, header rewriting, the upstream
// exchange and its hooks, metrics and the access log (to a discarding
// handler that is enabled, so the log line is still built), against a
// real upstream over loopback. Run with -benchmem: allocs/op is what the
// hot-path work guards (TestWarmPathAllocs bounds it).
func BenchmarkWarmPath(b *testing.B) {
	gw, req := warmGateway(b)
	b.ReportAllocs()
	for b.Loop() {
		warmCall(b, gw, req)
	}
}

// BenchmarkFrontDoor measures a warm call through each front-door
// server over loopback (one keep-alive connection, a raw client), so that
// the two servers' allocations per request can be compared (issue 20);
// the chain, the upstream and the client are the same. Its ns/op is a
// latency with client, server and upstream sharing one process's
// scheduler, which is not how either server is used: `make bench`
// (wrk against `openfc serve`) measures that.
func BenchmarkFrontDoor(b *testing.B) {
	for _, fast := range []bool{false, true} {
		name := map[bool]string{false: "nethttp", true: "fast"}[fast]
		b.Run(name, func(b *testing.B) {
			gw, _ := warmGateway(b)
			srv := gw.NewServer(ServerOptions{FastHTTP1: fast})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(ln)
			b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET /2016-08-15/proxy/svc/fn/hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
