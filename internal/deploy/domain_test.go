package deploy

import (
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestParseDomains(t *testing.T) {
	fc3 := fc3Head + fc3Fn + `      customDomain:
        domainName: Shop.Example.com
        protocol: HTTP
        route:
          path: /api/*
          qualifier: LATEST
          methods: [get]
          rewriteConfig:
            wildcardRules:
              - match: ^/api/*
                replacement: /$1
`
	plan, _, err := Parse("/srv/app/s.yaml", []byte(fc3), nil, "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Domains) != 1 {
		t.Fatalf("fc3 domains: %s", show(plan))
	}
	d := plan.Domains[0]
	r := d.RouteConfig.Routes[0]
	if d.DomainName != "shop.example.com" || d.Protocol != fc.ProtocolHTTP || r.Path != "/api/*" || r.ServiceName != "app" || r.FunctionName != "web" ||
		r.Methods[0] != "GET" || r.RewriteConfig.WildcardRules[0] != (fc.RewriteRule{Match: "^/api/*", Replacement: "/$1"}) {
		t.Errorf("fc3 domain: %s", show(plan))
	}

	fc2 := fc2Head + `      customDomains:
        - domainName: '*.example.org'
          routeConfigs:
            - path: /*
            - path: /other
              functionName: g
`
	if plan, _, err = Parse("/srv/app/s.yaml", []byte(fc2), nil, "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	if len(plan.Domains) != 1 || len(plan.Domains[0].RouteConfig.Routes) != 2 {
		t.Fatalf("fc2 domains: %s", show(plan))
	}
	rs := plan.Domains[0].RouteConfig.Routes
	if rs[0].ServiceName != "s" || rs[0].FunctionName != "f" || rs[1].FunctionName != "g" || rs[1].Qualifier != fc.LATEST {
		t.Errorf("fc2 routes: %s", show(plan))
	}

	// The API's validation runs at parse time, at the domain's line.
	bad := fc3Head + fc3Fn + "      customDomain:\n        domainName: shop.example.com\n        protocol: HTTPS\n"
	if _, _, err := Parse("/srv/app/s.yaml", []byte(bad), nil, "cn-hangzhou"); err == nil || !strings.Contains(err.Error(), "certConfig is required") ||
		!strings.Contains(err.Error(), "s.yaml:10: resources.web.props.customDomain") {
		t.Errorf("HTTPS without a certificate: %v", err)
	}
}
