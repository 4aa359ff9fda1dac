package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file is the proxy to instances. It replaces httputil.ReverseProxy
// and http.Transport on the hot path: the request is written and the
// response read on the request's own goroutine over a pooled connection
// (connpool.go), the outgoing head is serialized straight from the
// incoming headers (filtered while writing, FC's headers appended as
// pre-rendered text) instead of cloning and editing a header map. A
// request body is sent by a second goroutine so that an instance may
// answer while it is still reading (full duplex). Upgrades (101) are
// tunnelled, streamed responses flushed as they come, trailers passed on.

// noBodyLimit is a limitedBody limit that is never reached (and leaves
// room for its limit+1 arithmetic).
const noBodyLimit = math.MaxInt64 / 2

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// exchange is one request/response on one instance connection.
type exchange struct {
	c    *upConn
	resp *http.Response
	// stop unregisters the context hook that breaks the connection's I/O
	// when the invocation times out or the client leaves; false means
	// the hook ran and the connection is unusable.
	stop func() bool
	// sent receives the body writer's result; nil without a body.
	sent chan error
}

// forward proxies r to the leased instance and writes the answer, after
// FC's response rules, to w. ctx is the client's: when it ends the
// exchange is cut; inv.deadline (the function's timeout) bounds it as the
// connection's deadline.
func (g *Gateway) forward(ctx context.Context, w http.ResponseWriter, r *http.Request, inv *invocation) {
	hasBody := r.Body != nil && r.Body != http.NoBody
	x, err := g.roundTrip(ctx, w, r, inv, hasBody)
	if err != nil && x != nil && x.c.reused && !hasBody && ctx.Err() == nil && staleConnErr(err) {
		// The instance closed a kept-alive connection as the request went
		// out; nothing was processed, so the request goes again on a new
		// connection (net/http's Transport does the same).
		g.finish(w, x, false, false)
		x, err = g.roundTrip(ctx, w, r, inv, hasBody)
	}
	if err != nil {
		g.proxyError(w, inv, ctxErr(ctx, err))
		if x != nil {
			g.finish(w, x, false, true)
		}
		return
	}
	resp := x.resp
	if resp.StatusCode == http.StatusSwitchingProtocols {
		g.switchProtocols(ctx, w, r, inv, x)
		return
	}
	if err := g.applyResponseRules(resp, inv); err != nil {
		g.proxyError(w, inv, ctxErr(ctx, err))
		g.finish(w, x, false, true)
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	closeIfBodyUnread(w, inv)
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength == -1 || isEventStream(resp.Header)
	if stream {
		// A stream's head goes out at once: the client may be waiting for
		// it before it sends more (full duplex) or shows anything (SSE).
		_ = http.NewResponseController(w).Flush()
	}
	bodyErr, clientErr := copyResponseBody(w, resp.Body, g.buffers, stream)
	if bodyErr != nil || clientErr != nil {
		if bodyErr != nil {
			// The instance broke off mid-body: the client gets what came
			// and then a cut connection, never a short body that looks
			// whole.
			_ = http.NewResponseController(w).Flush()
			if ctx.Err() == nil && !inv.timedOut() {
				g.log.Warn("instance response broke off", "request_id", inv.requestID, "instance", inv.lease.InstanceID(), "err", bodyErr)
			}
		}
		g.finish(w, x, false, true)
		inv.abort = true
		return
	}
	if len(resp.Trailer) > 0 {
		// Chunked framing carries trailers; flushing forces it.
		_ = http.NewResponseController(w).Flush()
		if len(resp.Trailer) == announced {
			for k, v := range resp.Trailer {
				h[k] = v
			}
		} else {
			for k, v := range resp.Trailer {
				h[http.TrailerPrefix+k] = v
			}
		}
	}
	x.c.framed = r.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	g.finish(w, x, !resp.Close && x.c.br.Buffered() == 0, true)
}

// roundTrip sends the request on a pooled connection and reads the
// response head, passing interim (1xx) responses other than 101 over.
// On error the returned exchange (if a connection was taken) must be
// finished by the caller.
func (g *Gateway) roundTrip(ctx context.Context, w http.ResponseWriter, r *http.Request, inv *invocation, hasBody bool) (*exchange, error) {
	c, err := g.pool.get(ctx, inv.lease.Host())
	if err != nil {
		return nil, err
	}
	x := &exchange{c: c}
	_ = c.nc.SetDeadline(inv.deadline) // the function's timeout; cleared in finish
	x.stop = context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
	g.writeHead(c.bw, r, inv, hasBody)
	if hasBody && r.ContentLength < 0 {
		// A body of unknown length may stream: the instance gets the
		// head now, not when the first chunk arrives. (A sized body goes
		// out with the head in one write.)
		if err := c.bw.Flush(); err != nil {
			return x, err
		}
	}
	if hasBody {
		// The instance may answer while it reads the body (net/http's
		// server would otherwise consume the body before the answer).
		if inv.body == nil { // an event invocation: no limit of the trigger's
			inv.body = &limitedBody{rc: r.Body, limit: noBodyLimit}
		}
		inv.fullDuplex = http.NewResponseController(w).EnableFullDuplex() == nil
		x.sent = make(chan error, 1)
		go func() { x.sent <- g.writeBody(c, r, inv) }() // joined in finish
	} else if err := c.bw.Flush(); err != nil {
		return x, err
	}
	// A connection closed before any byte of the answer reads io.EOF
	// here (ReadResponse would call it unexpected), which is what
	// staleConnErr looks for.
	if _, err := c.br.Peek(1); err != nil {
		return x, err
	}
	for {
		resp, err := http.ReadResponse(c.br, r)
		if err != nil {
			return x, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			x.resp = resp
			return x, nil
		}
		// 100 Continue belongs to the Expect handshake openfc does not
		// forward; 102 and 103 are dropped as well (a handler on the way
		// cannot pass interim responses through every client library).
	}
}

// finish releases the exchange's connection: back to the pool when reuse
// is true and nothing broke it, else closed. A body writer still running
// is stopped (the instance answered without reading the whole body) and
// waited for; when the client's answer was written (answered), it is
// flushed first, so that it is on its way before the connection that
// still carries the client's unread body is cut.
func (g *Gateway) finish(w http.ResponseWriter, x *exchange, reuse, answered bool) {
	hooked := !x.stop()
	if x.sent != nil {
		var err error
		select {
		case err = <-x.sent:
		default:
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case err = <-x.sent:
			case <-t.C:
				if answered {
					_ = http.NewResponseController(w).Flush()
				}
				// Unblock both ends of the writer: the instance side
				// and the client's body.
				_ = x.c.nc.Close()
				_ = http.NewResponseController(w).SetReadDeadline(aLongTimeAgo)
				err = <-x.sent
				reuse = false
			}
			t.Stop()
		}
		if err != nil {
			reuse = false
			if answered {
				_ = http.NewResponseController(w).Flush()
			}
		}
	}
	if reuse && !hooked && x.c.nc.SetDeadline(time.Time{}) == nil {
		g.pool.put(x.c)
		return
	}
	_ = x.c.nc.Close()
}

// ctxErr prefers the reason the exchange was cut (the client left: ctx
// is done; the function's timeout: the connection's deadline passed) over
// the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// staleConnErr: the connection was closed under a request that the
// instance therefore never received.
func staleConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1 (plus the
// legacy Proxy-Connection); they never cross the proxy.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// writeHead serializes the request head for the instance: the path
// byte for byte as the client sent it, the client's headers minus
// hop-by-hop and x-fc-* ones, X-Forwarded-*, and FC's common headers.
func (g *Gateway) writeHead(bw *bufio.Writer, r *http.Request, inv *invocation, hasBody bool) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(inv.path)
	if inv.rawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(inv.rawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	connTokens := r.Header["Connection"]
	upgrade := upgradeType(r.Header)
	for k, vs := range r.Header {
		switch {
		case isHopHeader(k):
			if k == "Te" && len(vs) == 1 && strings.EqualFold(vs[0], "trailers") {
				break // gRPC needs it
			}
			continue
		case isFCHeader(k), k == "Content-Length", k == "Expect", k == "Host",
			k == "X-Forwarded-For", k == "X-Forwarded-Host", k == "X-Forwarded-Proto",
			inv.stripAuth && k == "Authorization",
			len(connTokens) > 0 && listedIn(connTokens, k):
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if upgrade != "" {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(upgrade)
		bw.WriteString("\r\n")
	}
	// X-Forwarded-*: the client's own are replaced (not trusted).
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		bw.WriteString(ip)
		bw.WriteString("\r\n")
	}
	bw.WriteString("X-Forwarded-Host: ")
	bw.WriteString(r.Host)
	if r.TLS != nil {
		bw.WriteString("\r\nX-Forwarded-Proto: https\r\n")
	} else {
		bw.WriteString("\r\nX-Forwarded-Proto: http\r\n")
	}
	switch {
	case hasBody && r.ContentLength >= 0:
		bw.WriteString("Content-Length: ")
		var nb [20]byte
		bw.Write(strconv.AppendInt(nb[:0], r.ContentLength, 10))
		bw.WriteString("\r\n")
	case hasBody:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	// FC's common headers.
	bw.WriteString("X-Fc-Request-Id: ")
	bw.WriteString(inv.requestID)
	bw.WriteString("\r\n")
	bw.WriteString(g.headers.of(inv.fn).head)
	bw.WriteString(g.headers.fixed)
	bw.WriteString("X-Fc-Qualifier: ")
	bw.WriteString(inv.qualifier)
	bw.WriteString("\r\nX-Fc-Control-Path: ")
	bw.WriteString(inv.controlPath)
	bw.WriteString("\r\n")
	if inv.basePath != "" {
		bw.WriteString("X-Fc-Base-Path: ")
		bw.WriteString(inv.basePath)
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
}

// listedIn reports whether the header k is named in a Connection header.
func listedIn(conn []string, k string) bool {
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" && strings.EqualFold(f, k) {
				return true
			}
		}
	}
	return false
}

// upgradeType is the protocol a request or 101 response upgrades to, ""
// if none.
func upgradeType(h http.Header) string {
	conn := h["Connection"]
	if len(conn) == 0 || !listedIn(conn, "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// writeBody sends the request body (after writeHead) and flushes; chunked
// bodies are flushed chunk by chunk so a streaming upload streams. On
// failure the connection is closed, which also ends the response read.
func (g *Gateway) writeBody(c *upConn, r *http.Request, inv *invocation) (err error) {
	bp := g.buffers.Get()
	defer g.buffers.Put(bp)
	buf := *bp
	defer func() {
		if err != nil {
			_ = c.nc.Close()
		}
	}()
	chunked := r.ContentLength < 0
	var dst io.Writer = c.bw
	var cw io.WriteCloser
	if chunked {
		cw = httputil.NewChunkedWriter(c.bw)
		dst = cw
	}
	var n int64
	for {
		m, rerr := inv.body.Read(buf)
		if m > 0 {
			n += int64(m)
			if _, err := dst.Write(buf[:m]); err != nil {
				return fmt.Errorf("sending the request body: %w", err)
			}
			if chunked {
				if err := c.bw.Flush(); err != nil {
					return fmt.Errorf("sending the request body: %w", err)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading the request body: %w", rerr)
		}
	}
	if chunked {
		if err := cw.Close(); err != nil {
			return fmt.Errorf("sending the request body: %w", err)
		}
		_, _ = c.bw.WriteString("\r\n")
	} else if n != r.ContentLength {
		return fmt.Errorf("the request body was %d bytes, not its Content-Length %d", n, r.ContentLength)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("sending the request body: %w", err)
	}
	return nil
}

// copyResponseBody copies the instance's body to the client, flushing
// after every read when stream is set. bodyErr is a failure reading the
// instance (EOF is success), clientErr one writing the client.
func copyResponseBody(w http.ResponseWriter, body io.Reader, buffers *bufferPool, stream bool) (bodyErr, clientErr error) {
	bp := buffers.Get()
	defer buffers.Put(bp)
	buf := *bp
	var flusher http.Flusher
	if stream {
		flusher, _ = w.(http.Flusher)
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, err
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr == io.EOF {
			return nil, nil
		}
		if rerr != nil {
			return rerr, nil
		}
	}
}

func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	return len(v) > 0 && strings.HasPrefix(strings.ToLower(v[0]), "text/event-stream")
}

// switchProtocols completes an upgrade the instance accepted (101) and
// tunnels bytes both ways until either side closes or the invocation's
// context ends. The lease is held for the tunnel's life.
func (g *Gateway) switchProtocols(ctx context.Context, w http.ResponseWriter, r *http.Request, inv *invocation, x *exchange) {
	resp := x.resp
	want, got := upgradeType(r.Header), upgradeType(resp.Header)
	if want == "" || !strings.EqualFold(want, got) {
		g.proxyError(w, inv, &errBadResponse{msg: fmt.Sprintf("the function switched protocols to %q when %q was requested", got, want)})
		g.finish(w, x, false, true)
		return
	}
	if err := g.checkResponseHeaderSize(resp.Header); err != nil {
		g.proxyError(w, inv, err)
		g.finish(w, x, false, true)
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		g.proxyError(w, inv, fmt.Errorf("switching protocols: %w", err))
		g.finish(w, x, false, true)
		return
	}
	defer client.Close()
	if sw, ok := w.(*statusWriter); ok {
		sw.status = http.StatusSwitchingProtocols
	}
	filterResponseHeaders(resp)
	h := resp.Header
	h["X-Fc-Request-Id"] = []string{inv.requestID}
	if inv.origin != "" {
		addCORSDefaults(h, inv.origin)
	}
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + got + "\r\n")
	_ = h.Write(brw)
	_, _ = brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		g.finish(w, x, false, false)
		return
	}
	// The tunnel ends with the invocation's timeout (the instance side
	// has the same deadline already).
	_ = client.SetDeadline(inv.deadline)
	up := x.c
	done := make(chan struct{})
	go func() { // client → instance; joined below
		defer close(done)
		_, _ = io.Copy(up.nc, brw.Reader)
		_ = up.nc.Close()
	}()
	_, _ = io.Copy(client, up.br)
	_ = client.Close()
	<-done
	g.finish(w, x, false, false)
}
