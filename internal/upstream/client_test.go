package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGet: the request line and Host are as given (path and query byte
// for byte), the answer's status, headers and body come back.
func TestGet(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.RequestURI, r.Host)
	}))
	resp, body := send(t, c, b, &Request{Method: "GET", Path: "/a%2Fb/c", RawQuery: "x=1&y=%20", Host: "fn.example:8080"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Answer") != "yes" {
		t.Errorf("got %d, X-Answer %q; want 202 and yes", resp.StatusCode, resp.Header.Get("X-Answer"))
	}
	if want := "GET /a%2Fb/c?x=1&y=%20 fn.example:8080"; body != want {
		t.Errorf("the instance saw %q; want %q", body, want)
	}
}

// TestPostBody: a body of a known length goes out with Content-Length, one
// of unknown length chunked, a bodiless POST as "Content-Length: 0"; the
// instance echoes it whole.
func TestPostBody(t *testing.T) {
	type seen struct {
		cl      int64
		te      []string
		clField []string
	}
	seenc := make(chan seen, 16) // room for every request, should a subtest fail before taking its own
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenc <- seen{r.ContentLength, r.TransferEncoding, r.Header["Content-Length"]}
		// Without full duplex, net/http discards up to 256 KB of a body
		// still unread when the answer's head goes out.
		http.NewResponseController(w).EnableFullDuplex()
		io.Copy(w, r.Body)
	}))
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: more than any buffer
	for _, tc := range []struct {
		name    string
		body    io.Reader
		length  int64
		want    string
		wantCL  int64
		chunked bool
	}{
		{"sized", strings.NewReader("hello, instance"), 15, "hello, instance", 15, false},
		{"sized large", strings.NewReader(big), int64(len(big)), big, int64(len(big)), false},
		{"sized empty", strings.NewReader(""), 0, "", 0, false},
		{"chunked", io.MultiReader(strings.NewReader("hello, "), strings.NewReader("instance")), -1, "hello, instance", -1, true},
		{"chunked large", io.MultiReader(strings.NewReader(big), strings.NewReader("!")), -1, big + "!", -1, true},
		{"chunked empty", strings.NewReader(""), -1, "", -1, true},
		{"none", nil, 0, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, c, b, &Request{Method: "POST", Path: "/echo", Host: "fn.test", Body: tc.body, ContentLength: tc.length})
			s := <-seenc
			if resp.StatusCode != 200 || body != tc.want {
				t.Errorf("got %d with %d bytes; want 200 with the %d bytes sent", resp.StatusCode, len(body), len(tc.want))
			}
			if s.cl != tc.wantCL || (len(s.te) == 1 && s.te[0] == "chunked") != tc.chunked {
				t.Errorf("the instance saw ContentLength %d, Transfer-Encoding %q; want %d, chunked %v", s.cl, s.te, tc.wantCL, tc.chunked)
			}
			if !tc.chunked && !slices.Equal(s.clField, []string{strconv.FormatInt(tc.wantCL, 10)}) {
				t.Errorf("the instance saw Content-Length %q; want %d", s.clField, tc.wantCL)
			}
		})
	}
	if n := b.dials.Load(); n != 1 {
		t.Errorf("%d dials for the POSTs one after the other; want 1", n)
	}
}

// TestConnectionReuse: requests one after the other share one connection,
// which is idle in the pool after them, over HTTP/1.1 and over h2c.
func TestConnectionReuse(t *testing.T) {
	remoteAddr := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	})
	for _, proto := range []string{"HTTP/1.1", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			var c *Client
			var b *testBackend
			req := &Request{Method: "GET", Path: "/", Host: "instance"}
			if proto == "h2c" {
				c, b, _ = newH2Test(t, remoteAddr, nil)
				req = h2Req("GET", "/")
			} else {
				c, b, _ = newHTTPTest(t, remoteAddr)
			}
			var first string
			for i := range 5 {
				_, addr := send(t, c, b, req)
				if i == 0 {
					first = addr
				} else if addr != first {
					t.Errorf("request %d came from %s; want the first connection's %s", i, addr, first)
				}
				if n := c.IdleConns(); n != 1 {
					t.Errorf("after request %d: %d idle connections; want 1", i, n)
				}
			}
			if n := b.dials.Load(); n != 1 {
				t.Errorf("%d dials; want 1", n)
			}
		})
	}
}

// TestBodilessAnswers: the answers to HEAD (Content-Length announced, no
// body) and 204 read as empty, and their connection is reused (peeked
// first, since a careless server might still write a body).
func TestBodilessAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		status       int
		wantLength   int64
	}{
		{"HEAD", http.MethodHead, 200, 5},
		{"204", http.MethodGet, http.StatusNoContent, 0},
		{"304", http.MethodGet, http.StatusNotModified, 0},
		{"Content-Length 0", http.MethodGet, http.StatusOK, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/next" {
					io.WriteString(w, "next")
					return
				}
				if tc.wantLength > 0 {
					w.Header().Set("Content-Length", strconv.FormatInt(tc.wantLength, 10))
				} else if tc.status == http.StatusOK {
					w.Header().Set("Content-Length", "0")
				}
				w.WriteHeader(tc.status)
				if tc.method == http.MethodHead {
					io.WriteString(w, "hello") // net/http does not send it
				}
			}))
			resp, body := send(t, c, b, &Request{Method: tc.method, Path: "/", Host: "fn.test"})
			if resp.StatusCode != tc.status || resp.ContentLength != tc.wantLength || body != "" {
				t.Errorf("got %d, ContentLength %d, body %q; want %d, %d, none", resp.StatusCode, resp.ContentLength, body, tc.status, tc.wantLength)
			}
			if n := c.IdleConns(); n != 1 {
				t.Errorf("%d idle connections after the answer; want 1", n)
			}
			if _, body := get(t, c, b, "/next"); body != "next" {
				t.Errorf("the next answer is %q; want next", body)
			}
			if n := b.dials.Load(); n != 1 {
				t.Errorf("%d dials; want 1 (the connection reused)", n)
			}
		})
	}
}

// TestTrailers: a trailer the instance sets is in resp.Trailer once the
// body has been read to its end; the Trailer header itself (hop by hop)
// is not in resp.Header.
func TestTrailers(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "payload")
		w.Header().Set("X-Checksum", "abc123")
	}))
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test", Header: http.Header{"Te": {"trailers"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, announced := resp.Trailer["X-Checksum"]; !announced || resp.Trailer.Get("X-Checksum") != "" {
		t.Errorf("before the body: Trailer %v; want X-Checksum announced, without a value", resp.Trailer)
	}
	if v := resp.Header["Trailer"]; v != nil {
		t.Errorf("resp.Header has Trailer %q; want it removed (hop by hop)", v)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "payload" {
		t.Fatalf("body %q, %v", body, err)
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "abc123" {
		t.Errorf("after the body: trailer X-Checksum %q; want abc123", got)
	}
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1", n)
	}
}

// TestStreamedResponse: each piece the instance flushes can be read before
// the instance writes the next one (it waits for the test's go-ahead).
func TestStreamedResponse(t *testing.T) {
	pieces := []string{"first piece|", "second|", "and the third"}
	next := make(chan struct{})
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.WriteHeader(200)
		rc.Flush()
		for _, p := range pieces {
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, p)
			rc.Flush()
		}
	}))
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test", Deadline: time.Now().Add(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength %d; want -1 (streamed)", resp.ContentLength)
	}
	for i, p := range pieces {
		next <- struct{}{}
		buf := make([]byte, len(p))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != p {
			t.Fatalf("piece %d: %q, %v; want %q (the instance waits for it to be read)", i, buf, err, p)
		}
	}
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the pieces: %q, %v; want the end", rest, err)
	}
}

// TestFullDuplex: the instance echoes each piece of a request body that
// is still being written (through an io.Pipe) before the body ends.
func TestFullDuplex(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Error(err)
		}
		w.WriteHeader(200)
		rc.Flush()
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	pr, pw := io.Pipe()
	resp, err := c.Do(t.Context(), b, &Request{Method: "POST", Path: "/", Host: "fn.test", Body: pr, ContentLength: -1,
		Deadline: time.Now().Add(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // on a failure too: the body ends, so Close can join its writer
		pw.Close()
		resp.Body.Close()
	}()
	for i := range 3 {
		msg := fmt.Sprintf("message %d;", i)
		if _, err := io.WriteString(pw, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %d: %q, %v; want %q while the body is still open", i, buf, err, msg)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("after the body ended: %q, %v; want the end of the answer", rest, err)
	}
	resp.Body.Close()
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1 (the exchange completed both ways)", n)
	}
}

// TestEarlyAnswer: the instance answers without reading a body that
// never ends. Do returns the answer; Close returns promptly, having told
// the body (a DuplexBody) to stop, and the connection is not reused.
func TestEarlyAnswer(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "early")
	}))
	body := newDuplexBody(1)
	body.chunks <- []byte("the start of an endless body") // then Read blocks
	t.Cleanup(body.CancelRead)                            // after the checks: frees the writer if Close did not
	resp, err := c.Do(t.Context(), b, &Request{Method: "POST", Path: "/", Host: "fn.test", Body: body, ContentLength: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(resp.Body); err != nil || string(got) != "early" {
		t.Fatalf("answer %q, %v; want early", got, err)
	}
	within(t, 5*time.Second, "Close with the body still being sent", func() { resp.Body.Close() })
	select {
	case <-body.readsFinished:
	default:
		t.Error("Close returned while the body writer was still reading the body")
	}
	if n := body.sending.Load(); n != 1 {
		t.Errorf("Sending called %d times; want 1", n)
	}
	if body.readTooEarly.Load() {
		t.Error("the body was read before Sending")
	}
	if n := body.cancels.Load(); n != 1 {
		t.Errorf("CancelRead called %d times; want 1", n)
	}
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0 (the body was cut)", n)
	}
}

// TestDuplexBodySent: a DuplexBody sent whole is told Sending once and
// never CancelRead; the connection is reused.
func TestDuplexBodySent(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) }))
	body := newDuplexBody(2)
	body.chunks <- []byte("one,")
	body.chunks <- []byte("two")
	close(body.chunks)
	if _, got := send(t, c, b, &Request{Method: "PUT", Path: "/", Host: "fn.test", Body: body, ContentLength: 7}); got != "one,two" {
		t.Errorf("echo %q; want one,two", got)
	}
	if s, cr := body.sending.Load(), body.cancels.Load(); s != 1 || cr != 0 || body.readTooEarly.Load() {
		t.Errorf("Sending %d, CancelRead %d, read before Sending %v; want 1, 0, false", s, cr, body.readTooEarly.Load())
	}
	if n := c.IdleConns(); n != 1 {
		t.Errorf("%d idle connections; want 1", n)
	}
}

// TestHooks: ForwardHeader filters the incoming headers, AppendHeaders
// adds lines, ModifyResponse changes the answer's head.
func TestHooks(t *testing.T) {
	seen := make(chan http.Header, 1)
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("X-From-Instance", "1")
		io.WriteString(w, "ok")
	}))
	var sawStatus int
	hooks := &testHooks{
		drop:  map[string]bool{"X-Secret": true, "Authorization": true},
		lines: [][2]string{{"X-Added", "by the hook"}, {"X-Forwarded-For", "10.0.0.1"}},
		raw:   "X-Line-A: a\r\nX-Line-B: b\r\n",
		modify: func(resp *http.Response) error {
			sawStatus = resp.StatusCode
			resp.Header.Set("X-From-Instance", "changed")
			resp.Header.Set("X-Modified", "yes")
			return nil
		},
	}
	in := http.Header{
		"X-Secret":        {"s3cret"},
		"Authorization":   {"Bearer t"},
		"X-Kept":          {"k1", "k2"},
		"X-Forwarded-For": {"1.2.3.4"}, // forwarded, and the hook adds its own
	}
	resp, body := send(t, c, b, &Request{Method: "GET", Path: "/", Host: "fn.test", Header: in, Hooks: hooks})
	h := <-seen
	for _, k := range []string{"X-Secret", "Authorization"} {
		if v, ok := h[k]; ok {
			t.Errorf("the instance got %s %q; ForwardHeader refused it", k, v)
		}
	}
	for k, want := range map[string][]string{
		"X-Kept": {"k1", "k2"}, "X-Added": {"by the hook"}, "X-Line-A": {"a"}, "X-Line-B": {"b"},
		"X-Forwarded-For": {"1.2.3.4", "10.0.0.1"},
	} {
		if !slices.Equal(h[k], want) {
			t.Errorf("the instance got %s %q; want %q", k, h[k], want)
		}
	}
	if sawStatus != 200 || body != "ok" {
		t.Errorf("ModifyResponse saw %d, body %q; want 200, ok", sawStatus, body)
	}
	if resp.Header.Get("X-From-Instance") != "changed" || resp.Header.Get("X-Modified") != "yes" {
		t.Errorf("answer headers %v; want ModifyResponse's changes", resp.Header)
	}
	if !slices.Equal(in["X-Secret"], []string{"s3cret"}) || len(in) != 4 {
		t.Errorf("Request.Header was modified: %v", in)
	}
}

// TestModifyResponseError: a ModifyResponse error is what Do returns, and
// the connection is closed, not pooled.
func TestModifyResponseError(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "refused") }))
	errRefused := errors.New("the answer is refused")
	hooks := &testHooks{modify: func(*http.Response) error { return errRefused }}
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test", Hooks: hooks})
	if !errors.Is(err, errRefused) || resp != nil {
		t.Fatalf("Do: %v, %v; want the hook's error and no response", resp, err)
	}
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0", n)
	}
	get(t, c, b, "/")
	if n := b.dials.Load(); n != 2 {
		t.Errorf("%d dials; want 2 (the refused answer's connection was closed)", n)
	}
}

// TestHopByHopRequestHeaders: hop-by-hop headers and the ones Connection
// names never reach the instance, nor do Host, Content-Length and Expect
// from Header; "Te: trailers" does.
func TestHopByHopRequestHeaders(t *testing.T) {
	type seen struct {
		h    http.Header
		host string
		te   []string
	}
	seenc := make(chan seen, 1)
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenc <- seen{r.Header.Clone(), r.Host, r.TransferEncoding}
	}))
	in := http.Header{
		"Connection":          {"keep-alive, X-Conn-Named", "x-second-named"},
		"X-Conn-Named":        {"hop"},
		"X-Second-Named":      {"hop"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Connection":    {"keep-alive"},
		"Proxy-Authorization": {"Basic eDp5"},
		"Proxy-Authenticate":  {"Basic"},
		"Trailer":             {"X-T"},
		"Transfer-Encoding":   {"chunked"},
		"Upgrade":             {"h2c"}, // Connection does not name upgrade: no upgrade
		"Te":                  {"trailers"},
		"Host":                {"evil.example"},
		"Content-Length":      {"99"},
		"Expect":              {"100-continue"},
		"X-End-To-End":        {"kept"},
	}
	send(t, c, b, &Request{Method: "GET", Path: "/", Host: "fn.test", Header: in})
	s := <-seenc
	for _, k := range []string{"Connection", "X-Conn-Named", "X-Second-Named", "Keep-Alive", "Proxy-Connection",
		"Proxy-Authorization", "Proxy-Authenticate", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect"} {
		if v, ok := s.h[k]; ok {
			t.Errorf("the instance got %s %q", k, v)
		}
	}
	if s.te != nil {
		t.Errorf("the instance saw Transfer-Encoding %q", s.te)
	}
	if s.host != "fn.test" {
		t.Errorf("the instance saw Host %q; want fn.test", s.host)
	}
	if !slices.Equal(s.h["Te"], []string{"trailers"}) || !slices.Equal(s.h["X-End-To-End"], []string{"kept"}) {
		t.Errorf("the instance got Te %q, X-End-To-End %q; want trailers and kept", s.h["Te"], s.h["X-End-To-End"])
	}
}

// TestHopByHopResponseHeaders: the answer's hop-by-hop headers (and the
// ones its Connection header names) are removed; end-to-end ones stay.
func TestHopByHopResponseHeaders(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Conn-Named")
		h.Set("X-Conn-Named", "hop")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Connection", "keep-alive")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Upgrade", "h2c")
		h.Set("Te", "trailers")
		h.Set("X-End-To-End", "kept")
		io.WriteString(w, "ok")
	}))
	resp, body := get(t, c, b, "/")
	for _, k := range []string{"Connection", "X-Conn-Named", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Upgrade", "Te"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("the answer has %s %q", k, v)
		}
	}
	if resp.Header.Get("X-End-To-End") != "kept" || body != "ok" {
		t.Errorf("X-End-To-End %q, body %q; want kept, ok", resp.Header.Get("X-End-To-End"), body)
	}
}

// TestConnectionCloseAnswer: an answer marked "Connection: close" does not
// leave its connection in the pool.
func TestConnectionCloseAnswer(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	for range 2 {
		if _, body := get(t, c, b, "/"); body != "bye" {
			t.Errorf("body %q", body)
		}
		if n := c.IdleConns(); n != 0 {
			t.Errorf("%d idle connections; want 0", n)
		}
	}
	if n := b.dials.Load(); n != 2 {
		t.Errorf("%d dials; want 2", n)
	}
}

// TestBodyClosedEarly: a body closed before its end closes the connection.
func TestBodyClosedEarly(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 1<<20))
	}))
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := resp.Body.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0", n)
	}
	get(t, c, b, "/")
	if n := b.dials.Load(); n != 2 {
		t.Errorf("%d dials; want 2", n)
	}
}

// TestContextCanceled: a cancelled ctx cuts the exchange, waiting for the
// head or reading the body; the error says why.
func TestContextCanceled(t *testing.T) {
	arrived := make(chan string, 1)
	ended := make(chan struct{}) // closed when the test ends, before the server is
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.WriteHeader(200)
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
		}
		arrived <- r.URL.Path
		select { // hangs until the connection is closed
		case <-r.Context().Done():
		case <-ended:
		}
	}))
	t.Cleanup(func() { close(ended) })
	t.Run("waiting for the head", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Do(ctx, b, &Request{Method: "GET", Path: "/head", Host: "fn.test"})
			if resp != nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		recv(t, arrived, "the request")
		cancel()
		if err := recv(t, errc, "Do"); !errors.Is(err, context.Canceled) {
			t.Errorf("Do: %v; want context.Canceled", err)
		}
	})
	t.Run("reading the body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		resp, err := c.Do(ctx, b, &Request{Method: "GET", Path: "/body", Host: "fn.test"})
		if err != nil {
			t.Fatal(err)
		}
		recv(t, arrived, "the request")
		buf := make([]byte, len("partial"))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		var rerr error
		within(t, 10*time.Second, "a body read after cancel", func() { _, rerr = resp.Body.Read(buf) })
		if rerr == nil || rerr == io.EOF {
			t.Errorf("Read after cancel: %v; want an error", rerr)
		}
		resp.Body.Close()
	})
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0", n)
	}
}

// TestDeadline: Request.Deadline bounds the exchange: passed, Do fails
// before sending; near, Do fails when it passes while the instance hangs,
// or the body read does. (A deadline passing while a body is sent is in
// TestBodyWriterError.)
func TestDeadline(t *testing.T) {
	var requests atomic.Int32
	ended := make(chan struct{}) // closed when the test ends, before the server is
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/body" {
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
		}
		select { // hangs until the connection is closed
		case <-r.Context().Done():
		case <-ended:
		}
	}))
	t.Cleanup(func() { close(ended) })
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	}
	t.Run("passed", func(t *testing.T) {
		var err error
		within(t, 10*time.Second, "Do", func() {
			_, err = c.Do(t.Context(), b, &Request{Method: "GET", Path: "/head", Host: "fn.test", Deadline: time.Now().Add(-time.Second)})
		})
		if !isTimeout(err) {
			t.Errorf("Do: %v; want a deadline error", err)
		}
	})
	if n := requests.Load(); n != 0 {
		t.Errorf("the instance got %d requests past their deadline", n)
	}
	t.Run("near, waiting for the head", func(t *testing.T) {
		var err error
		within(t, 10*time.Second, "Do", func() {
			_, err = c.Do(t.Context(), b, &Request{Method: "GET", Path: "/head", Host: "fn.test", Deadline: time.Now().Add(50 * time.Millisecond)})
		})
		if !isTimeout(err) {
			t.Errorf("Do: %v; want a deadline error", err)
		}
	})
	t.Run("near, reading the body", func(t *testing.T) {
		resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/body", Host: "fn.test", Deadline: time.Now().Add(200 * time.Millisecond)})
		if isTimeout(err) {
			return // a machine so slow that the head took longer: the deadline held all the same
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		within(t, 10*time.Second, "reading the body", func() { _, err = io.ReadAll(resp.Body) })
		if !isTimeout(err) {
			t.Errorf("reading the body: %v; want a deadline error", err)
		}
	})
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0", n)
	}
}

// TestSweep: Sweep closes connections idle past the idle timeout and the
// ones the instance closed; live ones stay.
func TestSweep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int // a 204 is peeked before reuse; a framed answer may skip it
	}{
		{"after a 200 with a body", 200},
		{"after a 204", http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, srv := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				if tc.status == 200 {
					io.WriteString(w, "ok")
				}
			}))
			get(t, c, b, "/")
			c.Sweep(time.Now())
			if n := c.IdleConns(); n != 1 {
				t.Fatalf("%d idle after sweeping a live connection; want 1", n)
			}
			c.Sweep(time.Now().Add(time.Hour))
			if n := c.IdleConns(); n != 0 {
				t.Fatalf("%d idle after sweeping past the idle timeout; want 0", n)
			}
			get(t, c, b, "/")
			srv.CloseClientConnections() // the instance goes away
			c.Sweep(time.Now())
			if n := c.IdleConns(); n != 0 {
				t.Errorf("%d idle after sweeping a connection the instance closed; want 0", n)
			}
		})
	}
}

// TestRun: Run returns once its ctx ends, closing the idle connections.
func TestRun(t *testing.T) {
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	get(t, c, b, "/")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, time.Hour) }()
	cancel()
	recv(t, done, "Run to return")
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections after Run; want 0", n)
	}
}

// TestInstancesKeptApart: two instances behind one address (as every
// instance listens on the same port in its own namespace) never share a
// connection.
func TestInstancesKeptApart(t *testing.T) {
	c, b1, srv := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) }))
	b2 := &testBackend{id: "instance-2", addr: srv.Listener.Addr().String()}
	from := map[Backend]string{}
	for range 3 {
		for _, b := range []*testBackend{b1, b2} {
			_, addr := get(t, c, b, "/")
			if from[b] == "" {
				from[b] = addr
			} else if from[b] != addr {
				t.Errorf("%s: a request came from %s; want its own connection %s", b.id, addr, from[b])
			}
		}
	}
	if from[b1] == from[b2] {
		t.Errorf("both instances used the connection from %s", from[b1])
	}
	if d1, d2, n := b1.dials.Load(), b2.dials.Load(), c.IdleConns(); d1 != 1 || d2 != 1 || n != 2 {
		t.Errorf("dials %d and %d, %d idle; want 1, 1, 2", d1, d2, n)
	}
}

// TestMaxIdlePerInstance: connections beyond the cap are closed when
// they come back.
func TestMaxIdlePerInstance(t *testing.T) {
	srvc, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srvc.CloseIdle()
	c := New(Options{MaxIdlePerInstance: 2})
	t.Cleanup(c.CloseIdle)
	var open []*http.Response
	for range 3 {
		resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test"})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, resp)
	}
	for _, resp := range open {
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if d, n := b.dials.Load(), c.IdleConns(); d != 3 || n != 2 {
		t.Errorf("%d dials, %d idle; want 3 (all in use at once), 2 (the cap)", d, n)
	}
}

// TestUpgrade: a 101 to the protocol asked for comes back as a tunnel
// carrying bytes both ways; ModifyResponse sees it.
func TestUpgrade(t *testing.T) {
	var handlers sync.WaitGroup
	t.Cleanup(handlers.Wait)
	seen := make(chan http.Header, 1)
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		seen <- r.Header.Clone()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Tunnel: yes\r\nKeep-Alive: timeout=5\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo until the client closes
	}))
	var modified int
	hooks := &testHooks{modify: func(resp *http.Response) error { modified = resp.StatusCode; return nil }}
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/ws", Host: "fn.test", Hooks: hooks,
		Header: http.Header{"Connection": {"keep-alive, Upgrade"}, "Upgrade": {"echo"}}, Deadline: time.Now().Add(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	h := <-seen
	if !slices.Equal(h["Connection"], []string{"Upgrade"}) || !slices.Equal(h["Upgrade"], []string{"echo"}) {
		t.Errorf("the instance got Connection %q, Upgrade %q; want Upgrade, echo", h["Connection"], h["Upgrade"])
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || modified != http.StatusSwitchingProtocols {
		t.Errorf("status %d, ModifyResponse saw %d; want 101", resp.StatusCode, modified)
	}
	if got := resp.Header; !slices.Equal(got["Connection"], []string{"Upgrade"}) || !slices.Equal(got["Upgrade"], []string{"echo"}) ||
		got.Get("X-Tunnel") != "yes" || got["Keep-Alive"] != nil {
		t.Errorf("101 headers %v; want Connection: Upgrade, Upgrade: echo, X-Tunnel, no Keep-Alive", got)
	}
	tun, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("resp.Body is a %T; want an io.ReadWriteCloser", resp.Body)
	}
	for _, msg := range []string{"ping", "a longer message through the tunnel"} {
		if _, err := io.WriteString(tun, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v; want %q", buf, err, msg)
		}
	}
	if err := tun.Close(); err != nil {
		t.Error(err)
	}
	tun.Close() // twice is fine
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections after the tunnel; want 0", n)
	}
}

// TestUpgradeMismatch: a 101 nobody asked for, or to another protocol,
// is ErrUpgradeMismatch, and its connection is closed.
func TestUpgradeMismatch(t *testing.T) {
	var handlers sync.WaitGroup
	t.Cleanup(handlers.Wait)
	closed := make(chan bool, 1)
	c, b, _ := newHTTPTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + r.URL.Query().Get("to") + "\r\n\r\n")
		brw.Flush()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		closed <- waitClosed(conn)
	}))
	for _, tc := range []struct {
		name string
		h    http.Header
		to   string
	}{
		{"none asked", nil, "echo"},
		{"Upgrade without Connection: Upgrade", http.Header{"Upgrade": {"echo"}}, "echo"},
		{"another protocol", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}, "echo"},
		{"no protocol", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"echo"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", RawQuery: "to=" + tc.to, Host: "fn.test", Header: tc.h})
			if !errors.Is(err, ErrUpgradeMismatch) || resp != nil {
				t.Errorf("Do: %v, %v; want ErrUpgradeMismatch", resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if !recv(t, closed, "the instance to see the connection end") {
				t.Error("the connection was not closed")
			}
		})
	}
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle connections; want 0", n)
	}
}

// TestWriteHead: the head as an instance gets it, byte for byte (header
// order aside): the request line, Host, the framing, the upgrade, the
// hook's lines last.
func TestWriteHead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   Request
		lines []string // after the request line and Host, in any order
		last  []string // at the end, in this order
	}{
		{"GET", Request{Method: "GET", Path: "/p", RawQuery: "q=1", Host: "h"}, nil, nil},
		{"POST without a body", Request{Method: "POST", Path: "/", Host: "h"}, []string{"Content-Length: 0"}, nil},
		{"PUT without a body", Request{Method: "PUT", Path: "/", Host: "h"}, []string{"Content-Length: 0"}, nil},
		{"PATCH without a body", Request{Method: "PATCH", Path: "/", Host: "h"}, []string{"Content-Length: 0"}, nil},
		{"DELETE without a body", Request{Method: "DELETE", Path: "/", Host: "h"}, nil, nil},
		{"sized body", Request{Method: "POST", Path: "/", Host: "h", Body: strings.NewReader("abc"), ContentLength: 3}, []string{"Content-Length: 3"}, nil},
		{"empty sized body", Request{Method: "POST", Path: "/", Host: "h", Body: strings.NewReader(""), ContentLength: 0}, []string{"Content-Length: 0"}, nil},
		{"unknown length", Request{Method: "POST", Path: "/", Host: "h", Body: strings.NewReader("abc"), ContentLength: -1}, []string{"Transfer-Encoding: chunked"}, nil},
		{"incoming framing ignored", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{
			"Content-Length": {"5"}, "Transfer-Encoding": {"chunked"}, "Expect": {"100-continue"}, "Host": {"x"}}}, nil, nil},
		{"Te: trailers", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{"Te": {"trailers"}}}, []string{"Te: trailers"}, nil},
		{"Te: TRAILERS", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{"Te": {"TRAILERS"}}}, []string{"Te: TRAILERS"}, nil},
		{"Te: gzip", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{"Te": {"gzip"}}}, nil, nil},
		{"Te: trailers, gzip", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{"Te": {"trailers", "gzip"}}}, nil, nil},
		{"Connection-named", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{
			"Connection": {" x-a ,X-B", "close"}, "X-A": {"1"}, "X-B": {"2"}, "X-C": {"3"}}}, []string{"X-C: 3"}, nil},
		{"upgrade", Request{Method: "GET", Path: "/", Host: "h", Header: http.Header{
			"Connection": {"keep-alive, upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Key": {"k"}}},
			[]string{"Connection: Upgrade", "Upgrade: websocket", "Sec-Websocket-Key: k"}, nil},
		{"hooks", Request{Method: "POST", Path: "/", Host: "h", Header: http.Header{"X-Drop": {"d"}, "X-Keep": {"k"}},
			Hooks: &testHooks{drop: map[string]bool{"X-Drop": true}, lines: [][2]string{{"X-Hook", "1"}}, raw: "X-Raw: 2\r\n"}},
			[]string{"X-Keep: k"}, []string{"Content-Length: 0", "X-Hook: 1", "X-Raw: 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			WriteHead(bw, &tc.req)
			bw.Flush()
			head, ok := strings.CutSuffix(buf.String(), "\r\n\r\n")
			if !ok {
				t.Fatalf("the head %q does not end in an empty line", buf.String())
			}
			lines := strings.Split(head, "\r\n")
			target := tc.req.Path
			if tc.req.RawQuery != "" {
				target += "?" + tc.req.RawQuery
			}
			if want := tc.req.Method + " " + target + " HTTP/1.1"; lines[0] != want {
				t.Errorf("request line %q; want %q", lines[0], want)
			}
			if want := "Host: " + tc.req.Host; len(lines) < 2 || lines[1] != want {
				t.Fatalf("second line %q; want %q", lines[1:], want)
			}
			rest := lines[2:]
			if n := len(tc.last); n > 0 {
				if len(rest) < n || !slices.Equal(rest[len(rest)-n:], tc.last) {
					t.Errorf("the head ends with %q; want %q", rest, tc.last)
				} else {
					rest = rest[:len(rest)-n]
				}
			}
			got, want := slices.Sorted(slices.Values(rest)), slices.Sorted(slices.Values(tc.lines))
			if !slices.Equal(got, want) {
				t.Errorf("header lines %q; want %q", got, want)
			}
		})
	}
}

// TestGetBuffer: the client lends 32 KB buffers and takes them back.
func TestGetBuffer(t *testing.T) {
	c := New(Options{})
	bp := c.GetBuffer()
	if len(*bp) != 32<<10 {
		t.Errorf("a buffer of %d bytes; want 32 KiB", len(*bp))
	}
	c.PutBuffer(bp)
	if bp2 := c.GetBuffer(); len(*bp2) != 32<<10 {
		t.Errorf("a buffer of %d bytes; want 32 KiB", len(*bp2))
	}
}
