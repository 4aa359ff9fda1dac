package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openfc/openfc/internal/fc"
)

// fastReadBuffer holds a usual request head; a head that does not fit
// moves the connection to a fastMaxHead buffer (growReader).
const (
	fastReadBuffer  = 4 << 10
	fastWriteBuffer = 4 << 10
	fastMaxHead     = 64 << 10
)

// maxPostHandlerRead is how much of a body the handler left unread is
// read and dropped to keep the connection (net/http's figure); a longer
// rest closes it.
const maxPostHandlerRead = 256 << 10

// fastConn is one client connection of the fast server and everything
// it reuses from one request to the next.
type fastConn struct {
	srv        *fastServer
	raw        net.Conn
	remoteAddr string
	br         *bufio.Reader
	bw         *bufio.Writer
	head       fasthttp.RequestHeader
	rw         fastResponse
	body       fastBody
	watch      connWatch // fastwatch.go
	// idle: waiting for the next request (setIdle).
	idle atomic.Bool
	// hijacked: the handler took the connection over (an upgrade).
	hijacked bool
}

// connReader is what the connection's bufio.Reader reads: a byte the
// disconnect watch read ahead, then the socket.
type connReader struct{ c *fastConn }

func (r connReader) Read(p []byte) (int, error) {
	if n, ok := r.c.watch.takeStash(p); ok {
		return n, nil
	}
	return r.c.raw.Read(p)
}

// serve runs the connection's requests one after the other.
func (c *fastConn) serve() {
	defer func() {
		c.srv.forget(c)
		if !c.hijacked {
			_ = c.raw.Close()
		}
	}()
	c.remoteAddr = c.raw.RemoteAddr().String()
	c.watch.init(c)
	c.br = bufio.NewReaderSize(connReader{c}, fastReadBuffer)
	c.bw = bufio.NewWriterSize(c.raw, fastWriteBuffer)
	for first := true; ; first = false {
		if !c.srv.setIdle(c, true) || !c.awaitRequest() || !c.srv.setIdle(c, false) {
			return
		}
		if first && c.isH2Preface() {
			c.hijacked = true // the net/http server owns it now
			c.srv.handOver(c, c.br)
			return
		}
		if !c.serveRequest() {
			return
		}
	}
}

// awaitRequest waits (at most the idle timeout) for the first byte of
// the next request, then gives its head the header timeout.
func (c *fastConn) awaitRequest() bool {
	if c.br.Buffered() == 0 {
		_ = c.raw.SetReadDeadline(time.Now().Add(fastIdleTimeout))
		if _, err := c.br.Peek(1); err != nil {
			return false
		}
	}
	_ = c.raw.SetReadDeadline(time.Now().Add(c.srv.headerTimeout))
	return true
}

// isH2Preface reports whether the connection opens with HTTP/2's
// preface (it is read whole, within the header timeout).
func (c *fastConn) isH2Preface() bool {
	if b, _ := c.br.Peek(1); b[0] != 'P' {
		return false
	}
	b, _ := c.br.Peek(3)
	if string(b) != h2Preface[:3] {
		return false
	}
	b, _ = c.br.Peek(len(h2Preface))
	return string(b) == h2Preface
}

// serveRequest reads one request, runs the handler and finishes the
// answer; it reports whether the connection carries another request.
func (c *fastConn) serveRequest() bool {
	c.head.Reset()
	if err := c.readHead(); err != nil {
		return c.refuseHead(err)
	}
	_ = c.raw.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := c.newRequest(ctx)
	if err != nil {
		c.writePlatformError(fc.Errorf(fc.CodeInvalidArgument, "%s", err.Error()))
		return false
	}
	c.rw.reset(req)
	c.watch.arm(cancel, c.body.done)
	aborted := c.runHandler(req)
	c.watch.disarm()
	if c.hijacked {
		return false
	}
	if aborted {
		_ = c.bw.Flush() // what was written goes out, then the cut
		return false
	}
	c.rw.finish()
	if err := c.bw.Flush(); err != nil {
		return false
	}
	// The answer is on its way before what is left of the body is read.
	keep := c.keepAlive(req)
	if !keep {
		c.lingerClose()
	}
	return keep
}

// readHead parses the request head, moving to a larger buffer once when
// it does not fit the usual one.
func (c *fastConn) readHead() error {
	err := c.head.Read(c.br)
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) && c.br.Size() < fastMaxHead {
		c.growReader()
		c.head.Reset()
		err = c.head.Read(c.br)
	}
	return err
}

// growReader moves the connection to a fastMaxHead reader, the bytes
// already read going first.
func (c *fastConn) growReader() {
	buffered, _ := c.br.Peek(c.br.Buffered())
	c.watch.stashBytes(buffered)
	c.br = bufio.NewReaderSize(connReader{c}, fastMaxHead)
}

// refuseHead answers a head that could not be read: nothing for a
// client that left or was too slow (net/http closes such a connection
// too), an FC error for one it could not parse.
func (c *fastConn) refuseHead(err error) bool {
	var nothing fasthttp.ErrNothingRead
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.As(err, &nothing), errors.As(err, &ne):
		return false
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		c.writePlatformError(fc.Errorf(fc.CodeInvalidArgument, "the request head exceeds %d bytes", fastMaxHead))
		return false
	}
	c.writePlatformError(fc.Errorf(fc.CodeInvalidArgument, "malformed HTTP request: %s", parseProblem(err)))
	return false
}

// parseProblem is what fasthttp says was wrong with a head, without the
// head itself it quotes.
func parseProblem(err error) string {
	msg, _, _ := strings.Cut(err.Error(), ": buffer size=")
	return strings.TrimPrefix(msg, "error when reading request headers: ")
}

// writePlatformError answers with an FC error and closes the connection
// (used before any handler ran).
func (c *fastConn) writePlatformError(fe *fc.Error) {
	_ = c.raw.SetDeadline(time.Now().Add(c.srv.headerTimeout))
	c.rw.reset(nil)
	c.rw.header["Connection"] = []string{"close"}
	fc.WriteError(&c.rw, fc.NewRequestID(), fe)
	c.rw.finish()
	_ = c.bw.Flush()
	c.lingerClose()
}

// newRequest builds the net/http request the handler sees from the
// parsed head; its body reads the connection (fastBody).
func (c *fastConn) newRequest(ctx context.Context) (*http.Request, error) {
	h := &c.head
	uri := string(h.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, err
	}
	req := (&http.Request{
		Method: c.srv.headers.method(h.Method()), URL: u, RequestURI: uri,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, h.Len()), RemoteAddr: c.remoteAddr,
		Close: h.ConnectionClose(),
	}).WithContext(ctx)
	if !h.IsHTTP11() {
		req.Proto, req.ProtoMinor = "HTTP/1.0", 0
	}
	for k, v := range h.All() {
		if len(k) == 4 && string(k) == "Host" {
			continue
		}
		name := c.srv.headers.name(k)
		req.Header[name] = append(req.Header[name], string(v))
	}
	req.Host = u.Host
	if req.Host == "" {
		req.Host = string(h.Host())
	}
	if req.Host == "" && req.ProtoMinor == 1 {
		return nil, errors.New("missing required Host header")
	}
	expect := h.IsHTTP11() && bytes.EqualFold(h.Peek("Expect"), []byte("100-continue"))
	c.body.reset(c, int64(h.ContentLength()), expect)
	req.ContentLength = c.body.contentLength()
	if req.ContentLength == -1 {
		req.TransferEncoding = []string{"chunked"}
	}
	req.Body = http.NoBody
	if !c.body.done {
		req.Body = &c.body
	}
	return req, nil
}

// runHandler serves req; it reports whether the handler aborted the
// answer (http.ErrAbortHandler: the connection is cut).
func (c *fastConn) runHandler(req *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			aborted = true
			if v != http.ErrAbortHandler {
				c.srv.logf("panic serving %s: %v\n%s", c.remoteAddr, v, debug.Stack())
			}
		}
	}()
	c.srv.handler.ServeHTTP(&c.rw, req)
	return false
}

// keepAlive decides whether the connection serves another request: not
// when either side asked to close, nor when the body was left unread
// past what may be dropped.
func (c *fastConn) keepAlive(req *http.Request) bool {
	if req.Close || c.rw.closeAfter || !c.srv.setIdle(c, false) {
		return false
	}
	return c.body.drain()
}

// lingerClose ends a connection whose client may still be sending: the
// write side closes first and what arrives is read and dropped for a
// moment, so that the answer is not lost to a reset (net/http's
// closeWriteAndWait).
func (c *fastConn) lingerClose() {
	if tc, ok := c.raw.(*net.TCPConn); ok && !c.body.done {
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.Copy(io.Discard, tc)
	}
}

// cut closes the connection and cancels its call (the server's close).
func (c *fastConn) cut() {
	c.watch.cancelCall()
	_ = c.raw.Close()
}

// headerNames interns the canonical names of common request headers and
// the methods, so that reading a head allocates only its values.
type headerNames struct {
	names   map[string]string
	methods map[string]string
}

func newHeaderNames() headerNames {
	h := headerNames{names: make(map[string]string), methods: make(map[string]string)}
	for _, n := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Date", "Expect", "Origin", "Referer",
		"Upgrade", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "Access-Control-Request-Method",
		"Access-Control-Request-Headers", "Sec-Websocket-Key", "Sec-Websocket-Version", "Content-Md5",
		fc.HeaderInvocationType, fc.HeaderLogType, fc.HeaderRequestID} {
		h.names[n] = n
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		h.methods[m] = m
	}
	return h
}

// name is the header name k (canonical already: fasthttp normalises).
func (h *headerNames) name(k []byte) string {
	if n, ok := h.names[string(k)]; ok {
		return n
	}
	return string(k)
}

func (h *headerNames) method(m []byte) string {
	if s, ok := h.methods[string(m)]; ok {
		return s
	}
	return string(m)
}
