// Package gateway is openfc's front door for function invocations: it maps
// a request to a function (proxy URL form or trigger subdomain), applies
// FC's HTTP-trigger rules (limits, methods, authentication, CORS,
// restricted headers), acquires an instance slot and proxies the request
// to the instance with FC's common headers, streaming both bodies.
//
// The checks run in ServeHTTP in this order, each able to end the request
// with an FC error: request limits (path, headers) → route → function and
// trigger lookup → disableURLInternet → CORS preflight → method →
// authentication → body limit → instance → proxy (response filtering).
//
// It declares the small interfaces it needs (Catalog, Instances, Verifier);
// the daemon supplies the implementations.
package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
	"github.com/openfc/openfc/pkg/fcsign"
)

// Catalog looks functions up (store.JetStream).
type Catalog interface {
	LookupFunction(service, function string) (f *fc.Function, httpTrigger *fc.Trigger, serviceFound, ok bool)
	LookupTrigger(urlID string) (f *fc.Function, t *fc.Trigger, ok bool)
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
	// LogTail returns the last maxBytes of this invocation's log so far.
	LogTail(maxBytes int) []byte
}

// Instances hands out instance slots.
type Instances interface {
	// TryAcquire returns a slot at once when a ready instance has one
	// free and nobody is queued for the function; else false.
	TryAcquire(fn *fc.Function, requestID string) (Lease, bool)
	// Acquire returns a slot for the invocation requestID (which the
	// instance's log markers carry).
	Acquire(ctx context.Context, fn *fc.Function, requestID string) (Lease, error)
}

// Verifier checks FC signatures (auth.Verifier).
type Verifier interface {
	VerifyHeader(r *http.Request, withQuery bool) error
	VerifyURL(r *http.Request) error
}

// Limits are FC's HTTP-trigger request limits. Zero values take FC's
// defaults.
type Limits struct {
	// MaxHeaderBytes bounds the request headers, keys plus values (8 KB).
	MaxHeaderBytes int
	// MaxPathBytes bounds the request target, path plus query (4 KB).
	MaxPathBytes int
	// MaxSyncBody and MaxAsyncBody bound the request body (32 MB, 128 KB).
	MaxSyncBody, MaxAsyncBody int64
	// MaxResponseHeaderBytes bounds the function's response headers (8 KB).
	MaxResponseHeaderBytes int
}

// DefaultLimits are FC's documented limits.
func DefaultLimits() Limits {
	return Limits{MaxHeaderBytes: 8 << 10, MaxPathBytes: 4 << 10, MaxSyncBody: 32 << 20, MaxAsyncBody: 128 << 10, MaxResponseHeaderBytes: 8 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxPathBytes <= 0 {
		l.MaxPathBytes = d.MaxPathBytes
	}
	if l.MaxSyncBody <= 0 {
		l.MaxSyncBody = d.MaxSyncBody
	}
	if l.MaxAsyncBody <= 0 {
		l.MaxAsyncBody = d.MaxAsyncBody
	}
	if l.MaxResponseHeaderBytes <= 0 {
		l.MaxResponseHeaderBytes = d.MaxResponseHeaderBytes
	}
	return l
}

// Options configure a Gateway.
type Options struct {
	Catalog   Catalog
	Instances Instances
	Verifier  Verifier
	// Dial connects to an instance: addr is a Lease's Host.
	Dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	Region    string
	AccountID string
	// TriggerDomain is the parent domain of trigger subdomains.
	TriggerDomain string
	Limits        Limits
	// Metrics may be nil (no metrics).
	Metrics *Metrics
	Logger  *slog.Logger
}

// Gateway serves the data plane.
type Gateway struct {
	opts    Options
	limits  Limits
	log     *slog.Logger
	pool    *connPool
	buffers *bufferPool
	headers *headerCache
}

// New returns a Gateway.
func New(o Options) *Gateway {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{opts: o, limits: o.Limits.withDefaults(), log: log, headers: newHeaderCache(o.Region, o.AccountID),
		pool: newConnPool(o.Dial), buffers: newBufferPool()}
}

// Run sweeps idle instance connections (closed by the instance, or idle
// too long) every interval until ctx ends, then closes them all.
func (g *Gateway) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			g.pool.closeIdle()
			return
		case now := <-t.C:
			g.pool.sweep(now)
		}
	}
}

// IsTriggerHost reports whether host names a trigger subdomain; the front
// door sends such requests here whatever their path.
func (g *Gateway) IsTriggerHost(host string) bool {
	_, _, ok := route.ParseTriggerHost(host, g.opts.TriggerDomain)
	return ok
}

// invocation is the per-request state shared by the checks, the proxy
// hooks and the access log.
type invocation struct {
	requestID   string
	fn          *fc.Function
	trigger     *fc.Trigger
	qualifier   string
	lease       Lease
	path        string // escaped path for the instance
	rawQuery    string // query for the instance
	basePath    string // x-fc-base-path, "" for none
	controlPath string // x-fc-control-path
	proxyForm   bool   // shared-origin URL: force Content-Disposition
	origin      string // the request's Origin, for CORS defaults
	stripAuth   bool   // the Authorization header was openfc's signature
	body        *limitedBody
	// deadline ends the invocation (the function's timeout); client is
	// the client request's context (done when the client left).
	deadline time.Time
	client   context.Context
	// fcStatus is the x-fc-status the function reported ("" if none).
	fcStatus string
	// logTail: the client asked for X-Fc-Log-Type: Tail.
	logTail bool
	// abort: the response broke off after its head went out; the client
	// connection is cut so the body is not taken for a whole one.
	abort bool
	// fullDuplex: the request body is read while the answer is written
	// (set when a body is forwarded).
	fullDuplex bool
	// sw wraps the client's ResponseWriter (one allocation with inv).
	sw statusWriter
}

// closeIfBodyUnread marks the answer Connection: close when it goes out
// before the client's body was read to its end while full duplex is on:
// net/http then closes the connection after the answer (the rest of the
// body is never read), and the client must not send its next request on
// it. (Without full duplex net/http decides this itself.)
func closeIfBodyUnread(w http.ResponseWriter, inv *invocation) {
	if inv.fullDuplex && (inv.body == nil || !inv.body.consumed()) {
		w.Header()["Connection"] = []string{"close"}
	}
}

// ServeHTTP handles HTTP-trigger requests: the proxy form and trigger
// subdomains.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	inv := &invocation{requestID: fc.NewRequestID(), origin: r.Header.Get("Origin"), logTail: wantsLogTail(r)}
	g.opts.Metrics.begin()
	sw := &inv.sw
	sw.ResponseWriter = w
	g.serve(sw, r, inv)
	fn := ""
	if inv.fn != nil {
		fn = g.headers.of(inv.fn).qualified
	}
	status, errType := sw.status, sw.errType()
	failed := errType != "" || inv.fcStatus != "" && !strings.HasPrefix(inv.fcStatus, "2")
	g.opts.Metrics.end(start, fn, status, errType, failed)
	if g.log.Enabled(r.Context(), slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("request_id", inv.requestID), slog.String("function", fn), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("error_type", errType),
			slog.Duration("duration", time.Since(start)),
		}
		if inv.fcStatus != "" {
			attrs = append(attrs, slog.String("fc_status", inv.fcStatus))
		}
		if inv.lease != nil {
			attrs = append(attrs, slog.String("instance", inv.lease.InstanceID()))
		}
		if failed {
			attrs = append(attrs, slog.Bool("failed", true))
		}
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
	if inv.abort {
		panic(http.ErrAbortHandler) // net/http closes the connection quietly
	}
}

// fail writes err as FC's error, with the CORS defaults when the request
// came from a browser origin.
func (g *Gateway) fail(w http.ResponseWriter, inv *invocation, err error) {
	fe := fc.AsError(err)
	if fe.Code == fc.CodeInternalServerError {
		g.log.Error("internal error", "request_id", inv.requestID, "err", err)
	}
	if inv.origin != "" {
		addCORSDefaults(w.Header(), inv.origin)
	}
	closeIfBodyUnread(w, inv)
	fc.WriteError(w, inv.requestID, fe)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, inv *invocation) {
	if err := g.checkRequestLimits(r); err != nil {
		g.fail(w, inv, err)
		return
	}
	if err := g.route(r, inv); err != nil {
		g.fail(w, inv, err)
		return
	}
	tc := inv.trigger.TriggerConfig
	if tc.DisableURLInternet {
		g.fail(w, inv, fc.Errorf(fc.CodeAccessDenied, "access denied due to function internet URL is disabled"))
		return
	}
	if r.Method == http.MethodOptions && !tc.AllowsMethod(http.MethodOptions) && isPreflight(r) {
		g.preflight(w, r, inv)
		return
	}
	if !tc.AllowsMethod(r.Method) {
		g.fail(w, inv, fc.Errorf(fc.CodeMethodNotAllowed, "method %s is not allowed by the HTTP trigger '%s' (allowed: %s)",
			r.Method, inv.trigger.TriggerName, strings.Join(tc.Methods, ", ")))
		return
	}
	if tc.AuthType == fc.AuthFunction {
		if err := g.authenticate(r, inv); err != nil {
			g.fail(w, inv, err)
			return
		}
	}
	limit := g.limits.MaxSyncBody
	if strings.EqualFold(r.Header.Get("X-Fc-Invocation-Type"), "Async") {
		limit = g.limits.MaxAsyncBody
	}
	if r.ContentLength > limit {
		g.fail(w, inv, bodyTooLarge(r.ContentLength, limit))
		return
	}
	if r.Header.Get("X-Fc-Invocation-Type") != "" && !strings.EqualFold(r.Header.Get("X-Fc-Invocation-Type"), "Sync") {
		g.fail(w, inv, fc.Errorf(fc.CodeInvalidArgument, "X-Fc-Invocation-Type %q is not supported by this openfc yet; use Sync", r.Header.Get("X-Fc-Invocation-Type")))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// r.Body stays net/http's own: it must see it to close the
		// connection gracefully when the body is left unread.
		inv.body = &limitedBody{rc: r.Body, limit: limit}
	}
	g.invoke(w, r, inv)
}

// route resolves the function and trigger from the Host (trigger
// subdomain) or the proxy path.
func (g *Gateway) route(r *http.Request, inv *invocation) error {
	if label, id, ok := route.ParseTriggerHost(r.Host, g.opts.TriggerDomain); ok {
		fn, t, found := g.opts.Catalog.LookupTrigger(id)
		if !found || route.SubdomainLabel(fn.ServiceName, fn.FunctionName, t.URLID()) != label {
			return fc.Errorf(fc.CodeTriggerNotFound, "no HTTP trigger is bound to the host '%s'", r.Host)
		}
		if !strings.EqualFold(t.TriggerType, "http") || t.TriggerConfig == nil {
			return fc.Errorf(fc.CodeTriggerNotFound, "the trigger of host '%s' is not an HTTP trigger", r.Host)
		}
		inv.fn, inv.trigger, inv.qualifier = fn, t, t.Qualifier
		inv.path, inv.rawQuery = rawPath(r), r.URL.RawQuery
		inv.controlPath = "/http-invoke"
		return nil
	}
	t, ok := route.ParseProxyPath(rawPath(r))
	if !ok {
		return fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", r.Method, r.URL.Path)
	}
	fn, trig, svcFound, ok := g.opts.Catalog.LookupFunction(t.Service, t.Function)
	switch {
	case !svcFound:
		return fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", t.Service)
	case !ok:
		return fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", t.Function, t.Service)
	case t.Qualifier != fc.LATEST:
		if _, err := strconv.Atoi(t.Qualifier); err == nil {
			return fc.Errorf(fc.CodeVersionNotFound, "version '%s' of service '%s' does not exist", t.Qualifier, t.Service)
		}
		return fc.Errorf(fc.CodeAliasNotFound, "alias '%s' of service '%s' does not exist", t.Qualifier, t.Service)
	case trig == nil || trig.TriggerConfig == nil:
		return fc.Errorf(fc.CodeTriggerNotFound, "function '%s' of service '%s' has no HTTP trigger", t.Function, t.Service)
	}
	inv.fn, inv.trigger, inv.qualifier = fn, trig, t.Qualifier
	inv.path, inv.rawQuery, inv.basePath = t.Path, r.URL.RawQuery, t.BasePath
	inv.controlPath, inv.proxyForm = "/http-invoke", true
	return nil
}

// authenticate checks an FC signature (header or signed URL) and marks
// the credentials it consumed so they are not forwarded.
func (g *Gateway) authenticate(r *http.Request, inv *invocation) error {
	if r.URL.Query().Has(fcsign.QuerySignature) {
		if err := g.opts.Verifier.VerifyURL(r); err != nil {
			return err
		}
		inv.rawQuery = dropFCQuery(inv.rawQuery)
		return nil
	}
	if err := g.opts.Verifier.VerifyHeader(r, true); err != nil {
		return err
	}
	inv.stripAuth = true
	return nil
}

// dropFCQuery removes signed-URL parameters (x-fc-*) from a raw query,
// keeping the others exactly as sent.
func dropFCQuery(raw string) string {
	if !strings.Contains(raw, "x-fc-") {
		return raw
	}
	var kept []string
	for _, kv := range strings.Split(raw, "&") {
		if !strings.HasPrefix(strings.ToLower(kv), "x-fc-") {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, "&")
}

// Invoke runs an event invocation (the InvokeFunction API): the request
// body is POSTed to the instance's /invoke with x-fc-control-path: /invoke
// and the instance's answer is returned as is.
func (g *Gateway) Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string) {
	inv := &invocation{requestID: requestID, fn: fn, qualifier: qualifier, path: "/invoke", controlPath: "/invoke", logTail: wantsLogTail(r)}
	out := r.Clone(r.Context())
	out.Method = http.MethodPost
	out.Header.Del("Authorization")
	g.invoke(w, out, inv)
}

// invoke acquires an instance and proxies the request to it, bounded by
// the function's timeout. A warm slot is taken without a context; only a
// request that must wait for an instance gets one (with the deadline).
// The exchange itself is bounded by a deadline on the instance
// connection, and cut when the client goes away (forward).
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, inv *invocation) {
	inv.client = r.Context()
	inv.deadline = time.Now().Add(time.Duration(inv.fn.Timeout) * time.Second)
	lease, ok := g.opts.Instances.TryAcquire(inv.fn, inv.requestID)
	if !ok {
		ctx, cancel := context.WithDeadline(r.Context(), inv.deadline)
		var err error
		lease, err = g.opts.Instances.Acquire(ctx, inv.fn, inv.requestID)
		cancel()
		if err != nil {
			switch {
			case inv.timedOut():
				err = fc.Errorf(fc.CodeFunctionTimeout, "Function timed out after %d seconds while waiting for an instance", inv.fn.Timeout)
			case r.Context().Err() != nil:
				err = fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request")
			}
			g.fail(w, inv, err)
			return
		}
	}
	defer lease.Release()
	inv.lease = lease
	g.forward(r.Context(), w, r, inv)
}

// timedOut reports whether the invocation ran out of its function's
// timeout (and not because the client left).
func (inv *invocation) timedOut() bool {
	return !inv.deadline.IsZero() && !time.Now().Before(inv.deadline) && inv.client.Err() == nil
}

// wantsLogTail reports whether the client asked for the invocation's log
// tail in X-Fc-Log-Result.
func wantsLogTail(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("X-Fc-Log-Type"), "Tail")
}

// rawPath is the path exactly as the client sent it (the request target
// before '?'), so that the function sees it byte for byte; Go's
// EscapedPath would re-encode characters such as '|' or '^'.
func rawPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath()
}
