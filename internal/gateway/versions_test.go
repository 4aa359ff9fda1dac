package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// TestProxyQualifierResolves: the proxy form's qualifier reaches the
// catalog; the instance gets the qualifier asked and the version picked,
// the client the version in X-Fc-Invocation-Service-Version, and an
// unknown version is VersionNotFound.
func TestProxyQualifierResolves(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-Qualifier", r.Header.Get("X-Fc-Qualifier"))
		w.Header().Set("Seen-Version", r.Header.Get("X-Fc-Version-Id"))
		w.Header().Set("Seen-Memory", r.Header.Get("X-Fc-Function-Memory"))
	}), nil)
	cat := e.gw.opts.Catalog.(*fakeCatalog)
	cat.fns["svc/fn@3"] = &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 256, Timeout: 5, VersionID: "3"}

	for _, c := range []struct{ path, q, version, memory string }{
		{"/2016-08-15/proxy/svc.3/fn/", "3", "3", "256"},
		{"/2016-08-15/proxy/svc/fn/", fc.LATEST, fc.LATEST, "128"},
		{"/2016-08-15/proxy/svc.LATEST/fn/", fc.LATEST, fc.LATEST, "128"},
	} {
		resp, body := get(t, http.DefaultClient, "GET", e.front.URL+c.path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, body)
		}
		h := resp.Header
		if h.Get("Seen-Qualifier") != c.q || h.Get("Seen-Version") != c.version || h.Get("Seen-Memory") != c.memory ||
			h.Get(fc.HeaderServiceVersion) != c.version {
			t.Errorf("%s: instance saw qualifier %q version %q memory %q, client got version %q; want %s, %s, %s",
				c.path, h.Get("Seen-Qualifier"), h.Get("Seen-Version"), h.Get("Seen-Memory"), h.Get(fc.HeaderServiceVersion), c.q, c.version, c.memory)
		}
	}
	resp, body := get(t, http.DefaultClient, "GET", e.front.URL+"/2016-08-15/proxy/svc.9/fn/", nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "VersionNotFound") {
		t.Errorf("unknown version: %d %s", resp.StatusCode, body)
	}
}

// TestAsyncRecordsTheQualifier: an async call through a version records
// the qualifier asked, and the run resolves it when it runs (here to the
// version's configuration as the catalog holds it then).
func TestAsyncRecordsTheQualifier(t *testing.T) {
	e, q := newAsyncEnv(t)
	cat := e.gw.opts.Catalog.(*fakeCatalog)
	v := *cat.fns["svc/anon"]
	v.VersionID, v.MemorySize = "3", 512
	cat.fns["svc/anon@3"] = &v
	if resp, body := e.do(e.reqAsync("POST", "/2016-08-15/proxy/svc.3/anon/", "")); resp.StatusCode != 202 {
		t.Fatalf("accept: %d %s", resp.StatusCode, body)
	}
	req := q.taken()[0]
	if req.Qualifier != "3" || req.Service != "svc" || req.Function != "anon" {
		t.Fatalf("recorded %s.%s/%s", req.Service, req.Qualifier, req.Function)
	}
	out := e.gw.RunAsync(context.Background(), req)
	if out.Err != nil || out.Status != 200 {
		t.Fatalf("run: %+v", out)
	}
	s := e.lastSeen()
	if s.Header.Get("X-Fc-Version-Id") != "3" || s.Header.Get(fc.HeaderQualifier) != "3" || s.Header.Get("X-Fc-Function-Memory") != "512" {
		t.Errorf("the run's instance saw version %q qualifier %q memory %q; want 3, 3, 512",
			s.Header.Get("X-Fc-Version-Id"), s.Header.Get(fc.HeaderQualifier), s.Header.Get("X-Fc-Function-Memory"))
	}
	delete(cat.fns, "svc/anon@3")
	if out := e.gw.RunAsync(context.Background(), req); out.Err == nil || out.Err.Code != fc.CodeVersionNotFound {
		t.Errorf("run after the version went: %+v; want VersionNotFound", out)
	}
}
