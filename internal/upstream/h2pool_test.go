package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestH2StreamLimit: exchanges at once beyond the instance's
// MaxConcurrentStreams open more connections, each filled to the limit
// (ceil(5/2) = 3 for 5 at a limit of 2), and no more: a burst waits for
// the dial in progress instead of dialing its own. Later exchanges go to
// the oldest connection.
func TestH2StreamLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int
		wantDials int32
	}{{"limit 2", 2, 3}, {"default limit", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan string, 5)
			release := make(chan struct{})
			c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/wait" {
					arrived <- r.RemoteAddr
					<-release
				}
				io.WriteString(w, r.RemoteAddr)
			}), &http.HTTP2Config{MaxConcurrentStreams: tc.limit})
			var wg sync.WaitGroup
			errs := make(chan error, 5)
			for range 5 {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					defer cancel()
					resp, err := c.Do(ctx, b, h2Req("GET", "/wait"))
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			perConn := map[string]int{}
			for range 5 {
				perConn[recv(t, arrived, "the exchanges at once")]++
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if d := b.dials.Load(); d != tc.wantDials || len(perConn) != int(tc.wantDials) {
				t.Errorf("%d dials, streams per connection %v; want %d", d, perConn, tc.wantDials)
			}
			for addr, n := range perConn {
				if tc.limit > 0 && n > tc.limit {
					t.Errorf("%d streams at once on %s; the limit is %d", n, addr, tc.limit)
				}
			}
			if n := c.IdleConns(); n != int(tc.wantDials) {
				t.Errorf("%d idle connections; want %d", n, tc.wantDials)
			}
			_, addr := send(t, c, b, h2Req("GET", "/"))
			if perConn[addr] == 0 {
				t.Errorf("a later exchange came from %s, a new connection", addr)
			}
			if d := b.dials.Load(); d != tc.wantDials {
				t.Errorf("%d dials after a later exchange; want %d", d, tc.wantDials)
			}
		})
	}
}

// TestH2InstanceClosedConn: a connection the instance closed is dropped
// from the pool (no longer idle, swept) and the next exchange dials a new
// one.
func TestH2InstanceClosedConn(t *testing.T) {
	c, b, srv := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
	send(t, c, b, h2Req("GET", "/"))
	srv.CloseClientConnections() // the instance goes away
	eventually(t, "the closed connection no longer idle", func() bool { return c.IdleConns() == 0 })
	c.Sweep(time.Now())
	if _, body := send(t, c, b, h2Req("GET", "/")); body != "ok" {
		t.Errorf("body %q; want ok", body)
	}
	if d, n := b.dials.Load(), c.IdleConns(); d != 2 || n != 1 {
		t.Errorf("%d dials, %d idle; want 2, 1", d, n)
	}
	if n := len(c.h2.conns[b.id]); n != 1 {
		t.Errorf("%d connections pooled; want 1 (the closed one dropped)", n)
	}
}

// TestH2SweepAndCloseIdle: Sweep closes connections idle past the idle
// timeout, and keeps live ones; CloseIdle closes the idle ones but not
// one carrying an exchange, which stays usable; Run's end closes them.
func TestH2SweepAndCloseIdle(t *testing.T) {
	release := make(chan struct{})
	c, b, srv := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			<-release
		}
		io.WriteString(w, "ok")
	}), nil)
	send(t, c, b, h2Req("GET", "/"))
	c.Sweep(time.Now())
	if n := c.IdleConns(); n != 1 {
		t.Fatalf("%d idle after sweeping a live connection; want 1", n)
	}
	c.Sweep(time.Now().Add(time.Hour))
	if n := c.IdleConns(); n != 0 {
		t.Fatalf("%d idle after sweeping past the idle timeout; want 0", n)
	}
	eventually(t, "the instance to see the swept connection closed", func() bool { return srv.closed.Load() == 1 })

	resp, err := c.Do(t.Context(), b, h2Req("GET", "/wait"))
	if err != nil {
		t.Fatal(err)
	}
	c.CloseIdle()
	c.Sweep(time.Now().Add(time.Hour))
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle with an exchange in progress; want 0", n)
	}
	close(release)
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "ok" {
		t.Errorf("the exchange in progress during CloseIdle: %q, %v; want ok", body, err)
	}
	resp.Body.Close()
	if n, d := c.IdleConns(), b.dials.Load(); n != 1 || d != 2 {
		t.Errorf("%d idle, %d dials; want 1, 2", n, d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, time.Hour) }()
	cancel()
	recv(t, done, "Run to return")
	if n := c.IdleConns(); n != 0 {
		t.Errorf("%d idle after Run; want 0", n)
	}
	eventually(t, "the instance to see both connections closed", func() bool { return srv.closed.Load() == 2 })
}

// TestH2InstancesKeptApart: two instances behind one address never share
// an HTTP/2 connection, nor an HTTP/1.1 one with it.
func TestH2InstancesKeptApart(t *testing.T) {
	c, b1, srv := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) }), nil)
	b2 := &testBackend{id: "h2-instance-2", addr: srv.Listener.Addr().String()}
	_, a1 := send(t, c, b1, h2Req("GET", "/"))
	_, a2 := send(t, c, b2, h2Req("GET", "/"))
	_, a1again := send(t, c, b1, h2Req("GET", "/"))
	if a1 == a2 || a1 != a1again {
		t.Errorf("instance 1 from %s then %s, instance 2 from %s; want one connection each", a1, a1again, a2)
	}
	if d1, d2, n := b1.dials.Load(), b2.dials.Load(), c.IdleConns(); d1 != 1 || d2 != 1 || n != 2 {
		t.Errorf("dials %d and %d, %d idle; want 1, 1, 2", d1, d2, n)
	}
}

// TestH2RefusedStream: a stream the instance refuses (REFUSED_STREAM: it
// did not process it) is sent again, a POST too, when none of its body
// was read; one whose body was read is not (the error says it was
// refused). The instance refuses the first stream for each path: a
// bodiless one at its head, the other once its body arrived.
func TestH2RefusedStream(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	refused := map[string]bool{}
	pathOf := map[uint32]string{}
	c, b := newH2RawTest(t, 0, nil, func(c *h2RawConn, f http2.Frame) {
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			p := f.PseudoValue("path")
			mu.Lock()
			paths = append(paths, p)
			mu.Unlock()
			pathOf[f.StreamID] = p
			switch {
			case f.StreamEnded() && !refused[p]:
				refused[p] = true
				c.fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
			case f.StreamEnded():
				c.headers(f.StreamID, true, ":status", "204")
			}
		case *http2.DataFrame:
			if p := pathOf[f.StreamID]; !refused[p] {
				refused[p] = true
				c.fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
			} else if f.StreamEnded() {
				c.headers(f.StreamID, true, ":status", "204")
			}
		}
	})
	resp, _ := send(t, c, b, h2Req("POST", "/no-body"))
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d; want 204 (sent again after the refusal)", resp.StatusCode)
	}
	req := h2Req("POST", "/body")
	req.Body, req.ContentLength = strings.NewReader("payload"), 7
	resp, err := c.Do(t.Context(), b, req)
	if err == nil {
		resp.Body.Close()
	}
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeRefusedStream {
		t.Errorf("Do with a body read: %v; want the refusal", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/no-body", "/no-body", "/body"}; !slices.Equal(paths, want) {
		t.Errorf("the instance saw streams for %q; want %q", paths, want)
	}
	if d := b.dials.Load(); d != 1 {
		t.Errorf("%d dials; want 1 (a refused stream leaves the connection)", d)
	}
}

// TestH2LimitKnownFirst: a new connection takes no more streams than the
// instance allows even when its SETTINGS come late: 3 exchanges at once
// to an instance allowing 1 stream per connection go out on 3
// connections, one each. (The instance holds each stream until all 3
// arrived, or 2 s.)
func TestH2LimitKnownFirst(t *testing.T) {
	var mu sync.Mutex
	perConn := map[int]int{}
	var arrived atomic.Int32
	c, b := newH2RawTest(t, 50*time.Millisecond, []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 1}},
		func(c *h2RawConn, f http2.Frame) {
			if f, ok := f.(*http2.MetaHeadersFrame); ok {
				mu.Lock()
				perConn[c.n]++
				mu.Unlock()
				arrived.Add(1)
				for deadline := time.Now().Add(2 * time.Second); arrived.Load() < 3 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				c.headers(f.StreamID, true, ":status", "204")
			}
		})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			resp, err := c.Do(ctx, b, h2Req("GET", "/"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if d := b.dials.Load(); d != 3 || len(perConn) != 3 || perConn[1] != 1 || perConn[2] != 1 || perConn[3] != 1 {
		t.Errorf("%d dials, streams per connection %v; want 3 connections with 1 stream each", d, perConn)
	}
}

// TestH2RawAnswer: interim answers (103) are passed over, and the final
// answer's hop-by-hop headers (which HTTP/2 forbids, but a careless
// server may send) are removed as over HTTP/1.1. (x/net drops the
// connection-specific ones, Connection included, before the exchange
// sees them: a header only a Connection header names stays.)
func TestH2RawAnswer(t *testing.T) {
	c, b := newH2RawTest(t, 0, nil, func(c *h2RawConn, f http2.Frame) {
		if f, ok := f.(*http2.MetaHeadersFrame); ok {
			c.headers(f.StreamID, false, ":status", "103", "link", "</style.css>; rel=preload")
			c.headers(f.StreamID, false, ":status", "200", "connection", "close", "keep-alive", "timeout=5",
				"proxy-connection", "keep-alive", "upgrade", "h2c", "te", "trailers", "proxy-authenticate", "Basic",
				"x-end-to-end", "kept")
			c.fr.WriteData(f.StreamID, true, []byte("ok"))
		}
	})
	resp, body := send(t, c, b, h2Req("GET", "/"))
	if resp.StatusCode != 200 || body != "ok" || resp.Header.Get("X-End-To-End") != "kept" {
		t.Errorf("got %d, %q, X-End-To-End %q; want 200, ok, kept", resp.StatusCode, body, resp.Header.Get("X-End-To-End"))
	}
	for _, k := range []string{"Link", "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "Te", "Proxy-Authenticate"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("the answer has %s %q", k, v)
		}
	}
}

// TestH2NoGoroutineLeft: once an exchange's body is closed, whatever way
// it ended (read whole, closed early, cut by its deadline or its context,
// refused by ModifyResponse, a full-duplex upload), nothing of it runs
// on: the goroutines are back to those of the idle connection; after
// CloseIdle, to those before the first exchange.
func TestH2NoGoroutineLeft(t *testing.T) {
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		switch r.URL.Path {
		case "/hang":
			w.WriteHeader(200)
			rc.Flush()
			<-r.Context().Done()
		case "/echo":
			buf := make([]byte, 1024)
			for {
				n, err := r.Body.Read(buf)
				w.Write(buf[:n])
				rc.Flush()
				if err != nil {
					return
				}
			}
		default:
			io.WriteString(w, strings.Repeat("x", 100<<10))
		}
	}), nil)
	before := settledGoroutines()
	send(t, c, b, h2Req("GET", "/"))
	idle := settledGoroutines()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"read whole", func(t *testing.T) { send(t, c, b, h2Req("GET", "/")) }},
		{"closed early", func(t *testing.T) {
			resp, err := c.Do(t.Context(), b, h2Req("GET", "/"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Read(make([]byte, 10))
			resp.Body.Close()
		}},
		{"deadline", func(t *testing.T) {
			req := h2Req("GET", "/hang")
			req.Deadline = time.Now().Add(50 * time.Millisecond)
			if resp, err := c.Do(t.Context(), b, req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}},
		{"context", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			resp, err := c.Do(ctx, b, h2Req("GET", "/hang"))
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}},
		{"ModifyResponse error", func(t *testing.T) {
			req := h2Req("GET", "/hang")
			req.Hooks = &testHooks{modify: func(*http.Response) error { return errors.New("refused") }}
			if _, err := c.Do(t.Context(), b, req); err == nil {
				t.Error("Do succeeded")
			}
		}},
		{"upload cut", func(t *testing.T) {
			body := newDuplexBody(1)
			body.chunks <- []byte("endless")
			req := h2Req("POST", "/echo")
			req.Body, req.ContentLength = body, -1
			resp, err := c.Do(t.Context(), b, req)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadFull(resp.Body, make([]byte, len("endless")))
			resp.Body.Close()
		}},
	} {
		// Not a subtest: its goroutine would count.
		tc.run(t)
		noMoreGoroutines(t, idle, tc.name)
	}
	if d := b.dials.Load(); d != 1 {
		t.Errorf("%d dials; want 1", d)
	}
	c.CloseIdle()
	noMoreGoroutines(t, before, "CloseIdle")
}

// gatedBackend is a testBackend whose Dial waits for gate (or its
// context) first.
type gatedBackend struct {
	*testBackend
	gate chan struct{}
}

func (b *gatedBackend) Dial(ctx context.Context) (net.Conn, error) {
	b.dials.Add(1)
	select {
	case <-b.gate:
	case <-ctx.Done():
		return nil, fmt.Errorf("dialing: %w", ctx.Err())
	}
	b.dials.Add(-1) // counted again below
	return b.testBackend.Dial(ctx)
}

// TestH2DialSharedAndCut: an exchange that needs a connection while
// another dials the instance waits for that dial; when the dialing
// exchange is cut (its client left), the waiting one dials in its turn
// instead of failing with it.
func TestH2DialSharedAndCut(t *testing.T) {
	_, tb, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
	c := New(Options{})
	t.Cleanup(c.CloseIdle)
	b := &gatedBackend{testBackend: tb, gate: make(chan struct{})}
	ctx1, cancel1 := context.WithCancel(t.Context())
	defer cancel1()
	err1 := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx1, b, h2Req("GET", "/first"))
		err1 <- err
	}()
	eventually(t, "the first exchange to dial", func() bool { return b.dials.Load() == 1 })
	type result struct {
		body string
		err  error
	}
	res2 := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := c.Do(ctx, b, h2Req("GET", "/second"))
		if err != nil {
			res2 <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res2 <- result{string(body), err}
	}()
	time.Sleep(20 * time.Millisecond) // the second exchange waits for the dial
	if d := b.dials.Load(); d != 1 {
		t.Errorf("%d dials at once; want 1 (the second exchange waits)", d)
	}
	cancel1()
	if err := recv(t, err1, "the first exchange"); !errors.Is(err, context.Canceled) {
		t.Errorf("the first exchange: %v; want context.Canceled", err)
	}
	close(b.gate)
	if r := recv(t, res2, "the second exchange"); r.err != nil || r.body != "ok" {
		t.Errorf("the second exchange: %q, %v; want ok", r.body, r.err)
	}
}

// TestH2GoAway: a connection whose instance sent GOAWAY (it is shutting
// down, the connection left open) takes no new stream: the next exchange
// dials another; the old one is closed by Sweep once idle, if x/net did
// not close it already.
func TestH2GoAway(t *testing.T) {
	c, b := newH2RawTest(t, 0, nil, func(c *h2RawConn, f http2.Frame) {
		if f, ok := f.(*http2.MetaHeadersFrame); ok {
			c.headers(f.StreamID, true, ":status", "204")
			if c.n == 1 {
				c.fr.WriteGoAway(f.StreamID, http2.ErrCodeNo, nil)
			}
		}
	})
	send(t, c, b, h2Req("GET", "/"))
	c.h2.mu.Lock()
	first := c.h2.conns[b.id][0]
	c.h2.mu.Unlock()
	eventually(t, "the client to see the GOAWAY", func() bool { return !first.cc.CanTakeNewRequest() })
	send(t, c, b, h2Req("GET", "/"))
	if d := b.dials.Load(); d != 2 {
		t.Errorf("%d dials; want 2 (the first connection going away)", d)
	}
	c.Sweep(time.Now())
	if n := c.IdleConns(); n != 1 || !first.nc.dead.Load() {
		t.Errorf("%d idle after Sweep, the first connection closed %v; want 1, true", n, first.nc.dead.Load())
	}
}
