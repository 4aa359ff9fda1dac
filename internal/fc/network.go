package fc

import (
	"net/netip"
	"strings"
)

// CustomDNS is a function's customDNS: what its instances find in their
// /etc/resolv.conf instead of the host's resolvers. FC documents the shape
// (nameServers, searches, dnsOptions of {name, value}) but no limits; the
// limits below are those of the resolvers that read the file.
type CustomDNS struct {
	NameServers []string    `json:"nameServers,omitempty"`
	Searches    []string    `json:"searches,omitempty"`
	DNSOptions  []DNSOption `json:"dnsOptions,omitempty"`
}

// DNSOption is one resolv.conf option: "name:value", or "name" alone when
// Value is empty (ndots:2, rotate).
type DNSOption struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// Limits of customDNS. glibc and musl read at most 3 nameserver lines
// (MAXNS) and drop the rest without a word, and the classic resolver reads
// at most 6 search domains within 256 characters, so larger lists are
// refused rather than silently cut.
const (
	MaxNameServers   = 3
	MaxSearches      = 6
	MaxSearchesChars = 256
	// MaxDNSOptions bounds the options line; resolvers know about a dozen.
	MaxDNSOptions = 16
)

// InternetAccess is the effective internet access of fn's instances: the
// function's internetAccess (FC 3.0's place) when set, else its service's
// (FC 2.0's place), else true, FC's default. Either argument may be nil.
func InternetAccess(svc *Service, fn *Function) bool {
	if fn != nil && fn.InternetAccess != nil {
		return *fn.InternetAccess
	}
	if svc != nil && svc.InternetAccess != nil {
		return *svc.InternetAccess
	}
	return true
}

// ServiceNetworkChanged reports whether updating a service from old to upd
// changes how its functions' instances must run (their internet access),
// so that the running ones have to be replaced.
func ServiceNetworkChanged(old, upd *Service) bool {
	return InternetAccess(old, nil) != InternetAccess(upd, nil)
}

// ResolvConf returns what the instance's resolv.conf lists: nameserver
// addresses, search domains and options ("ndots:2", "rotate"). A nil
// CustomDNS (no customDNS) gives nil lists: the host's resolvers apply.
func (c *CustomDNS) ResolvConf() (nameservers, searches, options []string) {
	if c == nil {
		return nil, nil, nil
	}
	for _, o := range c.DNSOptions {
		if o.Value == "" {
			options = append(options, o.Name)
		} else {
			options = append(options, o.Name+":"+o.Value)
		}
	}
	return c.NameServers, c.Searches, options
}

// isEmpty reports whether c sets nothing ({} in a request).
func (c *CustomDNS) isEmpty() bool {
	return len(c.NameServers) == 0 && len(c.Searches) == 0 && len(c.DNSOptions) == 0
}

// ValidateCustomDNS checks a customDNS; nil and empty ones (no custom
// DNS) pass. Each refusal names the field at fault.
func ValidateCustomDNS(d *CustomDNS) error {
	if d == nil || d.isEmpty() {
		return nil
	}
	if len(d.NameServers) > MaxNameServers {
		return invalid("customDNS.nameServers has %d entries; at most %d are allowed (resolvers ignore the rest)", len(d.NameServers), MaxNameServers)
	}
	for i, ns := range d.NameServers {
		if a, err := netip.ParseAddr(ns); err != nil || a.Zone() != "" {
			return invalid("customDNS.nameServers[%d] %q is not an IP address", i, ns)
		}
	}
	if len(d.Searches) > MaxSearches {
		return invalid("customDNS.searches has %d entries; at most %d are allowed", len(d.Searches), MaxSearches)
	}
	if n := len(strings.Join(d.Searches, " ")); n > MaxSearchesChars {
		return invalid("customDNS.searches is %d characters long; at most %d are allowed", n, MaxSearchesChars)
	}
	for i, s := range d.Searches {
		if !isDomainName(s) {
			return invalid("customDNS.searches[%d] %q is not a valid domain name", i, s)
		}
	}
	if len(d.DNSOptions) > MaxDNSOptions {
		return invalid("customDNS.dnsOptions has %d entries; at most %d are allowed", len(d.DNSOptions), MaxDNSOptions)
	}
	for i, o := range d.DNSOptions {
		switch {
		case o.Name == "":
			return invalid("customDNS.dnsOptions[%d].name is required", i)
		case strings.ContainsAny(o.Name, ": \t\r\n"):
			return invalid("customDNS.dnsOptions[%d].name %q is invalid: no ':' or spaces", i, o.Name)
		case strings.ContainsAny(o.Value, " \t\r\n"):
			return invalid("customDNS.dnsOptions[%d].value %q is invalid: no spaces", i, o.Value)
		}
	}
	return nil
}

// isDomainName reports whether s is a domain name a search line can hold:
// dot-separated labels of letters, digits, '-' and '_' (1 to 63
// characters, not starting or ending with '-'), at most 253 characters,
// one trailing dot allowed.
func isDomainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}
