package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
	"github.com/openfc/openfc/internal/upstream"
)

// Outcome is what a call produced, whichever way it came in: the
// function's answer (or the platform's own, such as a preflight's), or
// the FC error that stopped it.
type Outcome struct {
	// Status, Header and ContentLength (-1: unknown) make the answer's
	// head.
	Status        int
	Header        http.Header
	ContentLength int64
	// Body streams the answer; nil means none. After an upgrade (101) it
	// is the tunnel, an io.ReadWriteCloser. Reading it to its end fills
	// Trailer.
	Body    io.ReadCloser
	Trailer http.Header
	// Err is the FC error that ended the call instead of an answer.
	Err *fc.Error
	// FCStatus is the x-fc-status the function reported ("": none).
	FCStatus string
	// InstanceID is the instance that answered ("": none was reached).
	InstanceID string
	// Acquired and Answered are when the call got its instance slot and
	// when the answer's head arrived (zero: it did not).
	Acquired, Answered time.Time
}

// delivery is what a writer did with an outcome.
type delivery struct {
	status  int    // the status the client got (499: it had left)
	errType string // its X-Fc-Error-Type
	// aborted: the answer's body did not arrive whole, so the client's
	// connection is cut rather than left looking complete.
	aborted bool
	// broken says why, when the function is to blame (it broke off, or
	// ran out of time, mid-answer).
	broken string
}

// writer delivers an outcome to whoever invoked: an HTTP client
// (respond.go), later an async task's record. It closes the outcome's
// body.
type writer interface {
	deliver(ctx context.Context, c *call) delivery
}

// call is one invocation on its way through the chain: what its way in
// supplied, what the stages found, and its outcome. One allocation holds
// it all, the upstream request and the HTTP writer included.
type call struct {
	g         *Gateway
	requestID string
	// idValue and dispValue hold X-Fc-Request-Id's and
	// Content-Disposition's values in the answer (no allocation).
	idValue, dispValue [1]string
	// versionValue holds X-Fc-Invocation-Service-Version's value: the
	// version that served the call.
	versionValue [1]string
	start        time.Time
	// r is the client's request; match is where the front door sent it
	// (unused for event calls).
	r     *http.Request
	match route.Match
	// event marks an InvokeFunction call: POST /invoke with
	// x-fc-control-path /invoke, no trigger.
	event bool
	// async: the call asked to be invoked asynchronously (checkBody).
	async bool
	// queued is the accepted async request this call runs (RunAsync);
	// nil for a call from a client.
	queued *fc.AsyncRequest

	fn          *fc.Function
	trigger     *fc.Trigger // nil for event calls
	qualifier   string
	path        string // escaped, as the instance sees it
	rawQuery    string
	basePath    string // x-fc-base-path, "" for none
	controlPath string
	proxyForm   bool   // the shared-origin URL: answers become downloads
	viaDomain   bool   // a custom domain's route (domain.go)
	stripAuth   bool   // the Authorization header was openfc's signature
	keyID       string // the access key that signed the call ("": none)
	origin      string
	logTail     bool         // X-Fc-Log-Type: Tail
	body        *limitedBody // nil: no body
	// grpc: a gRPC call (grpc.go), whose messages in and out are checked
	// against the message limit by grpcIn and grpcOut (nil until sent).
	grpc            bool
	grpcIn, grpcOut *grpcMessages
	// stream registers a long-lived call (gRPC, an upgrade) for a
	// shutdown to end (streams.go); nil for others.
	stream *openStream

	lease Lease
	// forwardedTo is the node the call was forwarded to ("": none;
	// forward.go).
	forwardedTo string
	deadline    time.Time // the function's timeout
	up          upstream.Request
	out         Outcome
	// failure is the cause behind out.Err, for the logs.
	failure error

	w httpWriter
}

func (g *Gateway) newCall(r *http.Request, requestID string) *call {
	return &call{g: g, requestID: requestID, start: time.Now(), r: r, origin: r.Header.Get("Origin"),
		logTail: strings.EqualFold(r.Header.Get(fc.HeaderLogType), "Tail"), grpc: isGRPC(r)}
}

// serve runs a call through the chain, hands its outcome to w and ends
// it: the one path of every way in.
func (g *Gateway) serve(ctx context.Context, c *call, w writer) delivery {
	g.opts.Metrics.begin()
	g.chain(ctx, c)
	d := w.deliver(ctx, c)
	g.end(ctx, c, d)
	return d
}

// chain runs the stages in order; each may end the call with an outcome
// (an FC error, or a preflight's answer).
func (g *Gateway) chain(ctx context.Context, c *call) {
	if err := g.checkRequestLimits(c.r); err != nil { // checks.go
		c.fail(err)
		return
	}
	if err := g.resolve(c); err != nil { // resolve.go
		c.fail(err)
		return
	}
	if c.trigger != nil {
		if err := checkTrigger(c); err != nil { // checks.go
			c.fail(err)
			return
		}
		if c.isPreflight() { // cors.go
			c.preflight()
			return
		}
		if err := checkMethod(c); err != nil { // checks.go
			c.fail(err)
			return
		}
		if c.queued == nil { // an accepted async run was authenticated at accept
			if err := g.authenticate(c); err != nil { // auth.go
				c.fail(err)
				return
			}
		}
	}
	if err := g.checkBody(c); err != nil { // checks.go
		c.fail(err)
		return
	}
	if c.async && c.queued == nil {
		g.enqueue(ctx, c) // async.go
		return
	}
	g.invoke(ctx, c) // invoke.go
}

// end is the epilogue of every call: the instance slot is given back (its
// log told why the call failed), then the access log and the metrics.
func (g *Gateway) end(ctx context.Context, c *call, d delivery) {
	if c.out.Body != nil {
		_ = c.out.Body.Close() // a writer that did not (it closes it)
	}
	if c.lease != nil {
		if reason := c.functionFailure(d); reason != "" {
			g.log.Warn("invocation failed", "request_id", c.requestID, "function", c.fn.ServiceName+"/"+c.fn.FunctionName,
				"instance", c.lease.InstanceID(), "reason", reason, "err", c.failure)
			c.lease.Fail(reason)
		}
		c.lease.Release()
	}
	g.logAccess(ctx, c, d) // accesslog.go
}

// fail ends the call with err as its FC error.
func (c *call) fail(err error) {
	fe := fc.AsError(err)
	if fe.Code == fc.CodeInternalServerError {
		c.g.log.Error("internal error", "request_id", c.requestID, "err", err)
	}
	o := &c.out // what is known of the instance stays
	c.out = Outcome{Err: fe, FCStatus: o.FCStatus, InstanceID: o.InstanceID, Acquired: o.Acquired}
	c.failure = err
}

// functionFailure says why the function's invocation failed, for its
// log: a function error (crash, timeout, bad answer) or an answer that
// broke off. "" when it did not fail (or the platform stopped it first).
func (c *call) functionFailure(d delivery) string {
	switch {
	case d.broken != "":
		return d.broken
	case c.out.Err != nil && c.out.Err.Code.Type() == fc.UnhandledInvocationError:
		return c.out.Err.Message
	}
	return ""
}
