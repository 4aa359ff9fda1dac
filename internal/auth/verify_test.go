package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// testDate is testNow as an HTTP date.
const testDate = "Mon, 02 Jan 2006 15:04:05 GMT"

var testNow = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Keys: func(id string) (Key, bool) {
			if id == "akid" {
				return Key{Secret: "secret"}, true
			}
			return Key{}, false
		},
		Now: func() time.Time { return testNow },
	}
}

// signedRequest builds a request signed with akid/secret at date.
func signedRequest(t *testing.T, method, rawURL, date string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, rawURL, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Fc-Account-Id", "123456")
	if date != "" {
		r.Header.Set("Date", date)
	}
	fcsign.Sign(fcsign.Credentials{AccessKeyID: "akid", AccessKeySecret: "secret"}, r)
	return r
}

// wantCode checks err is an *fc.Error with the given code and a message
// containing msg.
func wantCode(t *testing.T, err error, code fc.Code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var fe *fc.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not an *fc.Error", err)
	}
	if fe.Code != code || !strings.Contains(fe.Message, msg) {
		t.Fatalf("error = %s %q, want %s containing %q", fe.Code, fe.Message, code, msg)
	}
}

func TestVerifyHeader(t *testing.T) {
	const mgmt = "http://h/2016-08-15/services?limit=1"
	const proxy = "http://h/2016-08-15/proxy/s/f/a%20b?x=1&x=2"
	tests := []struct {
		name      string
		url       string
		withQuery bool
		date      string
		mutate    func(r *http.Request)
		code      fc.Code
		msg       string
	}{
		{name: "ok management", url: mgmt, date: testDate},
		{name: "ok proxy", url: proxy, withQuery: true, date: testDate},
		{name: "ok within skew", url: mgmt, date: testNow.Add(14 * time.Minute).Format(http.TimeFormat)},
		{name: "management ignores query", url: mgmt, date: testDate, mutate: func(r *http.Request) { r.URL.RawQuery = "limit=2" }},
		{
			name: "missing authorization", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Del("Authorization") },
			code:   fc.CodeMissingRequiredHeader, msg: "required HTTP header Authorization was not specified",
		},
		{
			name: "missing date", url: mgmt,
			mutate: func(r *http.Request) { r.Header.Del("Date") },
			code:   fc.CodeMissingRequiredHeader, msg: "required HTTP header Date was not specified",
		},
		{
			name: "malformed authorization", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer xyz") },
			code:   fc.CodeInvalidArgument, msg: "Authorization",
		},
		{
			name: "unknown key", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "FC other:c2ln") },
			code:   fc.CodeInvalidAccessKeyID, msg: "invalid access key ID 'other'",
		},
		{
			name: "wrong signature", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "FC akid:c2ln") },
			code:   fc.CodeSignatureNotMatch, msg: "does not match",
		},
		{
			name: "tampered x-fc header", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Set("X-Fc-Account-Id", "654321") },
			code:   fc.CodeSignatureNotMatch, msg: "does not match",
		},
		{
			name: "tampered content type", url: mgmt, date: testDate,
			mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			code:   fc.CodeSignatureNotMatch, msg: "does not match",
		},
		{
			name: "tampered proxy query", url: proxy, withQuery: true, date: testDate,
			mutate: func(r *http.Request) { r.URL.RawQuery = "x=1" },
			code:   fc.CodeSignatureNotMatch, msg: "does not match",
		},
		{
			name: "tampered path", url: proxy, withQuery: true, date: testDate,
			mutate: func(r *http.Request) { r.URL.Path = "/2016-08-15/proxy/s/f/a%20c" },
			code:   fc.CodeSignatureNotMatch, msg: "does not match",
		},
		{
			name: "date too old", url: mgmt, date: testNow.Add(-16 * time.Minute).Format(http.TimeFormat),
			code: fc.CodeAccessDenied, msg: "out of range",
		},
		{
			name: "date too new", url: mgmt, date: testNow.Add(16 * time.Minute).Format(http.TimeFormat),
			code: fc.CodeAccessDenied, msg: "out of range",
		},
		{
			name: "date unparsable", url: mgmt, date: "yesterday",
			code: fc.CodeAccessDenied, msg: "out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedRequest(t, "POST", tt.url, tt.date)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			wantCode(t, errOnly(testVerifier().VerifyHeader(r, tt.withQuery)), tt.code, tt.msg)
		})
	}
}

func TestVerifyHeaderStatuses(t *testing.T) {
	r := signedRequest(t, "GET", "http://h/2016-08-15/services", testDate)
	r.Header.Set("Authorization", "FC akid:c2ln")
	err := errOnly(testVerifier().VerifyHeader(r, false))
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Status() != http.StatusForbidden || fe.Message != signatureNotMatchMessage {
		t.Fatalf("got %v", err)
	}
	// The server's string to sign is kept as the cause for the logs.
	if fe.Err == nil || !strings.Contains(fe.Err.Error(), "/2016-08-15/services") {
		t.Errorf("cause = %v", fe.Err)
	}
}

func TestVerifierDefaults(t *testing.T) {
	r := signedRequest(t, "GET", "http://h/2016-08-15/services", time.Now().UTC().Format(http.TimeFormat))
	wantCode(t, errOnly((&Verifier{}).VerifyHeader(r, false)), fc.CodeInvalidAccessKeyID, "akid")
	v := &Verifier{Keys: testVerifier().Keys}
	wantCode(t, errOnly(v.VerifyHeader(r, false)), "", "")
}

func TestVerifyURL(t *testing.T) {
	c := fcsign.Credentials{AccessKeyID: "akid", AccessKeySecret: "secret"}
	base, _ := url.Parse("http://h/2016-08-15/proxy/s/f/p?q=1")
	good := fcsign.PresignURL(c, "GET", base, nil, testNow.Add(time.Hour), "").String()
	tests := []struct {
		name   string
		url    string
		method string
		mutate func(q url.Values)
		code   fc.Code
		msg    string
	}{
		{name: "ok", url: good},
		{name: "missing signature", url: good, mutate: func(q url.Values) { q.Del(fcsign.QuerySignature) }, code: fc.CodeMissingRequiredHeader, msg: fcsign.QuerySignature},
		{name: "missing key id", url: good, mutate: func(q url.Values) { q.Del(fcsign.QueryAccessKeyID) }, code: fc.CodeMissingRequiredHeader, msg: fcsign.QueryAccessKeyID},
		{name: "missing expires", url: good, mutate: func(q url.Values) { q.Del(fcsign.QueryExpires) }, code: fc.CodeMissingRequiredHeader, msg: fcsign.QueryExpires},
		{name: "repeated signature", url: good, mutate: func(q url.Values) { q.Add(fcsign.QuerySignature, "x") }, code: fc.CodeInvalidArgument, msg: fcsign.QuerySignature},
		{name: "bad expires", url: good, mutate: func(q url.Values) { q.Set(fcsign.QueryExpires, "soon") }, code: fc.CodeAccessDenied, msg: fcsign.QueryExpires},
		{name: "expired", url: fcsign.PresignURL(c, "GET", base, nil, testNow.Add(-time.Second), "").String(), code: fc.CodeAccessDenied, msg: "expired"},
		{name: "extended expiry", url: good, mutate: func(q url.Values) { q.Set(fcsign.QueryExpires, "9999999999") }, code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "added query", url: good, mutate: func(q url.Values) { q.Add("q", "2") }, code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "other method", url: good, method: "POST", code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "unknown key", url: good, mutate: func(q url.Values) { q.Set(fcsign.QueryAccessKeyID, "nope") }, code: fc.CodeInvalidAccessKeyID, msg: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			r, err := http.NewRequest(method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				q := r.URL.Query()
				tt.mutate(q)
				r.URL.RawQuery = q.Encode()
			}
			wantCode(t, errOnly(testVerifier().VerifyURL(r)), tt.code, tt.msg)
		})
	}
}

// TestVerifyURLAcceptsPresignURL runs the inputs of fcsign's PresignURL
// vectors (aliyun/fc-go-sdk and aliyun/fc-java-sdk) through VerifyURL: what
// a client presigns, the server accepts.
func TestVerifyURLAcceptsPresignURL(t *testing.T) {
	goSDK := fcsign.Credentials{AccessKeyID: "akid", AccessKeySecret: "akSec"}
	javaSDK := fcsign.Credentials{AccessKeyID: "akID", AccessKeySecret: "akSec"}
	tests := []struct {
		name    string
		c       fcsign.Credentials
		method  string
		url     string
		header  http.Header
		expires int64
		token   string
	}{
		{name: "go sdk with token", c: goSDK, method: "GET", url: "http://localhost/2016-08-15/proxy/service/func/", expires: 1583339600, token: "stsToken"},
		{name: "go sdk without token", c: goSDK, method: "GET", url: "http://localhost/2016-08-15/proxy/service/func/", expires: 1583339600},
		{
			name: "java sdk with headers, queries and escaped path", c: javaSDK, method: "POST",
			url: "http://localhost/2016-08-15/proxy/service.LATEST/funcName/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
				"conTENT-md5":     {"dummy-md5"},
				"x-FC-TRACE-id":   {"trace-id"},
			},
			expires: 1583844558, token: "stsToken",
		},
		{
			name: "java sdk custom domain signs the plain path", c: javaSDK, method: "POST",
			url: "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header: http.Header{
				"ConTENT-Type":  {"application/json"},
				"conTENT-md5":   {"dummy-md5"},
				"x-FC-TRACE-id": {"trace-id"},
			},
			expires: 1583844558, token: "stsToken",
		},
		{
			name: "java sdk custom domain without content-md5", c: javaSDK, method: "POST",
			url:     "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header:  http.Header{"ConTENT-Type": {"application/json"}, "x-FC-TRACE-id": {"trace-id"}},
			expires: 1583844558, token: "stsToken",
		},
		{
			name: "java sdk custom domain without content-md5 and x-fc header", c: javaSDK, method: "POST",
			url:     "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header:  http.Header{"ConTENT-Type": {"application/json"}},
			expires: 1583844558, token: "stsToken",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			signed := fcsign.PresignURL(tt.c, tt.method, u, tt.header, time.Unix(tt.expires, 0), tt.token)
			r, err := http.NewRequest(tt.method, signed.String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			v := Verifier{
				Keys: func(id string) (Key, bool) { return Key{Secret: tt.c.AccessKeySecret}, id == tt.c.AccessKeyID },
				Now:  func() time.Time { return time.Unix(tt.expires-60, 0) },
			}
			if err := errOnly(v.VerifyURL(r)); err != nil {
				t.Errorf("VerifyURL(%s): %v", signed, err)
			}
		})
	}
}

// TestProxyPathPrefix checks that fcsign's prefix, written out because a
// public package cannot import internal/fc, is the one of fc.APIVersion.
func TestProxyPathPrefix(t *testing.T) {
	if want := "/" + fc.APIVersion + "/proxy/"; fcsign.ProxyPathPrefix != want {
		t.Errorf("fcsign.ProxyPathPrefix = %q, want %q", fcsign.ProxyPathPrefix, want)
	}
}

// errOnly drops the principal of a verification.
func errOnly(_ fc.Principal, err error) error { return err }

// TestVerifyHeaderFCDate checks the browser's form: no Date header (fetch
// cannot send one), the date in x-fc-date, signed as an x-fc-* header
// with an empty Date line.
func TestVerifyHeaderFCDate(t *testing.T) {
	build := func(date string, tamper func(r *http.Request)) *http.Request {
		r, err := http.NewRequest("GET", "http://h/2016-08-15/services", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set(fcsign.HeaderFCDate, date)
		sts := fcsign.StringToSign(r.Method, r.URL.Path, r.Header, nil, false)
		if !strings.Contains(sts, "\n\n\n\nx-fc-date:"+date+"\n") {
			t.Fatalf("string to sign %q has no empty Date line followed by x-fc-date", sts)
		}
		r.Header.Set("Authorization", fcsign.AuthorizationValue("akid", fcsign.Signature("secret", sts)))
		if tamper != nil {
			tamper(r)
		}
		return r
	}
	wantCode(t, errOnly(testVerifier().VerifyHeader(build(testDate, nil), false)), "", "")
	wantCode(t, errOnly(testVerifier().VerifyHeader(build(testNow.Add(-16*time.Minute).Format(http.TimeFormat), nil), false)),
		fc.CodeAccessDenied, "out of range")
	wantCode(t, errOnly(testVerifier().VerifyHeader(build(testDate, func(r *http.Request) {
		r.Header.Set(fcsign.HeaderFCDate, testNow.Add(time.Minute).Format(http.TimeFormat))
	}), false)), fc.CodeSignatureNotMatch, "does not match")
	// A Date header, when present, is the one checked and signed.
	wantCode(t, errOnly(testVerifier().VerifyHeader(build(testDate, func(r *http.Request) {
		r.Header.Set("Date", testDate)
	}), false)), fc.CodeSignatureNotMatch, "does not match")
}
