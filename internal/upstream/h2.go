package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// ErrNotH2C: a request to send over HTTP/2 (Request.HTTP2) met an
// instance that answered as an HTTP/1 server.
var ErrNotH2C = errors.New("the instance does not speak HTTP/2 cleartext (h2c) on its port")

// doH2 is Do over HTTP/2 cleartext: the request goes out on a stream of
// a pooled connection, x/net's goroutines frame it (one per connection
// reading, one per stream sending the head and the body), and the
// response head comes back as on HTTP/1.1, its body an h2Exchange.
func (c *Client) doH2(ctx context.Context, b Backend, req *Request) (*http.Response, error) {
	// One context bounds the stream: the caller's, cut at the deadline.
	// x/net resets the stream when it ends; finish cancels it.
	var sctx context.Context
	var cancel context.CancelFunc
	if req.Deadline.IsZero() {
		sctx, cancel = context.WithCancel(ctx)
	} else {
		sctx, cancel = context.WithDeadline(ctx, req.Deadline)
	}
	if sctx.Err() != nil { // the deadline passed: nothing is sent
		cancel()
		return nil, h2Err(ctx, sctx, sctx.Err())
	}
	hreq, err := newH2Request(req)
	if err != nil {
		cancel()
		return nil, err
	}
	x := &h2Exchange{pool: c.h2, ctx: ctx, sctx: sctx, cancel: cancel}
	resp, err := x.roundTrip(b, req, hreq)
	if err != nil {
		cancel()
		return nil, err
	}
	removeHopHeaders(resp.Header, "")
	if resp.Trailer == nil {
		// x/net fills this map at the body's end; made now, a reference
		// taken before (as the caller may keep resp.Trailer) sees the
		// trailers too.
		resp.Trailer = http.Header{}
	}
	x.body = resp.Body
	resp.Body = x
	// x/net notices the stream's context ending only while its sender
	// waits on it, not while the sender is blocked reading the request
	// body: the deadline or the caller's cancel must break the answer's
	// read itself. (Its cut-short request body is told CancelRead by
	// finish, on the caller's goroutine.)
	x.cutDone = make(chan struct{})
	x.stopCut = context.AfterFunc(sctx, func() {
		defer close(x.cutDone)
		_ = x.body.Close() // returns at once: the context has ended
	})
	if req.Hooks != nil {
		if err := req.Hooks.ModifyResponse(resp); err != nil {
			x.finish()
			return nil, err
		}
	}
	return resp, nil
}

// newH2Request is req as x/net sends it, without its body and context:
// the method, the path and query byte for byte (URL.Opaque is not
// escaped again), Host as :authority, the headers forwarded as over
// HTTP/1.1 (forwarded) and the ones Hooks.AppendHeaders adds. There is
// no upgrade over HTTP/2: Connection and Upgrade are hop by hop. (x/net
// sends only the first of several User-Agent values, and splits a
// Cookie into its pairs, as HTTP/2 allows.)
func newH2Request(req *Request) (*http.Request, error) {
	u := &url.URL{Scheme: "http", Host: req.Host, Opaque: req.Path, RawQuery: req.RawQuery}
	if strings.HasPrefix(req.Path, "//") {
		// An opaque "//x" would read as a URL with an authority ("http:"
		// put in front of it); as a path it is kept when it is escaped
		// as url.URL would escape it.
		p, err := url.PathUnescape(req.Path)
		if err != nil {
			return nil, fmt.Errorf("the path %q cannot be sent over HTTP/2: %w", req.Path, err)
		}
		u.Opaque, u.Path, u.RawPath = "", p, req.Path
		if u.EscapedPath() != req.Path {
			return nil, fmt.Errorf("the path %q cannot be sent over HTTP/2 as it is", req.Path)
		}
	}
	h := make(http.Header, len(req.Header)+8)
	connTokens := req.Header["Connection"]
	for k, vs := range req.Header {
		if forwarded(req, connTokens, k, vs) {
			// Clipped: a hook's Add appends to a copy, never into
			// Request.Header's array.
			h[k] = slices.Clip(vs)
		}
	}
	if _, ok := h["Te"]; ok {
		h["Te"] = []string{"trailers"} // x/net takes it in lower case only
	}
	if req.Hooks != nil {
		req.Hooks.AppendHeaders(HeadWriter{h: h})
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil // else x/net adds its own
	}
	return &http.Request{
		Method: req.Method, URL: u, Host: req.Host, Header: h,
		Proto: "HTTP/2.0", ProtoMajor: 2,
	}, nil
}

// h2Exchange is one stream to an instance, and the response body Do
// hands out: reading it streams the instance's body (its trailers in
// resp.Trailer at the end), closing it ends the stream (reset when it
// did not end both ways) and releases its connection and context.
type h2Exchange struct {
	pool   *h2Pool
	conn   *h2Conn
	ctx    context.Context // the caller's
	sctx   context.Context // the stream's: ctx cut at the deadline
	cancel context.CancelFunc
	body   io.ReadCloser // x/net's response body
	sent   *h2Body       // the request body; nil without
	once   sync.Once

	// stopCut unregisters the hook that closes body when sctx ends;
	// false means it ran, and cutDone is closed when it has returned.
	stopCut func() bool
	cutDone chan struct{}
}

// roundTrip sends the request and waits for the response head. A stream
// the instance never took (refused, or the connection closed before the
// head went out: it was closing when taken) is sent once more, on
// whichever connection can take it, whatever the method, when none of
// its body was read: the instance did not see it.
func (x *h2Exchange) roundTrip(b Backend, req *Request, hreq *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		conn, err := x.pool.get(x.sctx, b)
		if err != nil {
			return nil, h2Err(x.ctx, x.sctx, err)
		}
		if d, ok := req.Body.(DuplexBody); ok && attempt == 0 {
			d.Sending() // once there is a connection, as over HTTP/1.1
		}
		var wroteHead atomic.Bool
		trace := &httptrace.ClientTrace{WroteHeaders: func() { wroteHead.Store(true) }}
		r := hreq.WithContext(httptrace.WithClientTrace(x.sctx, trace))
		var sent *h2Body
		if req.Body != nil {
			sent = newH2Body(req.Body, req.ContentLength)
			r.Body, r.ContentLength = sent, req.ContentLength
		}
		resp, err := conn.cc.RoundTrip(r)
		if err == nil {
			if sent != nil {
				sent.handOver()
			}
			x.conn, x.sent = conn, sent
			return resp, nil
		}
		if sent != nil {
			sent.wait()
		}
		x.pool.release(conn)
		if attempt == 0 && x.sctx.Err() == nil && unprocessed(err, wroteHead.Load(), conn) && (sent == nil || !sent.touched()) {
			continue
		}
		return nil, h2Err(x.ctx, x.sctx, err)
	}
}

// unprocessed: the instance never saw the stream that failed with err:
// it refused it (REFUSED_STREAM, as over its stream limit before the
// client learnt it), or the head never went out, on a connection that
// turned out closed or going away.
func unprocessed(err error, wroteHead bool, conn *h2Conn) bool {
	var se http2.StreamError
	if errors.As(err, &se) && se.Code == http2.ErrCodeRefusedStream {
		return true
	}
	return !wroteHead && (conn.nc.dead.Load() || !conn.cc.CanTakeNewRequest())
}

// h2Err says why a stream failed: the caller's context ended (wrapped
// with ctx.Err(), as over HTTP/1.1), or the deadline passed (wrapped
// with os.ErrDeadlineExceeded, as the connection deadline of HTTP/1.1
// fails I/O). (An instance that is no HTTP/2 server is found out when
// its connection is made: h2Pool.dial.)
func h2Err(ctx, sctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return err // says it already
	case ctx.Err() != nil:
		return ctxErr(ctx, err)
	case sctx.Err() != nil:
		return fmt.Errorf("%w (%w)", os.ErrDeadlineExceeded, err)
	}
	return err
}

// Read streams the instance's response body. An error other than io.EOF
// means the instance broke off (a reset, the connection lost) or the
// exchange was cut.
func (x *h2Exchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	if err != nil && err != io.EOF {
		err = h2Err(x.ctx, x.sctx, err)
	}
	return n, err
}

// Close ends the exchange; it may be called more than once.
func (x *h2Exchange) Close() error {
	x.finish()
	return nil
}

// finish ends the stream and releases what it holds, on the caller's
// goroutine. A request body still being sent is stopped first (a
// DuplexBody told CancelRead there, as over HTTP/1.1). Closing x/net's
// body then resets a stream that did not end both ways (RST_STREAM) and
// waits for the stream's sender to end, which needs the request body's
// Read to return. Only then are the context and the connection
// released, so that nothing of the exchange runs on.
//
// Unlike HTTP/1.1, no grace is given to a request body still going out
// after the whole answer: a stream is not worth saving for reuse, and
// an instance that ended its answer resets the rest of the request
// (RST_STREAM with NO_ERROR, as Go's and gRPC's servers do) anyway.
func (x *h2Exchange) finish() {
	x.once.Do(func() {
		if !x.stopCut() {
			<-x.cutDone
		}
		if x.sent != nil {
			x.sent.stop()
		}
		_ = x.body.Close()
		if x.sent != nil {
			x.sent.wait()
		}
		x.cancel()
		x.pool.release(x.conn)
	})
}

// h2Body is a request body as x/net reads it, from the stream's sender
// goroutine. It holds the body to its ContentLength, as WriteHead's
// framing does, stops a DuplexBody's Read in progress when the exchange
// gives up on it, and lets the exchange wait until x/net is through with
// it.
//
// DuplexBody.CancelRead is called on the goroutine that ends the
// exchange, as over HTTP/1.1: by finish once Do has returned (the
// caller's); before, by Close, on x/net's goroutine while Do waits for
// RoundTrip, which cannot return before the sender's Read does.
type h2Body struct {
	r      io.Reader
	length int64 // -1: unknown
	n      int64

	mu       sync.Mutex
	reading  bool          // a Read in progress
	read     bool          // a Read was made
	done     bool          // a Read returned the end (io.EOF) or an error
	closed   bool          // x/net closed it
	stopped  bool          // the exchange gave up on it
	returned bool          // Do returned: CancelRead is finish's
	canceled bool          // CancelRead was called
	idle     chan struct{} // closed once closed and no Read in progress
}

var errBodyClosed = errors.New("the request body was closed")

func newH2Body(r io.Reader, length int64) *h2Body {
	return &h2Body{r: r, length: length, idle: make(chan struct{})}
}

// Read reads the body, unless it was closed or stopped: then nothing
// reaches it any more.
func (b *h2Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed || b.stopped {
		b.mu.Unlock()
		return 0, errBodyClosed
	}
	b.reading, b.read = true, true
	b.mu.Unlock()
	n, err := b.readSized(p)
	b.mu.Lock()
	b.reading = false
	if err != nil {
		b.done = true
	}
	if b.closed {
		close(b.idle)
	}
	b.mu.Unlock()
	return n, err
}

// readSized reads r, never past length; a body that ends before it or
// goes on after it is an error, which resets the stream.
func (b *h2Body) readSized(p []byte) (int, error) {
	if b.length < 0 {
		n, err := b.r.Read(p)
		if err != nil && err != io.EOF {
			err = fmt.Errorf("reading the request body: %w", err)
		}
		return n, err
	}
	if b.n == b.length {
		var one [1]byte
		if m, _ := b.r.Read(one[:]); m > 0 {
			return 0, fmt.Errorf("the request body is longer than its Content-Length %d", b.length)
		}
		return 0, io.EOF
	}
	if rest := b.length - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF && b.n < b.length:
		return n, fmt.Errorf("the request body was %d bytes, not its Content-Length %d", b.n, b.length)
	case err == io.EOF:
		err = nil // the next Read looks for more
	case err != nil:
		err = fmt.Errorf("reading the request body: %w", err)
	}
	return n, err
}

// Close is x/net's: it is through with the body, or gives up on it (the
// stream was reset, or the instance answered 3xx or above). Before Do
// returned, a Read in progress is made to return at once (RoundTrip
// waits for it); after, finish does it.
func (b *h2Body) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	if !b.reading {
		close(b.idle)
	}
	cancel := !b.returned && b.reading && !b.canceled
	b.canceled = b.canceled || cancel
	b.mu.Unlock()
	if cancel {
		cancelRead(b.r)
	}
	return nil
}

// handOver: Do returns; CancelRead is finish's from now on.
func (b *h2Body) handOver() {
	b.mu.Lock()
	b.returned = true
	b.mu.Unlock()
}

// stop gives the body up, on the goroutine ending the exchange: no Read
// reaches it afterwards, and a body begun and not ended (a Read may be
// in progress) is told CancelRead. One never read is not: nothing of it
// was sent.
func (b *h2Body) stop() {
	b.mu.Lock()
	b.stopped = true
	cancel := b.read && !b.done && !b.canceled
	b.canceled = b.canceled || cancel
	b.mu.Unlock()
	if cancel {
		cancelRead(b.r)
	}
}

// touched: some of the body may have been read (a stream that never read
// it may be sent again).
func (b *h2Body) touched() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

// wait returns once x/net closed the body and no Read is in progress.
// x/net closes the body of every stream it ends or resets; the exchange
// waits only after that.
func (b *h2Body) wait() { <-b.idle }
