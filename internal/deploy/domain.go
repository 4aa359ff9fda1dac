package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// This file reads custom domains: fc3's customDomain (one domain routing
// one path to the resource's function) and the FC 2.0 fc component's
// customDomains (a list with routeConfigs, whose serviceName and
// functionName default to the resource's). Domains are account-wide:
// the plan lists them apart, and the CLI creates or updates them once
// the functions they route to are deployed.

var certKeys = newKeySet("certConfig", []string{"certName", "certificate", "privateKey"}, nil, nil)

// fc3Domain reads an fc3 customDomain routing to service/function; nil
// when absent or when its domainName is "auto" (FC's generated test
// domain, which openfc has no use for: the trigger's own URL serves).
func (p *parser) fc3Domain(props obj, service, function string) (*fc.CustomDomain, error) {
	d, ok, err := props.checkedObj("customDomain", fc3DomainKeys)
	if err != nil || !ok {
		return nil, err
	}
	r := fc.PathConfig{Path: "/*", ServiceName: service, FunctionName: function}
	ro, ok, err := d.checkedObj("route", fc3RouteKeys)
	if err != nil {
		return nil, err
	}
	if ok {
		if err := p.route(ro, &r); err != nil {
			return nil, err
		}
	}
	cd, auto, err := p.domainHead(d)
	if err != nil || auto {
		return nil, err
	}
	cd.RouteConfig = &fc.RouteConfig{Routes: []fc.PathConfig{r}}
	return cd, p.validDomain(d, cd)
}

// fc2Domains reads FC 2.0 customDomains whose routes default to
// service/function (function "" when the resource has none).
func (p *parser) fc2Domains(props obj, service, function string) ([]fc.CustomDomain, error) {
	items, err := props.list("customDomains")
	if err != nil {
		return nil, err
	}
	var out []fc.CustomDomain
	for _, dv := range items {
		d, err := p.checkedItem(dv, fc2DomainKeys)
		if err != nil {
			return nil, err
		}
		routes, err := d.list("routeConfigs")
		if err != nil {
			return nil, err
		}
		rc := &fc.RouteConfig{}
		for _, rv := range routes {
			ro, err := p.checkedItem(rv, fc2RouteKeys)
			if err != nil {
				return nil, err
			}
			r := fc.PathConfig{ServiceName: service, FunctionName: function}
			if err := p.route(ro, &r); err != nil {
				return nil, err
			}
			rc.Routes = append(rc.Routes, r)
		}
		cd, auto, err := p.domainHead(d)
		if err != nil {
			return nil, err
		}
		if auto {
			continue
		}
		cd.RouteConfig = rc
		if err := p.validDomain(d, cd); err != nil {
			return nil, err
		}
		out = append(out, *cd)
	}
	return out, nil
}

// domainHead reads a domain's name, protocol and certificate; auto
// reports FC's "auto" name, skipped with a notice.
func (p *parser) domainHead(d obj) (cd *fc.CustomDomain, auto bool, err error) {
	cd = &fc.CustomDomain{}
	if cd.DomainName, err = d.str("domainName"); err != nil {
		return nil, false, err
	}
	if strings.EqualFold(cd.DomainName, "auto") {
		p.notef(d.lineOf("domainName"), "%s: domainName auto (FC's generated test domain) is not deployed by openfc: the trigger's own URL serves", join(d.path, "domainName"))
		return nil, true, nil
	}
	if cd.Protocol, err = d.str("protocol"); err != nil {
		return nil, false, err
	}
	co, ok, err := d.checkedObj("certConfig", certKeys)
	if err != nil || !ok {
		return cd, false, err
	}
	c := &fc.CertConfig{}
	if c.CertName, err = co.str("certName"); err != nil {
		return nil, false, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"certificate", &c.Certificate}, {"privateKey", &c.PrivateKey}} {
		if *f.dst, err = p.pemOrFile(co, f.key); err != nil {
			return nil, false, err
		}
	}
	cd.CertConfig = c
	return cd, false, nil
}

// pemOrFile reads a PEM value written inline or, when it is not PEM, as
// the path of a file relative to the s.yaml.
func (p *parser) pemOrFile(o obj, key string) (string, error) {
	s, err := o.str(key)
	if err != nil || s == "" || strings.Contains(s, "-----BEGIN") {
		return s, err
	}
	path := s
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", p.errf(o.lineOf(key), join(o.path, key), "%s is neither PEM nor a readable file: %v", key, err)
	}
	return string(b), nil
}

// route reads a route's own keys over r's defaults.
func (p *parser) route(ro obj, r *fc.PathConfig) error {
	for _, f := range []struct {
		key string
		dst *string
	}{{"path", &r.Path}, {"serviceName", &r.ServiceName}, {"functionName", &r.FunctionName}, {"qualifier", &r.Qualifier}} {
		if !ro.has(f.key) {
			continue
		}
		s, err := ro.str(f.key)
		if err != nil {
			return err
		}
		*f.dst = s
	}
	var err error
	if r.Methods, err = ro.strList("methods"); err != nil {
		return err
	}
	v, err := ro.get("rewriteConfig")
	if err != nil || v.n == nil {
		return err
	}
	// FC's JSON shape, read through JSON so that its names (and typos,
	// refused) are FC's.
	var generic any
	if err := v.n.Decode(&generic); err != nil {
		return p.errf(v.line, v.path, "rewriteConfig: %v", err)
	}
	b, err := json.Marshal(generic)
	if err != nil {
		return p.errf(v.line, v.path, "rewriteConfig: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	rc := &fc.RewriteConfig{}
	if err := dec.Decode(rc); err != nil {
		return p.errf(v.line, v.path, "rewriteConfig: %v (use equalRules, wildcardRules and regexRules of {match, replacement})", err)
	}
	r.RewriteConfig = rc
	return nil
}

// validDomain applies the API's validation, so that a bad domain stops
// the deploy before anything is written, at its line.
func (p *parser) validDomain(d obj, cd *fc.CustomDomain) error {
	if _, err := fc.ValidateCustomDomain(cd, time.Now()); err != nil {
		return &Error{File: p.file, Line: d.line, Field: d.path, Err: err}
	}
	return nil
}
