package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests speak raw HTTP/1.x to the front door, so that what both
// servers (make test-unit runs the package under each) put on the wire is
// pinned: pipelining, HTTP/1.0, chunked bodies and their trailers,
// 100-continue, bad heads, a client that leaves, a client that trickles.

// rawConn dials the front door.
func rawConn(t *testing.T, e *proxyEnv) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", e.front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

func echoEnv(t *testing.T) *proxyEnv {
	return newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		io.WriteString(w, r.URL.RawQuery+":"+string(b))
	}), nil)
}

// TestWirePipelined: requests sent back to back in one write are all
// answered, in order, on the connection.
func TestWirePipelined(t *testing.T) {
	e := echoEnv(t)
	c, br := rawConn(t, e)
	var req strings.Builder
	for _, q := range []string{"a", "b", "c"} {
		req.WriteString("POST " + fnURL + "?" + q + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n" + q + q)
	}
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"a", "b", "c"} {
		resp, body := readAnswer(t, br, "POST")
		if resp.StatusCode != 200 || body != q+":"+q+q {
			t.Fatalf("answer %s: %d %q", q, resp.StatusCode, body)
		}
	}
	e.released(t)
}

// TestWireHTTP10: an HTTP/1.0 request gets a framed answer and the
// connection closes after it.
func TestWireHTTP10(t *testing.T) {
	e := echoEnv(t)
	c, br := rawConn(t, e)
	io.WriteString(c, "GET "+fnURL+"?old HTTP/1.0\r\nHost: x\r\n\r\n")
	resp, body := readAnswer(t, br, "GET")
	if resp.StatusCode != 200 || body != "old:" {
		t.Fatalf("answer: %d %q", resp.StatusCode, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after an HTTP/1.0 answer the connection should close, read: %v", err)
	}
}

// TestWireChunkedWithTrailer: a chunked body with a trailer section
// reaches the function whole, and the connection carries the next one.
func TestWireChunkedWithTrailer(t *testing.T) {
	e := echoEnv(t)
	c, br := rawConn(t, e)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "POST "+fnURL+"?t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
		resp, body := readAnswer(t, br, "POST")
		if resp.StatusCode != 200 || body != "t:abcde" {
			t.Fatalf("answer %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

// TestWireExpectContinue: 100 Continue goes out when the body is read,
// and not at all for a request refused before (the connection closes,
// the body never having been sent).
func TestWireExpectContinue(t *testing.T) {
	e := echoEnv(t)
	c, br := rawConn(t, e)
	io.WriteString(c, "POST "+fnURL+"?e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, %v: want 100 Continue", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	io.WriteString(c, "body")
	if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != "e:body" {
		t.Fatalf("answer: %d %q", resp.StatusCode, body)
	}

	c2, br2 := rawConn(t, e)
	io.WriteString(c2, "POST /2016-08-15/proxy/svc/missing/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	resp, body := readAnswer(t, br2, "POST")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "FunctionNotFound") {
		t.Fatalf("refused: %d %q", resp.StatusCode, body)
	}
}

// TestWireBadHeads: a head the server cannot parse, or one far past any
// limit, gets a 400 and the connection closes; the server goes on.
func TestWireBadHeads(t *testing.T) {
	e := echoEnv(t)
	for name, head := range map[string]string{
		"garbage":      "NOT HTTP AT ALL\r\n\r\n",
		"bad header":   "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
		"two lengths":  "POST " + fnURL + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"huge head":    "GET " + fnURL + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n",
		"missing host": "GET " + fnURL + " HTTP/1.1\r\n\r\n",
	} {
		c, br := rawConn(t, e)
		go io.WriteString(c, head)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Errorf("%s: status %d, want 4xx", name, resp.StatusCode)
		}
	}
	if resp, body := get(t, e.front.Client(), "GET", e.url()+"?ok", nil); resp.StatusCode != 200 || body != "ok:" {
		t.Fatalf("after the bad heads: %d %q", resp.StatusCode, body)
	}
}

// TestWireClientLeaves: a client that leaves while the function is
// silent cancels the call: the instance sees its request end and the
// lease is released, long before the function would have answered.
func TestWireClientLeaves(t *testing.T) {
	gone := make(chan struct{})
	e := newProxyEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(5 * time.Second):
			io.WriteString(w, "late")
		}
	}), nil)
	c, _ := rawConn(t, e)
	io.WriteString(c, "GET "+fnURL+" HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	left := time.Now()
	c.Close()
	select {
	case <-gone:
	case <-time.After(3 * time.Second):
		t.Fatal("the instance's request was not cancelled after the client left")
	}
	e.released(t)
	if d := time.Since(left); d > 2*time.Second {
		t.Fatalf("the lease came back %v after the client left", d)
	}
}

// TestWireHeaderTimeout: a client trickling its head is cut at the
// header timeout, while others are served.
func TestWireHeaderTimeout(t *testing.T) {
	e := echoEnv(t)
	ln := newFrontOpts(t, e.gw, ServerOptions{FastHTTP1: fastHTTP1(t), HeaderTimeout: 300 * time.Millisecond}).Listener
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	cut := make(chan time.Duration, 1)
	go func() {
		head := "GET " + fnURL + " HTTP/1.1\r\nHost: x\r\n"
		for i := 0; i < len(head); i++ {
			if _, err := c.Write([]byte{head[i]}); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c)
		cut <- time.Since(start)
	}()
	resp, body := get(t, http.DefaultClient, "GET", "http://"+ln.Addr().String()+fnURL+"?meanwhile", nil)
	if resp.StatusCode != 200 || body != "meanwhile:" {
		t.Fatalf("a normal request meanwhile: %d %q", resp.StatusCode, body)
	}
	if d := <-cut; d > 3*time.Second {
		t.Fatalf("the trickling client was kept %v (header timeout 300ms)", d)
	}
}

// TestWireH2CPriorKnowledge: HTTP/2 with prior knowledge on the same
// port is served (the fast server hands it to net/http).
func TestWireH2CPriorKnowledge(t *testing.T) {
	e := echoEnv(t)
	client := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	resp, body := get(t, client, "POST", e.url()+"?h2", strings.NewReader("xy"))
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || body != "h2:xy" {
		t.Fatalf("h2c: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
}

func h2cOnly() *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &p
}

// TestWireAnswerBeforeUnreadBody: an answer given without reading the
// body (here FC's 404) reaches a client that waits for it before it
// sends its body: at once from the fast server; net/http first reads what
// is left of a small body (to keep the connection), so there the answer
// comes once the body is sent.
func TestWireAnswerBeforeUnreadBody(t *testing.T) {
	e := echoEnv(t)
	c, br := rawConn(t, e)
	io.WriteString(c, "POST /2016-08-15/proxy/svc/missing/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := br.Peek(1)
	if fastHTTP1(t) != (err == nil) {
		t.Fatalf("answer before the body (fast server: %v): read %v", fastHTTP1(t), err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "0123456789")
	resp, body := readAnswer(t, br, "POST")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "FunctionNotFound") {
		t.Fatalf("answer: %d %q", resp.StatusCode, body)
	}
}
