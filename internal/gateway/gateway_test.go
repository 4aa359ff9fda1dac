package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

const (
	testDomain  = "fcapp.test"
	testAccount = "1234567890123456"
	testRegion  = "cn-test"
)

// testLimits are small limits so that boundaries are cheap to reach.
var testLimits = Limits{MaxHeaderBytes: 2048, MaxPathBytes: 256, MaxSyncBody: 1000, MaxAsyncBody: 100, MaxResponseHeaderBytes: 1024}

// fakeCatalog holds functions by "service/function".
type fakeCatalog struct {
	fns   map[string]*fc.Function
	trigs map[string]*fc.Trigger
}

func (c *fakeCatalog) LookupFunction(service, function string) (*fc.Function, *fc.Trigger, bool, bool) {
	svcFound := false
	for k := range c.fns {
		if strings.HasPrefix(k, service+"/") {
			svcFound = true
		}
	}
	f, ok := c.fns[service+"/"+function]
	if !ok {
		return nil, nil, svcFound, false
	}
	return f, c.trigs[service+"/"+function], true, true
}

// ResolveFunction knows LATEST and, in versions, "service/function@id"
// entries of fns; an alias is not known.
func (c *fakeCatalog) ResolveFunction(service, qualifier, function string, _ float64) (*fc.Function, *fc.Trigger, error) {
	f, t, svcFound, ok := c.LookupFunction(service, function)
	switch {
	case !svcFound:
		return nil, nil, fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", service)
	case qualifier != fc.LATEST:
		if vf, found := c.fns[service+"/"+function+"@"+qualifier]; found {
			return vf, t, nil
		}
		return nil, nil, fc.QualifierNotFound(service, qualifier)
	case !ok:
		return nil, nil, fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", function, service)
	}
	return f, t, nil
}

func (c *fakeCatalog) LookupTrigger(urlID string) (*fc.Function, *fc.Trigger, bool) {
	for k, t := range c.trigs {
		if t != nil && t.URLID() == urlID {
			return c.fns[k], t, true
		}
	}
	return nil, nil, false
}

// fakeInstances hands out leases on the one upstream and counts them.
type fakeInstances struct {
	mu       sync.Mutex
	acquired int
	released int
	// asyncAcquired counts AcquireAsync calls.
	asyncAcquired int
	errs          map[string]error // by function name: Acquire fails
	exited        bool             // Exited reports an exited instance
	exitErr       error            // with this error (nil: "exit status 3")
	// noFastPath makes TryAcquire fail, so that Acquire is used;
	// acquireDelay makes Acquire take that long (a cold start), unless
	// its context ends first.
	noFastPath   bool
	acquireDelay time.Duration
	// dial connects a lease to the test's upstream; dials counts its
	// uses, failures what leases were told of failed invocations.
	dial     func(ctx context.Context) (net.Conn, error)
	dials    int
	failures []string
	// token is its leases' RuntimeToken (a built-in runtime's instance).
	token string
}

func (f *fakeInstances) Acquire(ctx context.Context, fn *fc.Function, _ string) (Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.acquireDelay; d > 0 {
		f.mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			f.mu.Lock()
			return nil, ctx.Err()
		}
		f.mu.Lock()
	}
	f.acquired++
	if err := f.errs[fn.FunctionName]; err != nil {
		return nil, err
	}
	return &fakeLease{f: f}, nil
}

// AcquireAsync is Acquire, counted apart (the async class).
func (f *fakeInstances) AcquireAsync(ctx context.Context, fn *fc.Function, id string) (Lease, error) {
	f.mu.Lock()
	f.asyncAcquired++
	f.mu.Unlock()
	return f.Acquire(ctx, fn, id)
}

// TryAcquire succeeds unless the function is set to fail (then Acquire
// reports the error).
func (f *fakeInstances) TryAcquire(fn *fc.Function, requestID string) (Lease, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs[fn.FunctionName] != nil || f.noFastPath {
		return nil, false
	}
	f.acquired++
	return &fakeLease{f: f}, true
}

func (f *fakeInstances) counts() (acquired, released int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acquired, f.released
}

type fakeLease struct{ f *fakeInstances }

func (l *fakeLease) InstanceID() string { return "inst-1" }
func (l *fakeLease) Dial(ctx context.Context) (net.Conn, error) {
	l.f.mu.Lock()
	l.f.dials++
	dial := l.f.dial
	l.f.mu.Unlock()
	return dial(ctx)
}
func (l *fakeLease) Fail(reason string) {
	l.f.mu.Lock()
	l.f.failures = append(l.f.failures, reason)
	l.f.mu.Unlock()
}
func (l *fakeLease) Release() {
	l.f.mu.Lock()
	l.f.released++
	l.f.mu.Unlock()
}
func (l *fakeLease) RuntimeToken() string { return l.f.token }
func (l *fakeLease) LogTail(int) []byte   { return []byte("FC Invoke Start RequestId: x\nlog line\n") }
func (l *fakeLease) Exited(time.Duration) (bool, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	if l.f.exited && l.f.exitErr != nil {
		return true, l.f.exitErr
	}
	if l.f.exited {
		return true, errors.New("exit status 3")
	}
	return false, nil
}

// fakeVerifier accepts "Authorization: FC good" and "x-fc-signature=good".
type fakeVerifier struct{}

func (fakeVerifier) VerifyHeader(r *http.Request, _ bool) (fc.Principal, error) {
	switch r.Header.Get("Authorization") {
	case "":
		return fc.Principal{}, fc.Errorf(fc.CodeMissingRequiredHeader, "required HTTP header Authorization was not specified")
	case "FC good":
		return fc.Principal{KeyID: "good", Admin: true}, nil
	}
	return fc.Principal{}, fc.Errorf(fc.CodeSignatureNotMatch, "signature mismatch")
}

func (fakeVerifier) VerifyURL(r *http.Request) (fc.Principal, error) {
	if r.URL.Query().Get("x-fc-signature") == "good" {
		return fc.Principal{KeyID: "good", Admin: true}, nil
	}
	return fc.Principal{}, fc.Errorf(fc.CodeSignatureNotMatch, "signature mismatch")
}

// seen is what the upstream instance received.
type seen struct {
	Method, URI, Host string
	Header            http.Header
	Body              string
	BodyErr           error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a Gateway behind a real HTTP server, with a real upstream
// instance.
type testEnv struct {
	t       *testing.T
	gw      *Gateway
	front   *testFront
	inst    *fakeInstances
	jwt     *fakeJWT
	reg     *prometheus.Registry
	logs    *syncBuf
	mu      sync.Mutex
	handler http.HandlerFunc
	last    *seen
	hits    int
}

func trig(id, auth string, methods ...string) *fc.Trigger {
	return &fc.Trigger{TriggerName: "http", TriggerID: id, TriggerType: "http", Qualifier: fc.LATEST,
		TriggerConfig: &fc.HTTPTriggerConfig{AuthType: auth, Methods: methods}}
}

func newTestEnv(t *testing.T, limits Limits) *testEnv {
	t.Helper()
	fn := func(name string, timeout int) *fc.Function {
		return &fc.Function{ServiceName: "svc", FunctionName: name, Handler: "index.handler", MemorySize: 512, Timeout: timeout}
	}
	cat := &fakeCatalog{fns: map[string]*fc.Function{}, trigs: map[string]*fc.Trigger{}}
	add := func(f *fc.Function, tr *fc.Trigger) {
		cat.fns["svc/"+f.FunctionName] = f
		cat.trigs["svc/"+f.FunctionName] = tr
	}
	anon := fn("anon", 5)
	anon.Initializer, anon.InitializationTimeout = "index.init", 3
	add(anon, trig("aaaa-1111", fc.AuthAnonymous, "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"))
	add(fn("auth", 5), trig("bbbb-2222", fc.AuthFunction, "GET", "POST"))
	off := trig("cccc-3333", fc.AuthAnonymous, "GET")
	off.TriggerConfig.DisableURLInternet = true
	add(fn("off", 5), off)
	add(fn("opts", 5), trig("dddd-4444", fc.AuthAnonymous, "GET", "OPTIONS"))
	add(fn("notrig", 5), nil)
	add(fn("busy", 5), trig("eeee-5555", fc.AuthAnonymous, "GET"))
	add(fn("broken", 5), trig("ffff-6666", fc.AuthAnonymous, "GET"))
	add(fn("slow", 1), trig("abab-7777", fc.AuthAnonymous, "GET"))
	jwtTrig := trig("acac-8888", fc.AuthJWT, "GET", "POST")
	jwtTrig.TriggerConfig.AuthConfig = &fc.JWTAuthConfig{}
	add(fn("jwt", 5), jwtTrig)

	e := &testEnv{t: t, inst: &fakeInstances{errs: map[string]error{
		"busy":   fc.Errorf(fc.CodeResourceThrottled, "too many instances"),
		"broken": errors.New("secret internal detail"),
	}}, reg: prometheus.NewRegistry(), logs: &syncBuf{}, jwt: &fakeJWT{}}
	up := httptest.NewServer(http.HandlerFunc(e.serveUpstream))
	t.Cleanup(up.Close)
	e.inst.dial = dialTo(up.Listener.Addr().String())
	e.gw = New(Options{
		Catalog: cat, Instances: e.inst, Verifier: fakeVerifier{}, JWT: e.jwt,
		Region: testRegion, AccountID: testAccount, TriggerDomain: testDomain, Limits: limits,
		Metrics: NewMetrics(e.reg), Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
	})
	e.front = newFront(t, e.gw)
	t.Cleanup(e.front.Close)
	t.Cleanup(e.gw.upstream.CloseIdle)
	e.setHandler(nil)
	return e
}

// dialTo is a lease's dial to addr.
func dialTo(addr string) func(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
}

// setHandler sets what the instance answers; nil: read the body, answer
// 200 "ok".
func (e *testEnv) setHandler(h http.HandlerFunc) {
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	}
	e.mu.Lock()
	e.handler = h
	e.mu.Unlock()
}

func (e *testEnv) serveUpstream(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.hits++
	e.mu.Unlock()
	b, err := io.ReadAll(r.Body)
	s := &seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: string(b), BodyErr: err}
	e.mu.Lock()
	e.last = s
	h := e.handler
	e.mu.Unlock()
	if err != nil {
		return
	}
	h(w, r)
}

func (e *testEnv) lastSeen() *seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

func (e *testEnv) upstreamHits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits
}

// req builds a request to the front server. host, when set, is the Host
// header (a trigger subdomain label: the front's port is appended).
func (e *testEnv) req(method, target, host string, body io.Reader) *http.Request {
	e.t.Helper()
	r, err := http.NewRequest(method, e.front.URL+target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		_, port, _ := net.SplitHostPort(e.front.Listener.Addr().String())
		r.Host = net.JoinHostPort(host, port)
	}
	return r
}

func (e *testEnv) do(r *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.front.Client().Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", r.Method, r.URL, err)
	}
	return resp, string(b)
}

// checkFCError checks an FC error response: status, code, error type,
// JSON body with the request id of the header.
func checkFCError(t *testing.T, resp *http.Response, body string, status int, code fc.Code) fc.ErrorBody {
	t.Helper()
	var eb fc.ErrorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		t.Fatalf("status %d: body is not FC JSON: %q", resp.StatusCode, body)
	}
	if resp.StatusCode != status || eb.ErrorCode != string(code) {
		t.Errorf("got %d %s (%s); want %d %s", resp.StatusCode, eb.ErrorCode, eb.ErrorMessage, status, code)
	}
	if got, want := resp.Header.Get(fc.HeaderErrorType), string(code.Type()); got != want {
		t.Errorf("X-Fc-Error-Type = %q; want %q", got, want)
	}
	if id := resp.Header.Get(fc.HeaderRequestID); id == "" || eb.RequestID != id {
		t.Errorf("RequestId %q, X-Fc-Request-Id %q; want equal and non-empty", eb.RequestID, id)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	if eb.ErrorMessage == "" {
		t.Errorf("empty ErrorMessage")
	}
	return eb
}

const proxy = "/2016-08-15/proxy/svc/"

// hideLength hides a reader's length so the client sends it chunked.
type hideLength struct{ io.Reader }

// TestCheckOrder pins the order of the front door's checks: for requests
// that break two rules, the earlier check answers, and nothing after a
// failed check runs (no instance is acquired, the function is not
// called).
func TestCheckOrder(t *testing.T) {
	e := newTestEnv(t, testLimits)
	longPath := func(n int) string { // a proxy target of exactly n bytes
		p := proxy + "nosuchfn/"
		return p + strings.Repeat("p", n-len(p))
	}
	type tc struct {
		name    string
		method  string
		target  string
		host    string // trigger label, "" for the proxy form
		header  http.Header
		body    string
		chunked bool
		status  int
		code    fc.Code // "" for a function answer
		msg     []string
		invoked bool // the instance was acquired and called
	}
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	pad := strings.Repeat("h", 2100)
	anonHost := route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain
	offHost := route.SubdomainLabel("svc", "off", "cccc3333") + "." + testDomain
	authHost := route.SubdomainLabel("svc", "auth", "bbbb2222") + "." + testDomain
	preflight := h("Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	for _, c := range []tc{
		// Limits come first, before routing.
		{name: "path limit before route", method: "GET", target: longPath(257), status: 400, code: fc.CodeInvalidArgument, msg: []string{"257", "256"}},
		{name: "path at limit reaches routing", method: "GET", target: longPath(256), status: 404, code: fc.CodeFunctionNotFound},
		{name: "path limit counts the query", method: "GET", target: proxy + "anon/?" + strings.Repeat("q", 257-len(proxy+"anon/?")), status: 400, code: fc.CodeInvalidArgument, msg: []string{"257", "256"}},
		{name: "header limit before route", method: "GET", target: proxy + "nosuchfn/", header: h("X-Pad", pad), status: 400, code: fc.CodeInvalidArgument, msg: []string{"the limit is 2048 bytes"}},
		{name: "header limit on a trigger subdomain", method: "GET", target: "/", host: anonHost, header: h("X-Pad", pad), status: 400, code: fc.CodeInvalidArgument, msg: []string{"2048"}},
		{name: "header limit before disabled URL", method: "GET", target: proxy + "off/", header: h("X-Pad", pad), status: 400, code: fc.CodeInvalidArgument},
		// Routing and lookup.
		{name: "not a proxy path", method: "GET", target: "/2016-08-15/proxy/svc", status: 400, code: fc.CodePathNotSupported},
		{name: "unknown service", method: "GET", target: "/2016-08-15/proxy/nosvc/anon/", status: 404, code: fc.CodeServiceNotFound},
		{name: "lookup before method", method: "TRACE", target: proxy + "nosuchfn/", status: 404, code: fc.CodeFunctionNotFound},
		{name: "no HTTP trigger", method: "GET", target: proxy + "notrig/", status: 404, code: fc.CodeTriggerNotFound},
		{name: "unknown version", method: "GET", target: "/2016-08-15/proxy/svc.3/anon/", status: 404, code: fc.CodeVersionNotFound},
		{name: "unknown alias", method: "GET", target: "/2016-08-15/proxy/svc.prod/anon/", status: 404, code: fc.CodeAliasNotFound},
		{name: "unknown trigger host", method: "GET", target: "/", host: "anon-svc-0000." + testDomain, status: 404, code: fc.CodeTriggerNotFound},
		{name: "trigger host with the wrong label", method: "GET", target: "/", host: "other-svc-aaaa1111." + testDomain, status: 404, code: fc.CodeTriggerNotFound},
		// disableURLInternet before CORS, methods, auth, body.
		{name: "disabled before method", method: "TRACE", target: proxy + "off/", status: 403, code: fc.CodeAccessDenied, msg: []string{"access denied due to function internet URL is disabled"}},
		{name: "disabled before preflight", method: "OPTIONS", target: proxy + "off/", header: preflight, status: 403, code: fc.CodeAccessDenied},
		{name: "disabled before body limit", method: "POST", target: proxy + "off/", body: strings.Repeat("b", 1001), status: 403, code: fc.CodeAccessDenied},
		{name: "disabled on the trigger subdomain", method: "GET", target: "/", host: offHost, status: 403, code: fc.CodeAccessDenied},
		// CORS preflight (OPTIONS not in methods) before method and auth.
		{name: "preflight before auth", method: "OPTIONS", target: proxy + "auth/", header: preflight, status: 204},
		{name: "plain OPTIONS is a method", method: "OPTIONS", target: proxy + "auth/", status: 403, code: fc.CodeMethodNotAllowed},
		{name: "OPTIONS in methods goes to the function", method: "OPTIONS", target: proxy + "opts/", header: preflight, status: 200, invoked: true},
		// Method before auth.
		{name: "method before auth", method: "PUT", target: proxy + "auth/", status: 403, code: fc.CodeMethodNotAllowed, msg: []string{"PUT", "GET, POST"}},
		{name: "TRACE is refused", method: "TRACE", target: proxy + "anon/", status: 403, code: fc.CodeMethodNotAllowed},
		{name: "method on the trigger subdomain", method: "TRACE", target: "/", host: anonHost, status: 403, code: fc.CodeMethodNotAllowed},
		// Auth before the body limit and the instance.
		{name: "auth before body limit", method: "POST", target: proxy + "auth/", body: strings.Repeat("b", 1001), status: 400, code: fc.CodeMissingRequiredHeader},
		{name: "bad signature", method: "GET", target: proxy + "auth/", header: h("Authorization", "FC bad"), status: 403, code: fc.CodeSignatureNotMatch},
		{name: "bad signed URL", method: "GET", target: proxy + "auth/?x-fc-signature=bad", status: 403, code: fc.CodeSignatureNotMatch},
		{name: "auth on the trigger subdomain", method: "GET", target: "/", host: authHost, status: 400, code: fc.CodeMissingRequiredHeader},
		{name: "good signature", method: "POST", target: proxy + "auth/", header: h("Authorization", "FC good"), body: "x", status: 200, invoked: true},
		// Body limits before the instance.
		{name: "sync body over the limit", method: "POST", target: proxy + "anon/", body: strings.Repeat("b", 1001), status: 400, code: fc.CodeInvalidArgument, msg: []string{"1001", "1000"}},
		{name: "sync body at the limit", method: "POST", target: proxy + "anon/", body: strings.Repeat("b", 1000), status: 200, invoked: true},
		{name: "signed body over the limit", method: "POST", target: proxy + "auth/", header: h("Authorization", "FC good"), body: strings.Repeat("b", 1001), status: 400, code: fc.CodeInvalidArgument},
		{name: "chunked body at the limit", method: "POST", target: proxy + "anon/", body: strings.Repeat("b", 1000), chunked: true, status: 200, invoked: true},
		{name: "async body over the async limit", method: "POST", target: proxy + "anon/", header: h("X-Fc-Invocation-Type", "Async"), body: strings.Repeat("b", 101), status: 400, code: fc.CodeInvalidArgument, msg: []string{"101", "the limit is 100 bytes"}},
		{name: "async is checked case-insensitively", method: "POST", target: proxy + "anon/", header: h("X-Fc-Invocation-Type", "async"), body: strings.Repeat("b", 101), status: 400, code: fc.CodeInvalidArgument, msg: []string{"the limit is 100 bytes"}},
		{name: "async within the limit without a queue", method: "POST", target: proxy + "anon/", header: h("X-Fc-Invocation-Type", "Async"), body: strings.Repeat("b", 100), status: 503, code: fc.CodeServiceUnavailable, msg: []string{"asynchronous invocation is not available"}},
		{name: "explicit Sync", method: "POST", target: proxy + "anon/", header: h("X-Fc-Invocation-Type", "Sync"), body: "x", status: 200, invoked: true},
		// The instance.
		{name: "throttled instance", method: "GET", target: proxy + "busy/", status: 429, code: fc.CodeResourceThrottled},
		{name: "internal error hides its cause", method: "GET", target: proxy + "broken/", status: 500, code: fc.CodeInternalServerError},
		{name: "success", method: "GET", target: proxy + "anon/x", status: 200, invoked: true},
		{name: "success on the trigger subdomain", method: "GET", target: "/x", host: anonHost, status: 200, invoked: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
				if c.chunked {
					body = hideLength{body}
				}
			}
			r := e.req(c.method, c.target, c.host, body)
			if c.chunked {
				r.ContentLength = -1
			}
			for k, v := range c.header {
				r.Header[k] = v
			}
			acq0, _ := e.inst.counts()
			hits0 := e.upstreamHits()
			resp, got := e.do(r)
			acq1, _ := e.inst.counts()
			if c.code != "" {
				eb := checkFCError(t, resp, got, c.status, c.code)
				for _, m := range c.msg {
					if !strings.Contains(eb.ErrorMessage, m) {
						t.Errorf("message %q does not contain %q", eb.ErrorMessage, m)
					}
				}
				if strings.Contains(got, "secret internal detail") {
					t.Errorf("the error leaks its cause: %s", got)
				}
			} else if resp.StatusCode != c.status {
				t.Errorf("status %d (%s); want %d", resp.StatusCode, got, c.status)
			}
			invoked := e.upstreamHits() > hits0
			if invoked != c.invoked {
				t.Errorf("function called: %v; want %v", invoked, c.invoked)
			}
			if wantAcq := c.invoked || c.code == fc.CodeResourceThrottled || c.code == fc.CodeInternalServerError; (acq1 > acq0) != wantAcq {
				t.Errorf("instance acquired: %v; want %v", acq1 > acq0, wantAcq)
			}
		})
	}
	// Every lease acquired was released.
	waitUntil(t, func() bool { a, r := e.inst.counts(); return a-2 == r }, "leases released") // busy and broken got none
}

// TestStreamedBodyLimit pins the limit on a chunked request body: it is
// counted as it streams, the request fails with 400 once the count passes
// the limit, and the instance never receives a complete body.
func TestStreamedBodyLimit(t *testing.T) {
	for _, c := range []struct {
		name   string
		size   int
		header string // X-Fc-Invocation-Type
		status int
	}{
		{"at the limit", 1000, "", 200},
		{"one byte over", 1001, "", 400},
		{"far over", 1 << 20, "", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, testLimits)
			e.setHandler(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "got %d", len(e.lastSeen().Body)) })
			r := e.req("POST", proxy+"anon/", "", hideLength{strings.NewReader(strings.Repeat("b", c.size))})
			r.ContentLength = -1
			resp, body := e.do(r)
			if c.status == 200 {
				if resp.StatusCode != 200 || body != fmt.Sprintf("got %d", c.size) {
					t.Fatalf("got %d %q; want 200 and the whole body", resp.StatusCode, body)
				}
				return
			}
			eb := checkFCError(t, resp, body, 400, fc.CodeInvalidArgument)
			if !strings.Contains(eb.ErrorMessage, "1001 bytes") || !strings.Contains(eb.ErrorMessage, "the limit is 1000 bytes") {
				t.Errorf("message %q does not name the size and the limit", eb.ErrorMessage)
			}
			e.front.Close() // waits for the gateway's handlers
			if s := e.lastSeen(); s != nil && s.BodyErr == nil {
				t.Errorf("the instance received a complete body of %d bytes", len(s.Body))
			}
			if a, rel := e.inst.counts(); a != 1 || rel != 1 {
				t.Errorf("acquired %d, released %d leases; want 1, 1", a, rel)
			}
		})
	}
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHeaderLimitBoundary pins what the header limit counts: every key
// and value, the Host header included.
func TestHeaderLimitBoundary(t *testing.T) {
	e := newTestEnv(t, testLimits)
	for _, c := range []struct {
		name  string
		host  string // trigger label, "" for the proxy form
		delta int    // bytes over the limit
	}{
		{"proxy form at the limit", "", 0},
		{"proxy form one byte over", "", 1},
		{"subdomain at the limit", route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain, 0},
		{"subdomain one byte over", route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := proxy + "anon/"
			if c.host != "" {
				target = "/"
			}
			r := e.req("GET", target, c.host, nil)
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			r.Header.Set("User-Agent", "ua")
			r.Header.Set("Accept-Encoding", "identity")
			size := len("Host") + len(host) + len("User-Agent") + len("ua") + len("Accept-Encoding") + len("identity") + len("X-Pad")
			r.Header.Set("X-Pad", strings.Repeat("p", testLimits.MaxHeaderBytes+c.delta-size))
			resp, body := e.do(r)
			if c.delta == 0 {
				if resp.StatusCode != 200 {
					t.Fatalf("headers at the limit: %d %s", resp.StatusCode, body)
				}
				return
			}
			eb := checkFCError(t, resp, body, 400, fc.CodeInvalidArgument)
			if !strings.Contains(eb.ErrorMessage, "2049 bytes") || !strings.Contains(eb.ErrorMessage, "the limit is 2048 bytes") {
				t.Errorf("message %q does not name the size and the limit", eb.ErrorMessage)
			}
		})
	}
}

// TestPreflightAnswer pins openfc's answer to a CORS preflight for a
// trigger that does not list OPTIONS.
func TestPreflightAnswer(t *testing.T) {
	e := newTestEnv(t, testLimits)
	r := e.req("OPTIONS", proxy+"auth/", "", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "X-Custom, Content-Type")
	resp, body := e.do(r)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST",
		"Access-Control-Allow-Headers":     "X-Custom, Content-Type",
		"Access-Control-Max-Age":           "3600",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if resp.StatusCode != 204 || body != "" || resp.Header.Get(fc.HeaderRequestID) == "" {
		t.Errorf("preflight: %d %q request id %q; want 204, no body, a request id", resp.StatusCode, body, resp.Header.Get(fc.HeaderRequestID))
	}
}

// TestRequestHeaders pins what the instance receives: client x-fc-*
// headers never arrive (openfc's own values replace them), hop-by-hop
// headers are dropped, X-Forwarded-For is the client, Authorization is
// consumed only by authType function, and FC's common headers are set.
func TestRequestHeaders(t *testing.T) {
	e := newTestEnv(t, testLimits)
	spoofs := http.Header{
		"X-Fc-Request-Id":        {"spoofed-id"},
		"X-Fc-Base-Path":         {"/evil/"},
		"X-Fc-Account-Id":        {"999"},
		"X-Fc-Access-Key-Id":     {"LTAIspoof"},
		"X-Fc-Access-Key-Secret": {"s"},
		"X-Fc-Security-Token":    {"token"},
		"X-Fc-Function-Name":     {"evil"},
		"X-Fc-Service-Name":      {"evil"},
		"X-Fc-Region":            {"evil"},
		"X-Fc-Qualifier":         {"evil"},
		"X-Fc-Control-Path":      {"/invoke"},
		"X-Fc-Invocation-Type":   {"Sync"},
		"X-Fc-Status":            {"500"},
		"X-Fc-Custom":            {"1"},
		"X-Fc-":                  {"empty suffix"},
		"Keep-Alive":             {"timeout=5"},
		"Connection":             {"keep-alive, X-Hop"},
		"X-Hop":                  {"listed in Connection"},
		"X-Forwarded-For":        {"6.6.6.6"},
		"Authorization":          {"FC good"},
		"X-Other":                {"kept"},
		"Cookie":                 {"a=b"},
	}
	type want struct {
		header string
		value  func(resp *http.Response) string // "" means absent
	}
	fixed := func(v string) func(*http.Response) string { return func(*http.Response) string { return v } }
	common := []want{
		{"X-Fc-Request-Id", func(r *http.Response) string { return r.Header.Get(fc.HeaderRequestID) }},
		{"X-Fc-Account-Id", fixed(testAccount)},
		{"X-Fc-Access-Key-Id", fixed("")},
		{"X-Fc-Access-Key-Secret", fixed("")},
		{"X-Fc-Security-Token", fixed("")},
		{"X-Fc-Function-Name", fixed("anon")},
		{"X-Fc-Service-Name", fixed("svc")},
		{"X-Fc-Function-Handler", fixed("index.handler")},
		{"X-Fc-Function-Memory", fixed("512")},
		{"X-Fc-Function-Timeout", fixed("5")},
		{"X-Fc-Function-Initializer", fixed("index.init")},
		{"X-Fc-Initialization-Timeout", fixed("3")},
		{"X-Fc-Region", fixed(testRegion)},
		{"X-Fc-Qualifier", fixed("LATEST")},
		{"X-Fc-Control-Path", fixed("/http-invoke")},
		{"X-Fc-Invocation-Type", fixed("")},
		{"X-Fc-Status", fixed("")},
		{"X-Fc-Custom", fixed("")},
		{"X-Fc-", fixed("")},
		{"Keep-Alive", fixed("")},
		{"Connection", fixed("")},
		{"X-Hop", fixed("")},
		{"X-Forwarded-For", fixed("127.0.0.1")},
		{"X-Other", fixed("kept")},
		{"Cookie", fixed("a=b")},
	}
	anonHost := route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain
	for _, c := range []struct {
		name, target, host, uri string
		want                    []want
	}{
		{"proxy form", proxy + "anon/a%2Fb/c?x=1&x-fc-q=2", "", "/a%2Fb/c?x=1&x-fc-q=2", append([]want{
			{"X-Fc-Base-Path", fixed("/2016-08-15/proxy/svc/anon/")},
			{"Authorization", fixed("FC good")}, // anonymous: not consumed
		}, common...)},
		{"trigger subdomain", "/2016-08-15/proxy/svc/anon/p?y=2", anonHost, "/2016-08-15/proxy/svc/anon/p?y=2", append([]want{
			{"X-Fc-Base-Path", fixed("")},
			{"Authorization", fixed("FC good")},
		}, common...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.req("GET", c.target, c.host, nil)
			for k, v := range spoofs {
				r.Header[k] = v
			}
			resp, body := e.do(r)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			s := e.lastSeen()
			if s.URI != c.uri {
				t.Errorf("instance saw %q; want %q", s.URI, c.uri)
			}
			if c.host != "" && !strings.HasPrefix(s.Host, c.host+":") {
				t.Errorf("instance saw Host %q; want %s:port", s.Host, c.host)
			}
			for _, w := range c.want {
				got, wantV := strings.Join(s.Header.Values(w.header), ","), w.value(resp)
				if got != wantV {
					t.Errorf("instance saw %s = %q; want %q", w.header, got, wantV)
				}
			}
			if resp.Header.Get(fc.HeaderRequestID) == "spoofed-id" {
				t.Errorf("the client chose the request id")
			}
		})
	}

	t.Run("authType function consumes Authorization", func(t *testing.T) {
		r := e.req("GET", proxy+"auth/", "", nil)
		r.Header.Set("Authorization", "FC good")
		r.Header.Set("X-Fc-Access-Key-Id", "LTAIspoof")
		if resp, body := e.do(r); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if s := e.lastSeen(); s.Header.Get("Authorization") != "" || s.Header.Get("X-Fc-Access-Key-Id") != "" {
			t.Errorf("instance saw Authorization %q, X-Fc-Access-Key-Id %q; want neither", s.Header.Get("Authorization"), s.Header.Get("X-Fc-Access-Key-Id"))
		}
	})

	t.Run("signed URL parameters are consumed", func(t *testing.T) {
		r := e.req("GET", proxy+"auth/p?b=2&x-fc-access-key-id=AK&a=1&x-fc-signature=good&X-Fc-Expires=9&c=%20", "", nil)
		if resp, body := e.do(r); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if s := e.lastSeen(); s.URI != "/p?b=2&a=1&c=%20" {
			t.Errorf("instance saw %q; want /p?b=2&a=1&c=%%20", s.URI)
		}
	})
}

// TestResponseRules pins the filtering of the function's response.
func TestResponseRules(t *testing.T) {
	e := newTestEnv(t, testLimits)
	type tc struct {
		name    string
		method  string
		target  string
		host    string
		origin  string
		handler http.HandlerFunc
		check   func(t *testing.T, resp *http.Response, body string)
	}
	hdr := func(kv ...string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			for i := 0; i < len(kv); i += 2 {
				w.Header().Add(kv[i], kv[i+1])
			}
		}
	}
	reply := func(status int, body string, set func(w http.ResponseWriter)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			set(w)
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	absent := func(keys ...string) func(t *testing.T, resp *http.Response, body string) {
		return func(t *testing.T, resp *http.Response, body string) {
			for _, k := range keys {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("%s = %q reached the client", k, v)
				}
			}
		}
	}
	cd := func(want string) func(t *testing.T, resp *http.Response, body string) {
		return func(t *testing.T, resp *http.Response, body string) {
			got, ok := resp.Header["Content-Disposition"]
			if want == "" && ok || want != "" && strings.Join(got, ",") != want {
				t.Errorf("Content-Disposition = %q (present %v); want %q", got, ok, want)
			}
		}
	}
	anonHost := route.SubdomainLabel("svc", "anon", "aaaa1111") + "." + testDomain
	// bigHeaders: with Date suppressed and Content-Type and Content-Length
	// set, the function's headers are exactly 12+10 + 14+1 + 5+n bytes.
	bigHeaders := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Date"] = nil
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "2")
			w.Header().Set("X-Big", strings.Repeat("b", n))
			io.WriteString(w, "ok")
		}
	}
	const fixed = 12 + 10 + 14 + 1 + 5
	for _, c := range []tc{
		{name: "x-fc headers are dropped", handler: reply(200, "ok", hdr("X-Fc-Request-Id", "spoofed", "X-Fc-Error-Type", "UnhandledInvocationError", "X-Fc-Custom", "1", "X-Fc-Status", "200", "X-Fc-", "v")),
			check: func(t *testing.T, resp *http.Response, body string) {
				absent("X-Fc-Error-Type", "X-Fc-Custom", "X-Fc-Status", "X-Fc-")(t, resp, body)
				if v := resp.Header.Values(fc.HeaderRequestID); len(v) != 1 || v[0] == "spoofed" || v[0] == "" {
					t.Errorf("X-Fc-Request-Id = %q; want openfc's one id", v)
				}
			}},
		{name: "hop-by-hop and server headers are dropped", handler: reply(200, "ok", hdr("Connection", "X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=9", "Server", "evil/1.0", "Upgrade", "websocket")),
			check: absent("Connection", "X-Hop", "Keep-Alive", "Server", "Upgrade")},
		{name: "openfc's Date is sent", handler: reply(200, "ok", hdr("Date", "Mon, 01 Jan 2001 00:00:00 GMT")),
			check: func(t *testing.T, resp *http.Response, body string) {
				v := resp.Header.Values("Date")
				d, err := http.ParseTime(resp.Header.Get("Date"))
				if len(v) != 1 || err != nil || time.Since(d).Abs() > time.Minute {
					t.Errorf("Date = %q; want openfc's current date", v)
				}
			}},
		{name: "other headers, status and body pass", handler: reply(201, "created", hdr("X-Custom", "v1", "X-Custom", "v2", "Set-Cookie", "a=b", "Content-Type", "text/x-test")),
			check: func(t *testing.T, resp *http.Response, body string) {
				if resp.StatusCode != 201 || body != "created" || strings.Join(resp.Header.Values("X-Custom"), ",") != "v1,v2" ||
					resp.Header.Get("Set-Cookie") != "a=b" || resp.Header.Get("Content-Type") != "text/x-test" {
					t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
				}
			}},
		{name: "Content-Length matches the body", handler: reply(200, "hello world", hdr()),
			check: func(t *testing.T, resp *http.Response, body string) {
				if resp.Header.Get("Content-Length") != "11" || body != "hello world" {
					t.Errorf("Content-Length %q body %q", resp.Header.Get("Content-Length"), body)
				}
			}},
		{name: "a streamed response has no Content-Length", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "part1-")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
		}, check: func(t *testing.T, resp *http.Response, body string) {
			if _, ok := resp.Header["Content-Length"]; ok || resp.ContentLength != -1 || body != "part1-part2" {
				t.Errorf("Content-Length %q (%d) body %q; want none, the whole body", resp.Header.Get("Content-Length"), resp.ContentLength, body)
			}
		}},
		{name: "HEAD has no body", method: "HEAD", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
		}, check: func(t *testing.T, resp *http.Response, body string) {
			if resp.StatusCode != 200 || body != "" {
				t.Errorf("HEAD: %d %q", resp.StatusCode, body)
			}
		}},
		{name: "response headers at the limit pass", handler: bigHeaders(testLimits.MaxResponseHeaderBytes - fixed),
			check: func(t *testing.T, resp *http.Response, body string) {
				if resp.StatusCode != 200 || len(resp.Header.Get("X-Big")) != testLimits.MaxResponseHeaderBytes-fixed {
					t.Errorf("got %d, X-Big of %d bytes", resp.StatusCode, len(resp.Header.Get("X-Big")))
				}
			}},
		{name: "response headers over the limit are a BadResponse", handler: bigHeaders(testLimits.MaxResponseHeaderBytes - fixed + 1),
			check: func(t *testing.T, resp *http.Response, body string) {
				eb := checkFCError(t, resp, body, 502, fc.CodeBadResponse)
				if !strings.Contains(eb.ErrorMessage, "1025") || !strings.Contains(eb.ErrorMessage, "1024") {
					t.Errorf("message %q does not name the size and the limit", eb.ErrorMessage)
				}
				absent("X-Big")(t, resp, body)
			}},
		{name: "a BadResponse leaks nothing of the function", handler: reply(200, "secret-body", hdr("X-Secret", "leak", "X-Big", strings.Repeat("b", 2000), "Content-Disposition", "inline", "Set-Cookie", "s=1")),
			check: func(t *testing.T, resp *http.Response, body string) {
				checkFCError(t, resp, body, 502, fc.CodeBadResponse)
				absent("X-Secret", "X-Big", "Content-Disposition", "Set-Cookie")(t, resp, body)
				if strings.Contains(body, "secret-body") {
					t.Errorf("body leaked: %q", body)
				}
			}},
		// Content-Disposition: forced on the proxy form only.
		{name: "proxy form: no Content-Disposition becomes attachment", handler: reply(200, "ok", hdr()), check: cd("attachment")},
		{name: "proxy form: inline becomes attachment", handler: reply(200, "ok", hdr("Content-Disposition", "inline; filename=x.html")), check: cd("attachment")},
		{name: "proxy form: attachment is kept", handler: reply(200, "ok", hdr("Content-Disposition", "attachment; filename=x")), check: cd("attachment; filename=x")},
		{name: "proxy form: Attachment in any case is kept", handler: reply(200, "ok", hdr("Content-Disposition", " Attachment; filename=\"r.txt\"")), check: cd("Attachment; filename=\"r.txt\"")},
		{name: "proxy form: forced on error statuses too", handler: reply(500, "e", hdr("Content-Disposition", "inline")), check: cd("attachment")},
		{name: "subdomain: inline passes", host: anonHost, handler: reply(200, "ok", hdr("Content-Disposition", "inline")), check: cd("inline")},
		{name: "subdomain: absent stays absent", host: anonHost, handler: reply(200, "ok", hdr()), check: cd("")},
		// CORS defaults.
		{name: "no Origin, no CORS headers", handler: reply(200, "ok", hdr()), check: absent("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials")},
		{name: "CORS defaults for an Origin", origin: "https://app.example", handler: reply(200, "ok", hdr()),
			check: func(t *testing.T, resp *http.Response, body string) {
				if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
					!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Fc-Request-Id") || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
					t.Errorf("CORS headers %v", resp.Header)
				}
			}},
		{name: "the function's CORS headers win", origin: "https://app.example", handler: reply(200, "ok", hdr("Access-Control-Allow-Origin", "https://fixed.example")),
			check: func(t *testing.T, resp *http.Response, body string) {
				if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "https://fixed.example" {
					t.Errorf("Access-Control-Allow-Origin = %q", v)
				}
				absent("Access-Control-Allow-Credentials")(t, resp, body)
			}},
		{name: "platform errors carry CORS defaults", origin: "https://app.example", target: proxy + "nosuchfn/", handler: reply(200, "ok", hdr()),
			check: func(t *testing.T, resp *http.Response, body string) {
				checkFCError(t, resp, body, 404, fc.CodeFunctionNotFound)
				if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
					t.Errorf("Access-Control-Allow-Origin = %q", resp.Header.Get("Access-Control-Allow-Origin"))
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.setHandler(c.handler)
			method, target := c.method, c.target
			if method == "" {
				method = "GET"
			}
			if target == "" {
				target = proxy + "anon/"
				if c.host != "" {
					target = "/"
				}
			}
			r := e.req(method, target, c.host, nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			resp, body := e.do(r)
			c.check(t, resp, body)
		})
	}
}

// TestFunctionErrors pins the errors for a function that fails.
func TestFunctionErrors(t *testing.T) {
	e := newTestEnv(t, testLimits)
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	}
	for _, c := range []struct {
		name    string
		fn      string
		exited  bool
		exitErr error
		handler http.HandlerFunc
		code    fc.Code
		msg     string
	}{
		{"connection closed", "anon", false, nil, hangUp, fc.CodeFunctionConnection, "HTTP server failed"},
		{"process exited", "anon", true, nil, hangUp, fc.CodeFunctionCrashed, "exit status 3"},
		// The instance manager's account of an exit is the answer.
		{"out of memory", "anon", true, fc.Errorf(fc.CodeFunctionCrashed, "Function ran out of memory (memorySize 128 MB)"), hangUp,
			fc.CodeFunctionCrashed, "Function ran out of memory (memorySize 128 MB)"},
		{"timeout", "slow", false, nil, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, fc.CodeFunctionTimeout, "1 seconds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.inst.mu.Lock()
			e.inst.exited, e.inst.exitErr = c.exited, c.exitErr
			e.inst.mu.Unlock()
			e.setHandler(c.handler)
			resp, body := e.do(e.req("GET", proxy+c.fn+"/", "", nil))
			eb := checkFCError(t, resp, body, 502, c.code)
			if !strings.Contains(eb.ErrorMessage, c.msg) {
				t.Errorf("message %q does not contain %q", eb.ErrorMessage, c.msg)
			}
		})
	}
}

// requestLogs returns the access-log records by request id.
func requestLogs(t *testing.T, logs string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if rec["msg"] == "request" {
			id, _ := rec["request_id"].(string)
			out[id] = append(out[id], rec)
		}
	}
	return out
}

// scrape returns openfc_http_requests_total by its labels
// "function|status|error_type|result".
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return parseRequestsTotal(t, rec.Body.String())
}

var promLine = regexp.MustCompile(`^openfc_http_requests_total\{(.*)\} (\S+)$`)
var promLabel = regexp.MustCompile(`(\w+)="([^"]*)"`)

func parseRequestsTotal(t *testing.T, text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		m := promLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range promLabel.FindAllStringSubmatch(m[1], -1) {
			l[kv[1]] = kv[2]
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("metric line %q", line)
		}
		out[l["function"]+"|"+l["status"]+"|"+l["error_type"]+"|"+l["result"]] += v
	}
	return out
}

// TestAccessLogAndXFcStatus pins the access log (one record per request)
// and x-fc-status: the client gets the function's status and body
// without the header, the log and the metrics record the failure.
func TestAccessLogAndXFcStatus(t *testing.T) {
	e := newTestEnv(t, testLimits)
	for _, c := range []struct {
		name      string
		target    string
		status    int    // the function's status
		fcStatus  string // the function's x-fc-status
		wantFn    string
		wantType  string
		wantFail  bool
		wantFCLog string
	}{
		{"x-fc-status 500", proxy + "anon/", 500, "500", "svc/anon", "", true, "500"},
		{"x-fc-status 404 on a 200", proxy + "anon/", 200, "404", "svc/anon", "", true, "404"},
		{"x-fc-status 200", proxy + "anon/", 200, "200", "svc/anon", "", false, "200"},
		{"a 500 without x-fc-status is a success", proxy + "anon/", 500, "", "svc/anon", "", false, ""},
		{"a platform error fails", proxy + "nosuchfn/", 0, "", "", "FcCommonError", true, ""},
		{"an instance error fails", proxy + "busy/", 0, "", "svc/busy", "FcCommonError", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := scrape(t, e.reg)
			e.setHandler(func(w http.ResponseWriter, r *http.Request) {
				if c.fcStatus != "" {
					w.Header().Set("X-Fc-Status", c.fcStatus)
				}
				w.WriteHeader(c.status)
				io.WriteString(w, "function body")
			})
			resp, body := e.do(e.req("GET", c.target, "", nil))
			status := resp.StatusCode
			if c.status != 0 {
				if status != c.status || body != "function body" {
					t.Errorf("client got %d %q; want the function's %d %q", status, body, c.status, "function body")
				}
				if _, ok := resp.Header["X-Fc-Status"]; ok {
					t.Errorf("x-fc-status reached the client")
				}
				if v := resp.Header.Get(fc.HeaderErrorType); v != "" {
					t.Errorf("X-Fc-Error-Type = %q on a function answer", v)
				}
			}
			id := resp.Header.Get(fc.HeaderRequestID)
			var recs []map[string]any
			waitUntil(t, func() bool { recs = requestLogs(t, e.logs.String())[id]; return len(recs) > 0 }, "the access log record")
			if len(recs) != 1 {
				t.Fatalf("%d access-log records for %s; want 1", len(recs), id)
			}
			rec := recs[0]
			if rec["function"] != c.wantFn || rec["status"] != float64(status) || rec["error_type"] != c.wantType || rec["method"] != "GET" {
				t.Errorf("record %v; want function %q status %d error_type %q", rec, c.wantFn, status, c.wantType)
			}
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("record has no duration: %v", rec)
			}
			if got, _ := rec["failed"].(bool); got != c.wantFail {
				t.Errorf("failed = %v; want %v (record %v)", rec["failed"], c.wantFail, rec)
			}
			if got, _ := rec["fc_status"].(string); got != c.wantFCLog {
				t.Errorf("fc_status = %q; want %q", got, c.wantFCLog)
			}
			result := "success"
			if c.wantFail {
				result = "failed"
			}
			key := c.wantFn + "|" + strconv.Itoa(status) + "|" + c.wantType + "|" + result
			waitUntil(t, func() bool { return scrape(t, e.reg)[key] == before[key]+1 }, "openfc_http_requests_total{"+key+"} to grow by 1")
		})
	}
	var recs int
	for _, r := range requestLogs(t, e.logs.String()) {
		recs += len(r)
	}
	if recs != 6 {
		t.Errorf("%d access-log records for 6 requests", recs)
	}
}
