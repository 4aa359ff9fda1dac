package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// fakeDomains serves one domain, app.example.com.
type fakeDomains struct{ sd *fc.ServedDomain }

func (f fakeDomains) LookupDomain(host string) (*fc.ServedDomain, bool) {
	if host == f.sd.Domain.DomainName {
		return f.sd, true
	}
	return nil, false
}

func newDomainEnv(t *testing.T) (*testEnv, *fakeQueue) {
	t.Helper()
	e, q := newAsyncEnv(t)
	d := &fc.CustomDomain{DomainName: "app.example.com", Protocol: fc.ProtocolHTTP, RouteConfig: &fc.RouteConfig{Routes: []fc.PathConfig{
		{Path: "/*", ServiceName: "svc", FunctionName: "anon", Methods: []string{"GET", "POST"}},
		{Path: "/off/*", ServiceName: "svc", FunctionName: "off", RewriteConfig: &fc.RewriteConfig{
			WildcardRules: []fc.RewriteRule{{Match: "^/off/*", Replacement: "/$1"}}}},
		{Path: "/none", ServiceName: "svc", FunctionName: "notrig"},
	}}}
	if _, err := fc.ValidateCustomDomain(d, time.Now()); err != nil {
		t.Fatal(err)
	}
	routes, err := fc.CompileRoutes(d)
	if err != nil {
		t.Fatal(err)
	}
	e.gw.opts.Domains = fakeDomains{&fc.ServedDomain{Domain: d, Routes: routes}}
	return e, q
}

func TestCustomDomainWayIn(t *testing.T) {
	e, q := newDomainEnv(t)
	resp, body := e.do(e.req("GET", "/a/b?x=1", "App.Example.com", nil))
	s := e.lastSeen()
	if resp.StatusCode != 200 || s.URI != "/a/b?x=1" || s.Header.Get(fc.HeaderBasePath) != "" || resp.Header.Get("Content-Disposition") != "" {
		t.Fatalf("GET: %d %s; the instance saw %+v", resp.StatusCode, body, s)
	}
	// disableURLInternet: refused on the default URL, served via the domain.
	resp, _ = e.do(e.req("GET", proxy+"off/", "", nil))
	if resp.StatusCode != 403 {
		t.Fatalf("proxy form of a disabled trigger: %d", resp.StatusCode)
	}
	resp, body = e.do(e.req("GET", "/off/in?q", "app.example.com", nil))
	if resp.StatusCode != 200 || e.lastSeen().URI != "/in?q" {
		t.Fatalf("disabled trigger through the domain: %d %s, saw %s", resp.StatusCode, body, e.lastSeen().URI)
	}
	for _, tc := range []struct {
		method, target, host, code string
		header                     http.Header
	}{
		{"GET", "/x", "nope.example.com", "DomainNameNotFound", nil},
		{"GET", "/2016-08-15/services", "nope.example.com", "DomainNameNotFound", nil},
		{"DELETE", "/x", "app.example.com", "MethodNotAllowed", nil},
		{"OPTIONS", "/x", "app.example.com", "MethodNotAllowed", nil},
		{"GET", "/none", "app.example.com", "TriggerNotFound", nil},
	} {
		r := e.req(tc.method, tc.target, tc.host, nil)
		resp, body := e.do(r)
		if !strings.Contains(body, `"ErrorCode":"`+tc.code+`"`) {
			t.Errorf("%s %s on %s: %d %s; want %s", tc.method, tc.target, tc.host, resp.StatusCode, body, tc.code)
		}
	}
	// A CORS preflight passes the route's methods to the trigger's CORS.
	r := e.req("OPTIONS", "/x", "app.example.com", nil)
	r.Header.Set("Origin", "https://web.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	if resp, body := e.do(r); resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight: %d %s", resp.StatusCode, body)
	}

	// An async call through the domain keeps the domain's exemption from
	// disableURLInternet when it runs.
	if resp, body := e.do(e.reqAsync("GET", "/off/async", "app.example.com")); resp.StatusCode != 202 {
		t.Fatalf("async accept: %d %s", resp.StatusCode, body)
	}
	req := q.taken()[0]
	if req.Domain != "app.example.com" || req.Path != "/async" {
		t.Fatalf("persisted %+v", req)
	}
	if out := e.gw.RunAsync(context.Background(), req); out.Err != nil || out.Status != 200 {
		t.Fatalf("async run: %+v", out)
	}
	other := *req
	other.Domain = ""
	if out := e.gw.RunAsync(context.Background(), &other); out.Err == nil || out.Err.Code != fc.CodeAccessDenied {
		t.Fatalf("the same run without the domain: %+v; want AccessDenied", out)
	}

	// Without Domains (the default), any host reaches the API as before.
	e.gw.opts.Domains = nil
	if resp, body := e.do(e.req("GET", "/x", "nope.example.com", nil)); strings.Contains(body, "DomainNameNotFound") {
		t.Errorf("without Domains: %d %s", resp.StatusCode, body)
	}
}
