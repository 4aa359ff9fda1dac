package wsrelay

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The tests run client ↔ [front: handshake forwarded, then Relay] ↔
// instance over loopback TCP, the way the gateway does it: the front
// reads the upgrade request and the instance's 101 through bufio
// readers, so each Side's first reads may come from those buffers.

// bufferedConn is a connection whose first bytes may sit in r, read
// there during the handshake.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// outcome is what a relay the front ran came to.
type outcome struct {
	res    Result
	took   time.Duration // Run's duration
	leaked []string      // relay goroutines still alive when Run returned
}

// front accepts clients, forwards each one's handshake to the instance
// at backend and relays the connection.
type front struct {
	t        *testing.T
	ln       net.Listener
	backend  string
	opts     Options
	relays   chan *Relay
	outcomes chan outcome
	wg       sync.WaitGroup
}

func newFront(t *testing.T, backend string, o Options) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{t: t, ln: ln, backend: backend, opts: o,
		relays: make(chan *Relay, 4), outcomes: make(chan outcome, 4)}
	f.wg.Go(f.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		joinWithin(t, &f.wg, 10*time.Second)
	})
	return f
}

// joinWithin waits for wg, but not forever: a relay that never ends fails
// its test instead of hanging the run.
func joinWithin(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("still running %v after the test", d)
	}
}

func (f *front) url() string  { return "ws://" + f.ln.Addr().String() + "/ws" }
func (f *front) addr() string { return f.ln.Addr().String() }

func (f *front) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Go(func() { f.serve(c) })
	}
}

func (f *front) serve(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		_ = c.Close()
		return
	}
	up, err := net.Dial("tcp", f.backend)
	if err != nil {
		_ = c.Close()
		return
	}
	ubr := bufio.NewReader(up)
	resp, err := func() (*http.Response, error) {
		if err := req.Write(up); err != nil {
			return nil, err
		}
		return http.ReadResponse(ubr, req)
	}()
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		_ = c.Close()
		_ = up.Close()
		return
	}
	var head strings.Builder
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := io.WriteString(c, head.String()); err != nil {
		_ = c.Close()
		_ = up.Close()
		return
	}
	r := New(&bufferedConn{c, br}, &bufferedConn{up, ubr}, f.opts)
	f.relays <- r
	start := time.Now()
	res := r.Run()
	f.outcomes <- outcome{res: res, took: time.Since(start), leaked: relayGoroutines()}
}

// relay returns the relay of the next connection.
func (f *front) relay() *Relay {
	f.t.Helper()
	select {
	case r := <-f.relays:
		return r
	case <-time.After(5 * time.Second):
		f.t.Fatal("no relay started")
		return nil
	}
}

// outcome waits for the next relay's Run to return and checks that it
// left no goroutine behind.
func (f *front) outcome(within time.Duration) outcome {
	f.t.Helper()
	select {
	case o := <-f.outcomes:
		if len(o.leaked) > 0 {
			f.t.Errorf("goroutines outlived Run:\n%s", strings.Join(o.leaked, "\n\n"))
		}
		return o
	case <-time.After(within):
		f.t.Fatalf("Run did not return within %v", within)
		return outcome{}
	}
}

// relayGoroutines lists the goroutines a relay started that are still
// alive: every one of them is created by the supervisor.
func relayGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "created by github.com/openfc/openfc/internal/wsrelay.(*supervisor)") {
			out = append(out, g)
		}
	}
	return out
}

// echo is the instance: a WebSocket server that echoes every message,
// except a text "send N", which it answers with N bytes. How each of its
// connections ended goes to ended.
type echo struct {
	srv   *httptest.Server
	ended chan error
}

func newEcho(t *testing.T, mode websocket.CompressionMode) *echo {
	t.Helper()
	e := &echo{ended: make(chan error, 4)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: mode})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(16 << 20)
		ctx := context.Background()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				e.ended <- err
				return
			}
			if n, ok := strings.CutPrefix(string(data), "send "); ok && typ == websocket.MessageText {
				size, _ := strconv.Atoi(n)
				_ = c.Write(ctx, websocket.MessageBinary, make([]byte, size))
				continue
			}
			_ = c.Write(ctx, typ, data)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *echo) addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// end waits for how the instance's connection ended.
func (e *echo) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-e.ended:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the instance's connection did not end")
		return nil
	}
}

// dial connects a WebSocket client through f.
func dial(t *testing.T, f *front, mode websocket.CompressionMode) (*websocket.Conn, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, f.url(), &websocket.DialOptions{CompressionMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c, resp
}

// wantClose checks that err is a close frame with code and reason.
func wantClose(t *testing.T, who string, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got %v, want close %d %q", who, err, code, reason)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("%s: got close %d %q, want %d %q", who, ce.Code, ce.Reason, code, reason)
	}
}

// testCtx is a context for one step of a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// rawDial is a client without a library: it sends the upgrade request
// and then extra in the same write (so the front reads frames along with
// the request), and returns the connection after the 101.
func rawDial(t *testing.T, f *front, extra []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", f.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: " + f.addr() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write(append([]byte(req), extra...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return c, br
}

// rawServer is an instance without a library: it answers the upgrade
// and hands each connection to the test.
type rawServer struct {
	ln    net.Listener
	conns chan *bufferedConn
	wg    sync.WaitGroup
}

func newRawServer(t *testing.T) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, conns: make(chan *bufferedConn, 4)}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				_ = c.Close()
				continue
			}
			sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			_, _ = fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
			s.conns <- &bufferedConn{c, br}
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
		close(s.conns)
		for c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

func (s *rawServer) conn(t *testing.T) *bufferedConn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection at the instance")
		return nil
	}
}

// frame encodes a frame by hand: b0 is the first byte (FIN, RSV,
// opcode); lenBytes forces the length form (0: shortest; 2 or 8: the
// 16- or 64-bit form, even where a shorter one fits). A key masks it.
func frame(b0 byte, payload []byte, key *[4]byte, lenBytes int) []byte {
	var m byte
	if key != nil {
		m = 0x80
	}
	n := len(payload)
	if lenBytes == 0 {
		switch {
		case n < 126:
		case n < 1<<16:
			lenBytes = 2
		default:
			lenBytes = 8
		}
	}
	b := []byte{b0}
	switch lenBytes {
	case 2:
		b = append(b, m|126, byte(n>>8), byte(n))
	case 8:
		b = append(b, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		b = append(b, m|byte(n))
	}
	if key == nil {
		return append(b, payload...)
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// readFrame reads one frame as the peer of the relay sees it and returns
// its first byte, its unmasked payload and whether it was masked.
func readFrame(t *testing.T, r io.Reader) (b0 byte, payload []byte, masked bool) {
	t.Helper()
	var raw [maxHeaderLen]byte
	h, n, err := readHeader(r, &raw)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	payload = make([]byte, h.length)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatalf("reading a frame's payload: %v", err)
	}
	if h.masked {
		maskBytes(payload, h.key, 0)
	}
	_ = n
	return raw[0], payload, h.masked
}

// closePayload is a close frame's payload.
func closePayload(code uint16, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}
