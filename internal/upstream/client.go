package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Backend is one instance.
type Backend interface {
	// InstanceID keys the instance's idle connections: connections of
	// different instances are never mixed up, even though every instance
	// may listen on the same port in its own network namespace.
	InstanceID() string
	// Dial opens a connection to the instance's HTTP server.
	Dial(ctx context.Context) (net.Conn, error)
}

// Request is one request to send to an instance.
type Request struct {
	// Method, Path (escaped, as the instance sees it), RawQuery (without
	// '?') and Host make the request line and the Host header; Path and
	// RawQuery are written byte for byte.
	Method, Path, RawQuery, Host string
	// Header holds the incoming end-to-end headers. Hop-by-hop headers,
	// the ones a Connection header names, Host, Content-Length and Expect
	// are never forwarded (the exchange frames the body itself); "Te:
	// trailers" is (gRPC needs it), and so is an Upgrade the client asked
	// for. Header is read, never modified.
	Header http.Header
	// Body is the request body; nil means none. When it implements
	// DuplexBody, it learns when it starts being sent and when the
	// exchange gives up on it.
	Body io.Reader
	// ContentLength is Body's length, -1 when unknown (sent chunked).
	ContentLength int64
	// Deadline bounds the whole exchange, the body copy and a tunnel
	// included: it is the connection's deadline (over HTTP/2, the
	// stream's). Zero means none.
	Deadline time.Time
	// Hooks apply the caller's rules; nil forwards Header as it is and
	// returns the response unchanged.
	Hooks Hooks
	// HTTP2 sends the request over HTTP/2 cleartext with prior knowledge
	// (h2c), as gRPC needs: the instance must speak h2c on its port (an
	// HTTP/1 server there fails Do with ErrNotH2C). The request is built
	// from the same fields by the same rules (Header filtered, Hooks
	// applied; no upgrade), on a stream of a connection kept for the
	// instance apart from its HTTP/1.1 ones.
	HTTP2 bool
}

// Hooks are the caller's rules for one exchange.
type Hooks interface {
	// ForwardHeader reports whether an incoming header (canonical key)
	// goes to the instance, beyond the ones the exchange always drops.
	ForwardHeader(key string) bool
	// AppendHeaders writes the caller's own header lines.
	AppendHeaders(hw HeadWriter)
	// ModifyResponse sees the response head before Do returns it, and
	// may change it (headers, or Body for one it buffers) or refuse it
	// with an error: then the connection is closed and Do returns that
	// error. Upgrades (101) pass through it too.
	ModifyResponse(resp *http.Response) error
}

// DuplexBody is a request body that must be told about full duplex: it is
// read while the instance may already answer.
type DuplexBody interface {
	io.Reader
	// Sending is called once, on Do's goroutine, before any of the body
	// is read.
	Sending()
	// CancelRead is called, on the goroutine that ends the exchange,
	// when the exchange gives up on a body still being sent (the
	// instance answered without reading it all): it must make a Read in
	// progress return. (Over HTTP/2, when that happens before Do
	// returns, it is called on x/net's goroutine while Do waits.)
	CancelRead()
}

// ErrUpgradeMismatch: the instance switched to another protocol than the
// one the request asked for, or to one nobody asked for.
var ErrUpgradeMismatch = errors.New("the instance switched protocols without being asked to")

// Options configure a Client. Zero values take the defaults.
type Options struct {
	// MaxIdlePerInstance caps the idle HTTP/1.1 connections kept per
	// instance. Default 1024. (HTTP/2 connections, each carrying many
	// exchanges, are dialed only when the others are at the instance's
	// stream limit, and closed when idle for IdleTimeout.)
	MaxIdlePerInstance int
	// IdleTimeout closes a connection idle that long. Default 90 s.
	IdleTimeout time.Duration
}

// Client exchanges requests with instances over pooled connections.
type Client struct {
	pool    *connPool
	h2      *h2Pool
	buffers sync.Pool // *[]byte
}

// New returns a Client.
func New(o Options) *Client {
	if o.MaxIdlePerInstance <= 0 {
		o.MaxIdlePerInstance = 1024
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 90 * time.Second
	}
	c := &Client{pool: newConnPool(o.MaxIdlePerInstance, o.IdleTimeout), h2: newH2Pool(o.IdleTimeout)}
	c.buffers.New = func() any { b := make([]byte, 32<<10); return &b }
	return c
}

// Run sweeps idle connections (closed by their instance, or idle too
// long) every interval until ctx ends, then closes them all.
func (c *Client) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.CloseIdle()
			return
		case now := <-t.C:
			c.Sweep(now)
		}
	}
}

// Sweep closes the idle connections that their instance closed (it
// stopped, or its server's keep-alive timer ran out; for HTTP/2, sent a
// GOAWAY or failed a ping) or that have idled longer than the idle
// timeout at now. Run calls it every interval.
func (c *Client) Sweep(now time.Time) {
	c.pool.sweep(now)
	c.h2.sweep(now)
}

// CloseIdle closes every idle connection, HTTP/2 ones without a stream
// in progress included.
func (c *Client) CloseIdle() {
	c.pool.closeIdle()
	c.h2.closeIdle()
}

// IdleConns is the number of idle connections kept: HTTP/1.1 ones in the
// pool, and HTTP/2 ones open without an exchange in progress.
func (c *Client) IdleConns() int { return c.pool.idleCount() + c.h2.idleCount() }

// Do sends req to b and returns the response head once it arrived. The
// caller reads resp.Body and must Close it: a body read to its end gives
// the connection back to the pool; closed early, it closes it. After an
// upgrade (101), resp.Body is the tunnel, an io.ReadWriteCloser.
//
// ctx cuts the exchange when it ends (the client left), the body copy
// included; errors are then wrapped with ctx.Err(). An idempotent
// request without a body that meets a kept-alive connection the instance
// had just closed is sent again on another one, as net/http's Transport
// does (replayable); any other could run twice.
//
// With req.HTTP2, the exchange is a stream of an h2c connection:
// resp.Body closed early resets the stream (the connection stays
// pooled); the trailers (gRPC's grpc-status and grpc-message) are in
// resp.Trailer once the body has been read to its end, unless the
// instance answered with a head alone (a "trailers-only" gRPC answer:
// they are in resp.Header then). A stream the instance never took
// (refused, or its connection closing) is sent once more, whatever the
// method, if none of its body was read. The deadline's error wraps
// os.ErrDeadlineExceeded, as over HTTP/1.1.
func (c *Client) Do(ctx context.Context, b Backend, req *Request) (*http.Response, error) {
	if req.HTTP2 {
		return c.doH2(ctx, b, req) // h2.go
	}
	x, err := c.roundTrip(ctx, b, req)
	if err != nil && x != nil && x.c.reused && replayable(req) && ctx.Err() == nil && staleConnErr(err) {
		x.finish(false)
		x, err = c.roundTrip(ctx, b, req)
	}
	if err != nil {
		if x != nil {
			x.finish(false)
			if x.werr != nil && errors.Is(err, net.ErrClosed) {
				// The body writer failed and closed the connection under
				// the response read: its error is the cause.
				err = x.werr
			}
		}
		return nil, ctxErr(ctx, err)
	}
	resp := x.resp
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if err := checkUpgrade(req.Header, resp.Header); err != nil {
			x.finish(false)
			return nil, err
		}
		removeHopHeaders(resp.Header, upgradeType(resp.Header))
		resp.Body = &tunnel{x: x}
	} else {
		removeHopHeaders(resp.Header, "")
		x.body = resp.Body
		resp.Body = x
	}
	if req.Hooks != nil {
		if err := req.Hooks.ModifyResponse(resp); err != nil {
			x.finish(false)
			return nil, err
		}
	}
	return resp, nil
}

// roundTrip sends the request on a pooled connection and reads the
// response head, passing interim (1xx) responses other than 101 over. On
// error the returned exchange (when a connection was taken) must be
// finished by the caller.
func (c *Client) roundTrip(ctx context.Context, b Backend, req *Request) (*exchange, error) {
	conn, err := c.pool.get(ctx, b)
	if err != nil {
		return nil, err
	}
	x := &exchange{c: conn, pool: c.pool, req: req}
	x.hreq.Method = req.Method            // how ReadResponse knows a HEAD answer has no body
	_ = conn.nc.SetDeadline(req.Deadline) // cleared when the connection goes back to the pool
	x.stop = context.AfterFunc(ctx, conn.cut)
	WriteHead(conn.bw, req)
	if req.Body != nil {
		if req.ContentLength < 0 {
			// A body of unknown length may stream: the instance gets the
			// head now, not with the first chunk. (A sized body goes out
			// with the head in one write.)
			if err := conn.bw.Flush(); err != nil {
				return x, err
			}
		}
		if d, ok := req.Body.(DuplexBody); ok {
			d.Sending()
		}
		x.sent = make(chan error, 1)
		go func() { x.sent <- c.writeBody(conn, req) }() // joined in finish
	} else if err := conn.bw.Flush(); err != nil {
		return x, err
	}
	// A connection closed before any byte of the answer reads io.EOF
	// here (ReadResponse would call it unexpected), which is what
	// staleConnErr looks for.
	if _, err := conn.br.Peek(1); err != nil {
		return x, err
	}
	for {
		resp, err := http.ReadResponse(conn.br, &x.hreq)
		if err != nil {
			return x, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			x.resp = resp
			return x, nil
		}
		// 100 Continue belongs to the Expect handshake, which is not
		// forwarded; 102 and 103 are dropped as well (not every client
		// library can take interim responses through a proxy).
	}
}

// ctxErr prefers the reason the exchange was cut (ctx ended) over the I/O
// error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// staleConnErr: the connection was closed under a request that the
// instance therefore never received.
func staleConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// replayable: a request that may be sent again after its connection
// broke under it (the instance may have received it): no body, and
// idempotent by its method or an Idempotency-Key, as net/http's
// Transport decides.
func replayable(req *Request) bool {
	if req.Body != nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}
