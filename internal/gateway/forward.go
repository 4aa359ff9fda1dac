package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// This file is the forward of a call to another node of the cluster, one
// step of the acquire stage: when this node has no instance of the
// function version and may not start one, because the cluster-wide cap
// is held by instances on other nodes, the call goes to one of those
// nodes' front doors, which serves it from its own instances (queueing
// there). The answer comes back as that node sent it, streamed.

// headerForwarded marks a request one node forwarded to another: it is
// never forwarded again (one hop). A client setting it only disables
// forwarding; the function never sees it.
const headerForwarded = "X-Openfc-Forwarded"

// Peers finds the node a call is forwarded to (the daemon, from the
// instance slots and the live nodes).
type Peers interface {
	// PeerFor returns the name and front door URL ("http://host:port")
	// of a node holding instances of fn's version, when this node has
	// none and cannot start one because the cluster-wide cap is reached;
	// ok is false otherwise.
	PeerFor(fn *fc.Function) (name, url string, ok bool)
}

// peer is the node a call goes to.
type peer struct{ name, addr string }

// peerFor returns the node to forward c to, if c may be forwarded and
// should be: a synchronous call (async runs wait for a slot: every node's
// workers pull from the shared queue) of HTTP/1 (a gRPC stream or an
// upgrade stays), not forwarded already.
func (g *Gateway) peerFor(c *call) (peer, bool) {
	if g.opts.Peers == nil || c.queued != nil || c.grpc || isUpgrade(c.r) || len(c.r.Header[headerForwarded]) > 0 {
		return peer{}, false
	}
	name, raw, ok := g.opts.Peers.PeerFor(c.fn)
	if !ok {
		return peer{}, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		g.log.Warn("a node announces a bad front door URL", "node", name, "url", raw)
		return peer{}, false
	}
	return peer{name: name, addr: u.Host}, true
}

// throttledHere reports whether an acquire failed with a throttle, which
// a node without instances of a function capped cluster-wide answers.
func throttledHere(err error) bool {
	var fe *fc.Error
	return errors.As(err, &fe) && fe.Code == fc.CodeResourceThrottled
}

// forward sends c, as the client sent it, to p's front door and makes
// its answer the call's outcome.
func (g *Gateway) forward(ctx context.Context, c *call, p peer) {
	c.forwardedTo = p.name
	c.up = upstream.Request{
		Method: c.r.Method, Path: rawPath(c.r), RawQuery: c.r.URL.RawQuery, Host: c.r.Host, Header: c.r.Header,
		ContentLength: c.r.ContentLength, Hooks: forwardHooks{},
	}
	if c.body != nil {
		c.up.Body = c.body
	}
	resp, err := g.upstream.Do(ctx, peerBackend(p.addr), &c.up)
	if err != nil {
		switch {
		case errors.Is(context.Cause(ctx), errShuttingDown):
			c.fail(fc.Errorf(fc.CodeServiceUnavailable, "openfc is shutting down; call again"))
		case c.body != nil && c.body.exceeded():
			c.fail(bodyTooLarge(c.body.n, c.body.limit))
		case ctx.Err() != nil:
			c.fail(fc.Errorf(fc.CodeClientClosedRequest, "client Closed Request"))
		default:
			c.fail(&fc.Error{Code: fc.CodeServiceUnavailable, Err: err,
				Message: "the function's instances run on node " + p.name + ", which could not be reached: " + err.Error()})
		}
		return
	}
	c.out.Status, c.out.Header, c.out.ContentLength = resp.StatusCode, resp.Header, resp.ContentLength
	c.out.Body, c.out.Trailer, c.out.Answered = resp.Body, resp.Trailer, time.Now()
	c.out.FCStatus = resp.Header.Get(fc.HeaderStatus)
}

// peerBackend is another node's front door, as the upstream client's
// backend: its idle connections are kept apart from the instances'.
type peerBackend string

func (b peerBackend) InstanceID() string { return "node " + string(b) }

func (b peerBackend) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", string(b))
}

// forwardHooks pass the request on as it came, marked forwarded, and its
// answer back as it is.
type forwardHooks struct{}

func (forwardHooks) ForwardHeader(k string) bool { return k != headerForwarded }

func (forwardHooks) AppendHeaders(hw upstream.HeadWriter) { hw.Header(headerForwarded, "1") }

func (forwardHooks) ModifyResponse(*http.Response) error { return nil }
