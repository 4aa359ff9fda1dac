package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// rewrite builds the request to the instance.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	inv := invocationFrom(pr.In.Context())
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = inv.lease.Host()
	// The path goes out byte for byte as the client sent it: Opaque is
	// written verbatim as the request target ("//…" would read as a host).
	if p, err := url.PathUnescape(inv.path); err == nil {
		out.URL.Path = p
	} else {
		out.URL.Path = inv.path
	}
	out.URL.RawPath = ""
	if !strings.HasPrefix(inv.path, "//") {
		out.URL.Opaque = inv.path
	} else if out.URL.EscapedPath() != inv.path {
		out.URL.RawPath = inv.path
	}
	out.URL.RawQuery = inv.rawQuery
	out.Host = pr.In.Host
	pr.SetXForwarded()
	h := out.Header
	filterRequestHeaders(h)
	if inv.stripAuth {
		delete(h, "Authorization")
	}
	// The common headers' values are shared, read-only slices (the
	// transport only reads them): one allocation per request fewer each.
	fh := g.headers.of(inv.fn)
	h["X-Fc-Request-Id"] = []string{inv.requestID}
	h["X-Fc-Function-Name"] = fh.name
	h["X-Fc-Service-Name"] = fh.service
	h["X-Fc-Function-Handler"] = fh.handler
	h["X-Fc-Function-Memory"] = fh.memory
	h["X-Fc-Function-Timeout"] = fh.timeout
	h["X-Fc-Region"] = g.headers.region
	h["X-Fc-Account-Id"] = g.headers.account
	if inv.qualifier == fc.LATEST {
		h["X-Fc-Qualifier"] = g.headers.latest
	} else {
		h["X-Fc-Qualifier"] = []string{inv.qualifier}
	}
	h["X-Fc-Version-Id"] = g.headers.latest
	if inv.controlPath == "/http-invoke" {
		h["X-Fc-Control-Path"] = g.headers.httpInvoke
	} else {
		h["X-Fc-Control-Path"] = []string{inv.controlPath}
	}
	if fh.initializer != nil {
		h["X-Fc-Function-Initializer"] = fh.initializer
		h["X-Fc-Initialization-Timeout"] = fh.initTimeout
	}
	if inv.basePath != "" {
		h["X-Fc-Base-Path"] = []string{inv.basePath}
	}
}

// errBadResponse marks a response the function may not send.
type errBadResponse struct{ msg string }

func (e *errBadResponse) Error() string { return e.msg }

// modifyResponse applies FC's response rules to the instance's response.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	inv := invocationFrom(resp.Request.Context())
	if n := headerSize(resp.Header); n > g.limits.MaxResponseHeaderBytes {
		return &errBadResponse{msg: "the function's response headers are " + strconv.Itoa(n) +
			" bytes; the limit is " + strconv.Itoa(g.limits.MaxResponseHeaderBytes) + " bytes"}
	}
	inv.fcStatus = resp.Header.Get("X-Fc-Status")
	if inv.logTail {
		if err := bufferBody(resp); err != nil {
			return err
		}
	}
	filterResponseHeaders(resp)
	h := resp.Header
	h["X-Fc-Request-Id"] = []string{inv.requestID}
	if inv.proxyForm {
		forceAttachment(h)
	}
	if inv.origin != "" {
		addCORSDefaults(h, inv.origin)
	}
	if inv.logTail {
		h["X-Fc-Log-Result"] = []string{base64.StdEncoding.EncodeToString(inv.lease.LogTail(logTailBytes))}
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

// proxyError maps a failed proxy attempt to FC's errors.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	inv := invocationFrom(r.Context())
	var fe *fc.Error
	var bad *errBadResponse
	switch {
	case inv.body != nil && inv.body.exceeded():
		fe = bodyTooLarge(inv.body.n, inv.body.limit)
	case errors.As(err, &bad):
		fe = fc.Errorf(fc.CodeBadResponse, "BadResponse: %s", bad.msg)
	case inv.timedOut():
		fe = fc.Errorf(fc.CodeFunctionTimeout, "Function timed out after %d seconds", inv.fn.Timeout)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		fe = fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request")
	default:
		if exited, exitErr := inv.lease.Exited(200 * time.Millisecond); exited {
			fe = fc.Errorf(fc.CodeFunctionCrashed, "Process exited unexpectedly before completing request (instance %s: %v)", inv.lease.InstanceID(), describeExit(exitErr))
		} else {
			fe = fc.Errorf(fc.CodeFunctionConnection, "the function's HTTP server failed: %v", err)
		}
	}
	if fe.Code.Type() == fc.UnhandledInvocationError {
		g.log.Warn("invocation failed", "request_id", inv.requestID, "function", inv.fn.ServiceName+"/"+inv.fn.FunctionName,
			"instance", inv.lease.InstanceID(), "code", fe.Code, "err", err)
	}
	g.fail(w, inv, fe)
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// statusWriter records the status written, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) errType() string { return s.Header().Get(fc.HeaderErrorType) }

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush forwards to the underlying writer (ReverseProxy flushes streams).
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// bufferPool is the ReverseProxy's copy buffer pool.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(p []byte) { b.p.Put(&p) }

var _ httputil.BufferPool = (*bufferPool)(nil)

// headerCache holds the values of FC's common request headers, as shared
// slices: constant ones, and per function (functions are immutable values
// from the catalog; a changed function is a new pointer).
type headerCache struct {
	region, account, latest, httpInvoke []string

	mu    sync.RWMutex
	byFn  map[*fc.Function]*fnHeaders
	limit int
}

type fnHeaders struct {
	name, service, handler, memory, timeout, initializer, initTimeout []string
}

func newHeaderCache(region, account string) *headerCache {
	return &headerCache{region: []string{region}, account: []string{account}, latest: []string{fc.LATEST},
		httpInvoke: []string{"/http-invoke"}, byFn: map[*fc.Function]*fnHeaders{}, limit: 4096}
}

// of returns fn's header values, computing them on first use. The cache
// starts over when it holds limit functions (old versions pile up).
func (c *headerCache) of(fn *fc.Function) *fnHeaders {
	c.mu.RLock()
	fh := c.byFn[fn]
	c.mu.RUnlock()
	if fh != nil {
		return fh
	}
	fh = &fnHeaders{
		name: []string{fn.FunctionName}, service: []string{fn.ServiceName}, handler: []string{fn.Handler},
		memory: []string{strconv.Itoa(fn.MemorySize)}, timeout: []string{strconv.Itoa(fn.Timeout)},
	}
	if fn.Initializer != "" {
		fh.initializer = []string{fn.Initializer}
		fh.initTimeout = []string{strconv.Itoa(fn.InitializationTimeout)}
	}
	c.mu.Lock()
	if len(c.byFn) >= c.limit {
		c.byFn = map[*fc.Function]*fnHeaders{}
	}
	c.byFn[fn] = fh
	c.mu.Unlock()
	return fh
}
