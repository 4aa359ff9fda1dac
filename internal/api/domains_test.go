package api_test

import (
	"github.com/openfc/openfc/internal/testcert"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// selfSigned makes a self-signed certificate for name, valid from
// notBefore to notAfter, as PEM.
func selfSigned(t *testing.T, name string, notBefore, notAfter time.Time) (certPEM, keyPEM string) {
	certPEM, keyPEM, _ = testcert.New(t, notBefore, notAfter, name)
	return certPEM, keyPEM
}

func TestCustomDomainsAPI(t *testing.T) {
	e := newEnv(t)
	// The API's clock is the env's fake one (2024): certificates are
	// dated around it.
	now := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	cert, key := selfSigned(t, "a.example.com", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	_, otherKey := selfSigned(t, "a.example.com", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	route := map[string]any{"routes": []map[string]any{{"path": "/*", "serviceName": "s", "functionName": "f"}}}

	var got map[string]any
	e.must("POST", "/custom-domains", map[string]any{"domainName": "A.example.com", "protocol": "HTTP,HTTPS",
		"certConfig": map[string]any{"certName": "c", "certificate": cert, "privateKey": key}, "routeConfig": route}, &got)
	if got["domainName"] != "a.example.com" || got["apiVersion"] != fc.APIVersion || got["createdTime"] == "" {
		t.Fatalf("create = %v", got)
	}
	if c := got["certConfig"].(map[string]any); c["privateKey"] != nil || c["certificate"] != cert {
		t.Fatalf("create answered the private key or lost the certificate: %v", c)
	}
	_, err := e.do("POST", "/custom-domains", map[string]any{"domainName": "a.example.com", "routeConfig": route}, nil)
	wantAPIError(t, err, http.StatusConflict, "DomainNameAlreadyExists", "a.example.com")
	_, err = e.do("POST", "/custom-domains", map[string]any{"domainName": "b.example.com", "protocol": "HTTPS",
		"certConfig": map[string]any{"certName": "c", "certificate": cert, "privateKey": otherKey}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", "privateKey does not match")
	_, err = e.do("POST", "/custom-domains", map[string]any{"domainName": "b.example.com",
		"routeConfig": map[string]any{"routes": []map[string]any{{"path": "x", "serviceName": "s", "functionName": "f"}}}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", "routeConfig.routes[0].path")
	e.must("POST", "/custom-domains", map[string]any{"domainName": "*.example.com", "routeConfig": route}, nil)

	got = nil
	e.must("GET", "/custom-domains/a.example.com", nil, &got)
	if c := got["certConfig"].(map[string]any); c["privateKey"] != nil || got["protocol"] != "HTTP,HTTPS" {
		t.Fatalf("get = %v", got)
	}
	var list struct {
		CustomDomains []fc.CustomDomain `json:"customDomains"`
		NextToken     string            `json:"nextToken"`
	}
	e.must("GET", "/custom-domains?limit=1", nil, &list)
	if len(list.CustomDomains) != 1 || list.CustomDomains[0].DomainName != "*.example.com" || list.NextToken != "a.example.com" {
		t.Fatalf("list page 1 = %+v", list)
	}
	e.must("GET", "/custom-domains?nextToken=a.example.com", nil, &list)
	if len(list.CustomDomains) != 1 || list.CustomDomains[0].CertConfig.PrivateKey != "" || list.NextToken != "" {
		t.Fatalf("list page 2 = %+v", list)
	}

	// An update that sends back what GET showed (no key) keeps the key;
	// a new certificate without its key is refused.
	got["routeConfig"] = map[string]any{"routes": []map[string]any{{"path": "/api/*", "serviceName": "s", "functionName": "g"}}}
	e.must("PUT", "/custom-domains/a.example.com", got, nil)
	stored, _, err := e.st.GetCustomDomain(e.ctx, "a.example.com")
	if err != nil || stored.CertConfig.PrivateKey != key || stored.RouteConfig.Routes[0].FunctionName != "g" {
		t.Fatalf("stored after update = %+v, %v", stored, err)
	}
	cert2, _ := selfSigned(t, "a.example.com", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	_, err = e.do("PUT", "/custom-domains/a.example.com", map[string]any{"certConfig": map[string]any{"certName": "c", "certificate": cert2}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", "privateKey")

	// An expired certificate is accepted, with a warning.
	old, oldKey := selfSigned(t, "a.example.com", now.Add(-2*time.Hour), now.Add(-time.Hour))
	got = nil
	e.must("PUT", "/custom-domains/a.example.com", map[string]any{"certConfig": map[string]any{"certName": "c", "certificate": old, "privateKey": oldKey}}, &got)
	if w, _ := got["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "expired") {
		t.Fatalf("update with an expired certificate = %v", got)
	}

	e.must("DELETE", "/custom-domains/a.example.com", nil, nil)
	_, err = e.do("GET", "/custom-domains/a.example.com", nil, nil)
	wantAPIError(t, err, http.StatusNotFound, "DomainNameNotFound", "a.example.com")
	_, err = e.do("DELETE", "/custom-domains/a.example.com", nil, nil)
	wantAPIError(t, err, http.StatusNotFound, "DomainNameNotFound")
	e.must("DELETE", "/custom-domains/*.example.com", nil, nil)
}
