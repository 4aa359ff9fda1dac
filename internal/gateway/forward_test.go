package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// proxyEnv is a gateway in front of one upstream server the test
// controls entirely (the handler sees the request as the instance does).
type proxyEnv struct {
	gw    *Gateway
	front *testFront
	up    *httptest.Server
	inst  *fakeInstances
	conns atomic.Int32 // connections the upstream accepted
	logs  *syncBuf
}

func newProxyEnv(t *testing.T, h http.Handler, tweak func(*http.Server)) *proxyEnv {
	t.Helper()
	e := &proxyEnv{inst: &fakeInstances{}, logs: &syncBuf{}}
	e.up = httptest.NewUnstartedServer(h)
	e.up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.conns.Add(1)
		}
	}
	if tweak != nil {
		tweak(e.up.Config)
	}
	e.up.Start()
	t.Cleanup(e.up.Close)
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 5}
	cat := &fakeCatalog{fns: map[string]*fc.Function{"svc/fn": fn},
		trigs: map[string]*fc.Trigger{"svc/fn": trig("aaaa-1111", fc.AuthAnonymous, "GET", "POST")}}
	e.inst.dial = dialTo(e.up.Listener.Addr().String())
	e.gw = New(Options{
		Catalog: cat, Instances: e.inst, Verifier: fakeVerifier{}, Region: testRegion, AccountID: testAccount, TriggerDomain: testDomain,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
	})
	e.front = newFront(t, e.gw)
	t.Cleanup(e.front.Close)
	t.Cleanup(e.gw.upstream.CloseIdle)
	return e
}

const fnURL = "/2016-08-15/proxy/svc/fn/"

func (e *proxyEnv) url() string { return e.front.URL + fnURL }

// released waits until every acquired lease was released.
func (e *proxyEnv) released(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, r := e.inst.counts()
		if a == r {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leases: %d acquired, %d released", a, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

// TestConnectionReuse: sequential requests, with and without bodies,
// share one connection to the instance.
func TestConnectionReuse(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+":"+string(b))
	}), nil)
	c := e.front.Client()
	for i := range 20 {
		method, body, want := "GET", io.Reader(nil), "GET:"
		if i%2 == 1 {
			method, body, want = "POST", strings.NewReader("x"), "POST:x"
		}
		resp, got := get(t, c, method, e.url(), body)
		if resp.StatusCode != 200 || got != want {
			t.Fatalf("request %d: %d %q; want 200 %q", i, resp.StatusCode, got, want)
		}
		if resp.Close {
			t.Fatalf("request %d (%s): the answer closes the client's connection", i, method)
		}
	}
	if n := e.conns.Load(); n != 1 {
		t.Errorf("the instance saw %d connections for 20 sequential requests; want 1", n)
	}
	if n := e.gw.upstream.IdleConns(); n != 1 {
		t.Errorf("%d idle connections pooled; want 1", n)
	}
	e.released(t)
}

// TestInstanceClosesIdleConnections: an instance whose server drops idle
// connections quickly (Node's keepAliveTimeout is 5 s) still gets every
// request, POSTs included, because a closed idle connection is noticed
// before it is used.
func TestInstanceClosesIdleConnections(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, string(b))
	}), func(s *http.Server) { s.IdleTimeout = 30 * time.Millisecond })
	c := e.front.Client()
	for i := range 4 {
		resp, got := get(t, c, "POST", e.url(), strings.NewReader("payload"))
		if resp.StatusCode != 200 || got != "payload" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, got)
		}
		time.Sleep(120 * time.Millisecond) // the instance closes the idle connection
	}
	if n := e.conns.Load(); n != 4 {
		t.Errorf("the instance saw %d connections; want 4 (each idle one closed)", n)
	}
	e.gw.upstream.Sweep(time.Now())
	if n := e.gw.upstream.IdleConns(); n != 0 {
		t.Errorf("%d idle connections left after the sweep; want 0 (the instance closed them)", n)
	}
}

// TestRetryOnClosedConnection: an instance that drops a kept-alive
// connection when the next request arrives (never answering it) gets a
// bodiless request again on a new connection; a POST with a body is not
// replayed and fails as FC's FunctionConnectionError... unless it went on
// a fresh connection.
func TestRetryOnClosedConnection(t *testing.T) {
	// Answer one request per connection, then drop the next unanswered.
	ln, _ := serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = http.ReadRequest(br)
	})
	e := newRawProxyEnv(t, ln)
	defer e.front.Close()
	defer e.gw.upstream.CloseIdle()
	c := e.front.Client()
	for i := range 3 {
		if resp, got := get(t, c, "GET", e.url(), nil); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("GET %d: %d %q; want 200 ok (replayed on a new connection)", i, resp.StatusCode, got)
		}
	}
	resp, body := get(t, c, "POST", e.url(), strings.NewReader("once"))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST on a dropped connection: %d %q; want 502 (not replayed)", resp.StatusCode, body)
	}
	checkFCError(t, resp, body, http.StatusBadGateway, fc.CodeFunctionConnection)
	e.released(t)
}

// serveRaw runs a hand-written server (for answers net/http would not
// send): serve handles each connection, which is closed after it. It
// counts the connections; at the end of the test the listener is closed
// and every handler waited for (after the test's deferred closes).
func serveRaw(t *testing.T, serve func(c net.Conn)) (net.Listener, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns atomic.Int32
	t.Cleanup(wg.Wait) // last: after the listener and every connection closed
	t.Cleanup(func() { ln.Close() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln, &conns
}

// newRawProxyEnv is a gateway whose instance is whatever answers on ln
// (a hand-written server, for answers net/http would not send). The
// caller closes front and the pool (before waiting for its server).
func newRawProxyEnv(t *testing.T, ln net.Listener) *proxyEnv {
	e := &proxyEnv{inst: &fakeInstances{}, logs: &syncBuf{}}
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "h", MemorySize: 128, Timeout: 5}
	cat := &fakeCatalog{fns: map[string]*fc.Function{"svc/fn": fn},
		trigs: map[string]*fc.Trigger{"svc/fn": trig("aaaa-1111", fc.AuthAnonymous, "GET", "POST", "HEAD")}}
	e.inst.dial = dialTo(ln.Addr().String())
	e.gw = New(Options{Catalog: cat, Instances: e.inst, Verifier: fakeVerifier{}, TriggerDomain: testDomain})
	e.front = newFront(t, e.gw)
	return e
}

// TestUnframedAnswerIsPeeked: a connection used a moment ago is taken
// without the liveness peek, except after an answer whose end its framing
// does not fix: an instance that wrongly sends a body after its answer to
// HEAD must not have those bytes read as the next request's answer.
func TestUnframedAnswerIsPeeked(t *testing.T) {
	stray := make(chan struct{}, 1) // a stray body was written
	ln, conns := serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
			if req.Method == http.MethodHead {
				time.Sleep(10 * time.Millisecond) // apart, so that it is not read with the head
			}
			io.WriteString(c, "body!") // after HEAD: bytes nobody asked for
			if req.Method == http.MethodHead {
				stray <- struct{}{}
			}
		}
	})
	e := newRawProxyEnv(t, ln)
	defer e.front.Close()
	defer e.gw.upstream.CloseIdle()
	c := e.front.Client()
	for i, method := range []string{"GET", "GET", "HEAD", "GET", "POST", "GET"} {
		resp, got := get(t, c, method, e.url(), nil)
		want := "body!"
		if method == http.MethodHead {
			want = ""
			select { // the stray body is on its way (on loopback: arrived)
			case <-stray:
			case <-time.After(5 * time.Second):
				t.Fatal("the instance never wrote its stray body")
			}
		}
		if resp.StatusCode != 200 || got != want {
			t.Fatalf("request %d (%s): %d %q; want 200 %q", i, method, resp.StatusCode, got, want)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the instance saw %d connections; want 2 (one dropped after the HEAD)", n)
	}
	e.released(t)
}

// TestStreamedResponseFlushes: server-sent events and chunked responses
// reach the client as the function writes them, not at the end.
func TestStreamedResponseFlushes(t *testing.T) {
	for _, sse := range []bool{true, false} {
		release := make(chan struct{})
		e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sse {
				w.Header().Set("Content-Type", "text/event-stream")
			}
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, "data: two\n\n")
		}), nil)
		resp, err := e.front.Client().Get(e.url())
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		first, err := br.ReadString('\n')
		if err != nil || first != "data: one\n" {
			t.Fatalf("sse=%v: first line %q, %v; want it before the function finished", sse, first, err)
		}
		close(release)
		rest, _ := io.ReadAll(br)
		resp.Body.Close()
		if string(rest) != "\ndata: two\n\n" {
			t.Errorf("sse=%v: rest %q", sse, rest)
		}
		e.released(t)
	}
}

// TestTrailers: trailers the function declares reach the client.
func TestTrailers(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc")
	}), nil)
	resp, err := e.front.Client().Get(e.url())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("body %q trailer %v; want body and X-Checksum: abc", b, resp.Trailer)
	}
}

// TestFullDuplex: the function answers while it still reads the request
// body: each chunk the client sends comes back before the next is sent.
func TestFullDuplex(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write([]byte(strings.ToUpper(string(buf[:n]))))
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	}), nil)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.url(), pr)
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	for _, chunk := range []string{"hello", "duplex", "world"} {
		if _, err := pw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadAtLeast(resp.Body, buf, len(chunk))
		if err != nil || string(buf[:n]) != strings.ToUpper(chunk) {
			t.Fatalf("echo of %q: %q, %v", chunk, buf[:n], err)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the body ended: %q, %v", rest, err)
	}
	e.released(t)
}

// TestEarlyResponse: a function that answers without reading the body
// (which the client never finishes sending) ends the request promptly;
// the lease is released and the server stays healthy.
func TestEarlyResponse(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "no thanks")
	}), nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { // a body that keeps coming
		for {
			if _, err := pw.Write([]byte(strings.Repeat("x", 1024))); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequest("POST", e.url(), pr)
	done := make(chan struct{})
	var got string
	var status int
	go func() {
		defer close(done)
		resp, err := e.front.Client().Do(req)
		if err != nil {
			got = err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got, status = string(b), resp.StatusCode
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the request hung while the client kept sending")
	}
	// The client sees the answer, or (when the reset of the connection
	// that still carries its unread body overtakes the answer in its
	// kernel) a reset, which its next body write reports as a reset or a
	// broken pipe: HTTP/1.1 has no third way for a body that never ends.
	if !(status == 200 && got == "no thanks") && !strings.Contains(got, "connection reset") && !strings.Contains(got, "broken pipe") {
		t.Errorf("got %d %q; want 200 no thanks", status, got)
	}
	e.released(t)
	if resp, body := get(t, &http.Client{}, "GET", e.url(), nil); resp.StatusCode != 200 || body != "no thanks" {
		t.Errorf("next request: %d %q", resp.StatusCode, body)
	}
}

// TestBrokenResponseBody: a function that dies mid-body leaves the
// client with a failed read (not a short body that looks whole); the
// request is still in the access log.
func TestBrokenResponseBody(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only ten..")
		w.(http.Flusher).Flush()
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	}), nil)
	resp, err := e.front.Client().Get(e.url())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("read %q without error; want the cut to show", b)
	}
	if !strings.HasPrefix(string(b), "only ten..") {
		t.Errorf("body %q", b)
	}
	e.released(t)
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(e.logs.String(), `"msg":"request"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access log line: %s", e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUpgradeTunnel: a WebSocket-style upgrade the function accepts
// becomes a byte tunnel both ways; the lease is held until it closes.
func TestUpgradeTunnel(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" || r.Header.Get("X-Fc-Request-Id") == "" {
			http.Error(w, "want Upgrade: echo and FC headers", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-App: 1\r\n\r\n")
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, strings.ToUpper(line))
		}
	}), nil)
	c, err := net.Dial("tcp", e.front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+fnURL+" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" || resp.Header.Get("X-App") != "1" || resp.Header.Get(fc.HeaderRequestID) == "" {
		t.Fatalf("got %d %v; want 101 with Upgrade: echo, X-App and X-Fc-Request-Id", resp.StatusCode, resp.Header)
	}
	for _, msg := range []string{"ping\n", "second message\n"} {
		io.WriteString(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Fatalf("tunnel: sent %q, got %q, %v", msg, got, err)
		}
	}
	if a, r := e.inst.counts(); a != 1 || r != 0 {
		t.Errorf("while the tunnel is open: %d acquired, %d released; want 1, 0", a, r)
	}
	c.Close()
	e.released(t)
}

// TestUpgradeRefused: a function that answers an upgrade request
// normally is proxied as any response.
func TestUpgradeRefused(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "plain")
	}), nil)
	req, _ := http.NewRequest("GET", e.url(), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "plain" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

// TestPoolSweep: idle connections to an instance that went away are
// closed by the sweeper; idle ones past the idle timeout too.
func TestPoolSweep(t *testing.T) {
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
	if resp, _ := get(t, e.front.Client(), "GET", e.url(), nil); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	e.gw.upstream.Sweep(time.Now())
	if n := e.gw.upstream.IdleConns(); n != 1 {
		t.Fatalf("%d idle after a sweep of a live connection; want 1", n)
	}
	e.gw.upstream.Sweep(time.Now().Add(time.Hour))
	if n := e.gw.upstream.IdleConns(); n != 0 {
		t.Fatalf("%d idle after the idle timeout; want 0", n)
	}
	if resp, _ := get(t, e.front.Client(), "GET", e.url(), nil); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	e.up.CloseClientConnections() // the instance goes away
	deadline := time.Now().Add(2 * time.Second)
	for e.gw.upstream.Sweep(time.Now()); e.gw.upstream.IdleConns() != 0; e.gw.upstream.Sweep(time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("the closed connection is still pooled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.gw.Run(ctx, time.Millisecond) }()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal(ctx.Err())
	}
}

// TestEventInvokeBody: an event invocation (the InvokeFunction API)
// forwards its body to the instance's /invoke as a POST.
func TestEventInvokeBody(t *testing.T) {
	var seenPath, seenMethod, seenControl, seenBody string
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seenPath, seenMethod, seenControl, seenBody = r.URL.Path, r.Method, r.Header.Get("X-Fc-Control-Path"), string(b)
		io.WriteString(w, "event done")
	}), nil)
	fn := &fc.Function{ServiceName: "svc", FunctionName: "fn", Handler: "index.handler", MemorySize: 128, Timeout: 5}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.gw.Invoke(w, r, "req-event", fn, fc.LATEST)
	}))
	defer api.Close()
	for _, body := range []io.Reader{strings.NewReader(`{"event":"payload"}`), hideLength{strings.NewReader(`{"event":"payload"}`)}} {
		resp, got := get(t, api.Client(), "PUT", api.URL+"/anything", body)
		if resp.StatusCode != 200 || got != "event done" || resp.Header.Get(fc.HeaderRequestID) != "req-event" {
			t.Fatalf("got %d %q %v", resp.StatusCode, got, resp.Header)
		}
		if seenPath != "/invoke" || seenMethod != "POST" || seenControl != "/invoke" || seenBody != `{"event":"payload"}` {
			t.Errorf("the instance saw %s %s control %q body %q", seenMethod, seenPath, seenControl, seenBody)
		}
		if resp.Close {
			t.Errorf("the answer closes the connection")
		}
	}
	e.released(t)
}

// TestSlowPathAndTimeouts: without a free slot the request waits for one
// however long the instance manager lets it (a cold start longer than
// the function's timeout still answers); with a slot, the function's
// timeout cuts a hung function (the connection's deadline) and
// a client that leaves cuts the exchange (499 in the access log); every
// lease is released.
func TestSlowPathAndTimeouts(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "ok")
	}), nil)
	fn, _, _ := e.gw.opts.Catalog.ResolveFunction("svc", fc.LATEST, "fn", 0)
	fn.Timeout = 1

	e.inst.mu.Lock()
	e.inst.noFastPath = true
	e.inst.mu.Unlock()
	if resp, body := get(t, e.front.Client(), "GET", e.url(), nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("through Acquire: %d %q", resp.StatusCode, body)
	}
	// A cold start longer than the function's timeout is not a timeout:
	// the timeout counts from when the call reaches its instance.
	e.inst.mu.Lock()
	e.inst.acquireDelay = 1500 * time.Millisecond
	e.inst.mu.Unlock()
	start := time.Now()
	if resp, body := get(t, e.front.Client(), "GET", e.url(), nil); resp.StatusCode != 200 || body != "ok" || time.Since(start) < 1400*time.Millisecond {
		t.Errorf("after a 1.5 s wait for the instance: %d %q after %v; want 200 ok", resp.StatusCode, body, time.Since(start))
	}
	e.inst.mu.Lock()
	e.inst.noFastPath, e.inst.acquireDelay = false, 0
	e.inst.mu.Unlock()

	start = time.Now()
	resp, body := get(t, e.front.Client(), "GET", e.url()+"hang", nil)
	checkFCError(t, resp, body, http.StatusBadGateway, fc.CodeFunctionTimeout)
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("FunctionTimeout after %v; want about 1 s", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url()+"hang", nil)
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	if _, err := e.front.Client().Do(req); err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	e.released(t)
	waitUntil(t, func() bool { return strings.Contains(e.logs.String(), `"status":499`) }, "a 499 in the access log")
	// The connection the timeout or the client cut is not reused: the
	// next request still works.
	if resp, body := get(t, e.front.Client(), "GET", e.url(), nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("after the cut exchanges: %d %q", resp.StatusCode, body)
	}
}
