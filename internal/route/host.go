package route

import (
	"net"
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
