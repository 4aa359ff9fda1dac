package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// FuzzFastServer feeds arbitrary bytes to the fast server as one client
// connection: whatever it makes of them, it answers with HTTP/1.x or
// says nothing, ends the connection in time, never panics, and serves
// the next client.
func FuzzFastServer(f *testing.F) {
	for _, seed := range []string{
		"GET /2016-08-15/proxy/svc/fn/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /2016-08-15/proxy/svc/fn/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n",
		"POST /2016-08-15/proxy/svc/fn/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
		"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET http://x/2016-08-15/proxy/svc/fn/?a=b HTTP/1.1\r\nHost: z\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"POST /2016-08-15/proxy/svc/fn/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	gw, _ := warmGateway(f)
	addr := newFrontOpts(f, gw, ServerOptions{FastHTTP1: true, HeaderTimeout: time.Second}).Listener.Addr().String()
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			_, _ = c.Write(in)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("reading the answer to %q (the server must end the connection in time): %v", in, err)
		}
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) && !bytes.HasPrefix(out, []byte("HTTP/1.0 ")) &&
			!bytes.HasPrefix(in, []byte("PRI")) {
			t.Fatalf("answer to %q is not HTTP/1.x: %q", in, out)
		}
		checkServes(t, addr)
	})
}

// checkServes makes one good call through the server at addr.
func checkServes(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /2016-08-15/proxy/svc/fn/ok HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the server stopped serving: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the server answers a good call with %d", resp.StatusCode)
	}
}
