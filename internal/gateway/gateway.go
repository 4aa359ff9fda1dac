// Package gateway is openfc's front door for function invocations: it maps
// a request to a function (proxy URL form), checks the trigger's methods
// and authentication, acquires an instance slot and proxies the request to
// the instance with FC's common headers, streaming both bodies.
//
// It declares the small interfaces it needs (Catalog, Instances, Verifier);
// the daemon supplies the implementations.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// Catalog looks functions up (store.Catalog).
type Catalog interface {
	LookupFunction(service, function string) (f *fc.Function, httpTrigger *fc.Trigger, serviceFound, ok bool)
}

// Lease is one slot on one instance.
type Lease interface {
	// Host is the host:port to put in the outgoing URL; the shared
	// transport's dialer resolves it to the instance.
	Host() string
	InstanceID() string
	Release()
	// Exited waits up to d for the instance to exit.
	Exited(d time.Duration) (bool, error)
}

// Instances hands out instance slots.
type Instances interface {
	Acquire(ctx context.Context, fn *fc.Function) (Lease, error)
}

// Verifier checks FC signatures (auth.Verifier).
type Verifier interface {
	VerifyHeader(r *http.Request, withQuery bool) error
	VerifyURL(r *http.Request) error
}

// Options configure a Gateway.
type Options struct {
	Catalog   Catalog
	Instances Instances
	Verifier  Verifier
	// Transport is the one shared transport to instances.
	Transport http.RoundTripper
	Region    string
	AccountID string
	Logger    *slog.Logger
}

// Gateway serves the data plane.
type Gateway struct {
	opts  Options
	log   *slog.Logger
	proxy *httputil.ReverseProxy
}

// New returns a Gateway.
func New(o Options) *Gateway {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{opts: o, log: log}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      o.Transport,
		BufferPool:     newBufferPool(),
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return g
}

// invocation is the per-request state shared by the proxy hooks.
type invocation struct {
	requestID   string
	fn          *fc.Function
	qualifier   string
	lease       Lease
	path        string // escaped path for the instance
	basePath    string // x-fc-base-path, "" for none
	controlPath string // x-fc-control-path
	proxyForm   bool   // shared-origin URL: force Content-Disposition
	timedOut    func() bool
}

type invocationKey struct{}

func invocationFrom(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

// ServeHTTP handles /2016-08-15/proxy/… requests.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := fc.NewRequestID()
	start := time.Now()
	status, errType := g.serveProxy(w, r, reqID)
	g.log.Info("request", "request_id", reqID, "method", r.Method, "path", r.URL.Path,
		"status", status, "error_type", errType, "duration", time.Since(start))
}

func (g *Gateway) fail(w http.ResponseWriter, reqID string, err error) (int, string) {
	fe := fc.AsError(err)
	if fe.Code == fc.CodeInternalServerError {
		g.log.Error("internal error", "request_id", reqID, "err", err)
	}
	fc.WriteError(w, reqID, fe)
	return fe.Status(), string(fe.Code.Type())
}

func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, reqID string) (int, string) {
	t, ok := route.ParseProxyPath(r.URL.EscapedPath())
	if !ok {
		return g.fail(w, reqID, fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", r.Method, r.URL.Path))
	}
	fn, trig, svcFound, ok := g.opts.Catalog.LookupFunction(t.Service, t.Function)
	switch {
	case !svcFound:
		return g.fail(w, reqID, fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", t.Service))
	case !ok:
		return g.fail(w, reqID, fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", t.Function, t.Service))
	case t.Qualifier != fc.LATEST:
		if _, err := strconv.Atoi(t.Qualifier); err == nil {
			return g.fail(w, reqID, fc.Errorf(fc.CodeVersionNotFound, "version '%s' of service '%s' does not exist", t.Qualifier, t.Service))
		}
		return g.fail(w, reqID, fc.Errorf(fc.CodeAliasNotFound, "alias '%s' of service '%s' does not exist", t.Qualifier, t.Service))
	case trig == nil:
		return g.fail(w, reqID, fc.Errorf(fc.CodeTriggerNotFound, "function '%s' of service '%s' has no HTTP trigger", t.Function, t.Service))
	case !trig.TriggerConfig.AllowsMethod(r.Method):
		return g.fail(w, reqID, fc.Errorf(fc.CodeMethodNotAllowed, "method %s is not allowed by the HTTP trigger '%s' (allowed: %s)",
			r.Method, trig.TriggerName, strings.Join(trig.TriggerConfig.Methods, ", ")))
	}
	if trig.TriggerConfig.AuthType == fc.AuthFunction {
		var err error
		if r.URL.Query().Has("x-fc-signature") {
			err = g.opts.Verifier.VerifyURL(r)
		} else {
			err = g.opts.Verifier.VerifyHeader(r, true)
		}
		if err != nil {
			return g.fail(w, reqID, err)
		}
	}
	inv := &invocation{requestID: reqID, fn: fn, qualifier: t.Qualifier, path: t.Path, basePath: t.BasePath,
		controlPath: "/http-invoke", proxyForm: true}
	return g.invoke(w, r, inv)
}

// Invoke runs an event invocation (the InvokeFunction API): the request
// body is POSTed to the instance's /invoke with x-fc-control-path: /invoke
// and the instance's answer is returned as is.
func (g *Gateway) Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string) {
	inv := &invocation{requestID: requestID, fn: fn, qualifier: qualifier, path: "/invoke", controlPath: "/invoke"}
	out := r.Clone(r.Context())
	out.Method = http.MethodPost
	out.URL.RawQuery = ""
	g.invoke(w, out, inv)
}

// invoke acquires an instance and proxies the request to it, bounded by
// the function's timeout.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, inv *invocation) (int, string) {
	timeout := time.Duration(inv.fn.Timeout) * time.Second
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	inv.timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil }
	lease, err := g.opts.Instances.Acquire(ctx, inv.fn)
	if err != nil {
		switch {
		case inv.timedOut():
			err = fc.Errorf(fc.CodeFunctionTimeout, "Function timed out after %d seconds while waiting for an instance", inv.fn.Timeout)
		case r.Context().Err() != nil:
			err = fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request")
		}
		return g.fail(w, inv.requestID, err)
	}
	defer lease.Release()
	inv.lease = lease
	sw := &statusWriter{ResponseWriter: w}
	g.proxy.ServeHTTP(sw, r.WithContext(context.WithValue(ctx, invocationKey{}, inv)))
	return sw.status, sw.errType()
}

// rewrite builds the request to the instance.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	inv := invocationFrom(pr.In.Context())
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = inv.lease.Host()
	out.URL.RawPath = inv.path
	if p, err := url.PathUnescape(inv.path); err == nil {
		out.URL.Path = p
	} else {
		out.URL.Path, out.URL.RawPath = inv.path, ""
	}
	out.URL.RawQuery = pr.In.URL.RawQuery
	out.Host = pr.In.Host
	pr.SetXForwarded()
	h := out.Header
	for k := range h {
		if len(k) > 5 && strings.EqualFold(k[:5], "x-fc-") {
			delete(h, k)
		}
	}
	fn := inv.fn
	h["X-Fc-Request-Id"] = []string{inv.requestID}
	h["X-Fc-Function-Name"] = []string{fn.FunctionName}
	h["X-Fc-Service-Name"] = []string{fn.ServiceName}
	h["X-Fc-Function-Handler"] = []string{fn.Handler}
	h["X-Fc-Function-Memory"] = []string{strconv.Itoa(fn.MemorySize)}
	h["X-Fc-Function-Timeout"] = []string{strconv.Itoa(fn.Timeout)}
	h["X-Fc-Region"] = []string{g.opts.Region}
	h["X-Fc-Account-Id"] = []string{g.opts.AccountID}
	h["X-Fc-Qualifier"] = []string{inv.qualifier}
	h["X-Fc-Version-Id"] = []string{fc.LATEST}
	h["X-Fc-Control-Path"] = []string{inv.controlPath}
	if fn.Initializer != "" {
		h["X-Fc-Function-Initializer"] = []string{fn.Initializer}
		h["X-Fc-Initialization-Timeout"] = []string{strconv.Itoa(fn.InitializationTimeout)}
	}
	if inv.basePath != "" {
		h["X-Fc-Base-Path"] = []string{inv.basePath}
	}
}

// modifyResponse filters the instance's response headers.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	inv := invocationFrom(resp.Request.Context())
	h := resp.Header
	for k := range h {
		if len(k) > 5 && strings.EqualFold(k[:5], "x-fc-") {
			delete(h, k)
		}
	}
	h.Del("Server")
	h.Del("Date")
	h["X-Fc-Request-Id"] = []string{inv.requestID}
	if inv.proxyForm {
		h["Content-Disposition"] = []string{"attachment"}
	}
	return nil
}

// proxyError maps a failed proxy attempt to FC's errors.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	inv := invocationFrom(r.Context())
	var fe *fc.Error
	switch {
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
	g.log.Warn("invocation failed", "request_id", inv.requestID, "function", inv.fn.ServiceName+"/"+inv.fn.FunctionName,
		"instance", inv.lease.InstanceID(), "code", fe.Code, "err", err)
	fc.WriteError(w, inv.requestID, fe)
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
