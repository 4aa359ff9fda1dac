package gateway

import (
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
