package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestConsoleDispatch checks which requests the front door hands the web
// console: unsigned GET and HEAD of "/" and under /console/ on the
// platform's own host, and nothing on a trigger subdomain, a custom
// domain, the proxy form or the API's paths.
func TestConsoleDispatch(t *testing.T) {
	e, _ := newDomainEnv(t)
	e.gw.opts.Console = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test-Console", "yes")
		w.WriteHeader(299)
	})
	anonHost := "svc-anon-aaaa1111." + testDomain
	for _, tc := range []struct {
		name, method, target, host string
		signed                     bool
		console                    bool
		code                       string // the error code of a non-console answer, if any
	}{
		{name: "root", method: "GET", target: "/", console: true},
		{name: "root HEAD", method: "HEAD", target: "/", console: true},
		{name: "console page", method: "GET", target: "/console/", console: true},
		{name: "console asset", method: "GET", target: "/console/0123456789abcdef/js/app.js", console: true},
		{name: "console without slash", method: "GET", target: "/console", console: true},
		{name: "signed root is the API's", method: "GET", target: "/", signed: true, code: "PathNotSupported"},
		{name: "POST root is the API's", method: "POST", target: "/", code: "PathNotSupported"},
		{name: "prefix lookalike", method: "GET", target: "/consoles", code: "PathNotSupported"},
		{name: "API path", method: "GET", target: "/2016-08-15/services", code: "PathNotSupported"},
		{name: "proxy form", method: "GET", target: "/2016-08-15/proxy/svc/nofn/"},
		{name: "trigger subdomain root", method: "GET", target: "/", host: anonHost},
		{name: "trigger subdomain console path", method: "GET", target: "/console/", host: anonHost},
		{name: "custom domain root", method: "GET", target: "/", host: "app.example.com"},
		{name: "unknown custom domain", method: "GET", target: "/", host: "nope.example.com", code: "DomainNameNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.req(tc.method, tc.target, tc.host, nil)
			if tc.signed {
				r.Header.Set("Authorization", "FC id:sig")
			}
			resp, body := e.do(r)
			if got := resp.Header.Get("X-Test-Console") == "yes"; got != tc.console {
				t.Fatalf("%s %s on %q: served by the console %v; want %v (%d %s)", tc.method, tc.target, tc.host, got, tc.console, resp.StatusCode, body)
			}
			if tc.code != "" && !strings.Contains(body, `"ErrorCode":"`+tc.code+`"`) {
				t.Errorf("%s %s on %q: %d %s; want %s", tc.method, tc.target, tc.host, resp.StatusCode, body, tc.code)
			}
		})
	}
}
