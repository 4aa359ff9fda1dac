package gateway

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/openfc/openfc/internal/fc"
)

// headerSize is FC's header size: the bytes of every key and value.
func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// checkRequestLimits applies the path and header limits.
func (g *Gateway) checkRequestLimits(r *http.Request) error {
	if n := len(r.RequestURI); n > g.limits.MaxPathBytes {
		return fc.Errorf(fc.CodeInvalidArgument, "the request path and query are %d bytes; the limit is %d bytes", n, g.limits.MaxPathBytes)
	}
	if n := headerSize(r.Header) + len("Host") + len(r.Host); n > g.limits.MaxHeaderBytes {
		return fc.Errorf(fc.CodeInvalidArgument, "the request headers are %d bytes; the limit is %d bytes", n, g.limits.MaxHeaderBytes)
	}
	return nil
}

func bodyTooLarge(size, limit int64) *fc.Error {
	if size < 0 {
		return fc.Errorf(fc.CodeInvalidArgument, "the request body is larger than the limit of %d bytes", limit)
	}
	return fc.Errorf(fc.CodeInvalidArgument, "the request body is %d bytes or more; the limit is %d bytes", size, limit)
}

// limitedBody streams a request body and fails once more than limit bytes
// have been read, so a large body is refused without buffering it.
type limitedBody struct {
	rc    io.ReadCloser
	limit int64
	n     int64
	over  atomic.Bool
	eof   atomic.Bool // the whole body was read
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

func (b *limitedBody) Close() error   { return b.rc.Close() }
func (b *limitedBody) exceeded() bool { return b.over.Load() }
func (b *limitedBody) consumed() bool { return b.eof.Load() }

var errBodyTooLarge = &fc.Error{Code: fc.CodeInvalidArgument, Message: "the request body is too large"}

// isFCHeader: x-fc-* headers are FC's own; a client's never reach a
// function (writeHead leaves them out), a function's never reach the
// client (filterResponseHeaders).
func isFCHeader(k string) bool { return len(k) >= 5 && strings.EqualFold(k[:5], "x-fc-") }

// filterResponseHeaders removes or recomputes the response headers a
// function may not set: x-fc-*, the hop-by-hop headers (Connection and
// the ones it names, Keep-Alive, …), Server, Date, Upgrade (except on a
// 101), and Content-Length (set from the framing).
func filterResponseHeaders(resp *http.Response) {
	h := resp.Header
	conn := h["Connection"]
	for k := range h {
		if isFCHeader(k) || len(conn) > 0 && k != "Upgrade" && listedIn(conn, k) {
			delete(h, k)
		}
	}
	delete(h, "Connection")
	delete(h, "Proxy-Connection")
	delete(h, "Keep-Alive")
	delete(h, "Te")
	delete(h, "Trailer")
	delete(h, "Transfer-Encoding")
	delete(h, "Server")
	delete(h, "Date")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		delete(h, "Upgrade")
	}
	switch {
	case resp.Request.Method == http.MethodHead, !bodyAllowed(resp.StatusCode):
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

// forceAttachment makes responses on the shared proxy-form origin
// downloads, as FC does on its default domain.
func forceAttachment(h http.Header) {
	if v := h["Content-Disposition"]; len(v) != 1 || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(v[0])), "attachment") {
		h["Content-Disposition"] = []string{"attachment"}
	}
}

// exposedHeaders are FC's headers a browser script may read.
const exposedHeaders = "X-Fc-Request-Id, X-Fc-Error-Type, X-Fc-Code-Checksum, X-Fc-Invocation-Duration, X-Fc-Max-Memory-Usage, X-Fc-Log-Result, X-Fc-Invocation-Code-Version, X-Fc-Stateful-Async-Invocation-Id"

// addCORSDefaults adds FC's CORS defaults unless the function set
// Access-Control-Allow-Origin itself; then its headers stand alone.
func addCORSDefaults(h http.Header, origin string) {
	if _, set := h["Access-Control-Allow-Origin"]; set {
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if _, set := h["Access-Control-Allow-Credentials"]; !set {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	if _, set := h["Access-Control-Expose-Headers"]; !set {
		h["Access-Control-Expose-Headers"] = []string{exposedHeaders}
	}
	h.Add("Vary", "Origin")
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight for a trigger whose methods do not
// include OPTIONS: the trigger's methods and the requested headers are
// allowed.
func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request, inv *invocation) {
	h := w.Header()
	addCORSDefaults(h, inv.origin)
	h.Set("Access-Control-Allow-Methods", strings.Join(inv.trigger.TriggerConfig.Methods, ", "))
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "3600")
	h.Set(fc.HeaderRequestID, inv.requestID)
	w.WriteHeader(http.StatusNoContent)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
