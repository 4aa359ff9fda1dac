// Package gateway is openfc's front door for function invocations. Its
// files follow a request's stages, in the order chain.go writes them out:
//
//	frontdoor.go  the ways in: HTTP triggers (proxy form, subdomain,
//	              custom domain) and InvokeFunction; each builds a call
//	              and runs the chain
//	chain.go      the stages, once, for every way in; the epilogue
//	checks.go     FC's limits and restricted headers
//	resolve.go    the function (and trigger) a call names; domain.go
//	              for custom domains
//	cors.go       preflights and CORS defaults
//	auth.go       trigger authentication
//	async.go      an async call accepted into the queue (202), and the
//	              run of an accepted one (RunAsync) delivered as a value
//	invoke.go     an instance slot and the exchange with it (upstream),
//	              FC's headers out (fcheaders.go) and its rules on the answer;
//	              forward.go when the slot is on another node of the cluster
//	errors.go     failures → FC errors, the only place
//	respond.go    an outcome written to an HTTP client
//	accesslog.go  the access log line and the metrics (metrics.go) of a call
//
// The outcome of a call is a value (status, headers, body stream, FC
// error, instance) that a writer delivers; the access log, metrics and the
// abort of a broken answer happen once, in the epilogue.
//
// It declares the small interfaces it needs (Catalog, Instances, Lease,
// Peers, Verifier, JWTVerifier, Queue); the daemon supplies the implementations.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// Catalog looks functions up (store.JetStream).
type Catalog interface {
	// ResolveFunction finds the function a call names at qualifier
	// (LATEST, a version id, or an alias whose version pick, uniform in
	// [0, 1), chooses by weight) with its HTTP trigger for that qualifier
	// (nil: none); the function's VersionID is the version ("": LATEST).
	// Errors are FC's (ServiceNotFound, VersionNotFound, AliasNotFound,
	// FunctionNotFound).
	ResolveFunction(service, qualifier, function string, pick float64) (f *fc.Function, httpTrigger *fc.Trigger, err error)
	LookupTrigger(urlID string) (f *fc.Function, t *fc.Trigger, ok bool)
}

// Domains finds the custom domain serving a host (store.JetStream).
type Domains interface {
	// LookupDomain finds the domain of host, a route.HostName: by its
	// exact name, else the wildcard "*.parent".
	LookupDomain(host string) (*fc.ServedDomain, bool)
}

// Lease is one slot on one instance (instance.Lease).
type Lease interface {
	// InstanceID and Dial reach the instance (upstream.Backend).
	upstream.Backend
	// Fail records in the function's log why its invocation failed.
	Fail(reason string)
	// Release ends the invocation and frees the slot.
	Release()
	// Exited waits up to d for the instance to exit, and says how it
	// did; an *fc.Error is the answer to the request (a container that
	// ran out of memory).
	Exited(d time.Duration) (bool, error)
	// LogTail returns the last maxBytes of this invocation's log so far.
	LogTail(maxBytes int) []byte
	// RuntimeToken is the secret with which a built-in runtime's
	// bootstrap marks its own answers; "" for custom runtimes.
	RuntimeToken() string
}

// Instances hands out instance slots (instance.Manager).
type Instances interface {
	// TryAcquire returns a slot at once when a ready instance has one
	// free and nobody is queued for the function; else false.
	TryAcquire(fn *fc.Function, requestID string) (Lease, bool)
	// Acquire returns a slot for the invocation requestID (which the
	// instance's log markers carry).
	Acquire(ctx context.Context, fn *fc.Function, requestID string) (Lease, error)
	// AcquireAsync returns a slot of the async class, for the run of an
	// accepted async invocation: it waits for capacity, bounded by ctx,
	// within the share of a function's slots async runs may hold.
	AcquireAsync(ctx context.Context, fn *fc.Function, requestID string) (Lease, error)
}

// Queue persists accepted async requests (async.Queue).
type Queue interface {
	// Enqueue returns once JetStream acknowledged req (published with
	// Nats-Msg-Id = req.RequestID). It may set req.TaskID (the function's
	// async config has statefulInvocation: a generated id). Errors are
	// *fc.Error: 503 ServiceUnavailable when the queue cannot take it, 409
	// StatefulAsyncInvocationAlreadyExists for a reused task id.
	Enqueue(ctx context.Context, req *fc.AsyncRequest) error
}

// Verifier checks FC signatures (auth.Verifier) and says who signed.
type Verifier interface {
	VerifyHeader(r *http.Request, withQuery bool) (fc.Principal, error)
	VerifyURL(r *http.Request) (fc.Principal, error)
}

// JWTVerifier checks the tokens of triggers with authType jwt
// (auth.JWT). VerifyJWT checks r (on path, the path the function sees)
// against cfg and sets the claims it passes by in r; readForm buffers
// the request body, for a form position, and the answer is the body to
// send instead (nil: unchanged). Errors are *fc.Error values.
type JWTVerifier interface {
	VerifyJWT(cfg *fc.JWTAuthConfig, r *http.Request, path string, readForm func() ([]byte, error)) ([]byte, error)
}

// Limits are FC's HTTP-trigger limits. Zero values take FC's defaults
// (fc.MaxRequestHeaderBytes and the others).
type Limits struct {
	// MaxHeaderBytes bounds the request headers, keys plus values.
	MaxHeaderBytes int
	// MaxPathBytes bounds the request target, path plus query.
	MaxPathBytes int
	// MaxSyncBody and MaxAsyncBody bound the request body.
	MaxSyncBody, MaxAsyncBody int64
	// MaxResponseHeaderBytes bounds the function's response headers.
	MaxResponseHeaderBytes int
	// MaxStreamMessage bounds each message of a gRPC or WebSocket
	// stream, in either direction.
	MaxStreamMessage int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = fc.MaxRequestHeaderBytes
	}
	if l.MaxPathBytes <= 0 {
		l.MaxPathBytes = fc.MaxRequestPathBytes
	}
	if l.MaxSyncBody <= 0 {
		l.MaxSyncBody = fc.MaxSyncBodyBytes
	}
	if l.MaxAsyncBody <= 0 {
		l.MaxAsyncBody = fc.MaxAsyncBodyBytes
	}
	if l.MaxResponseHeaderBytes <= 0 {
		l.MaxResponseHeaderBytes = fc.MaxResponseHeaderBytes
	}
	if l.MaxStreamMessage <= 0 {
		l.MaxStreamMessage = fc.MaxStreamMessageBytes
	}
	return l
}

// Options configure a Gateway.
type Options struct {
	Catalog Catalog
	// Pick draws an alias's weighted choice, uniform in [0, 1); nil is
	// math/rand's.
	Pick      func() float64
	Instances Instances
	Verifier  Verifier
	// JWT verifies tokens for authType jwt; nil refuses such triggers'
	// calls (500).
	JWT JWTVerifier
	// Peers finds the node of the cluster a call is forwarded to; nil
	// never forwards (a single node).
	Peers Peers
	// Queue takes async invocations; nil answers them 503
	// ServiceUnavailable.
	Queue Queue
	// Management serves what is not a trigger request (the FC
	// management API); nil answers PathNotSupported.
	Management http.Handler
	// Console serves the web console: the unsigned GET and HEAD requests
	// of "/" and of paths under "/console/" on the platform's own host
	// (never a trigger subdomain or custom domain); nil leaves them to
	// Management.
	Console   http.Handler
	Region    string
	AccountID string
	// TriggerDomain is the parent domain of trigger subdomains.
	TriggerDomain string
	// Domains serves custom domains. With it, a Host that is not the
	// platform's own (route.IsPlatformHost, with APIHosts) is a custom
	// domain or DomainNameNotFound, never the management API; nil: every
	// such host reaches the API, as before custom domains.
	Domains  Domains
	APIHosts []string
	Limits   Limits
	// Metrics may be nil (no metrics).
	Metrics *Metrics
	// Logger receives the gateway's warnings and errors; AccessLog its
	// one line per request (at Info). Nil discards; a nil AccessLog
	// uses Logger.
	Logger    *slog.Logger
	AccessLog *slog.Logger
}

// Gateway serves the data plane.
type Gateway struct {
	opts     Options
	limits   Limits
	log      *slog.Logger
	access   *slog.Logger
	upstream *upstream.Client
	headers  *headerCache
	// streams are the long-lived calls open, for a shutdown to end.
	streams streams
}

// New returns a Gateway.
func New(o Options) *Gateway {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	access := o.AccessLog
	if access == nil {
		access = log
	}
	return &Gateway{opts: o, limits: o.Limits.withDefaults(), log: log, access: access,
		headers: newHeaderCache(o.Region, o.AccountID), upstream: upstream.New(upstream.Options{})}
}

// Run sweeps idle instance connections every interval until ctx ends,
// then closes them all.
func (g *Gateway) Run(ctx context.Context, interval time.Duration) {
	g.upstream.Run(ctx, interval)
}
