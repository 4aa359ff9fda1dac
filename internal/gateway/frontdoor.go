package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// This file holds the ways in. Each builds a call and runs it through
// serve (chain.go); a new way in adds a constructor here, not a path.

// ServeHTTP is the front door: trigger subdomains, custom domains (any
// host that is not the platform's own, domain.go) and the proxy form go
// through the chain; on the platform's own host, the web console's
// requests (consoleRequest) to the console, everything else to the
// management API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := route.Dispatch(r.Host, rawPath(r), g.opts.TriggerDomain)
	if m.Kind != route.Subdomain && g.opts.Domains != nil &&
		!route.IsPlatformHost(route.HostName(r.Host), g.opts.TriggerDomain, g.opts.APIHosts) {
		m = route.Match{Kind: route.Domain}
	}
	if m.Kind == route.API && g.opts.Console != nil && consoleRequest(r) {
		g.opts.Console.ServeHTTP(w, r)
		return
	}
	if m.Kind == route.API {
		if g.opts.Management == nil {
			fc.WriteError(w, fc.NewRequestID(), fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", r.Method, r.URL.Path))
			return
		}
		g.opts.Management.ServeHTTP(w, r)
		return
	}
	c := g.newCall(r, fc.NewRequestID())
	c.match = m
	g.serveHTTP(w, r, c)
}

// Invoke is the InvokeFunction way in (the management API resolved and
// authorised the call): the request body is POSTed to the instance's
// /invoke with x-fc-control-path /invoke, and the answer delivered as the
// function gave it.
func (g *Gateway) Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string) {
	c := g.newCall(r, requestID)
	c.event, c.fn, c.qualifier, c.grpc = true, fn, qualifier, false
	g.serveHTTP(w, r, c)
}

// RunAsync is the queue's way in: one attempt of the accepted async
// request req, through the same chain as a synchronous call (without its
// authentication, checked at accept), with the async acquire class; ctx
// ending (a stop, a shutdown) cuts the exchange.
func (g *Gateway) RunAsync(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome {
	c := g.queuedCall(ctx, req) // async.go
	var w asyncWriter
	g.serve(ctx, c, &w)
	w.out.Duration = time.Since(c.start)
	return w.out
}

// serveHTTP runs a call that came in over net/http and delivers its
// outcome there. An answer whose body broke off cuts the client's
// connection (after the epilogue logged it): no terminating chunk, no
// completed Content-Length.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request, c *call) {
	c.w.rw = w
	// An HTTP/2 request always has a Body, empty when the client said
	// Content-Length: 0 or ended the stream with its head: such a call
	// has no body to send.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		// r.Body stays net/http's own: it must see it to close the
		// connection gracefully when the body is left unread.
		c.body = &limitedBody{rc: r.Body, dx: &c.w, limit: noBodyLimit}
	}
	ctx := r.Context()
	if c.grpc || isUpgrade(r) {
		ctx, c.stream = g.streams.add(ctx) // streams.go
		defer g.streams.remove(c.stream)
	}
	if d := g.serve(ctx, c, &c.w); d.aborted {
		panic(http.ErrAbortHandler) // net/http closes the connection quietly
	}
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

// consoleRequest reports whether r is the web console's: an unsigned GET
// or HEAD of exactly "/", "/console" or a path under "/console/". The
// management API has nothing there (it answers PathNotSupported), so a
// browser gets the console; a request carrying Authorization is an API
// client's and keeps the API's answer.
func consoleRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.Header.Get("Authorization") != "" {
		return false
	}
	p := r.URL.Path
	return p == "/" || p == "/console" || strings.HasPrefix(p, "/console/")
}
