package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBackend is one instance listening on addr: a fixed InstanceID, and
// a Dial that dials addr and counts the dials.
type testBackend struct {
	id    string
	addr  string
	dials atomic.Int32
	// opaque hides the socket behind a plain net.Conn, so that the pool
	// cannot peek at it (as for a connection that is not a socket): a
	// connection the instance closed is then only found out by using it.
	opaque bool
}

func (b *testBackend) InstanceID() string { return b.id }

func (b *testBackend) Dial(ctx context.Context) (net.Conn, error) {
	b.dials.Add(1)
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	if b.opaque {
		return opaqueConn{c}, nil
	}
	return c, nil
}

// opaqueConn has only net.Conn's methods (no SyscallConn).
type opaqueConn struct{ net.Conn }

// testHooks are Hooks made of parts: drop lists the headers ForwardHeader
// refuses, lines are appended with HeadWriter.Header (pairs), raw with
// HeadWriter.Lines, modify is ModifyResponse.
type testHooks struct {
	drop   map[string]bool
	lines  [][2]string
	raw    string
	modify func(*http.Response) error
}

func (h *testHooks) ForwardHeader(k string) bool { return !h.drop[k] }

func (h *testHooks) AppendHeaders(hw HeadWriter) {
	for _, kv := range h.lines {
		hw.Header(kv[0], kv[1])
	}
	if h.raw != "" {
		hw.Lines(h.raw)
	}
}

func (h *testHooks) ModifyResponse(resp *http.Response) error {
	if h.modify != nil {
		return h.modify(resp)
	}
	return nil
}

var errReadCanceled = errors.New("test body: read canceled")

// duplexBody is a DuplexBody fed by the test: Read returns the chunks
// sent on chunks (io.EOF once it is closed) and blocks in between, until
// CancelRead. It records Sending, CancelRead and a Read before Sending.
type duplexBody struct {
	chunks   chan []byte
	canceled chan struct{}
	once     sync.Once
	pending  []byte

	sending       atomic.Int32
	cancels       atomic.Int32
	readTooEarly  atomic.Bool
	inRead        atomic.Int32  // Reads in progress
	readsFinished chan struct{} // closed when Read returned its last (error) result
}

func newDuplexBody(buffered int) *duplexBody {
	return &duplexBody{chunks: make(chan []byte, buffered), canceled: make(chan struct{}), readsFinished: make(chan struct{})}
}

func (d *duplexBody) Sending() { d.sending.Add(1) }

func (d *duplexBody) CancelRead() {
	d.cancels.Add(1)
	d.once.Do(func() { close(d.canceled) })
}

func (d *duplexBody) Read(p []byte) (int, error) {
	d.inRead.Add(1)
	defer d.inRead.Add(-1)
	if d.sending.Load() == 0 {
		d.readTooEarly.Store(true)
	}
	if len(d.pending) == 0 {
		select {
		case b, ok := <-d.chunks:
			if !ok {
				close(d.readsFinished)
				return 0, io.EOF
			}
			d.pending = b
		case <-d.canceled:
			close(d.readsFinished)
			return 0, errReadCanceled
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// newHTTPTest starts h on an httptest server and returns a Client and a
// Backend for it. At the end of the test the Client's idle connections
// are closed, then the server (which waits for its handlers).
func newHTTPTest(t *testing.T, h http.Handler) (*Client, *testBackend, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := New(Options{})
	t.Cleanup(c.CloseIdle)
	return c, &testBackend{id: "instance-1", addr: srv.Listener.Addr().String()}, srv
}

// serveRaw runs a hand-written server on 127.0.0.1 (for answers net/http
// would not send): serve handles each connection (n counts them from 1),
// which is closed after it. Every connection has a 10 s deadline, so that
// a broken test fails instead of hanging. At the end of the test the
// listener is closed and every handler waited for (after the cleanups
// the test registers itself, such as closing the Client's connections).
func serveRaw(t *testing.T, serve func(c net.Conn, n int)) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	accepted = new(atomic.Int32)
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { ln.Close() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(accepted.Add(1))
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			wg.Go(func() {
				defer c.Close()
				serve(c, n)
			})
		}
	})
	return ln.Addr().String(), accepted
}

// newRawTest is serveRaw with a Client and a Backend for it.
func newRawTest(t *testing.T, serve func(c net.Conn, n int)) (*Client, *testBackend, *atomic.Int32) {
	t.Helper()
	addr, accepted := serveRaw(t, serve)
	c := New(Options{})
	t.Cleanup(c.CloseIdle)
	return c, &testBackend{id: "raw-1", addr: addr}, accepted
}

// readRequest reads one request (head and body) from br; ok is false
// when the connection ended instead.
func readRequest(br *bufio.Reader) (req *http.Request, body string, ok bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, "", false
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, "", false
	}
	return req, string(b), true
}

// waitClosed reads c until the peer closes it (or the deadline), and
// reports whether the peer closed it.
func waitClosed(c net.Conn) bool {
	_, err := io.Copy(io.Discard, c)
	return err == nil // io.Copy turns EOF into nil
}

// get sends a GET for path and returns the response with its body read
// and closed.
func get(t *testing.T, c *Client, b Backend, path string) (*http.Response, string) {
	t.Helper()
	return send(t, c, b, &Request{Method: http.MethodGet, Path: path, Host: "fn.test"})
}

// send runs req and returns the response with its body read and closed.
// A generous timeout turns a hang into a failure.
func send(t *testing.T, c *Client, b Backend, req *Request) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, b, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.Path, err)
	}
	return resp, string(body)
}

// within runs f on a goroutine and fails the test if it has not returned
// after limit: a guard against hangs (limit is generous; nothing waits
// for it to run out).
func within(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s has not returned after %v", what, limit)
	}
}

// recv receives from ch, failing the test after a generous limit (a
// guard against hangs).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waiting for %s: nothing after 10s", what)
		panic("unreachable")
	}
}
