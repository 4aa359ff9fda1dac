package deploy

import (
	"errors"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// customDNS (both formats) and fc3's function-level internetAccess reach
// the function; FC 2.0's internetAccess stays on the service.
func TestParseNetwork(t *testing.T) {
	wantDNS := &fc.CustomDNS{NameServers: []string{"8.8.8.8", "100.100.2.136"}, Searches: []string{"svc.local"},
		DNSOptions: []fc.DNSOption{{Name: "ndots", Value: "2"}, {Name: "rotate"}}}
	dnsYAML := func(indent string) string {
		return indent + "customDNS:\n" +
			indent + "  nameServers: [8.8.8.8, 100.100.2.136]\n" +
			indent + "  searches: [svc.local]\n" +
			indent + "  dnsOptions:\n" +
			indent + "    - {name: ndots, value: 2}\n" +
			indent + "    - name: rotate\n"
	}
	for _, tc := range []struct {
		name     string
		data     string
		fnAccess *bool
		svcAcc   *bool
	}{
		{"fc3", fc3Head + fc3Fn + "      internetAccess: false\n" + dnsYAML("      "), boolPtr(false), nil},
		{"fc3 without internetAccess", fc3Head + fc3Fn + dnsYAML("      "), nil, nil},
		{"fc2", "services:\n  s:\n    component: fc\n    props:\n      service:\n        name: s\n        internetAccess: false\n" +
			"      function:\n        name: f\n        runtime: custom\n        codeUri: .\n" + dnsYAML("        "), nil, boolPtr(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, _, err := Parse("s.yaml", []byte(tc.data), nil, "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			sp := plan.Services[0]
			fn := sp.Functions[0].Function
			if show(fn.CustomDNS) != show(wantDNS) {
				t.Errorf("customDNS = %s; want %s", show(fn.CustomDNS), show(wantDNS))
			}
			if show(fn.InternetAccess) != show(tc.fnAccess) || show(sp.Service.InternetAccess) != show(tc.svcAcc) {
				t.Errorf("internetAccess: function %s, service %s; want %s and %s",
					show(fn.InternetAccess), show(sp.Service.InternetAccess), show(tc.fnAccess), show(tc.svcAcc))
			}
		})
	}
}

func boolPtr(b bool) *bool { return &b }

// Mistakes in customDNS and internetAccess stop the deploy at their line.
func TestParseNetworkErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"name server not an IP", fc3Head + fc3Fn + "      customDNS:\n        nameServers: [dns.google]\n",
			`s.yaml:10: resources.web.props.customDNS: customDNS.nameServers[0] "dns.google" is not an IP address`},
		{"too many name servers", fc3Head + fc3Fn + "      customDNS:\n        nameServers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4]\n",
			`s.yaml:10: resources.web.props.customDNS: customDNS.nameServers has 4 entries; at most 3 are allowed (resolvers ignore the rest)`},
		{"typo in customDNS", fc3Head + fc3Fn + "      customDNS:\n        nameServer: [8.8.8.8]\n",
			`s.yaml:11: resources.web.props.customDNS.nameServer: unknown key "nameServer" in customDNS; did you mean "nameServers"?`},
		{"typo in an option", fc3Head + fc3Fn + "      customDNS:\n        nameServers: [8.8.8.8]\n        dnsOptions:\n          - {nmae: ndots}\n",
			`s.yaml:13: resources.web.props.customDNS.dnsOptions[0].nmae: unknown key "nmae" in a DNS option; did you mean "name"?`},
		{"option without a name", fc3Head + fc3Fn + "      customDNS:\n        nameServers: [8.8.8.8]\n        dnsOptions:\n          - value: 2\n",
			`s.yaml:13: resources.web.props.customDNS.dnsOptions[0]: name is required`},
		{"searches not a list", fc3Head + fc3Fn + "      customDNS:\n        nameServers: [8.8.8.8]\n        searches: a.com\n",
			`s.yaml:12: resources.web.props.customDNS.searches: expected a list, got "a.com"`},
		{"internetAccess not a boolean", fc3Head + fc3Fn + "      internetAccess: sometimes\n",
			`s.yaml:10: resources.web.props.internetAccess: expected true or false, got "sometimes"`},
		{"fc2 internetAccess on the function", fc2Head + "        internetAccess: false\n",
			`s.yaml:11: services.s.props.function.internetAccess: unknown key "internetAccess" in a function`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, _, err := Parse("s.yaml", []byte(tc.data), nil, "")
			if err == nil {
				t.Fatalf("Parse succeeded, want %q\nplan: %s", tc.want, show(plan))
			}
			if err.Error() != tc.want {
				t.Errorf("error\ngot:  %s\nwant: %s", err, tc.want)
			}
			var de *Error
			if !errors.As(err, &de) || de.Line == 0 {
				t.Errorf("error %#v is not a *deploy.Error with a line", err)
			}
		})
	}
}
