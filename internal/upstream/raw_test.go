package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// TestBadHead: an answer that is not HTTP fails Do, and its connection is
// closed, not pooled.
func TestBadHead(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"garbage", "HELLO\r\n\r\n"},
		{"bad status", "HTTP/1.1 abc OK\r\n\r\n"},
		{"bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"},
		{"bad header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan bool, 1)
			c, b, accepted := newRawTest(t, func(conn net.Conn, _ int) {
				if _, _, ok := readRequest(bufio.NewReader(conn)); !ok {
					return
				}
				io.WriteString(conn, tc.answer)
				closed <- waitClosed(conn)
			})
			resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test"})
			if err == nil {
				resp.Body.Close()
				t.Fatalf("Do: %d; want an error", resp.StatusCode)
			}
			if !recv(t, closed, "the instance to see the connection end") {
				t.Error("the connection was not closed")
			}
			if n, a := c.IdleConns(), accepted.Load(); n != 0 || a != 1 {
				t.Errorf("%d idle, %d connections; want 0, 1", n, a)
			}
		})
	}
}

// TestClosedBeforeAnswer: an instance that closes a new connection without
// answering fails Do; a new connection is not retried.
func TestClosedBeforeAnswer(t *testing.T) {
	c, b, accepted := newRawTest(t, func(conn net.Conn, _ int) { readRequest(bufio.NewReader(conn)) })
	if resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test"}); err == nil {
		resp.Body.Close()
		t.Fatalf("Do: %d; want an error", resp.StatusCode)
	}
	if d, a := b.dials.Load(), accepted.Load(); d != 1 || a != 1 {
		t.Errorf("%d dials, %d connections; want 1, 1", d, a)
	}
}

// TestStaleConnection: a kept-alive connection that the instance closed
// (after its answer, or when the next request came) fails the next
// request on it: a bodiless GET is sent again on a new connection and
// succeeds; a request with a body is not (it may have been read).
func TestStaleConnection(t *testing.T) {
	for _, mode := range []struct {
		name string
		// closesAfterAnswer: the instance closes each connection after its
		// first answer (and the pool cannot see it, the socket being
		// hidden); else it reads the connection's second request and
		// drops it unanswered.
		closesAfterAnswer bool
	}{{"closed after the answer", true}, {"closed when the next request came", false}} {
		for _, tc := range []struct {
			name      string
			req       Request
			wantRetry bool
		}{
			{"GET", Request{Method: "GET", Path: "/2", Host: "fn.test"}, true},
			{"HEAD", Request{Method: "HEAD", Path: "/2", Host: "fn.test"}, true},
			{"POST with a body", Request{Method: "POST", Path: "/2", Host: "fn.test", Body: strings.NewReader("once"), ContentLength: 4}, false},
			{"chunked POST", Request{Method: "POST", Path: "/2", Host: "fn.test", Body: strings.NewReader("once"), ContentLength: -1}, false},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				var mu sync.Mutex
				var seen []string // requests the instance got, as "connection method path"
				served := make(chan struct{}, 2)
				c, b, accepted := newRawTest(t, func(conn net.Conn, n int) {
					br := bufio.NewReader(conn)
					for i := 0; ; i++ {
						req, _, ok := readRequest(br)
						if !ok {
							return
						}
						mu.Lock()
						seen = append(seen, string(rune('0'+n))+" "+req.Method+" "+req.URL.Path)
						mu.Unlock()
						if i > 0 {
							return // dropped unanswered
						}
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
						if mode.closesAfterAnswer {
							conn.Close()
							served <- struct{}{}
							return
						}
					}
				})
				b.opaque = mode.closesAfterAnswer
				get(t, c, b, "/1")
				if mode.closesAfterAnswer {
					recv(t, served, "the instance to close the connection")
				}
				if n := c.IdleConns(); n != 1 {
					t.Fatalf("%d idle connections; want the stale one", n)
				}
				resp, err := c.Do(t.Context(), b, &tc.req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				got := slices.Clone(seen)
				mu.Unlock()
				if tc.wantRetry {
					if err != nil || resp.StatusCode != 200 || (tc.req.Method == "GET") != (string(body) == "ok") {
						t.Errorf("Do: %v; want the answer from a new connection", err)
					}
					if a := accepted.Load(); a != 2 {
						t.Errorf("%d connections; want 2", a)
					}
					if want := tc.req.Method + " /2"; got[len(got)-1] != "2 "+want {
						t.Errorf("the instance got %q; want %q on the second connection last", got, want)
					}
					return
				}
				if err == nil {
					t.Errorf("Do: %d %q; want an error (a request with a body is not sent twice)", resp.StatusCode, body)
				}
				if a := accepted.Load(); a != 1 {
					t.Errorf("%d connections; want 1", a)
				}
			})
		}
	}
}

// TestStaleConnectionNoReplayOfPost: a bodiless POST that the instance
// read before dropping the connection is not sent a second time (it may
// have run: a POST is not idempotent). net/http's Transport, which Do's
// comment cites, replays only GET, HEAD, OPTIONS and TRACE (or a request
// with an Idempotency-Key).
func TestStaleConnectionNoReplayOfPost(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	c, b, _ := newRawTest(t, func(conn net.Conn, n int) {
		br := bufio.NewReader(conn)
		for i := 0; ; i++ {
			req, _, ok := readRequest(br)
			if !ok {
				return
			}
			if req.Method == "POST" {
				mu.Lock()
				posts++
				mu.Unlock()
			}
			if i > 0 {
				return // read, maybe acted on, dropped unanswered
			}
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	get(t, c, b, "/1")
	resp, err := c.Do(t.Context(), b, &Request{Method: "POST", Path: "/charge", RawQuery: "amount=5", Host: "fn.test"})
	if err == nil {
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 || err == nil {
		t.Errorf("the instance got the POST %d times, Do's error %v; want once, and an error", posts, err)
	}
}

// TestCutBody: an answer whose body ends before its framing does fails the
// read (io.ErrUnexpectedEOF), and Close closes the connection.
func TestCutBody(t *testing.T) {
	for _, tc := range []struct{ name, answer, got string }{
		{"Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", "hello"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "hello"},
		{"chunked mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan bool, 1)
			c, b, _ := newRawTest(t, func(conn net.Conn, _ int) {
				if _, _, ok := readRequest(bufio.NewReader(conn)); !ok {
					return
				}
				io.WriteString(conn, tc.answer)
				conn.(*net.TCPConn).CloseWrite() // the answer ends here
				closed <- waitClosed(conn)
			})
			resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test"})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) || string(body) != tc.got {
				t.Errorf("body %q, %v; want %q, io.ErrUnexpectedEOF", body, err, tc.got)
			}
			resp.Body.Close()
			if !recv(t, closed, "the instance to see the connection end") {
				t.Error("the connection was not closed")
			}
			if n := c.IdleConns(); n != 0 {
				t.Errorf("%d idle connections; want 0", n)
			}
		})
	}
}

// TestSlowHead: a head that has not fully come by the Deadline fails Do
// with a timeout, promptly.
func TestSlowHead(t *testing.T) {
	closed := make(chan bool, 1)
	c, b, _ := newRawTest(t, func(conn net.Conn, _ int) {
		if _, _, ok := readRequest(bufio.NewReader(conn)); !ok {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nX-Slow: ") // and nothing more
		closed <- waitClosed(conn)
	})
	var err error
	within(t, 10*time.Second, "Do", func() {
		_, err = c.Do(t.Context(), b, &Request{Method: "GET", Path: "/", Host: "fn.test", Deadline: time.Now().Add(50 * time.Millisecond)})
	})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Do: %v; want os.ErrDeadlineExceeded", err)
	}
	if !recv(t, closed, "the instance to see the connection end") {
		t.Error("the connection was not closed")
	}
}

// TestInterimAnswers: 1xx answers other than 101 are passed over, their
// headers dropped; the final answer comes back, and the connection is
// reused.
func TestInterimAnswers(t *testing.T) {
	for _, tc := range []struct{ name, interim string }{
		{"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n"},
		{"103 Early Hints", "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"},
		{"100, 102, 103", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" +
			"HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, accepted := newRawTest(t, func(conn net.Conn, _ int) {
				br := bufio.NewReader(conn)
				for {
					if _, _, ok := readRequest(br); !ok {
						return
					}
					io.WriteString(conn, tc.interim+"HTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 5\r\n\r\nfinal")
				}
			})
			for range 2 {
				resp, body := send(t, c, b, &Request{Method: "POST", Path: "/", Host: "fn.test", Body: strings.NewReader("x"), ContentLength: 1})
				if resp.StatusCode != 200 || resp.Header.Get("X-Final") != "1" || body != "final" {
					t.Errorf("got %d %v %q; want the final 200", resp.StatusCode, resp.Header, body)
				}
				if v, ok := resp.Header["Link"]; ok {
					t.Errorf("the interim answer's Link %q is in the final one", v)
				}
			}
			if a := accepted.Load(); a != 1 {
				t.Errorf("%d connections; want 1", a)
			}
		})
	}
}

// TestRawHopByHopResponseHeaders: hop-by-hop headers an instance sends
// (net/http would not send all of them) are removed, with the ones its
// Connection header names; the connection is still reused.
func TestRawHopByHopResponseHeaders(t *testing.T) {
	c, b, accepted := newRawTest(t, func(conn net.Conn, _ int) {
		br := bufio.NewReader(conn)
		for {
			if _, _, ok := readRequest(br); !ok {
				return
			}
			io.WriteString(conn, "HTTP/1.1 200 OK\r\n"+
				"Connection: X-Named, keep-alive\r\nConnection: x-other\r\nX-Named: 1\r\nX-Other: 2\r\n"+
				"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authenticate: Basic\r\n"+
				"Proxy-Authorization: Basic eDp5\r\nTe: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"+
				"X-Keep: yes\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for range 2 {
		resp, body := get(t, c, b, "/")
		for _, k := range []string{"Connection", "X-Named", "X-Other", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
			"Proxy-Authorization", "Te", "Trailer", "Upgrade", "Transfer-Encoding"} {
			if v, ok := resp.Header[k]; ok {
				t.Errorf("the answer has %s %q", k, v)
			}
		}
		if resp.Header.Get("X-Keep") != "yes" || body != "ok" {
			t.Errorf("X-Keep %q, body %q; want yes, ok", resp.Header.Get("X-Keep"), body)
		}
	}
	if a := accepted.Load(); a != 1 {
		t.Errorf("%d connections; want 1", a)
	}
}

// TestStrayBodyAfterHead: a body an instance writes after its answer to a
// HEAD is not taken for the next answer: the connection is dropped
// (the stray bytes are in the buffer already, or peeked at before the
// connection is reused) and the next request goes on a new one.
func TestStrayBodyAfterHead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		later bool // the stray body comes after the HEAD exchange ended
	}{{"with the head", false}, {"after the exchange", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ended, written := make(chan struct{}), make(chan struct{})
			c, b, accepted := newRawTest(t, func(conn net.Conn, n int) {
				br := bufio.NewReader(conn)
				if n > 1 {
					for {
						if _, _, ok := readRequest(br); !ok {
							return
						}
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
					}
				}
				if _, _, ok := readRequest(br); !ok {
					return
				}
				const stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
				if !tc.later {
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"+stray+"stray")
					waitClosed(conn)
					return
				}
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
				<-ended
				io.WriteString(conn, "hello"+stray+"stray")
				close(written)
				waitClosed(conn)
			})
			resp, body := send(t, c, b, &Request{Method: "HEAD", Path: "/", Host: "fn.test"})
			if resp.ContentLength != 5 || body != "" {
				t.Errorf("HEAD: ContentLength %d, body %q; want 5, none", resp.ContentLength, body)
			}
			if tc.later {
				close(ended)
				recv(t, written, "the stray body")
			}
			for range 2 {
				if _, body := get(t, c, b, "/"); body != "second" {
					t.Errorf("GET after the HEAD: %q; want second", body)
				}
			}
			if a := accepted.Load(); a != 2 {
				t.Errorf("%d connections; want 2", a)
			}
		})
	}
}

// TestSizedBodyLongerThanContentLength: a body longer than the
// ContentLength it came with fails the exchange, and no byte past
// ContentLength reaches the instance (it would read them as a request of
// their own: request smuggling). net/http's Transport sends at most
// ContentLength bytes.
func TestSizedBodyLongerThanContentLength(t *testing.T) {
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: fn.test\r\n\r\n"
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"one read", strings.NewReader("hello" + strings.Repeat(smuggled, 200))},
		{"small reads", io.MultiReader(strings.NewReader("hello"), strings.NewReader(strings.Repeat(smuggled, 200)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []string, 1)
			c, b, _ := newRawTest(t, func(conn net.Conn, _ int) {
				var targets []string
				defer func() { got <- targets }()
				br := bufio.NewReader(conn)
				for {
					req, _, ok := readRequest(br)
					if !ok {
						return
					}
					targets = append(targets, req.RequestURI)
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			resp, err := c.Do(t.Context(), b, &Request{Method: "POST", Path: "/upload", Host: "fn.test", Body: tc.body, ContentLength: 5})
			if err == nil {
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			c.CloseIdle()
			if targets := recv(t, got, "the instance's requests"); len(targets) > 1 {
				t.Errorf("the instance read %d requests from the connection: %q; want only /upload", len(targets), targets[:min(len(targets), 3)])
			}
		})
	}
}

// TestBodyWriterError: when sending the request body fails, Do returns
// that failure (its cause), not the "use of closed network connection"
// the response read then meets (the body writer closes the connection).
// net/http's Transport returns the body's error too. The gateway tells a
// client that broke off its upload from a failing function by it.
func TestBodyWriterError(t *testing.T) {
	errBoom := errors.New("the client's upload broke off")
	for _, tc := range []struct {
		name     string
		body     io.Reader
		length   int64
		deadline time.Duration
		want     func(error) bool
	}{
		{"the body fails", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errBoom)), -1, 0,
			func(err error) bool { return errors.Is(err, errBoom) }},
		{"the body is short", strings.NewReader("part"), 10, 0,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "Content-Length") }},
		// The writer meets the deadline first, or the response read does:
		// either way the cause is the deadline.
		{"the deadline passed", strings.NewReader("part"), 4, -time.Second,
			func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, _ := newRawTest(t, func(conn net.Conn, _ int) {
				waitClosed(conn) // reads the request, never answers
			})
			req := &Request{Method: "POST", Path: "/", Host: "fn.test", Body: tc.body, ContentLength: tc.length}
			if tc.deadline != 0 {
				req.Deadline = time.Now().Add(tc.deadline)
			}
			var err error
			within(t, 10*time.Second, "Do", func() { _, err = c.Do(t.Context(), b, req) })
			if !tc.want(err) {
				t.Errorf("Do: %v; want the body writer's error", err)
			}
		})
	}
}
