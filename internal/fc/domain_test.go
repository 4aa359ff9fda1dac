package fc

import (
	"github.com/openfc/openfc/internal/testcert"
	"strings"
	"testing"
	"time"
)

func TestRewriteFCExamples(t *testing.T) {
	// The examples of FC's "Configure a rewrite policy" page.
	tests := []struct {
		name        string
		cfg         RewriteConfig
		path, query string
		want        string // path?query, "" for no match
	}{
		{"equal", RewriteConfig{EqualRules: []RewriteRule{{"/old", "/new"}}}, "/old", "", "/new"},
		{"equal not a suffix", RewriteConfig{EqualRules: []RewriteRule{{"/old", "/new"}}}, "/test/old", "", ""},
		{"equal dotted", RewriteConfig{EqualRules: []RewriteRule{{"/serviceName.Qualifier", "/serviceA"}}}, "/serviceName.Qualifier", "", "/serviceA"},
		{"wildcard unanchored", RewriteConfig{WildcardRules: []RewriteRule{{"/old", "/new"}}}, "/test/old", "", "/new"},
		{"wildcard anchored", RewriteConfig{WildcardRules: []RewriteRule{{"^/old", "/new"}}}, "/old", "", "/new"},
		{"wildcard anchored miss", RewriteConfig{WildcardRules: []RewriteRule{{"^/old", "/new"}}}, "/test/old", "", ""},
		{"wildcard capture", RewriteConfig{WildcardRules: []RewriteRule{{"/api/*", "/$1"}}}, "/api/getFunctionName", "", "/getFunctionName"},
		{"wildcard capture amp", RewriteConfig{WildcardRules: []RewriteRule{{"/api/*", "/$1"}}}, "/api/getFunctionName&Version=1", "", "/getFunctionName&Version=1"},
		{"wildcard css", RewriteConfig{WildcardRules: []RewriteRule{{"/css/*", "/public/static/css/$1"}}}, "/css/style.css", "", "/public/static/css/style.css"},
		{"wildcard three", RewriteConfig{WildcardRules: []RewriteRule{{"/ServiceName/*/FunctionName/*/Qualifier/*", "/$1.$3/$2"}}},
			"/ServiceName/svc-a/FunctionName/func-a/Qualifier/1", "", "/svc-a.1/func-a"},
		{"wildcard dot literal", RewriteConfig{WildcardRules: []RewriteRule{{"^/a.b", "/x"}}}, "/aXb", "", ""},
		{"regex js", RewriteConfig{RegexRules: []RewriteRule{{"^/js/(.*?)$", "/public/javascripts/$1"}}}, "/js/a/b.js", "", "/public/javascripts/a/b.js"},
		{"regex api", RewriteConfig{RegexRules: []RewriteRule{{"^/api/.+?/(.*)", "/api/v2/$1"}}}, "/api/v1/users", "", "/api/v2/users"},
		{"regex miss", RewriteConfig{RegexRules: []RewriteRule{{"^/api/.+?/(.*)", "/api/v2/$1"}}}, "/api", "", ""},
		{"query kept", RewriteConfig{EqualRules: []RewriteRule{{"/old", "/new"}}}, "/old", "a=1", "/new?a=1"},
		{"query merged", RewriteConfig{EqualRules: []RewriteRule{{"/old", "/new?b=2"}}}, "/old", "a=1", "/new?b=2&a=1"},
		{"equal before wildcard", RewriteConfig{EqualRules: []RewriteRule{{"/a", "/eq"}}, WildcardRules: []RewriteRule{{"/*", "/wc"}}}, "/a", "", "/eq"},
		{"wildcard before regex", RewriteConfig{WildcardRules: []RewriteRule{{"/*", "/wc"}}, RegexRules: []RewriteRule{{"^/(.*)", "/re"}}}, "/a", "", "/wc"},
		{"first wildcard wins", RewriteConfig{WildcardRules: []RewriteRule{{"/a/*", "/one"}, {"/*", "/two"}}}, "/a/b", "", "/one"},
		{"missing group empty", RewriteConfig{RegexRules: []RewriteRule{{"^/(a)", "/$1$2x$"}}}, "/a", "", "/ax$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, err := compileRewrite("rewriteConfig", &tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, q, ok := rw.Rewrite(tt.path, tt.query)
			got := ""
			if ok {
				got = p
				if q != "" {
					got += "?" + q
				}
			} else if p != tt.path || q != tt.query {
				t.Fatalf("no match changed %q?%q to %q?%q", tt.path, tt.query, p, q)
			}
			if got != tt.want {
				t.Fatalf("Rewrite(%q, %q) = %q, want %q", tt.path, tt.query, got, tt.want)
			}
		})
	}
}

func TestRouteMatch(t *testing.T) {
	d := &CustomDomain{RouteConfig: &RouteConfig{Routes: []PathConfig{
		{Path: "/*", FunctionName: "all"},
		{Path: "/api/*", FunctionName: "api"},
		{Path: "/api/v2/*", FunctionName: "v2"},
		{Path: "/api/v2/login", FunctionName: "login"},
		{Path: "/exact", FunctionName: "exact"},
	}}}
	dr, err := CompileRoutes(d)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/":               "all",
		"/x/y":            "all",
		"/api":            "api",
		"/api/":           "api",
		"/apix":           "all",
		"/api/v1/users":   "api",
		"/api/v2/users":   "v2",
		"/api/v2/login":   "login",
		"/api/v2/login/x": "v2",
		"/exact":          "exact",
		"/exact/":         "all",
	} {
		r, _, ok := dr.Match(path)
		if !ok || r.FunctionName != want {
			t.Errorf("Match(%q) = %v, %v; want %s", path, r, ok, want)
		}
	}
	dr, _ = CompileRoutes(&CustomDomain{RouteConfig: &RouteConfig{Routes: []PathConfig{{Path: "/a/*"}, {Path: "/b"}}}})
	for _, path := range []string{"/", "/ab", "/b/", "/c"} {
		if r, _, ok := dr.Match(path); ok {
			t.Errorf("Match(%q) = %v, want no route", path, r)
		}
	}
}

func TestNormalizeDomainName(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM": "example.com", "*.example.com": "*.example.com", "a-b.c1.example.org": "a-b.c1.example.org",
		"": "", "example": "", "*.com": "", "a.*.com": "", "-a.com": "", "a-.com": "", "a..com": "",
		"1.2.3.4": "", "example.com.": "", "exa mple.com": "", "**.a.com": "", "a_b.com": "",
	} {
		got, err := NormalizeDomainName(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("NormalizeDomainName(%q) = %q, %v; want %q", in, got, err, want)
		}
		if err != nil && AsError(err).Code != CodeInvalidArgument {
			t.Errorf("NormalizeDomainName(%q): %v, want InvalidArgument", in, err)
		}
	}
}

// testCert makes a self-signed certificate for names, valid from
// notBefore to notAfter, as PEM.
func testCert(t *testing.T, notBefore, notAfter time.Time, names ...string) (certPEM, keyPEM string) {
	certPEM, keyPEM, _ = testcert.New(t, notBefore, notAfter, names...)
	return certPEM, keyPEM
}

func TestValidateCustomDomain(t *testing.T) {
	now := time.Now()
	cert, key := testCert(t, now.Add(-time.Hour), now.Add(time.Hour), "a.example.com")
	_, otherKey := testCert(t, now.Add(-time.Hour), now.Add(time.Hour), "a.example.com")
	oldCert, oldKey := testCert(t, now.Add(-2*time.Hour), now.Add(-time.Hour), "a.example.com")
	route := func(p PathConfig) *RouteConfig {
		if p.ServiceName == "" {
			p.ServiceName = "s"
		}
		if p.FunctionName == "" {
			p.FunctionName = "f"
		}
		return &RouteConfig{Routes: []PathConfig{p}}
	}
	tests := []struct {
		name    string
		d       CustomDomain
		errWord string // "": valid
		warning string
	}{
		{"plain", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/*"})}, "", ""},
		{"bad protocol", CustomDomain{DomainName: "a.example.com", Protocol: "FTP"}, "protocol", ""},
		{"https needs cert", CustomDomain{DomainName: "a.example.com", Protocol: "HTTPS"}, "certConfig", ""},
		{"https", CustomDomain{DomainName: "a.example.com", Protocol: "HTTP,HTTPS", CertConfig: &CertConfig{"c", cert, key}}, "", ""},
		{"key mismatch", CustomDomain{DomainName: "a.example.com", Protocol: "HTTPS", CertConfig: &CertConfig{"c", cert, otherKey}}, "does not match", ""},
		{"bad pem", CustomDomain{DomainName: "a.example.com", Protocol: "HTTPS", CertConfig: &CertConfig{"c", "junk", key}}, "certConfig.certificate", ""},
		{"no cert name", CustomDomain{DomainName: "a.example.com", Protocol: "HTTPS", CertConfig: &CertConfig{"", cert, key}}, "certName", ""},
		{"expired warns", CustomDomain{DomainName: "a.example.com", Protocol: "HTTPS", CertConfig: &CertConfig{"c", oldCert, oldKey}}, "", "expired"},
		{"other name warns", CustomDomain{DomainName: "b.example.com", Protocol: "HTTPS", CertConfig: &CertConfig{"c", cert, key}}, "", "does not name"},
		{"path slash", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "api"})}, "routes[0].path", ""},
		{"path star inside", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/a/*/b"})}, "routes[0].path", ""},
		{"path star glued", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/a*"})}, "routes[0].path", ""},
		{"method", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/", Methods: []string{"get", "FETCH"}})}, "methods[1]", ""},
		{"function", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/", FunctionName: "1x"})}, "functionName", ""},
		{"qualifier", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/", Qualifier: "a.b"})}, "qualifier", ""},
		{"regex", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/", RewriteConfig: &RewriteConfig{RegexRules: []RewriteRule{{"^/(a", "/b"}}}})}, "regexRules[0]", ""},
		{"replacement", CustomDomain{DomainName: "a.example.com", RouteConfig: route(PathConfig{Path: "/", RewriteConfig: &RewriteConfig{EqualRules: []RewriteRule{{"/a", ""}}}})}, "equalRules[0].replacement", ""},
		{"duplicate path", CustomDomain{DomainName: "a.example.com", RouteConfig: &RouteConfig{Routes: []PathConfig{{Path: "/", ServiceName: "s", FunctionName: "f"}, {Path: "/", ServiceName: "s", FunctionName: "g"}}}}, "repeats", ""},
		{"wildcard domain", CustomDomain{DomainName: "*.Example.com"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := ValidateCustomDomain(&tt.d, now)
			if tt.errWord == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || AsError(err).Code != CodeInvalidArgument || !strings.Contains(err.Error(), tt.errWord) {
				t.Fatalf("err = %v, want InvalidArgument naming %q", err, tt.errWord)
			}
			joined := ""
			for _, w := range warnings {
				joined += string(w) + ";"
			}
			if (tt.warning == "") != (joined == "") || !strings.Contains(joined, tt.warning) {
				t.Fatalf("warnings = %q, want %q", joined, tt.warning)
			}
		})
	}
}

func TestCustomDomainPublic(t *testing.T) {
	d := &CustomDomain{DomainName: "a.com", CertConfig: &CertConfig{"c", "CERT", "KEY"}}
	if p := d.Public(); p.CertConfig.PrivateKey != "" || p.CertConfig.Certificate != "CERT" || d.CertConfig.PrivateKey != "KEY" {
		t.Fatalf("Public() = %+v (original %+v)", p.CertConfig, d.CertConfig)
	}
}
