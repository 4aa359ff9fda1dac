// Package route holds the pure functions that map a request to where it
// goes: the front door's dispatch (management API, proxy form, trigger
// subdomain; custom domains by IsPlatformHost), the proxy URL form, trigger
// subdomains and the "service[.qualifier]" syntax.
package route

import (
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// ProxyPrefix starts every proxy-form URL.
const ProxyPrefix = fcsign.ProxyPathPrefix

// Kind is the way in a request takes at the front door.
type Kind uint8

// The ways in.
const (
	// API is the management API (everything that is not a trigger).
	API Kind = iota
	// Proxy is the proxy form: /2016-08-15/proxy/{service}[.{q}]/{function}/…
	Proxy
	// Subdomain is a trigger subdomain: {label}.{trigger domain}.
	Subdomain
	// Domain is a host that is not the platform's own (IsPlatformHost):
	// a custom domain, or no known host at all. The gateway sets it;
	// Dispatch never returns it.
	Domain
)

// Match is where the front door sends a request.
type Match struct {
	Kind Kind
	// Proxy: the parsed URL; Valid is false when the path starts with the
	// proxy prefix but names no function (PathNotSupported).
	Target Target
	Valid  bool
	// Subdomain: the host's label and the trigger URLID it ends with.
	Label, URLID string
}

// Dispatch decides where a request goes from its Host and its escaped
// path: a trigger subdomain whatever the path, else the proxy form by its
// prefix, else the management API. It allocates nothing on the common
// paths (a lower-case host).
func Dispatch(host, escapedPath, triggerDomain string) Match {
	if label, id, ok := ParseTriggerHost(host, triggerDomain); ok {
		return Match{Kind: Subdomain, Label: label, URLID: id}
	}
	if strings.HasPrefix(escapedPath, ProxyPrefix) {
		t, ok := ParseProxyPath(escapedPath)
		return Match{Kind: Proxy, Target: t, Valid: ok}
	}
	return Match{Kind: API}
}

// Target is a parsed proxy-form URL.
type Target struct {
	Service   string
	Qualifier string // LATEST when the URL names none
	Function  string
	// BasePath is the URL prefix up to and including the function name,
	// followed by '/': FC's x-fc-base-path.
	BasePath string
	// Path is the escaped path the instance sees, always starting with '/'.
	Path string
}

// ParseProxyPath parses an escaped request path of the form
// /2016-08-15/proxy/{service}[.{qualifier}]/{function}[/{path}].
// ok is false when the path is not of that form.
func ParseProxyPath(escaped string) (t Target, ok bool) {
	rest, found := strings.CutPrefix(escaped, ProxyPrefix)
	if !found {
		return t, false
	}
	svc, rest, found := strings.Cut(rest, "/")
	if !found || svc == "" {
		return t, false
	}
	fn, sub, _ := strings.Cut(rest, "/")
	if fn == "" {
		return t, false
	}
	if t.Service, t.Qualifier, ok = SplitQualified(svc); !ok {
		return Target{}, false
	}
	t.Function = fn
	t.BasePath = ProxyPrefix + svc + "/" + fn + "/"
	t.Path = "/" + sub
	return t, true
}

// SplitQualified splits "{service}[.{qualifier}]", FC's way of naming a
// version or alias of a service in URLs; without a qualifier it is
// LATEST. ok is false when either part is empty.
func SplitQualified(s string) (service, qualifier string, ok bool) {
	return fc.SplitQualified(s)
}
