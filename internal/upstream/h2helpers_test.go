package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Server is a loopback server speaking HTTP/2 cleartext with prior
// knowledge only, as a gRPC server does, with a count of the connections
// it saw closed.
type h2Server struct {
	*httptest.Server
	closed atomic.Int32
}

// newH2Test starts h on an h2Server (conf: its HTTP/2 settings, nil for
// the defaults) and returns a Client and a Backend for it. At the end of
// the test the Client's idle connections are closed, then the server.
func newH2Test(t *testing.T, h http.Handler, conf *http.HTTP2Config) (*Client, *testBackend, *h2Server) {
	t.Helper()
	srv := &h2Server{Server: httptest.NewUnstartedServer(h)}
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.HTTP2 = conf
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			srv.closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := New(Options{})
	t.Cleanup(c.CloseIdle)
	return c, &testBackend{id: "h2-instance-1", addr: srv.Listener.Addr().String()}, srv
}

// h2Req is a request over HTTP/2.
func h2Req(method, path string) *Request {
	return &Request{Method: method, Path: path, Host: "fn.test", HTTP2: true}
}

// eventually polls cond until it holds, failing the test after a
// generous limit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settledGoroutines waits for the number of goroutines to stop changing
// and returns it.
func settledGoroutines() int {
	n, stable := runtime.NumGoroutine(), 0
	for stable < 10 {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			stable++
		} else {
			n, stable = m, 0
		}
	}
	return n
}

// noMoreGoroutines fails the test, with every goroutine's stack, unless
// the number of goroutines falls to at most max within a generous limit.
func noMoreGoroutines(t *testing.T, max int, after string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > max {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("after %s: %d goroutines; want at most %d:\n%s", after, runtime.NumGoroutine(), max, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// h2RawConn is one connection of a hand-written HTTP/2 server (for
// frames net/http would not send, or a server with odd timing).
type h2RawConn struct {
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	n    int // the connection's number, from 1
}

// headers writes a HEADERS frame for stream id with the fields kv (name,
// value pairs, :status first), ending the stream when end is set.
func (c *h2RawConn) headers(id uint32, end bool, kv ...string) {
	c.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndHeaders: true, EndStream: end})
}

// newH2RawTest is newRawTest for an HTTP/2 server: each connection
// reads the client preface, waits settingsDelay, sends its SETTINGS
// (settings), acknowledges the client's SETTINGS and PINGs, and hands
// every other frame (headers as *http2.MetaHeadersFrame) to handle.
func newH2RawTest(t *testing.T, settingsDelay time.Duration, settings []http2.Setting, handle func(c *h2RawConn, f http2.Frame)) (*Client, *testBackend) {
	t.Helper()
	c, b, _ := newRawTest(t, func(conn net.Conn, n int) {
		br := bufio.NewReader(conn)
		if _, err := io.ReadFull(br, make([]byte, len(http2.ClientPreface))); err != nil {
			return
		}
		rc := &h2RawConn{fr: http2.NewFramer(conn, br), n: n}
		rc.enc = hpack.NewEncoder(&rc.hbuf)
		rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		time.Sleep(settingsDelay)
		rc.fr.WriteSettings(settings...)
		for {
			f, err := rc.fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					rc.fr.WriteSettingsAck()
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					rc.fr.WritePing(true, f.Data)
				}
			default:
				handle(rc, f)
			}
		}
	})
	b.id = "h2-raw-1"
	return c, b
}
