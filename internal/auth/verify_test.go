package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

var testNow = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Keys: func(id string) (string, bool) {
			if id == "akid" {
				return "secret", true
			}
			return "", false
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
	Sign(Credentials{AccessKeyID: "akid", AccessKeySecret: "secret"}, r)
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
			wantCode(t, testVerifier().VerifyHeader(r, tt.withQuery), tt.code, tt.msg)
		})
	}
}

func TestVerifyHeaderStatuses(t *testing.T) {
	r := signedRequest(t, "GET", "http://h/2016-08-15/services", testDate)
	r.Header.Set("Authorization", "FC akid:c2ln")
	err := testVerifier().VerifyHeader(r, false)
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
	wantCode(t, (&Verifier{}).VerifyHeader(r, false), fc.CodeInvalidAccessKeyID, "akid")
	v := &Verifier{Keys: testVerifier().Keys}
	wantCode(t, v.VerifyHeader(r, false), "", "")
}

func TestVerifyURL(t *testing.T) {
	c := Credentials{AccessKeyID: "akid", AccessKeySecret: "secret"}
	base, _ := url.Parse("http://h/2016-08-15/proxy/s/f/p?q=1")
	good := PresignURL(c, "GET", base, nil, testNow.Add(time.Hour), "").String()
	tests := []struct {
		name   string
		url    string
		method string
		mutate func(q url.Values)
		code   fc.Code
		msg    string
	}{
		{name: "ok", url: good},
		{name: "missing signature", url: good, mutate: func(q url.Values) { q.Del(QuerySignature) }, code: fc.CodeMissingRequiredHeader, msg: QuerySignature},
		{name: "missing key id", url: good, mutate: func(q url.Values) { q.Del(QueryAccessKeyID) }, code: fc.CodeMissingRequiredHeader, msg: QueryAccessKeyID},
		{name: "missing expires", url: good, mutate: func(q url.Values) { q.Del(QueryExpires) }, code: fc.CodeMissingRequiredHeader, msg: QueryExpires},
		{name: "repeated signature", url: good, mutate: func(q url.Values) { q.Add(QuerySignature, "x") }, code: fc.CodeInvalidArgument, msg: QuerySignature},
		{name: "bad expires", url: good, mutate: func(q url.Values) { q.Set(QueryExpires, "soon") }, code: fc.CodeAccessDenied, msg: QueryExpires},
		{name: "expired", url: PresignURL(c, "GET", base, nil, testNow.Add(-time.Second), "").String(), code: fc.CodeAccessDenied, msg: "expired"},
		{name: "extended expiry", url: good, mutate: func(q url.Values) { q.Set(QueryExpires, "9999999999") }, code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "added query", url: good, mutate: func(q url.Values) { q.Add("q", "2") }, code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "other method", url: good, method: "POST", code: fc.CodeSignatureNotMatch, msg: "does not match"},
		{name: "unknown key", url: good, mutate: func(q url.Values) { q.Set(QueryAccessKeyID, "nope") }, code: fc.CodeInvalidAccessKeyID, msg: "nope"},
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
			wantCode(t, testVerifier().VerifyURL(r), tt.code, tt.msg)
		})
	}
}
