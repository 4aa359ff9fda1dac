package gateway

import (
	"math/rand/v2"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// resolve finds the function (and HTTP trigger) the call names, from the
// front door's match: a trigger subdomain's id, or the proxy form's
// service, qualifier and function. An event call comes with its function.
func (g *Gateway) resolve(c *call) error {
	if c.queued != nil {
		return g.resolveQueued(c) // async.go
	}
	if c.event {
		// InvokeFunction names a function the API found at LATEST; a
		// version or alias is resolved here, as every way in is.
		if c.qualifier != "" && c.qualifier != fc.LATEST {
			fn, _, err := g.lookupFunction(c.fn.ServiceName, c.qualifier, c.fn.FunctionName)
			if err != nil {
				return err
			}
			c.fn = fn
		}
		c.path, c.controlPath, c.stripAuth = fc.ControlInvoke, fc.ControlInvoke, true
		return nil
	}
	c.controlPath = fc.ControlHTTPInvoke
	switch c.match.Kind {
	case route.Subdomain:
		return g.resolveSubdomain(c)
	case route.Proxy:
		return g.resolveProxy(c)
	case route.Domain:
		return g.resolveDomain(c) // domain.go
	}
	return fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", c.r.Method, c.r.URL.Path)
}

func (g *Gateway) resolveSubdomain(c *call) error {
	m := c.match
	fn, t, found := g.opts.Catalog.LookupTrigger(m.URLID)
	if !found || route.SubdomainLabel(fn.ServiceName, fn.FunctionName, t.URLID()) != m.Label {
		return fc.Errorf(fc.CodeTriggerNotFound, "no HTTP trigger is bound to the host '%s'", c.r.Host)
	}
	if !strings.EqualFold(t.TriggerType, "http") || t.TriggerConfig == nil {
		return fc.Errorf(fc.CodeTriggerNotFound, "the trigger of host '%s' is not an HTTP trigger", c.r.Host)
	}
	q := t.Qualifier
	if q == "" {
		q = fc.LATEST
	}
	if q != fc.LATEST { // LookupTrigger found LATEST's function already
		vfn, _, err := g.lookupFunction(fn.ServiceName, q, fn.FunctionName)
		if err != nil {
			return err
		}
		fn = vfn
	}
	c.fn, c.trigger, c.qualifier = fn, t, q
	c.path, c.rawQuery = rawPath(c.r), c.r.URL.RawQuery
	return nil
}

func (g *Gateway) resolveProxy(c *call) error {
	if !c.match.Valid {
		return fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", c.r.Method, c.r.URL.Path)
	}
	t := &c.match.Target
	fn, trig, err := g.lookupFunction(t.Service, t.Qualifier, t.Function)
	if err != nil {
		return err
	}
	if trig == nil || trig.TriggerConfig == nil {
		return fc.Errorf(fc.CodeTriggerNotFound, "function '%s' of service '%s' has no HTTP trigger", t.Function, t.Service)
	}
	c.fn, c.trigger, c.qualifier = fn, trig, t.Qualifier
	c.path, c.rawQuery, c.basePath = t.Path, c.r.URL.RawQuery, t.BasePath
	c.proxyForm = true
	return nil
}

// lookupFunction finds the function a call names at qualifier and its
// HTTP trigger for that qualifier (nil: none): the one place every way in
// (proxy form, trigger subdomain, custom domain, InvokeFunction, async)
// resolves LATEST, a version or an alias. An alias picks one of its
// versions by weight on each call, so a moved alias applies to the next
// call while calls under way keep the function they resolved. It fails
// with ServiceNotFound, VersionNotFound, AliasNotFound or
// FunctionNotFound.
func (g *Gateway) lookupFunction(service, qualifier, function string) (*fc.Function, *fc.Trigger, error) {
	if qualifier == "" {
		qualifier = fc.LATEST
	}
	return g.opts.Catalog.ResolveFunction(service, qualifier, function, g.pick())
}

// pick draws an alias's weighted choice: Options.Pick, else math/rand.
func (g *Gateway) pick() float64 {
	if g.opts.Pick != nil {
		return g.opts.Pick()
	}
	return rand.Float64()
}
