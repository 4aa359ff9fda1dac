package gateway

import (
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
	c.fn, c.trigger, c.qualifier = fn, t, t.Qualifier
	c.path, c.rawQuery = rawPath(c.r), c.r.URL.RawQuery
	return nil
}

func (g *Gateway) resolveProxy(c *call) error {
	if !c.match.Valid {
		return fc.Errorf(fc.CodePathNotSupported, "'%s' against '%s' is not supported", c.r.Method, c.r.URL.Path)
	}
	t := &c.match.Target
	fn, trig, err := g.lookupFunction(t.Service, t.Function)
	if err != nil {
		return err
	}
	if err := fc.CheckQualifier(t.Service, t.Qualifier); err != nil {
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

// lookupFunction finds a function and its HTTP trigger (nil: none) by
// name, failing with ServiceNotFound or FunctionNotFound.
func (g *Gateway) lookupFunction(service, function string) (*fc.Function, *fc.Trigger, error) {
	fn, trig, svcFound, ok := g.opts.Catalog.LookupFunction(service, function)
	switch {
	case !svcFound:
		return nil, nil, fc.Errorf(fc.CodeServiceNotFound, "service '%s' does not exist", service)
	case !ok:
		return nil, nil, fc.Errorf(fc.CodeFunctionNotFound, "function '%s' does not exist in service '%s'", function, service)
	}
	return fn, trig, nil
}
