package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// This file holds the event-loop-style HTTP/1.1 server (--http1-server
// fast): one goroutine per connection that reads each request head with
// fasthttp's zero-allocation parser into buffers the connection keeps,
// and no per-request goroutine, timer or context beyond what the call
// needs (net/http starts a background read and a context for every
// request; here the disconnect watch starts only for calls that last,
// fastwatch.go). It feeds the same handler (the gateway) through an
// http.ResponseWriter of its own (fastresponse.go), so the chain and its
// writer are one for both servers. A connection that opens with the
// HTTP/2 preface is handed to the net/http server (h2c); TLS never comes
// here.

// h2Preface is what an HTTP/2 client with prior knowledge sends first.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// fastIdleTimeout is how long a kept-alive connection may wait for its
// next request (net/http's IdleTimeout on the front door).
const fastIdleTimeout = 120 * time.Second

// fastServer serves cleartext HTTP/1.1 connections.
type fastServer struct {
	handler       http.Handler
	headerTimeout time.Duration
	errorLog      *log.Logger
	// h2 receives the connections that speak HTTP/2 (h2c prior
	// knowledge) through handoff.
	h2      *http.Server
	handoff *handoffListener
	dates   dateCache
	headers headerNames
	watcher *watcher // fastwatch.go
	started sync.Once

	// closing is set (under mu) when the shutdown begins; connections
	// read it without the lock between requests (setIdle).
	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*fastConn]struct{}
	done      chan struct{} // closed when the last connection ended after closing
}

func newFastServer(h http.Handler, h2 *http.Server, o ServerOptions) *fastServer {
	s := &fastServer{
		handler: h, headerTimeout: o.HeaderTimeout, errorLog: o.ErrorLog, h2: h2,
		handoff:   newHandoffListener(),
		watcher:   newWatcher(),
		headers:   newHeaderNames(),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*fastConn]struct{}),
	}
	return s
}

// background runs the server's own goroutines until shutdown: the
// net/http server of the handed-over HTTP/2 connections, and the
// disconnect watcher. Only the first call runs them; later ones return.
func (s *fastServer) background() {
	s.started.Do(func() {
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.h2.Serve(s.handoff) }) // ends with the net/http server's shutdown
		wg.Go(func() { s.watcher.run(s.tickCalls) })
		wg.Wait()
	})
}

// tickCalls lets every connection's watch see the time.
func (s *fastServer) tickCalls(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.watch.tick(now)
	}
}

// stopBackground ends what background runs, when serving ends
// otherwise than by a shutdown.
func (s *fastServer) stopBackground() {
	s.handoff.close()
	s.watcher.close()
}

// serve accepts connections on ln until shutdown.
func (s *fastServer) serve(ln net.Listener) error {
	if !s.track(ln) {
		_ = ln.Close()
		return http.ErrServerClosed
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("accept: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc)
		if c == nil {
			_ = nc.Close()
			continue
		}
		go c.serve()
	}
}

func (s *fastServer) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *fastServer) isClosing() bool { return s.closing.Load() }

// newConn registers a connection; nil once the server is closing.
func (s *fastServer) newConn(nc net.Conn) *fastConn {
	c := &fastConn{srv: s, raw: nc}
	c.rw.c = c
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	s.conns[c] = struct{}{}
	return c
}

// forget removes an ended (or handed-over) connection.
func (s *fastServer) forget(c *fastConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.closing.Load() && len(s.conns) == 0 && s.done != nil {
		close(s.done)
		s.done = nil
	}
}

// setIdle marks c waiting for its next request (closed at once during a
// shutdown) or busy; it reports false when c is to close instead. No
// lock: c stores idle before it loads closing, the shutdown stores
// closing before it loads idle, so one of them sees the other (the
// atomics are sequentially consistent).
func (s *fastServer) setIdle(c *fastConn, idle bool) bool {
	c.idle.Store(idle)
	return !s.closing.Load()
}

// shutdown closes the listeners and the idle connections, lets the
// requests in progress finish (their connections close after them) and
// waits for them until ctx ends.
func (s *fastServer) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		_ = ln.Close()
	}
	clear(s.listeners)
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.raw.Close()
		}
	}
	var done chan struct{}
	if len(s.conns) > 0 {
		s.done = make(chan struct{})
		done = s.done
	}
	s.mu.Unlock()
	s.stopBackground()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close cuts every connection left, cancelling the calls they carry.
func (s *fastServer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing.Store(true)
	for c := range s.conns {
		c.cut()
	}
}

func (s *fastServer) logf(format string, args ...any) {
	if s.errorLog != nil {
		s.errorLog.Printf("http1 fast: "+format, args...)
	}
}

// handOver gives a connection that opened with the HTTP/2 preface to the
// net/http server, with the bytes already read put back in front.
func (s *fastServer) handOver(c *fastConn, br *bufio.Reader) {
	buffered, _ := br.Peek(br.Buffered())
	pc := &prefixedConn{Conn: c.raw, prefix: bytes.Clone(buffered)}
	s.forget(c)
	if !s.handoff.deliver(pc) {
		_ = c.raw.Close()
	}
}

// prefixedConn reads prefix before the connection.
type prefixedConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixedConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// handoffListener is a net.Listener whose connections are handed over by
// the fast server.
type handoffListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *handoffListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) close() { l.once.Do(func() { close(l.closed) }) }

func (l *handoffListener) Close() error { l.close(); return nil }

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "handoff" }
func (handoffAddr) String() string  { return "h2c handoff" }

// dateCache renders the Date header once a second; requests read it
// without a lock.
type dateCache struct {
	cur atomic.Pointer[dateText]
}

type dateText struct {
	sec  int64
	text []byte // "Date: <time>\r\n"
}

// appendDate appends "Date: <now>\r\n".
func (d *dateCache) appendDate(b []byte) []byte {
	now := time.Now()
	t := d.cur.Load()
	if t == nil || t.sec != now.Unix() {
		text := now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)
		t = &dateText{sec: now.Unix(), text: append(text, "\r\n"...)}
		d.cur.Store(t)
	}
	return append(b, t.text...)
}
