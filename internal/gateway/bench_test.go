package gateway

import (
	"io"
	"log/slog"
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
