package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/openfc/openfc/internal/testcert"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openfc/openfc/pkg/fcsign"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// domainCert is a self-signed certificate for names, as PEM, with its
// parsed form for the client's trust.
func domainCert(t *testing.T, names ...string) (certPEM, keyPEM string, cert *x509.Certificate) {
	return testcert.Valid(t, names...)
}

// createDomain creates a custom domain through the API from its JSON.
func (s *server) createDomain(t *testing.T, d map[string]any) {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := s.signedDo("POST", "/2016-08-15/custom-domains", string(b))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create domain %v: %d %s", d["domainName"], resp.StatusCode, body)
	}
}

func routes(rs ...map[string]any) map[string]any { return map[string]any{"routes": rs} }

// viaHost sends a plain HTTP request to the server naming host.
func (s *server) viaHost(t *testing.T, method, host, target string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	return rulesSend(t, req)
}

func domainEcho(t *testing.T, what string, resp *http.Response, body []byte) echoReply {
	t.Helper()
	var e echoReply
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, body)
	}
	return e
}

// TestCustomDomains: route precedence and rewrites through the real
// server, a route's methods, a wildcard domain, an unknown host's
// DomainNameNotFound (while the API's own hosts still reach the API), a
// trigger with disableURLInternet still served through its domain, no
// x-fc-base-path and no forced download, an HTTPS-only domain refused
// over HTTP, and a WebSocket and a gRPC call through custom domains.
func TestCustomDomains(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "dom", name: "one"})
	s.deployEcho(echoOpts{service: "dom", name: "two", disable: true})
	s.createDomain(t, map[string]any{"domainName": "app.example.test", "routeConfig": routes(
		map[string]any{"path": "/*", "serviceName": "dom", "functionName": "one"},
		map[string]any{"path": "/api/*", "serviceName": "dom", "functionName": "two",
			"rewriteConfig": map[string]any{"wildcardRules": []map[string]string{{"match": "^/api/*", "replacement": "/v1/$1"}}}},
		map[string]any{"path": "/exact", "serviceName": "dom", "functionName": "two", "methods": []string{"GET"},
			"rewriteConfig": map[string]any{"equalRules": []map[string]string{{"match": "/exact", "replacement": "/replaced?x=1"}}}},
		map[string]any{"path": "/re/*", "serviceName": "dom", "functionName": "one",
			"rewriteConfig": map[string]any{"regexRules": []map[string]string{{"match": `^/re/(\w+)/(\w+)$`, "replacement": "/$2/$1"}}}},
	)})
	s.createDomain(t, map[string]any{"domainName": "*.wild.test", "routeConfig": routes(
		map[string]any{"path": "/*", "serviceName": "dom", "functionName": "two"})})

	for _, tc := range []struct{ target, fn, path string }{
		{"/x/y?q=1", "one", "/x/y?q=1"},
		{"/api/users?q=1", "two", "/v1/users?q=1"},
		{"/api", "two", "/api"}, // "/api/*" matches "/api"; "^/api/*" does not
		{"/apix", "one", "/apix"},
		{"/exact?y=2", "two", "/replaced?x=1&y=2"},
		{"/re/a/b", "one", "/b/a"},
		{"/re/a/b/c", "one", "/re/a/b/c"},
	} {
		resp, body := s.viaHost(t, "GET", "App.Example.Test:80", tc.target)
		e := domainEcho(t, tc.target, resp, body)
		if e.Name != tc.fn || e.Path != tc.path {
			t.Errorf("GET %s: function %s saw %s; want %s saw %s", tc.target, e.Name, e.Path, tc.fn, tc.path)
		}
		if _, ok := e.Headers["x-fc-base-path"]; ok || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("GET %s: x-fc-base-path %q, Content-Disposition %q; want neither", tc.target, e.Headers["x-fc-base-path"], resp.Header.Get("Content-Disposition"))
		}
	}
	resp, body := s.viaHost(t, "POST", "app.example.test", "/exact")
	expectError(t, "POST to a GET-only route", resp, body, 403, "MethodNotAllowed")

	// The wildcard domain serves one label under it.
	resp, body = s.viaHost(t, "GET", "a.wild.test", "/w")
	if e := domainEcho(t, "wildcard", resp, body); e.Name != "two" || e.Path != "/w" {
		t.Errorf("a.wild.test: %+v", e)
	}
	resp, body = s.viaHost(t, "GET", "b.a.wild.test", "/w")
	expectError(t, "two labels under a wildcard", resp, body, 404, "DomainNameNotFound")
	resp, body = s.viaHost(t, "GET", "nope.example.test", "/2016-08-15/services")
	expectError(t, "unknown host", resp, body, 404, "DomainNameNotFound")

	// disableURLInternet: the default URL is refused, the domain serves.
	resp, body = s.do("GET", "/2016-08-15/proxy/dom/two/", nil, nil)
	expectError(t, "disabled default URL", resp, body, 403, "AccessDenied")

	// The API's own hosts still reach the API.
	for _, host := range []string{"", "localhost:1", "123.cn-hangzhou.fc.aliyuncs.com"} {
		req := s.newRequest("GET", "/2016-08-15/custom-domains/app.example.test", "")
		if host != "" {
			req.Host = host
		}
		fcsign.Sign(adminCreds, req)
		resp, body := s.send(req)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"app.example.test"`) || strings.Contains(string(body), "privateKey") {
			t.Errorf("GET custom-domains via host %q: %d %s", host, resp.StatusCode, body)
		}
	}

	t.Run("deploy", func(t *testing.T) {
		// fc3's customDomain in s.yaml attaches the function.
		s.deployEcho(echoOpts{service: "dom", name: "three",
			props: "      customDomain:\n        domainName: deployed.example.test\n        route:\n          path: /d/*\n          methods: [GET]\n"})
		resp, body := s.viaHost(t, "GET", "deployed.example.test", "/d/x")
		if e := domainEcho(t, "deployed domain", resp, body); e.Name != "three" || e.Path != "/d/x" {
			t.Errorf("deployed.example.test: %+v", e)
		}
		out := s.cli("domains", "list")
		if !strings.Contains(out, "deployed.example.test") || !strings.Contains(out, "/d/*=dom/three") {
			t.Errorf("domains list:\n%s", out)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		deployWS(t, s)
		s.createDomain(t, map[string]any{"domainName": "ws.example.test", "routeConfig": routes(
			map[string]any{"path": "/*", "serviceName": "ws", "functionName": "fn"})})
		ctx := ctxFor(t, 30*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/ws", &websocket.DialOptions{Host: "ws.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hello" {
			t.Fatalf("echo through ws.example.test: %q, %v", msg, err)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		code := goBootstrap(t, "./test/e2e/testdata/grpcfn")
		s.deployEcho(echoOpts{service: "grpc", name: "fn", code: code, command: "[./bootstrap]", methods: "[POST]", timeout: 3, concurrency: 4})
		s.createDomain(t, map[string]any{"domainName": "grpc.example.test", "routeConfig": routes(
			map[string]any{"path": "/*", "serviceName": "grpc", "functionName": "fn"})})
		c := grpcClient(t, strings.TrimPrefix(s.URL, "http://"), "grpc.example.test", false)
		out, err := c.UnaryCall(ctxFor(t, 30*time.Second), &testpb.SimpleRequest{ResponseSize: 10})
		if err != nil || len(out.GetPayload().GetBody()) != 10 {
			t.Fatalf("gRPC through grpc.example.test: %v, %v", out, err)
		}
	})
}

// TestCustomDomainsTLS: two HTTPS domains with their own certificates
// on one --tls-listen, each client sees its domain's certificate (SNI)
// and reaches its function; a name with no domain gets the server's
// certificate; an HTTPS-only domain is refused over plain HTTP.
func TestCustomDomainsTLS(t *testing.T) {
	cert, key := selfSignedCert(t)
	dataDir := t.TempDir()
	flags := []string{"--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key}
	s := startServer(t, dataDir, flags...)
	s.deployEcho(echoOpts{service: "tls", name: "one"})
	s.deployEcho(echoOpts{service: "tls", name: "two"})
	certs := map[string]*x509.Certificate{}
	for _, d := range []struct{ name, fn, protocol string }{
		{"one.example.test", "one", "HTTPS"}, {"*.two.example.test", "two", "HTTP,HTTPS"},
	} {
		c, k, parsed := domainCert(t, d.name)
		certs[d.fn] = parsed
		s.createDomain(t, map[string]any{"domainName": d.name, "protocol": d.protocol,
			"certConfig":  map[string]any{"certName": d.fn, "certificate": c, "privateKey": k},
			"routeConfig": routes(map[string]any{"path": "/*", "serviceName": "tls", "functionName": d.fn})})
	}
	checkSNI(t, s.TLSAddr, certs)
	// Domains and their certificates survive a restart (the store loads
	// them before the listeners open).
	s.stop()
	s = startServer(t, dataDir, flags...)
	checkSNI(t, s.TLSAddr, certs)
	// No domain for that name: the server's own certificate (its names).
	conn, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{InsecureSkipVerify: true, ServerName: "other.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if names := conn.ConnectionState().PeerCertificates[0].DNSNames; len(names) == 0 || names[0] != "localhost" {
		t.Errorf("unknown server name got the certificate of %v; want the server's", names)
	}
	conn.Close()

	resp, body := s.viaHost(t, "GET", "one.example.test", "/")
	expectError(t, "HTTPS-only domain over HTTP", resp, body, 400, "InvalidArgument")
	resp, body = s.viaHost(t, "GET", "b.two.example.test", "/plain")
	if e := domainEcho(t, "HTTP,HTTPS domain over HTTP", resp, body); e.Name != "two" {
		t.Errorf("b.two.example.test over HTTP: %+v", e)
	}
}

// checkSNI calls each domain over TLS, trusting only its certificate:
// the function answers and the certificate served is the domain's.
func checkSNI(t *testing.T, tlsAddr string, certs map[string]*x509.Certificate) {
	t.Helper()
	for _, tc := range []struct{ host, fn string }{{"one.example.test", "one"}, {"a.two.example.test", "two"}} {
		pool := x509.NewCertPool()
		pool.AddCert(certs[tc.fn])
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: tc.host},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
			},
		}}
		resp, body := send(t, client, "GET", "https://"+tc.host+"/hi?x=1", nil, nil)
		if e := domainEcho(t, tc.host, resp, body); e.Name != tc.fn || e.Path != "/hi?x=1" {
			t.Errorf("https://%s: %+v", tc.host, e)
		}
		if got := resp.TLS.PeerCertificates[0]; !got.Equal(certs[tc.fn]) {
			t.Errorf("https://%s: served the certificate of %v", tc.host, got.DNSNames)
		}
	}
}

// TestOfficialNodeSDKCustomDomains: the FC 2.0 Node SDK's
// createCustomDomain, getCustomDomain, listCustomDomains,
// updateCustomDomain and deleteCustomDomain work unchanged, and the
// domain it made routes requests.
func TestOfficialNodeSDKCustomDomains(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "sdkdom", name: "echo"})
	var res struct {
		Steps                         []string
		Created, GotPath, UpdatedPath string
		Listed                        []string
		Call                          struct {
			Status int
			Path   string
		}
		AfterDelete string
	}
	last := runSDK(t, s, "domains.js", 2*time.Minute, &res, "OPENFC_SERVICE=sdkdom", "OPENFC_FUNCTION=echo")
	t.Logf("domains.js: %s", last)
	if len(res.Steps) != 7 || res.Created != "sdk.example.test" || res.GotPath != "/*" || res.UpdatedPath != "/only/*" ||
		len(res.Listed) != 1 || res.Listed[0] != "sdk.example.test" || res.Call.Status != 200 || res.Call.Path != "/only/x?y=1" ||
		res.AfterDelete != "DomainNameNotFound" {
		t.Errorf("domains.js saw %+v", res)
	}
}

// A custom domain is one for every node: created through node a, node b
// serves its certificate by SNI and routes its requests within a second
// (the store's watch); deleted through node a, node b stops serving it.
func TestExternalNATSCustomDomainOnEveryNode(t *testing.T) {
	url := startNATS(t)
	cert, key := selfSignedCert(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url, "--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	tlsAddr := b.TLSAddr
	a.deployEcho(echoOpts{service: "shared", name: "echo"})
	c, k, parsed := domainCert(t, "shared.example.test")
	a.createDomain(t, map[string]any{"domainName": "shared.example.test", "protocol": "HTTPS",
		"certConfig":  map[string]any{"certName": "shared", "certificate": c, "privateKey": k},
		"routeConfig": routes(map[string]any{"path": "/*", "serviceName": "shared", "functionName": "echo"})})

	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "shared.example.test"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
		},
	}}
	waitFor(t, 10*time.Second, func() error {
		resp, err := client.Get("https://shared.example.test/on-b")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var e echoReply
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Name != "echo" || e.Path != "/on-b" {
			return fmt.Errorf("node b: %d %+v %v", resp.StatusCode, e, err)
		}
		return nil
	})

	if resp, body := a.signedDo("DELETE", "/2016-08-15/custom-domains/shared.example.test", ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	waitFor(t, 5*time.Second, func() error {
		resp, body := b.viaHost(t, "GET", "shared.example.test", "/")
		if resp.StatusCode != 404 || !strings.Contains(string(body), "DomainNameNotFound") {
			return fmt.Errorf("node b after the delete: %d %s", resp.StatusCode, body)
		}
		return nil
	})
}
