package gateway

import (
	"bytes"
	"crypto/subtle"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/openfc/openfc/internal/fc"
)

// This file holds FC's rules on what a request may be and what crosses
// to the function and back: limits, the trigger's switches and methods,
// restricted headers.

// checkRequestLimits applies the path and header limits.
func (g *Gateway) checkRequestLimits(r *http.Request) error {
	if n := len(r.RequestURI); n > g.limits.MaxPathBytes {
		return fc.Errorf(fc.CodeInvalidArgument, "the request path and query are %d bytes; the limit is %d bytes", n, g.limits.MaxPathBytes)
	}
	if n := fc.HeaderSize(r.Header) + len("Host") + len(r.Host); n > g.limits.MaxHeaderBytes {
		return fc.Errorf(fc.CodeInvalidArgument, "the request headers are %d bytes; the limit is %d bytes", n, g.limits.MaxHeaderBytes)
	}
	return nil
}

// checkTrigger refuses calls through a trigger whose internet URL is
// disabled; FC's switch disables the default URLs only, so a custom
// domain's route still reaches the function.
func checkTrigger(c *call) error {
	if c.trigger.TriggerConfig.DisableURLInternet && !c.viaDomain {
		return fc.Errorf(fc.CodeAccessDenied, "access denied due to function internet URL is disabled")
	}
	return nil
}

// checkMethod applies the trigger's methods.
func checkMethod(c *call) error {
	tc := c.trigger.TriggerConfig
	if !tc.AllowsMethod(c.r.Method) {
		return fc.Errorf(fc.CodeMethodNotAllowed, "method %s is not allowed by the HTTP trigger '%s' (allowed: %s)",
			c.r.Method, c.trigger.TriggerName, strings.Join(tc.Methods, ", "))
	}
	return nil
}

// checkBody applies the body limit of the invocation type, from the
// Content-Length when there is one (the body is refused unread) and
// while it streams otherwise; then the invocation type itself. It marks
// an async call for the accept stage.
func (g *Gateway) checkBody(c *call) error {
	if c.grpc {
		return g.checkGRPCBody(c)
	}
	typ, typeErr := fc.ParseInvocationType(c.r.Header)
	limit := g.bodyLimitOf(typ)
	if c.r.ContentLength > limit {
		return bodyTooLarge(c.r.ContentLength, limit)
	}
	if typeErr != nil {
		return typeErr
	}
	c.async = typ == fc.Async
	if c.body != nil {
		c.body.limit = limit
	}
	return nil
}

// bodyLimit is the body limit of the call's invocation type (the sync one
// for an unknown type, whose error checkBody reports).
func (g *Gateway) bodyLimit(c *call) int64 {
	typ, _ := fc.ParseInvocationType(c.r.Header)
	return g.bodyLimitOf(typ)
}

func (g *Gateway) bodyLimitOf(typ fc.InvocationType) int64 {
	if typ == fc.Async {
		return g.limits.MaxAsyncBody
	}
	return g.limits.MaxSyncBody
}

// readBody reads the request body whole (for the JWT stage's form, the
// async accept), within the body limit checkBody applies (a larger body
// gets its error), and keeps it to replay to the function. nil when the
// call has no body.
func (c *call) readBody() ([]byte, error) {
	if c.body == nil {
		return nil, nil
	}
	limit := c.g.bodyLimit(c)
	if c.r.ContentLength > limit {
		return nil, bodyTooLarge(c.r.ContentLength, limit)
	}
	c.body.limit = limit
	b, err := io.ReadAll(c.body)
	switch {
	case c.body.exceeded():
		return nil, bodyTooLarge(-1, limit)
	case err != nil:
		return nil, fc.Errorf(fc.CodeClientClosedRequest, "reading the request body: %w", err)
	}
	c.replayBody(b)
	return b, nil
}

// replayBody makes b the body the function gets, with its length.
func (c *call) replayBody(b []byte) {
	c.body.rc, c.body.n = bytes.NewReader(b), 0
	c.r.ContentLength = int64(len(b))
}

func bodyTooLarge(size, limit int64) *fc.Error {
	if size < 0 {
		return fc.Errorf(fc.CodeInvalidArgument, "the request body is larger than the limit of %d bytes", limit)
	}
	return fc.Errorf(fc.CodeInvalidArgument, "the request body is %d bytes or more; the limit is %d bytes", size, limit)
}

// noBodyLimit is a limitedBody limit that is never reached (and leaves
// room for its limit+1 arithmetic); checkBody sets the real one.
const noBodyLimit = math.MaxInt64 / 2

// limitedBody streams a request body and fails once more than limit bytes
// have been read, so that a large body is refused without buffering it.
// It tells its way in's writer (dx) when it is sent in full duplex.
type limitedBody struct {
	rc    io.Reader
	dx    duplexer
	limit int64
	n     int64
	over  atomic.Bool
	eof   atomic.Bool // the whole body was read
}

// duplexer is the side of a way in that must know when a request body is
// read while the answer may be written (respond.go's httpWriter).
type duplexer interface {
	sendingBody()
	cancelBodyRead()
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > b.limit {
		return 0, errBodyTooLarge
	}
	// Read at most one byte past the limit to detect the excess.
	if rem := b.limit + 1 - b.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		b.over.Store(true)
		return n, errBodyTooLarge
	}
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// Sending and CancelRead make it an upstream.DuplexBody.
func (b *limitedBody) Sending() {
	if b.dx != nil {
		b.dx.sendingBody()
	}
}

func (b *limitedBody) CancelRead() {
	if b.dx != nil {
		b.dx.cancelBodyRead()
	}
}

func (b *limitedBody) exceeded() bool { return b.over.Load() }
func (b *limitedBody) consumed() bool { return b.eof.Load() }

var errBodyTooLarge = &fc.Error{Code: fc.CodeInvalidArgument, Message: "the request body is too large"}

// ForwardHeader is FC's rule on the client's headers (an upstream hook):
// x-fc-* headers are FC's own and never reach a function (openfc sets
// the ones it sends), X-Forwarded-For/-Host/-Proto are openfc's to set
// (and X-Openfc-Forwarded, between its nodes),
// and an Authorization that was openfc's signature is consumed.
func (c *call) ForwardHeader(k string) bool {
	switch {
	case fc.IsFCHeader(k), k == "X-Forwarded-For", k == "X-Forwarded-Host", k == "X-Forwarded-Proto", k == headerForwarded:
		return false
	case k == "Authorization":
		return !c.stripAuth
	}
	return true
}

// checkResponseHeaderSize applies FC's limit on the function's response
// headers.
func (g *Gateway) checkResponseHeaderSize(h http.Header) error {
	if n := fc.HeaderSize(h); n > g.limits.MaxResponseHeaderBytes {
		return &errBadResponse{msg: "the function's response headers are " + strconv.Itoa(n) +
			" bytes; the limit is " + strconv.Itoa(g.limits.MaxResponseHeaderBytes) + " bytes"}
	}
	return nil
}

// filterResponseHeaders removes or recomputes the response headers a
// function may not set (upstream has dropped the hop-by-hop ones
// already): x-fc-*, Server, Date, and Content-Length, set from the
// framing. The one exception is the trusted channel of a built-in
// runtime: its bootstrap's X-Fc-Error-Type stays when the answer carries
// the instance's token (runtimeToken, "" for custom runtimes, whose
// answers are all the user's). The token itself never goes out.
func filterResponseHeaders(resp *http.Response, method, runtimeToken string) {
	h := resp.Header
	trusted := runtimeToken != "" && len(h[fc.HeaderRuntimeToken]) == 1 &&
		subtle.ConstantTimeCompare([]byte(h[fc.HeaderRuntimeToken][0]), []byte(runtimeToken)) == 1
	delete(h, fc.HeaderRuntimeToken)
	for k := range h {
		if fc.IsFCHeader(k) && !(trusted && k == fc.HeaderErrorType) {
			delete(h, k)
		}
	}
	delete(h, "Server")
	delete(h, "Date")
	switch {
	case method == http.MethodHead, !bodyAllowed(resp.StatusCode):
		// Content-Length describes a body that is not sent; keep it as is.
	case resp.ContentLength >= 0:
		var nb [20]byte
		cl := strconv.AppendInt(nb[:0], resp.ContentLength, 10)
		if v := h["Content-Length"]; len(v) != 1 || v[0] != string(cl) { // (the comparison allocates nothing)
			h["Content-Length"] = []string{string(cl)}
		}
	default:
		delete(h, "Content-Length")
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// forceAttachment makes answers on the shared proxy-form origin
// downloads, as FC does on its default domain. value is where the new
// header value goes (a caller's array: no allocation).
func forceAttachment(h http.Header, value *[1]string) {
	if v := h["Content-Disposition"]; len(v) != 1 || !isAttachment(v[0]) {
		value[0] = "attachment"
		h["Content-Disposition"] = value[:]
	}
}

// isAttachment reports whether a Content-Disposition value's type (the
// token before any ';') is attachment: "attachment0" is another type.
func isAttachment(v string) bool {
	typ, _, _ := strings.Cut(v, ";")
	return strings.EqualFold(strings.TrimSpace(typ), "attachment")
}
