package fc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

func TestInternetAccess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		svc, fn *bool
		noSvc   bool
		want    bool
	}{
		{name: "nothing set: FC's default", want: true},
		{name: "no service at all", noSvc: true, want: true},
		{name: "service off", svc: boolPtr(false), want: false},
		{name: "service on", svc: boolPtr(true), want: true},
		{name: "function off wins over service on", svc: boolPtr(true), fn: boolPtr(false), want: false},
		{name: "function on wins over service off", svc: boolPtr(false), fn: boolPtr(true), want: true},
		{name: "function off, no service", noSvc: true, fn: boolPtr(false), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var svc *Service
			if !tc.noSvc {
				svc = &Service{ServiceName: "s", InternetAccess: tc.svc}
			}
			fn := &Function{FunctionName: "f", InternetAccess: tc.fn}
			if got := InternetAccess(svc, fn); got != tc.want {
				t.Errorf("InternetAccess = %v; want %v", got, tc.want)
			}
		})
	}
	if !InternetAccess(nil, nil) {
		t.Error("InternetAccess(nil, nil) = false; want FC's default true")
	}
}

func TestServiceNetworkChanged(t *testing.T) {
	for _, tc := range []struct {
		old, upd *bool
		want     bool
	}{
		{nil, nil, false},
		{nil, boolPtr(true), false}, // the default is true
		{nil, boolPtr(false), true},
		{boolPtr(false), nil, true},
		{boolPtr(false), boolPtr(false), false},
	} {
		got := ServiceNetworkChanged(&Service{InternetAccess: tc.old}, &Service{InternetAccess: tc.upd, Description: "changed"})
		if got != tc.want {
			t.Errorf("ServiceNetworkChanged(%v → %v) = %v; want %v", deref(tc.old), deref(tc.upd), got, tc.want)
		}
	}
}

func deref(b *bool) string {
	if b == nil {
		return "unset"
	}
	if *b {
		return "true"
	}
	return "false"
}

func TestResolvConf(t *testing.T) {
	var none *CustomDNS
	if ns, s, o := none.ResolvConf(); ns != nil || s != nil || o != nil {
		t.Errorf("nil CustomDNS gives %v %v %v; want nothing", ns, s, o)
	}
	c := &CustomDNS{
		NameServers: []string{"8.8.8.8", "2001:4860:4860::8888"},
		Searches:    []string{"svc.cluster.local", "example.com"},
		DNSOptions:  []DNSOption{{Name: "ndots", Value: "2"}, {Name: "rotate"}},
	}
	ns, s, o := c.ResolvConf()
	if !slices.Equal(ns, c.NameServers) || !slices.Equal(s, c.Searches) || !slices.Equal(o, []string{"ndots:2", "rotate"}) {
		t.Errorf("ResolvConf = %v %v %v", ns, s, o)
	}
}

func TestValidateCustomDNS(t *testing.T) {
	ns := []string{"8.8.8.8"}
	for _, tc := range []struct {
		name string
		dns  *CustomDNS
		msg  string // "" = accepted
	}{
		{name: "nil", dns: nil},
		{name: "empty", dns: &CustomDNS{}},
		// The host's name servers stay; the searches join them.
		{name: "searches only", dns: &CustomDNS{Searches: []string{"svc.local"}}},
		{name: "ipv4 and ipv6", dns: &CustomDNS{NameServers: []string{"100.100.2.136", "::1", "1.1.1.1"}}},
		{name: "full", dns: &CustomDNS{NameServers: ns, Searches: []string{"a.example.", "x_y.local"},
			DNSOptions: []DNSOption{{Name: "ndots", Value: "5"}, {Name: "edns0"}}}},
		{name: "hostname as name server", dns: &CustomDNS{NameServers: []string{"dns.google"}}, msg: `customDNS.nameServers[0] "dns.google"`},
		{name: "zone", dns: &CustomDNS{NameServers: []string{"fe80::1%eth0"}}, msg: "customDNS.nameServers[0]"},
		{name: "4 name servers", dns: &CustomDNS{NameServers: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}}, msg: "at most 3"},
		{name: "bad search", dns: &CustomDNS{NameServers: ns, Searches: []string{"exa mple.com"}}, msg: `customDNS.searches[0] "exa mple.com"`},
		{name: "empty label", dns: &CustomDNS{NameServers: ns, Searches: []string{"a..b"}}, msg: "customDNS.searches[0]"},
		{name: "label starts with dash", dns: &CustomDNS{NameServers: ns, Searches: []string{"ok.com", "-a.com"}}, msg: "customDNS.searches[1]"},
		{name: "7 searches", dns: &CustomDNS{NameServers: ns, Searches: strings.Split("a b c d e f g", " ")}, msg: "at most 6"},
		{name: "searches too long", dns: &CustomDNS{NameServers: ns, Searches: []string{strings.Repeat("a", 63) + "." + strings.Repeat("b", 63),
			strings.Repeat("c", 63) + "." + strings.Repeat("d", 63), "e.com"}}, msg: "at most 256"},
		{name: "empty option name", dns: &CustomDNS{NameServers: ns, DNSOptions: []DNSOption{{Value: "2"}}}, msg: "customDNS.dnsOptions[0].name is required"},
		{name: "colon in option name", dns: &CustomDNS{NameServers: ns, DNSOptions: []DNSOption{{Name: "ndots:2"}}}, msg: "customDNS.dnsOptions[0].name"},
		{name: "space in option value", dns: &CustomDNS{NameServers: ns, DNSOptions: []DNSOption{{Name: "ndots", Value: "2 rotate"}}}, msg: "customDNS.dnsOptions[0].value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateCustomDNS(tc.dns)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || !strings.Contains(fe.Message, tc.msg) {
				t.Fatalf("got %v; want InvalidArgument containing %q", err, tc.msg)
			}
		})
	}
}

// ValidateFunction checks customDNS and stores an empty one as none.
func TestValidateFunctionCustomDNS(t *testing.T) {
	fn := &Function{FunctionName: "f", Runtime: "custom", CustomDNS: &CustomDNS{}}
	if err := ValidateFunction(fn); err != nil || fn.CustomDNS != nil {
		t.Fatalf("empty customDNS: %v, kept as %+v; want accepted and dropped", err, fn.CustomDNS)
	}
	fn.CustomDNS = &CustomDNS{NameServers: []string{"nope"}}
	if err := ValidateFunction(fn); err == nil || !strings.Contains(err.Error(), "customDNS.nameServers[0]") {
		t.Fatalf("bad customDNS: %v", err)
	}
}
