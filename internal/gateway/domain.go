package gateway

import (
	"net/http"
	"slices"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// resolveDomain resolves a call whose Host is not the platform's own:
// the custom domain of that host (exact, else its "*.parent" wildcard),
// the most specific of its routes (fc.DomainRoutes.Match), the route's
// methods, its rewrite of the path and query, then the route's function
// and qualifier through lookupFunction, as every way in. The function's
// HTTP trigger then applies as for the other ways in (auth, CORS,
// methods), except its disableURLInternet (checkTrigger). The answer
// gets no forced Content-Disposition and no x-fc-base-path.
func (g *Gateway) resolveDomain(c *call) error {
	host := route.HostName(c.r.Host)
	sd, ok := g.opts.Domains.LookupDomain(host)
	if !ok {
		return fc.Errorf(fc.CodeDomainNameNotFound, "domain name '%s' does not exist", host)
	}
	d := sd.Domain
	// A domain answers only the schemes it was given; over the other one
	// the client is told, rather than redirected (openfc's TLS port is
	// rarely 443, so a redirect would guess the URL).
	if tls := c.r.TLS != nil; tls && !d.ServesHTTPS() || !tls && !d.ServesHTTP() {
		scheme := "HTTP"
		if !tls {
			scheme = "HTTPS"
		}
		return fc.Errorf(fc.CodeInvalidArgument, "domain name '%s' is served over %s only", d.DomainName, scheme)
	}
	path := rawPath(c.r)
	rt, rw, ok := sd.Routes.Match(path)
	if !ok {
		return fc.Errorf(fc.CodePathNotSupported, "no route of domain name '%s' matches the path '%s'", d.DomainName, path)
	}
	// A CORS preflight passes to the trigger's CORS stage, which answers
	// it: a route's methods are those of the actual requests.
	if len(rt.Methods) > 0 && !slices.Contains(rt.Methods, c.r.Method) && !isPreflightRequest(c.r) {
		return fc.Errorf(fc.CodeMethodNotAllowed, "method %s is not allowed by the route '%s' of domain name '%s'", c.r.Method, rt.Path, d.DomainName)
	}
	qualifier := rt.Qualifier
	if qualifier == "" {
		qualifier = fc.LATEST
	}
	fn, trig, err := g.lookupFunction(rt.ServiceName, qualifier, rt.FunctionName)
	if err != nil {
		return err
	}
	if trig == nil || trig.TriggerConfig == nil {
		return fc.Errorf(fc.CodeTriggerNotFound, "function '%s' of service '%s' has no HTTP trigger", rt.FunctionName, rt.ServiceName)
	}
	c.fn, c.trigger, c.qualifier, c.viaDomain = fn, trig, qualifier, true
	c.path, c.rawQuery, _ = rw.Rewrite(path, c.r.URL.RawQuery)
	return nil
}

// isPreflightRequest: an OPTIONS request with Origin and
// Access-Control-Request-Method (the trigger decides whether it is
// answered as a preflight, cors.go).
func isPreflightRequest(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}
