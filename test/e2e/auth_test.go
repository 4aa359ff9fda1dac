package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// adminCreds is the admin key every test server is started with.
var adminCreds = fcsign.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret}

// newRequest builds a request to s; path may carry a query.
func (s *server) newRequest(method, path string, body string) *http.Request {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	return req
}

// send sends req as is and returns the response with its body read.
func (s *server) send(req *http.Request) (*http.Response, []byte) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// signedDo sends a request signed with the admin key.
func (s *server) signedDo(method, path, body string) (*http.Response, []byte) {
	s.t.Helper()
	req := s.newRequest(method, path, body)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	fcsign.Sign(adminCreds, req)
	return s.send(req)
}

// expectError checks that resp is an FC error with the given status, code
// and X-Fc-Error-Type FcCommonError, whose body names the same request id
// as the X-Fc-Request-Id header.
func expectError(t *testing.T, what string, resp *http.Response, body []byte, status int, code string) fcError {
	t.Helper()
	e := decodeError(t, resp, body)
	if resp.StatusCode != status || e.ErrorCode != code {
		t.Errorf("%s: %d %s (%s); want %d %s", what, resp.StatusCode, e.ErrorCode, e.ErrorMessage, status, code)
	}
	if got := resp.Header.Get("X-Fc-Error-Type"); got != "FcCommonError" {
		t.Errorf("%s: X-Fc-Error-Type = %q; want FcCommonError", what, got)
	}
	if e.RequestID != resp.Header.Get("X-Fc-Request-Id") {
		t.Errorf("%s: body RequestId %q differs from X-Fc-Request-Id %q", what, e.RequestID, resp.Header.Get("X-Fc-Request-Id"))
	}
	return e
}

// TestAuthManagementAPI checks the signature rules of the management API
// with raw HTTP requests.
func TestAuthManagementAPI(t *testing.T) {
	s := startServer(t, "")
	const path = "/2016-08-15/services"
	oldDate := time.Now().Add(-20 * time.Minute).UTC().Format(http.TimeFormat)
	futureDate := time.Now().Add(20 * time.Minute).UTC().Format(http.TimeFormat)

	for _, tc := range []struct {
		name    string
		prepare func(r *http.Request) // builds the request's auth headers
		status  int
		code    string // "" means success
	}{
		{"unsigned", func(r *http.Request) {}, 400, "MissingRequiredHeader"},
		{"signed without Date", func(r *http.Request) {
			fcsign.Sign(adminCreds, r)
			r.Header.Del("Date")
		}, 400, "MissingRequiredHeader"},
		{"malformed Authorization", func(r *http.Request) {
			fcsign.Sign(adminCreds, r)
			r.Header.Set("Authorization", "Bearer "+accessKeyID)
		}, 400, "InvalidArgument"},
		{"bad signature", func(r *http.Request) {
			fcsign.Sign(adminCreds, r)
			r.Header.Set("Authorization", fcsign.AuthorizationValue(accessKeyID, fcsign.Signature("wrong-secret", "x")))
		}, 403, "SignatureNotMatch"},
		{"wrong secret", func(r *http.Request) {
			fcsign.Sign(fcsign.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: "not-the-secret"}, r)
		}, 403, "SignatureNotMatch"},
		{"x-fc header changed after signing", func(r *http.Request) {
			r.Header.Set("X-Fc-Trace-Id", "a")
			fcsign.Sign(adminCreds, r)
			r.Header.Set("X-Fc-Trace-Id", "b")
		}, 403, "SignatureNotMatch"},
		{"unknown access key id", func(r *http.Request) {
			fcsign.Sign(fcsign.Credentials{AccessKeyID: "LTAIunknownkey0000000", AccessKeySecret: accessKeySecret}, r)
		}, 403, "InvalidAccessKeyID"},
		{"Date 20 minutes old", func(r *http.Request) {
			r.Header.Set("Date", oldDate)
			fcsign.Sign(adminCreds, r)
		}, 403, "AccessDenied"},
		{"Date 20 minutes ahead", func(r *http.Request) {
			r.Header.Set("Date", futureDate)
			fcsign.Sign(adminCreds, r)
		}, 403, "AccessDenied"},
		{"another account", func(r *http.Request) {
			r.Header.Set("X-Fc-Account-Id", "6543210987654321")
			fcsign.Sign(adminCreds, r)
		}, 403, "AccessDenied"},
		{"signed", func(r *http.Request) { fcsign.Sign(adminCreds, r) }, 200, ""},
		{"signed with own account id", func(r *http.Request) {
			r.Header.Set("X-Fc-Account-Id", accountID)
			fcsign.Sign(adminCreds, r)
		}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := s.newRequest("GET", path, "")
			tc.prepare(req)
			resp, body := s.send(req)
			if tc.code != "" {
				expectError(t, tc.name, resp, body, tc.status, tc.code)
				return
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s; want %d", resp.StatusCode, body, tc.status)
			}
			var list struct {
				Services []json.RawMessage `json:"services"`
			}
			if err := json.Unmarshal(body, &list); err != nil || list.Services == nil {
				t.Errorf("body is not a service list: %v: %s", err, body)
			}
			if resp.Header.Get("X-Fc-Request-Id") == "" {
				t.Errorf("success lacks X-Fc-Request-Id")
			}
		})
	}

	// A signed write goes through; the same body with a signature made for
	// another body (Content-MD5 and Content-Type are signed) does not.
	t.Run("signed create", func(t *testing.T) {
		resp, body := s.signedDo("POST", path, `{"serviceName":"authsvc"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		req := s.newRequest("POST", path, `{"serviceName":"authsvc2"}`)
		req.Header.Set("Content-Type", "application/json")
		fcsign.Sign(adminCreds, req)
		req.Header.Set("Content-Type", "text/plain")
		resp, body = s.send(req)
		expectError(t, "content type changed after signing", resp, body, 403, "SignatureNotMatch")
		resp, body = s.signedDo("GET", path+"/authsvc2", "")
		expectError(t, "service of the rejected create", resp, body, 404, "ServiceNotFound")
	})
}

// deployAuthEcho deploys pyecho as svc/fn behind an HTTP trigger with
// authType function.
func (s *server) deployAuthEcho(svc, fn string) {
	s.t.Helper()
	s.deployEcho(echoOpts{service: svc, name: fn, auth: "function", methods: "[GET, POST]"})
}

// echoOf decodes a pyecho reply, failing unless the status is 200.
func echoOf(t *testing.T, what string, resp *http.Response, body []byte) echoReply {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, body)
	}
	var r echoReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: not echo JSON: %s", what, body)
	}
	return r
}

// TestAuthFunctionTrigger checks an HTTP trigger with authType function:
// the header form (query signed too) and the signed-URL form.
func TestAuthFunctionTrigger(t *testing.T) {
	s := startServer(t, "")
	s.deployAuthEcho("authsvc", "fn")
	const path = "/2016-08-15/proxy/authsvc/fn/x"

	t.Run("unsigned", func(t *testing.T) {
		resp, body := s.send(s.newRequest("GET", path+"?a=1&b=2", ""))
		expectError(t, "unsigned GET", resp, body, 400, "MissingRequiredHeader")
	})

	t.Run("header form", func(t *testing.T) {
		req := s.newRequest("GET", path+"?a=1&b=2", "")
		fcsign.Sign(adminCreds, req)
		resp, body := s.send(req)
		r := echoOf(t, "signed GET", resp, body)
		if r.Name != "fn" || r.Method != "GET" || r.Path != "/x?a=1&b=2" {
			t.Errorf("function saw %s %s (name %q); want GET /x?a=1&b=2 (fn)", r.Method, r.Path, r.Name)
		}
	})

	t.Run("header form POST with body and repeated query", func(t *testing.T) {
		req := s.newRequest("POST", path+"?k=2&k=1&sp=a%20b", "payload")
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("X-Fc-Trace-Id", "t1")
		fcsign.Sign(adminCreds, req)
		resp, body := s.send(req)
		r := echoOf(t, "signed POST", resp, body)
		if r.Method != "POST" || r.Body != "payload" || r.Path != "/x?k=2&k=1&sp=a%20b" {
			t.Errorf("function saw %s %s body %q", r.Method, r.Path, r.Body)
		}
	})

	for _, tc := range []struct {
		name   string
		tamper func(r *http.Request)
		status int
		code   string
	}{
		{"query value changed", func(r *http.Request) { r.URL.RawQuery = "a=1&b=3" }, 403, "SignatureNotMatch"},
		{"query item added", func(r *http.Request) { r.URL.RawQuery = "a=1&b=2&c=3" }, 403, "SignatureNotMatch"},
		{"query item dropped", func(r *http.Request) { r.URL.RawQuery = "a=1" }, 403, "SignatureNotMatch"},
		{"path changed", func(r *http.Request) { r.URL.Path = "/2016-08-15/proxy/authsvc/fn/y" }, 403, "SignatureNotMatch"},
		{"method changed", func(r *http.Request) { r.Method = "POST" }, 403, "SignatureNotMatch"},
		{"x-fc header added", func(r *http.Request) { r.Header.Set("X-Fc-Invocation-Type", "Sync") }, 403, "SignatureNotMatch"},
		{"unknown key", func(r *http.Request) {
			r.Header.Set("Authorization", fcsign.AuthorizationValue("LTAIunknownkey0000000", "c2lnbmF0dXJl"))
		}, 403, "InvalidAccessKeyID"},
	} {
		t.Run("tampered "+tc.name, func(t *testing.T) {
			req := s.newRequest("GET", path+"?a=1&b=2", "")
			fcsign.Sign(adminCreds, req)
			tc.tamper(req)
			resp, body := s.send(req)
			expectError(t, tc.name, resp, body, tc.status, tc.code)
		})
	}

	t.Run("Date 20 minutes old", func(t *testing.T) {
		req := s.newRequest("GET", path+"?a=1&b=2", "")
		req.Header.Set("Date", time.Now().Add(-20*time.Minute).UTC().Format(http.TimeFormat))
		fcsign.Sign(adminCreds, req)
		resp, body := s.send(req)
		expectError(t, "old Date", resp, body, 403, "AccessDenied")
	})

	presign := func(t *testing.T, method string, expires time.Time) *url.URL {
		u, err := url.Parse(s.URL + path + "?a=1&b=2")
		if err != nil {
			t.Fatal(err)
		}
		return fcsign.PresignURL(adminCreds, method, u, nil, expires, "")
	}

	t.Run("signed URL", func(t *testing.T) {
		u := presign(t, "GET", time.Now().Add(5*time.Minute))
		req, _ := http.NewRequest("GET", u.String(), nil)
		resp, body := s.send(req)
		r := echoOf(t, "signed URL", resp, body)
		q, err := url.ParseQuery(strings.TrimPrefix(r.Path, "/x?"))
		if r.Method != "GET" || !strings.HasPrefix(r.Path, "/x?") || err != nil || q.Get("a") != "1" || q.Get("b") != "2" {
			t.Errorf("function saw %s %s; want GET /x with a=1&b=2", r.Method, r.Path)
		}
	})

	for _, tc := range []struct {
		name   string
		url    func(t *testing.T) string
		method string
		status int
		code   string
	}{
		{"signed URL expired", func(t *testing.T) string {
			return presign(t, "GET", time.Now().Add(-time.Minute)).String()
		}, "GET", 403, "AccessDenied"},
		{"signed URL with a changed query", func(t *testing.T) string {
			u := presign(t, "GET", time.Now().Add(5*time.Minute))
			q := u.Query()
			q.Set("b", "3")
			u.RawQuery = q.Encode()
			return u.String()
		}, "GET", 403, "SignatureNotMatch"},
		{"signed URL with a later expiry", func(t *testing.T) string {
			u := presign(t, "GET", time.Now().Add(5*time.Minute))
			q := u.Query()
			q.Set(fcsign.QueryExpires, fmt.Sprint(time.Now().Add(time.Hour).Unix()))
			u.RawQuery = q.Encode()
			return u.String()
		}, "GET", 403, "SignatureNotMatch"},
		{"signed URL used with another method", func(t *testing.T) string {
			return presign(t, "GET", time.Now().Add(5*time.Minute)).String()
		}, "POST", 403, "SignatureNotMatch"},
		{"signed URL without access key id", func(t *testing.T) string {
			u := presign(t, "GET", time.Now().Add(5*time.Minute))
			q := u.Query()
			q.Del(fcsign.QueryAccessKeyID)
			u.RawQuery = q.Encode()
			return u.String()
		}, "GET", 400, "MissingRequiredHeader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := s.send(req)
			expectError(t, tc.name, resp, body, tc.status, tc.code)
		})
	}

	// The management API never accepts the signed-URL form.
	t.Run("signed URL on the management API", func(t *testing.T) {
		u, _ := url.Parse(s.URL + "/2016-08-15/services")
		req, _ := http.NewRequest("GET", fcsign.PresignURL(adminCreds, "GET", u, nil, time.Now().Add(5*time.Minute), "").String(), nil)
		resp, body := s.send(req)
		expectError(t, "presigned management call", resp, body, 400, "MissingRequiredHeader")
	})
}
