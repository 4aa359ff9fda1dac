package fc

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Protocols a custom domain serves.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolBoth  = "HTTP,HTTPS"
)

// CustomDomain is FC 2.0's custom domain (CreateCustomDomain and
// friends), with FC's JSON names.
type CustomDomain struct {
	DomainName       string       `json:"domainName"`
	AccountID        string       `json:"accountId,omitempty"`
	Protocol         string       `json:"protocol"`
	APIVersion       string       `json:"apiVersion,omitempty"`
	CertConfig       *CertConfig  `json:"certConfig,omitempty"`
	RouteConfig      *RouteConfig `json:"routeConfig,omitempty"`
	CreatedTime      string       `json:"createdTime,omitempty"`
	LastModifiedTime string       `json:"lastModifiedTime,omitempty"`
}

// CertConfig is a domain's certificate and its private key, both PEM.
type CertConfig struct {
	CertName    string `json:"certName"`
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"privateKey,omitempty"`
}

// RouteConfig lists a domain's routes.
type RouteConfig struct {
	Routes []PathConfig `json:"routes"`
}

// PathConfig is one route: the requests whose path it matches go to the
// function it names, rewritten by its rewrite rules.
type PathConfig struct {
	Path          string         `json:"path"`
	ServiceName   string         `json:"serviceName"`
	FunctionName  string         `json:"functionName"`
	Qualifier     string         `json:"qualifier,omitempty"`
	Methods       []string       `json:"methods,omitempty"`
	RewriteConfig *RewriteConfig `json:"rewriteConfig,omitempty"`
}

// RewriteConfig holds a route's rewrite rules, tried in the order FC's
// console lists them: exact, wildcard, regex.
type RewriteConfig struct {
	EqualRules    []RewriteRule `json:"equalRules,omitempty"`
	WildcardRules []RewriteRule `json:"wildcardRules,omitempty"`
	RegexRules    []RewriteRule `json:"regexRules,omitempty"`
}

// RewriteRule replaces a path that matches Match with Replacement.
type RewriteRule struct {
	Match       string `json:"match"`
	Replacement string `json:"replacement"`
}

// Public is the domain as the API shows it: the private key never
// leaves the server.
func (d *CustomDomain) Public() *CustomDomain {
	out := *d
	if d.CertConfig != nil {
		c := *d.CertConfig
		c.PrivateKey = ""
		out.CertConfig = &c
	}
	return &out
}

// ServesHTTP and ServesHTTPS say which schemes the domain answers.
func (d *CustomDomain) ServesHTTP() bool  { return d.Protocol != ProtocolHTTPS }
func (d *CustomDomain) ServesHTTPS() bool { return d.Protocol != ProtocolHTTP }

// maxDomainLen is the longest DNS name.
const maxDomainLen = 253

// domainLabelRE is one DNS label: letters, digits and inner '-'.
var domainLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeDomainName lower-cases a domain name and checks its syntax: DNS
// labels, at least two of them, a leading "*." for a wildcard domain (one
// label, as TLS wildcard certificates), no IP literal, no trailing dot.
func NormalizeDomainName(name string) (string, error) {
	n := strings.ToLower(name)
	switch {
	case n == "":
		return "", invalid("domainName is required")
	case len(n) > maxDomainLen:
		return "", invalid("domainName %q is longer than %d characters", name, maxDomainLen)
	}
	labels := strings.Split(strings.TrimPrefix(n, "*."), ".")
	if len(labels) < 2 {
		return "", invalid("domainName %q is invalid: it needs at least two labels, as example.com", name)
	}
	allDigits := true
	for _, l := range labels {
		if !domainLabelRE.MatchString(l) {
			return "", invalid("domainName %q is invalid: use DNS labels of letters, digits and '-', optionally after a leading '*.'", name)
		}
		allDigits = allDigits && strings.Trim(l, "0123456789") == ""
	}
	if allDigits {
		return "", invalid("domainName %q is invalid: an IP address is not a domain name", name)
	}
	return n, nil
}

// DomainWarning is a problem that does not stop a domain from being
// saved (an expired certificate): the API logs it and reports it.
type DomainWarning string

// ValidateCustomDomain checks a domain (its name already normalized by
// the caller from the URL or the body) and fills in defaults: protocol
// HTTP, qualifier LATEST. now dates the certificate check. It returns
// the warnings worth telling the user about.
func ValidateCustomDomain(d *CustomDomain, now time.Time) ([]DomainWarning, error) {
	name, err := NormalizeDomainName(d.DomainName)
	if err != nil {
		return nil, err
	}
	d.DomainName = name
	switch strings.ToUpper(strings.ReplaceAll(d.Protocol, " ", "")) {
	case "", ProtocolHTTP:
		d.Protocol = ProtocolHTTP
	case ProtocolHTTPS:
		d.Protocol = ProtocolHTTPS
	case ProtocolBoth, "HTTPS,HTTP":
		d.Protocol = ProtocolBoth
	default:
		return nil, invalid("protocol %q is invalid: use HTTP, HTTPS or HTTP,HTTPS", d.Protocol)
	}
	var warnings []DomainWarning
	if d.ServesHTTPS() || d.CertConfig != nil {
		if warnings, err = validateCertConfig(d.CertConfig, d.DomainName, now); err != nil {
			return nil, err
		}
	}
	if d.RouteConfig != nil {
		for i := range d.RouteConfig.Routes {
			if err := validateRoute(fmt.Sprintf("routeConfig.routes[%d]", i), &d.RouteConfig.Routes[i]); err != nil {
				return nil, err
			}
		}
		if err := uniquePaths(d.RouteConfig.Routes); err != nil {
			return nil, err
		}
	}
	return warnings, nil
}

// validateCertConfig checks that the certificate and the key parse and
// belong together (tls.X509KeyPair compares the public keys); an expired
// or not yet valid certificate, or one that does not name the domain, is
// a warning only, as FC accepts it.
func validateCertConfig(c *CertConfig, domain string, now time.Time) ([]DomainWarning, error) {
	switch {
	case c == nil:
		return nil, invalid("certConfig is required for protocol HTTPS")
	case c.CertName == "":
		return nil, invalid("certConfig.certName is required")
	case strings.TrimSpace(c.Certificate) == "":
		return nil, invalid("certConfig.certificate is required")
	case strings.TrimSpace(c.PrivateKey) == "":
		return nil, invalid("certConfig.privateKey is required")
	}
	block, _ := pem.Decode([]byte(c.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, invalid("certConfig.certificate is not a PEM certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, invalid("certConfig.certificate does not parse: %v", err)
	}
	if keyBlock, _ := pem.Decode([]byte(c.PrivateKey)); keyBlock == nil || !strings.HasSuffix(keyBlock.Type, "PRIVATE KEY") {
		return nil, invalid("certConfig.privateKey is not a PEM private key")
	}
	if _, err := tls.X509KeyPair([]byte(c.Certificate), []byte(c.PrivateKey)); err != nil {
		return nil, invalid("certConfig.privateKey does not match certConfig.certificate: %v", err)
	}
	var warnings []DomainWarning
	if now.After(leaf.NotAfter) {
		warnings = append(warnings, DomainWarning(fmt.Sprintf("certConfig.certificate expired at %s", leaf.NotAfter.UTC().Format(TimeFormat))))
	} else if now.Before(leaf.NotBefore) {
		warnings = append(warnings, DomainWarning(fmt.Sprintf("certConfig.certificate is not valid before %s", leaf.NotBefore.UTC().Format(TimeFormat))))
	}
	if err := leaf.VerifyHostname(strings.Replace(domain, "*", "wildcard", 1)); err != nil {
		warnings = append(warnings, DomainWarning(fmt.Sprintf("certConfig.certificate does not name %s", domain)))
	}
	return warnings, nil
}

func validateRoute(field string, r *PathConfig) error {
	if err := validateRoutePath(field+".path", r.Path); err != nil {
		return err
	}
	if err := ValidateName(field+".serviceName", r.ServiceName, maxNameLen); err != nil {
		return err
	}
	if err := ValidateName(field+".functionName", r.FunctionName, maxNameLen); err != nil {
		return err
	}
	if r.Qualifier == "" {
		r.Qualifier = LATEST
	} else if strings.Trim(r.Qualifier, "0123456789") != "" && !nameRE.MatchString(r.Qualifier) {
		// a version number or an alias name; whether it exists is the
		// gateway's question, per request, as versions come and go
		return invalid("%s.qualifier %q is invalid: use LATEST, a version or an alias name", field, r.Qualifier)
	}
	for i, m := range r.Methods {
		u := strings.ToUpper(m)
		if !httpMethods[u] {
			return invalid("%s.methods[%d] %q is invalid: use GET, POST, PUT, DELETE, HEAD, PATCH or OPTIONS", field, i, m)
		}
		r.Methods[i] = u
	}
	if r.RewriteConfig != nil {
		if _, err := compileRewrite(field+".rewriteConfig", r.RewriteConfig); err != nil {
			return err
		}
	}
	return nil
}

// validateRoutePath: a route path starts with '/' and may end with "/*"
// (a prefix route); '*' appears nowhere else.
func validateRoutePath(field, p string) error {
	switch {
	case p == "":
		return invalid("%s is required", field)
	case !strings.HasPrefix(p, "/"):
		return invalid("%s %q must start with '/'", field, p)
	case strings.Contains(strings.TrimSuffix(p, "/*"), "*"):
		return invalid("%s %q is invalid: '*' may only end the path, as \"/api/*\"", field, p)
	case strings.ContainsAny(p, "?# "):
		return invalid("%s %q is invalid: a path has no query, fragment or space", field, p)
	}
	return nil
}

func uniquePaths(routes []PathConfig) error {
	seen := make(map[string]int, len(routes))
	for i, r := range routes {
		if j, dup := seen[r.Path]; dup {
			return invalid("routeConfig.routes[%d].path %q repeats routes[%d]", i, r.Path, j)
		}
		seen[r.Path] = i
	}
	return nil
}

// ServedDomain is a custom domain as the front door uses it: its routes
// compiled, its certificate parsed. Shared: callers must not modify it.
type ServedDomain struct {
	Domain *CustomDomain
	Routes *DomainRoutes
	// Cert is the domain's TLS certificate (nil: none, or it did not
	// load).
	Cert *tls.Certificate
}
