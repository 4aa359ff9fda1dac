package route

import (
	"net"
	"net/netip"
	"strings"
)

// maxLabel is the longest DNS label.
const maxLabel = 63

// SubdomainLabel returns a trigger's subdomain label,
// "{function}-{service}-{id}": lowercased, with characters that are not
// letters, digits or '-' turned into '-', the names cut so that the label
// stays within 63 characters. id is the trigger's URLID.
func SubdomainLabel(service, function, id string) string {
	names := sanitize(function + "-" + service)
	if room := maxLabel - len(id) - 1; len(names) > room {
		names = strings.TrimRight(names[:max(room, 0)], "-")
	}
	return names + "-" + id
}

func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// ParseTriggerHost matches a Host header against "{label}.{domain}" and
// returns the label and the trigger URLID it ends with. The port, a
// trailing dot and letter case are ignored. ok is false for other hosts.
//
// It runs for every request at the front door, so the common case (a
// lower-case host) allocates nothing.
func ParseTriggerHost(host, domain string) (label, id string, ok bool) {
	if strings.IndexByte(host, ':') >= 0 {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(host, ".")
	// host = label + "." + domain, the domain in any letter case.
	n := len(host) - len(domain) - 1
	if n <= 0 || host[n] != '.' || !strings.EqualFold(host[n+1:], domain) {
		return "", "", false
	}
	label = strings.ToLower(host[:n])
	if !isLabel(label) {
		return "", "", false
	}
	i := strings.LastIndexByte(label, '-')
	if i <= 0 || i == len(label)-1 {
		return "", "", false
	}
	return label, label[i+1:], true
}

// isLabel reports whether s can be a trigger's label: lower-case letters,
// digits and '-' only, as SubdomainLabel builds them (a host such as
// "]x-1:.fcapp.localhost" is no trigger's).
func isLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// HostName is a Host header's name: without the port (an IPv6 literal
// without its brackets), a trailing dot or upper case. It allocates only
// for a host that needs changing.
func HostName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

// fcEndpointSuffix ends the names of FC's own endpoints,
// "{accountId}.{region}[-internal].fc.aliyuncs.com": SDKs and the CLI
// configured for FC send them as Host.
const fcEndpointSuffix = ".fc.aliyuncs.com"

// IsPlatformHost reports whether name (a HostName) is one of the
// platform's own hosts, which reach the management API and the proxy
// form: no host at all (HTTP/1.0), an IP literal, a name of one label
// ("localhost", a container's name), a name under "localhost", the
// trigger domain and its subdomains, FC's endpoint names, and the names
// in extra (an operator's own, e.g. --api-host). Any other host can only
// be a custom domain.
func IsPlatformHost(name, triggerDomain string, extra []string) bool {
	switch {
	case name == "" || !strings.Contains(name, "."):
		return true
	case isIP(name):
		return true
	case strings.HasSuffix(name, ".localhost"), strings.HasSuffix(name, fcEndpointSuffix):
		return true
	case triggerDomain != "" && (name == triggerDomain || strings.HasSuffix(name, "."+triggerDomain)):
		return true
	}
	for _, h := range extra {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// isIP reports whether name is an IP literal, without allocating (it
// runs for every request at the front door).
func isIP(name string) bool {
	// Only IPv6 literals have ':', only IPv4 ones are all digits and
	// dots; anything else is a name, whose ParseAddr error would
	// allocate.
	if strings.IndexByte(name, ':') < 0 && strings.Trim(name, "0123456789.") != "" {
		return false
	}
	_, err := netip.ParseAddr(name)
	return err == nil
}
