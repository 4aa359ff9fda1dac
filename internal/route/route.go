// Package route holds the pure functions that map an HTTP request to a
// function: the proxy URL form, and later trigger subdomains and custom
// domains.
package route

import (
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// ProxyPrefix starts every proxy-form URL.
const ProxyPrefix = fcsign.ProxyPathPrefix

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
	t.Service, t.Qualifier = svc, fc.LATEST
	if s, q, hasQ := strings.Cut(svc, "."); hasQ {
		if s == "" || q == "" {
			return Target{}, false
		}
		t.Service, t.Qualifier = s, q
	}
	t.Function = fn
	t.BasePath = ProxyPrefix + svc + "/" + fn + "/"
	t.Path = "/" + sub
	return t, true
}
