package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// invoke takes an instance slot and exchanges the call with it. A warm
// slot is taken at once; waiting for one (a cold start, a busy function)
// is bounded by the instance manager (its queue and start timeouts) and
// by the client, not by the function's timeout, which, as in FC, counts
// from when the call reaches a ready instance. The exchange is bounded by
// that deadline on the instance connection and cut when ctx (the client)
// ends.
func (g *Gateway) invoke(ctx context.Context, c *call) {
	lease, p, err := g.acquire(ctx, c)
	if p.addr != "" {
		g.forward(ctx, c, p) // forward.go
		return
	}
	if err != nil {
		c.fail(acquireError(ctx, err)) // errors.go
		return
	}
	c.deadline = time.Now().Add(time.Duration(c.fn.Timeout) * time.Second)
	c.lease = lease
	c.out.InstanceID, c.out.Acquired = lease.InstanceID(), time.Now()
	c.up = upstream.Request{
		Method: c.r.Method, Path: c.path, RawQuery: c.rawQuery, Host: c.r.Host, Header: c.r.Header,
		ContentLength: c.r.ContentLength, Deadline: c.deadline, Hooks: c,
	}
	if c.event {
		c.up.Method = http.MethodPost
	}
	if c.grpc {
		c.up.HTTP2 = true // gRPC: h2c to the instance
	}
	if isUpgrade(c.r) {
		// A WebSocket's relay closes it at the deadline itself, with a
		// close frame each side reads (tunnel.go).
		c.up.Deadline = c.deadline.Add(wsCloseGrace)
	}
	if c.body != nil {
		c.up.Body = c.body
	}
	resp, err := g.upstream.Do(ctx, lease, &c.up)
	if err != nil {
		c.fail(exchangeError(ctx, c, err)) // errors.go
		return
	}
	if c.grpc {
		c.grpcOut = newGRPCMessages(resp.Body, g.limits.MaxStreamMessage, "function")
		resp.Body = grpcBody{c.grpcOut, resp.Body}
	}
	c.out.Status, c.out.Header, c.out.ContentLength = resp.StatusCode, resp.Header, resp.ContentLength
	c.out.Body, c.out.Trailer, c.out.Answered = resp.Body, resp.Trailer, time.Now()
}

// acquire takes the call's instance slot: a warm one at once, else
// waiting in the function's queue; the run of an accepted async request
// takes one of the async class. In a cluster, a call this node has no
// instance for, with the function's cap held by other nodes, goes to one
// of them instead (the peer returned; forward.go).
func (g *Gateway) acquire(ctx context.Context, c *call) (Lease, peer, error) {
	if c.queued != nil {
		l, err := g.opts.Instances.AcquireAsync(ctx, c.fn, c.requestID)
		return l, peer{}, err
	}
	if lease, ok := g.opts.Instances.TryAcquire(c.fn, c.requestID); ok {
		return lease, peer{}, nil
	}
	if p, ok := g.peerFor(c); ok {
		return nil, p, nil
	}
	l, err := g.opts.Instances.Acquire(ctx, c.fn, c.requestID)
	if err != nil && throttledHere(err) && ctx.Err() == nil {
		// The start found the cluster's slots held meanwhile.
		if p, ok := g.peerFor(c); ok {
			return nil, p, nil
		}
	}
	return l, peer{}, err
}

// AppendHeaders writes FC's common headers and X-Forwarded-* (an
// upstream hook).
func (c *call) AppendHeaders(hw upstream.HeadWriter) {
	r := c.r
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		hw.Header("X-Forwarded-For", ip)
	}
	hw.Header("X-Forwarded-Host", r.Host)
	if r.TLS != nil {
		hw.Header("X-Forwarded-Proto", "https")
	} else {
		hw.Header("X-Forwarded-Proto", "http")
	}
	hw.Header(fc.HeaderRequestID, c.requestID)
	hw.Lines(c.g.headers.of(c.fn).lines)
	hw.Header(fc.HeaderQualifier, c.qualifier)
	hw.Header(fc.HeaderControlPath, c.controlPath)
	if c.basePath != "" {
		hw.Header(fc.HeaderBasePath, c.basePath)
	}
}

// ModifyResponse applies FC's rules to the function's answer (an
// upstream hook): the response header limit, x-fc-status, the restricted
// headers, the request id, downloads on the proxy form and, for
// X-Fc-Log-Type: Tail, the log tail (after the body, which is read first
// so that the log is complete).
func (c *call) ModifyResponse(resp *http.Response) error {
	g := c.g
	if err := g.checkResponseHeaderSize(resp.Header); err != nil {
		return err
	}
	upgrade := resp.StatusCode == http.StatusSwitchingProtocols
	c.out.FCStatus = resp.Header.Get(fc.HeaderStatus)
	if c.logTail && !upgrade {
		if err := bufferBody(resp); err != nil {
			return err
		}
	}
	filterResponseHeaders(resp, c.up.Method, c.lease.RuntimeToken())
	h := resp.Header
	c.idValue[0] = c.requestID
	h[fc.HeaderRequestID] = c.idValue[:]
	c.versionValue[0] = c.fn.Version()
	h[fc.HeaderServiceVersion] = c.versionValue[:]
	if c.proxyForm && !upgrade {
		forceAttachment(h, &c.dispValue)
	}
	if c.logTail && !upgrade {
		h[fc.HeaderLogResult] = []string{base64.StdEncoding.EncodeToString(c.lease.LogTail(logTailBytes))}
	}
	return nil
}

// logTailBytes is how much of an invocation's log X-Fc-Log-Result carries.
const logTailBytes = 4096

// maxBufferedBody bounds the response body read whole for
// X-Fc-Log-Type: Tail; a larger one streams and its log tail is what had
// been written when the function sent its headers plus this much body.
const maxBufferedBody = 16 << 20

// bufferBody reads the response body (up to maxBufferedBody) so that the
// invocation's log is complete before the headers go out.
func bufferBody(resp *http.Response) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBufferedBody+1))
	if err != nil {
		return fmt.Errorf("reading the function's response: %w", err)
	}
	if len(b) <= maxBufferedBody {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.TransferEncoding = nil
		return nil
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return nil
}
