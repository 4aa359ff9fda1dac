package deploy

import (
	"github.com/openfc/openfc/internal/fc"
)

// The keys of a function's customDNS block, the same in both formats.
var (
	customDNSKeys = newKeySet("customDNS", []string{"nameServers", "searches", "dnsOptions"}, nil, nil)
	dnsOptionKeys = newKeySet("a DNS option", []string{"name", "value"}, nil, nil)
)

// network reads a function's network settings into f: customDNS (both
// formats) and internetAccess (fc3's per-function place; the fc
// component has it on the service, and its key set refuses it here).
func (p *parser) network(o obj, f *fc.Function) error {
	if o.has("internetAccess") {
		b, err := o.boolean("internetAccess")
		if err != nil {
			return err
		}
		f.InternetAccess = &b
	}
	dns, err := p.customDNS(o)
	if err != nil {
		return err
	}
	// Checked here to point at the block; ValidateFunction checks it again.
	if err := fc.ValidateCustomDNS(dns); err != nil {
		return &Error{File: p.file, Line: o.lineOf("customDNS"), Field: join(o.path, "customDNS"), Err: err}
	}
	f.CustomDNS = dns
	return nil
}

// customDNS parses customDNS{nameServers, searches, dnsOptions[{name,
// value}]}; nil when absent.
func (p *parser) customDNS(o obj) (*fc.CustomDNS, error) {
	c, ok, err := o.checkedObj("customDNS", customDNSKeys)
	if err != nil || !ok {
		return nil, err
	}
	var out fc.CustomDNS
	if out.NameServers, err = c.strList("nameServers"); err != nil {
		return nil, err
	}
	if out.Searches, err = c.strList("searches"); err != nil {
		return nil, err
	}
	items, err := c.list("dnsOptions")
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		io, err := p.checkedItem(it, dnsOptionKeys)
		if err != nil {
			return nil, err
		}
		var opt fc.DNSOption
		if opt.Name, err = io.str("name"); err != nil {
			return nil, err
		}
		if opt.Value, err = io.str("value"); err != nil {
			return nil, err
		}
		if opt.Name == "" {
			return nil, p.errf(io.line, io.path, "name is required")
		}
		out.DNSOptions = append(out.DNSOptions, opt)
	}
	return &out, nil
}
