package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestH2Target: the instance gets the method, the path and query byte
// for byte (as :path; nothing escaped again or unescaped), Host as
// :authority, over HTTP/2; nothing is added (no User-Agent, no
// Accept-Encoding). A path that cannot go out as it is fails Do.
func TestH2Target(t *testing.T) {
	type seen struct {
		method, uri, host, proto string
		h                        http.Header
	}
	seenc := make(chan seen, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenc <- seen{r.Method, r.RequestURI, r.Host, r.Proto, r.Header.Clone()}
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusAccepted)
	}), nil)
	for _, tc := range []struct{ method, path, query, host string }{
		{"GET", "/a%2Fb/c", "x=1&y=%20", "fn.example:8080"},
		{"POST", "/helloworld.Greeter/SayHello", "", "fn.test"},
		{"PUT", "/a;b=%7b%7D/%41'!$&()*+,=:@~", "q=%2f&&=x&%zz", "fn.test"},
		{"GET", "//double//slash/%2F", "", "fn.test"},
		{"DELETE", "/", "", "[::1]:9000"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := h2Req(tc.method, tc.path)
			req.RawQuery, req.Host = tc.query, tc.host
			resp, _ := send(t, c, b, req)
			s := <-seenc
			want := tc.path
			if tc.query != "" {
				want += "?" + tc.query
			}
			if s.method != tc.method || s.uri != want || s.host != tc.host || s.proto != "HTTP/2.0" {
				t.Errorf("the instance saw %s %q, :authority %q, %s; want %s %q, %q, HTTP/2.0", s.method, s.uri, s.host, s.proto, tc.method, want, tc.host)
			}
			for _, k := range []string{"User-Agent", "Accept-Encoding"} {
				if v, ok := s.h[k]; ok {
					t.Errorf("the instance got %s %q; nobody sent it", k, v)
				}
			}
			if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Answer") != "yes" || resp.ProtoMajor != 2 {
				t.Errorf("got %d HTTP/%d, X-Answer %q; want 202 over HTTP/2, yes", resp.StatusCode, resp.ProtoMajor, resp.Header.Get("X-Answer"))
			}
		})
	}
	resp, err := c.Do(t.Context(), b, h2Req("GET", "//bad%zz"))
	if err == nil {
		resp.Body.Close()
		t.Error("Do with the path //bad%zz succeeded; want an error (it cannot go out as it is)")
	}
	if n := b.dials.Load(); n != 1 {
		t.Errorf("%d dials; want 1", n)
	}
}

// TestH2HeadersAsHTTP1: the same Request, with the same Hooks, gives the
// instance the same headers over HTTP/2 as over HTTP/1.1: hop-by-hop
// ones and the ones Connection names dropped ("Te: trailers" kept), Host,
// Content-Length and Expect from Header dropped, ForwardHeader's refusals
// dropped, AppendHeaders' Header and Lines added, after the forwarded
// values of the same key. ModifyResponse changes the answer.
func TestH2HeadersAsHTTP1(t *testing.T) {
	seen := make(chan http.Header, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("X-From-Instance", "1")
		w.Header().Set("Keep-Alive", "timeout=5") // hop by hop: removed from the answer
		io.WriteString(w, "ok")
	})
	c1, b1, _ := newHTTPTest(t, h)
	c2, b2, _ := newH2Test(t, h, nil)
	mkReq := func() *Request {
		var sawStatus int
		return &Request{Method: "GET", Path: "/", Host: "fn.test",
			Header: http.Header{
				"Connection":          {"keep-alive, X-Conn-Named"},
				"X-Conn-Named":        {"hop"},
				"Keep-Alive":          {"timeout=5"},
				"Proxy-Connection":    {"keep-alive"},
				"Proxy-Authorization": {"Basic eDp5"},
				"Trailer":             {"X-T"},
				"Transfer-Encoding":   {"chunked"},
				"Upgrade":             {"websocket"},
				"Te":                  {"trailers"},
				"Host":                {"evil.example"},
				"Content-Length":      {"99"},
				"Expect":              {"100-continue"},
				"X-Secret":            {"s3cret"},
				"Authorization":       {"Bearer t"},
				"X-Kept":              {"k1", "k2"},
				"X-Forwarded-For":     {"1.2.3.4"},
				"Cookie":              {"a=1; b=2"},
				"Content-Type":        {"application/grpc"},
			},
			Hooks: &testHooks{
				drop:  map[string]bool{"X-Secret": true, "Authorization": true},
				lines: [][2]string{{"X-Added", "by the hook"}, {"X-Forwarded-For", "10.0.0.1"}},
				raw:   "X-Line-A: a\r\nX-Line-B:  b \r\n",
				modify: func(resp *http.Response) error {
					sawStatus = resp.StatusCode
					resp.Header.Set("X-From-Instance", "changed")
					if sawStatus != 200 {
						return fmt.Errorf("status %d", sawStatus)
					}
					return nil
				},
			}}
	}
	req1 := mkReq()
	resp1, body1 := send(t, c1, b1, req1)
	h1 := <-seen
	req2 := mkReq()
	req2.HTTP2 = true
	resp2, body2 := send(t, c2, b2, req2)
	h2 := <-seen
	delete(h1, "Accept-Encoding") // net/http's HTTP/1.1 server adds nothing; both should be absent anyway
	if !equalHeaders(h1, h2) {
		t.Errorf("over HTTP/1.1 the instance got\n%v\nover HTTP/2\n%v", h1, h2)
	}
	for k, want := range map[string][]string{
		"X-Kept": {"k1", "k2"}, "X-Added": {"by the hook"}, "X-Line-A": {"a"}, "X-Line-B": {"b"},
		"X-Forwarded-For": {"1.2.3.4", "10.0.0.1"}, "Te": {"trailers"}, "Cookie": {"a=1; b=2"},
	} {
		if !slices.Equal(h2[k], want) {
			t.Errorf("over HTTP/2 the instance got %s %q; want %q", k, h2[k], want)
		}
	}
	for _, k := range []string{"Connection", "X-Conn-Named", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
		"Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect", "X-Secret", "Authorization"} {
		if v, ok := h2[k]; ok {
			t.Errorf("over HTTP/2 the instance got %s %q", k, v)
		}
	}
	for _, r := range []*http.Response{resp1, resp2} {
		if r.Header.Get("X-From-Instance") != "changed" || r.Header["Keep-Alive"] != nil {
			t.Errorf("HTTP/%d answer headers %v; want ModifyResponse's change and no Keep-Alive", r.ProtoMajor, r.Header)
		}
	}
	if body1 != "ok" || body2 != "ok" {
		t.Errorf("bodies %q and %q; want ok", body1, body2)
	}
}

// equalHeaders compares two headers' keys and values, the framing
// headers HTTP/1.1 and HTTP/2 set differently aside.
func equalHeaders(a, b http.Header) bool {
	clean := func(h http.Header) http.Header {
		h = h.Clone()
		delete(h, "Content-Length")
		return h
	}
	a, b = clean(a), clean(b)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestH2ModifyResponseError: a ModifyResponse error is what Do returns;
// the stream is reset (the instance's request ends), the connection
// stays.
func TestH2ModifyResponseError(t *testing.T) {
	ended := make(chan struct{}, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		ended <- struct{}{}
	}), nil)
	errRefused := errors.New("the answer is refused")
	req := h2Req("GET", "/")
	req.Hooks = &testHooks{modify: func(*http.Response) error { return errRefused }}
	resp, err := c.Do(t.Context(), b, req)
	if !errors.Is(err, errRefused) || resp != nil {
		t.Fatalf("Do: %v, %v; want the hook's error and no response", resp, err)
	}
	recv(t, ended, "the instance to see its stream reset")
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1", n)
	}
}

// TestH2FullDuplex: the instance echoes each piece of a request body
// still being sent, and the client reads each echo before it sends the
// next piece (gRPC bidirectional streaming). The DuplexBody is told
// Sending once, before it is read, and never CancelRead.
func TestH2FullDuplex(t *testing.T) {
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Trailer", "Grpc-Status")
		w.WriteHeader(200)
		rc.Flush()
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				fmt.Fprintf(w, "echo(%s)", buf[:n])
				rc.Flush()
			}
			if err != nil {
				w.Header().Set("Grpc-Status", "0")
				return
			}
		}
	}), nil)
	body := newDuplexBody(0)
	t.Cleanup(body.CancelRead) // frees a Read should the test fail early
	req := h2Req("POST", "/echo.Echo/Bidi")
	req.Body, req.ContentLength, req.Deadline = body, -1, time.Now().Add(10*time.Second)
	resp, err := c.Do(t.Context(), b, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var log []string
	for i := range 4 {
		msg := fmt.Sprintf("message %d", i)
		body.chunks <- []byte(msg) // unbuffered: taken by the sender's Read
		log = append(log, "sent "+msg)
		want := "echo(" + msg + ")"
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != want {
			t.Fatalf("after %q: %q, %v; want %q while the body is still open", log, buf, err, want)
		}
		log = append(log, "got "+string(buf))
	}
	close(body.chunks)
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the body ended: %q, %v; want the end of the answer", rest, err)
	}
	want := []string{"sent message 0", "got echo(message 0)", "sent message 1", "got echo(message 1)",
		"sent message 2", "got echo(message 2)", "sent message 3", "got echo(message 3)"}
	if !slices.Equal(log, want) {
		t.Errorf("events %q; want %q", log, want)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Errorf("trailer Grpc-Status %q; want 0", got)
	}
	resp.Body.Close()
	if s, cr := body.sending.Load(), body.cancels.Load(); s != 1 || cr != 0 || body.readTooEarly.Load() {
		t.Errorf("Sending %d, CancelRead %d, read before Sending %v; want 1, 0, false", s, cr, body.readTooEarly.Load())
	}
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1", n)
	}
}

// TestH2Bodies: a request body of a known length arrives with its
// Content-Length, one of unknown length without; one shorter or longer
// than its ContentLength fails the exchange and the instance never sees
// it whole.
func TestH2Bodies(t *testing.T) {
	type seen struct {
		cl   int64
		body string
		err  error
	}
	seenc := make(chan seen, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		seenc <- seen{r.ContentLength, string(got), err}
		io.WriteString(w, "read")
	}), nil)
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: more than a flow-control window
	for _, tc := range []struct {
		name    string
		body    io.Reader
		length  int64
		wantCL  int64
		wantErr string
	}{
		{"sized", strings.NewReader("hello, instance"), 15, 15, ""},
		{"sized large", strings.NewReader(big), int64(len(big)), int64(len(big)), ""},
		{"unknown length", io.MultiReader(strings.NewReader("hello, "), strings.NewReader("instance")), -1, -1, ""},
		{"shorter", strings.NewReader("short"), 10, 0, "not its Content-Length 10"},
		{"longer", strings.NewReader("longer than said"), 4, 0, "longer than its Content-Length 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := h2Req("POST", "/")
			req.Body, req.ContentLength = tc.body, tc.length
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			resp, err := c.Do(ctx, b, req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("the exchange: %v; want an error saying %q", err, tc.wantErr)
				}
				if s := recv(t, seenc, "the instance's read"); s.err == nil {
					t.Errorf("the instance read %q whole", s.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := recv(t, seenc, "the instance's read")
			if s.err != nil || s.cl != tc.wantCL || (tc.name == "sized large" && s.body != big) {
				t.Errorf("the instance saw ContentLength %d, %d bytes, %v; want %d", s.cl, len(s.body), s.err, tc.wantCL)
			}
		})
	}
	if n := b.dials.Load(); n != 1 {
		t.Errorf("%d dials; want 1 (a failed stream leaves the connection)", n)
	}
}

// TestH2Trailers: the instance's trailers (gRPC's grpc-status and
// grpc-message) are in resp.Trailer after the body's end, the map taken
// right after Do included; a "trailers-only" answer (a head that ends the
// stream) has them in resp.Header and an empty body.
func TestH2Trailers(t *testing.T) {
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if te := r.Header["Te"]; !slices.Equal(te, []string{"trailers"}) {
			t.Errorf("the instance got Te %q; want trailers", te)
		}
		w.Header().Set("Content-Type", "application/grpc")
		if r.URL.Path == "/only" {
			w.Header().Set("Grpc-Status", "5")
			w.Header().Set("Grpc-Message", "not found")
			return
		}
		io.WriteString(w, "\x00\x00\x00\x00\x02hi")
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "3")
		w.Header().Set(http.TrailerPrefix+"Grpc-Message", "bad argument")
	}), nil)
	req := h2Req("POST", "/")
	req.Header = http.Header{"Te": {"trailers"}, "Content-Type": {"application/grpc"}}
	resp, err := c.Do(t.Context(), b, req)
	if err != nil {
		t.Fatal(err)
	}
	kept := resp.Trailer
	if kept == nil || len(kept) != 0 {
		t.Errorf("resp.Trailer before the body %v; want an empty map", kept)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "\x00\x00\x00\x00\x02hi" {
		t.Fatalf("body %q, %v", body, err)
	}
	for _, tr := range []http.Header{resp.Trailer, kept} {
		if tr.Get("Grpc-Status") != "3" || tr.Get("Grpc-Message") != "bad argument" {
			t.Errorf("trailers %v; want Grpc-Status 3, Grpc-Message bad argument", tr)
		}
	}

	req = h2Req("POST", "/only")
	req.Header = http.Header{"Te": {"TRAILERS"}} // forwarded, in the lower case HTTP/2 wants
	resp, body2 := send(t, c, b, req)
	if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "5" || resp.Header.Get("Grpc-Message") != "not found" || body2 != "" {
		t.Errorf("trailers-only: %d, %v, body %q; want 200 with Grpc-Status 5 in the head, no body", resp.StatusCode, resp.Header, body2)
	}
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1", n)
	}
}

// TestH2NotH2C: an instance that speaks HTTP/1.1 only fails Do at once
// with ErrNotH2C, whether it is net/http's server or a bare one answering
// the preface with a 505.
func TestH2NotH2C(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "http/1.1") }))
	t.Cleanup(srv.Close)
	addr, _ := serveRaw(t, func(conn net.Conn, _ int) {
		bufio.NewReader(conn).ReadString('\n')
		io.WriteString(conn, "HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n")
	})
	for _, tc := range []struct{ name, addr string }{{"net/http", srv.Listener.Addr().String()}, {"bare", addr}} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Options{})
			t.Cleanup(c.CloseIdle)
			var err error
			start := time.Now()
			within(t, 10*time.Second, "Do", func() {
				var resp *http.Response
				resp, err = c.Do(t.Context(), &testBackend{id: "h1", addr: tc.addr}, h2Req("POST", "/svc/M"))
				if resp != nil {
					resp.Body.Close()
				}
			})
			if !errors.Is(err, ErrNotH2C) || !strings.Contains(err.Error(), "does not speak HTTP/2 cleartext (h2c)") {
				t.Errorf("Do: %v; want ErrNotH2C", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Do took %v; want a prompt error", d)
			}
			if n := c.IdleConns(); n != 0 {
				t.Errorf("%d idle connections; want 0", n)
			}
		})
	}
}
