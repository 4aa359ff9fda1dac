package gateway

import (
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

// BenchmarkWarmPath measures the gateway's own cost per request on the
// warm proxy-form path: routing, checks, header rewriting, the proxy hooks,
// metrics and the access log (to a discarding handler that is enabled, so
// the log line is still built), against a real upstream over loopback.
// Run with -benchmem: allocs/op is what the hot-path work guards.
func BenchmarkWarmPath(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	var d net.Dialer
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", up.Listener.Addr().String())
	}
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 30}
	cat := &fakeCatalog{fns: map[string]*fc.Function{"svc/fn": fn},
		trigs: map[string]*fc.Trigger{"svc/fn": trig("aaaa-1111", fc.AuthAnonymous, "GET")}}
	gw := New(Options{
		Catalog: cat, Instances: &fakeInstances{}, Verifier: fakeVerifier{}, Dial: dial,
		Region: "cn-hangzhou", AccountID: "1", TriggerDomain: "fcapp.localhost",
		Metrics: NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer gw.pool.closeIdle()
	req := httptest.NewRequest(http.MethodGet, "/2016-08-15/proxy/svc/fn/hello?x=1", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
