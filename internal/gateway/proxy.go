package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// checkResponseHeaderSize applies FC's limit on the function's response
// headers.
func (g *Gateway) checkResponseHeaderSize(h http.Header) error {
	if n := headerSize(h); n > g.limits.MaxResponseHeaderBytes {
		return &errBadResponse{msg: "the function's response headers are " + strconv.Itoa(n) +
			" bytes; the limit is " + strconv.Itoa(g.limits.MaxResponseHeaderBytes) + " bytes"}
	}
	return nil
}

// errBadResponse marks a response the function may not send.
type errBadResponse struct{ msg string }

func (e *errBadResponse) Error() string { return e.msg }

// applyResponseRules applies FC's response rules to the instance's
// response head (and buffers the body for X-Fc-Log-Type: Tail).
func (g *Gateway) applyResponseRules(resp *http.Response, inv *invocation) error {
	if err := g.checkResponseHeaderSize(resp.Header); err != nil {
		return err
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
func (g *Gateway) proxyError(w http.ResponseWriter, inv *invocation, err error) {
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
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
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

// Flush forwards to the underlying writer (streamed responses flush).
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// bufferPool holds the body copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}}
}

// Get and Put pass the slice's pointer around, so that putting a buffer
// back allocates nothing.
func (b *bufferPool) Get() *[]byte  { return b.p.Get().(*[]byte) }
func (b *bufferPool) Put(p *[]byte) { b.p.Put(p) }

// headerCache holds FC's common request headers rendered as header
// lines: the constant ones, and per function (functions are immutable
// values from the catalog; a changed function is a new pointer).
type headerCache struct {
	// fixed: X-Fc-Region, X-Fc-Account-Id, X-Fc-Version-Id.
	fixed string

	mu    sync.RWMutex
	byFn  map[*fc.Function]*fnHeaders
	limit int
}

type fnHeaders struct {
	// head: X-Fc-Function-Name, -Service-Name, -Function-Handler,
	// -Function-Memory, -Function-Timeout and, with an initializer,
	// X-Fc-Function-Initializer and X-Fc-Initialization-Timeout.
	head string
	// qualified is "service/function", the access log's and metrics'
	// name.
	qualified string
}

func newHeaderCache(region, account string) *headerCache {
	return &headerCache{
		fixed: headerLine("X-Fc-Region", region) + headerLine("X-Fc-Account-Id", account) + headerLine("X-Fc-Version-Id", fc.LATEST),
		byFn:  map[*fc.Function]*fnHeaders{}, limit: 4096,
	}
}

// headerLine renders "Key: value\r\n"; CR and LF in the value (which
// validation does not let into a function's fields) become spaces.
func headerLine(k, v string) string {
	return k + ": " + strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v) + "\r\n"
}

// of returns fn's rendered headers, computing them on first use. The
// cache starts over when it holds limit functions (old versions pile up).
func (c *headerCache) of(fn *fc.Function) *fnHeaders {
	c.mu.RLock()
	fh := c.byFn[fn]
	c.mu.RUnlock()
	if fh != nil {
		return fh
	}
	head := headerLine("X-Fc-Function-Name", fn.FunctionName) + headerLine("X-Fc-Service-Name", fn.ServiceName) +
		headerLine("X-Fc-Function-Handler", fn.Handler) + headerLine("X-Fc-Function-Memory", strconv.Itoa(fn.MemorySize)) +
		headerLine("X-Fc-Function-Timeout", strconv.Itoa(fn.Timeout))
	if fn.Initializer != "" {
		head += headerLine("X-Fc-Function-Initializer", fn.Initializer) +
			headerLine("X-Fc-Initialization-Timeout", strconv.Itoa(fn.InitializationTimeout))
	}
	fh = &fnHeaders{head: head, qualified: fn.ServiceName + "/" + fn.FunctionName}
	c.mu.Lock()
	if len(c.byFn) >= c.limit {
		c.byFn = map[*fc.Function]*fnHeaders{}
	}
	c.byFn[fn] = fh
	c.mu.Unlock()
	return fh
}
