package fcsign

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testDate = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestStringToSign(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		header    http.Header
		query     url.Values
		withQuery bool
		want      string
	}{
		{
			name:   "management API signs path only",
			method: "POST",
			path:   "/2016-08-15/services",
			header: http.Header{
				"Content-Type":    {"application/json"},
				"Date":            {testDate},
				"X-Fc-Account-Id": {"123456"},
				"X-Fc-Trace-Id":   {"t1"},
				"User-Agent":      {"not signed"},
			},
			query: url.Values{"limit": {"10"}},
			want:  "POST\n\napplication/json\n" + testDate + "\nx-fc-account-id:123456\nx-fc-trace-id:t1\n/2016-08-15/services",
		},
		{
			name:      "proxy path signs sorted query items, one per value",
			method:    "get",
			path:      "/2016-08-15/proxy/svc.LATEST/fn/a b/c",
			header:    http.Header{"Date": {testDate}, "X-Fc-Account-Id": {"123456"}},
			query:     url.Values{"x": {"2", "1"}, "a": {"b c"}, "empty": {""}},
			withQuery: true,
			want:      "GET\n\n\n" + testDate + "\nx-fc-account-id:123456\n/2016-08-15/proxy/svc.LATEST/fn/a b/c\na=b c\nempty=\nx=1\nx=2",
		},
		{
			name:      "empty query still adds a newline",
			method:    "GET",
			path:      "/2016-08-15/proxy/s/f/",
			header:    http.Header{"Date": {testDate}},
			withQuery: true,
			want:      "GET\n\n\n" + testDate + "\n/2016-08-15/proxy/s/f/\n",
		},
		{
			name:      "key without values is bare",
			method:    "GET",
			path:      "/p",
			header:    http.Header{"Date": {testDate}},
			query:     url.Values{"xyz": {}, "foo": {"bar"}},
			withQuery: true,
			want:      "GET\n\n\n" + testDate + "\n/p\nfoo=bar\nxyz",
		},
		{
			name:   "content-md5 and non-canonical, repeated and padded headers",
			method: "PUT",
			path:   "/p",
			header: http.Header{
				"content-md5":  {"md5=="},
				"content-type": {" text/plain "},
				"date":         {testDate},
				"x-FC-b":       {"2"},
				"X-Fc-A":       {"1", " 2"},
				"X-Fc-B":       {"1"},
			},
			want: "PUT\nmd5==\ntext/plain\n" + testDate + "\nx-fc-a:1,2\nx-fc-b:1,2\n/p",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StringToSign(tt.method, tt.path, tt.header, tt.query, tt.withQuery)
			if got != tt.want {
				t.Errorf("StringToSign =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestSignatureVectors checks signatures computed by the official SDKs.
func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name, secret, sts, want string
	}{
		{
			// Computed with @alicloud/fc2 helper.js + crypto HMAC.
			name:   "node sdk management",
			secret: "secret",
			sts:    "POST\n\napplication/json\n" + testDate + "\nx-fc-account-id:123456\nx-fc-trace-id:t1\n/2016-08-15/services",
			want:   "uyWqDYG9vDG46XiFu3HV//25tGAtFipmeM/WTw1dwkM=",
		},
		{
			name:   "node sdk proxy",
			secret: "secret",
			sts:    "GET\n\n\n" + testDate + "\nx-fc-account-id:123456\n/2016-08-15/proxy/svc.LATEST/fn/a b/c\na=b c\nempty=\nx=1\nx=2",
			want:   "kdCeXusGoTyutGwbPhDyfyBwqYv7MLuYvHn03Fng0qU=",
		},
		{
			// aliyun/fc-go-sdk signature_test.go TestGetSignature.
			name:   "go sdk signed url",
			secret: "S9MWOBG0AOWHSO9HPASP216QOPHT5YR4NLH3A",
			sts:    "GET\nef5b43a0fe1d5b401b62c3ba33a7a3d6\ntext/json\n1583221068\nx-fc-trace-id:trace-id\n/2016-08-15/proxy/service.LATEST/func/abc 123\na=123 45\nx-fc-access-key-id=akID\nx-fc-expires=1583221068\nx-fc-security-token=stsToken\nx=456\nx=xyz",
			want:   "QFdNhz0Dl+onUM/MvpX940WFH3H8OHayZHbby1c01aI=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signature(tt.secret, tt.sts); got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSign(t *testing.T) {
	c := Credentials{AccessKeyID: "akid", AccessKeySecret: "secret"}
	tests := []struct {
		name   string
		method string
		url    string
		header http.Header
		want   string
	}{
		{
			name:   "management request ignores query",
			method: "POST",
			url:    "http://h/2016-08-15/services?limit=3",
			header: http.Header{"Content-Type": {"application/json"}, "Date": {testDate}, "X-Fc-Account-Id": {"123456"}, "X-Fc-Trace-Id": {"t1"}},
			want:   "FC akid:uyWqDYG9vDG46XiFu3HV//25tGAtFipmeM/WTw1dwkM=",
		},
		{
			name:   "proxy request signs decoded path and query",
			method: "GET",
			url:    "http://h/2016-08-15/proxy/svc.LATEST/fn/a%20b/c?x=2&a=b+c&x=1&empty=",
			header: http.Header{"Date": {testDate}, "X-Fc-Account-Id": {"123456"}},
			want:   "FC akid:kdCeXusGoTyutGwbPhDyfyBwqYv7MLuYvHn03Fng0qU=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header = tt.header
			Sign(c, r)
			if got := r.Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("sets a missing Date", func(t *testing.T) {
		r, _ := http.NewRequest("GET", "http://h/2016-08-15/services", nil)
		Sign(c, r)
		d, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil || time.Since(d) > time.Minute {
			t.Errorf("Date = %q (%v), want now", r.Header.Get("Date"), err)
		}
	})
}

// TestPresignURL uses the vectors of aliyun/fc-go-sdk sign_url_request_test.go
// (spec §4.2) and aliyun/fc-java-sdk.
func TestPresignURL(t *testing.T) {
	tests := []struct {
		name    string
		c       Credentials
		method  string
		url     string
		header  http.Header
		expires int64
		token   string
		want    string
	}{
		{
			name:    "go sdk with token",
			c:       Credentials{AccessKeyID: "akid", AccessKeySecret: "akSec"},
			method:  "GET",
			url:     "http://localhost/2016-08-15/proxy/service/func/",
			expires: 1583339600,
			token:   "stsToken",
			want:    "http://localhost/2016-08-15/proxy/service/func/?x-fc-access-key-id=akid&x-fc-expires=1583339600&x-fc-security-token=stsToken&x-fc-signature=Yi0jCBQ6cTZc%2BtN8wtYUz9FbYNijx5jDiE3sVNW6XwA%3D",
		},
		{
			name:    "go sdk without token",
			c:       Credentials{AccessKeyID: "akid", AccessKeySecret: "akSec"},
			method:  "GET",
			url:     "http://localhost/2016-08-15/proxy/service/func/",
			expires: 1583339600,
			want:    "http://localhost/2016-08-15/proxy/service/func/?x-fc-access-key-id=akid&x-fc-expires=1583339600&x-fc-signature=6Rc4KxEAv3%2BlHpbNQWceIUqWVWq3ewxhadlJBRzZ0XQ%3D",
		},
		{
			name:   "java sdk with headers, queries and escaped path",
			c:      Credentials{AccessKeyID: "akID", AccessKeySecret: "akSec"},
			method: "POST",
			url:    "http://localhost/2016-08-15/proxy/service.LATEST/funcName/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
				"conTENT-md5":     {"dummy-md5"},
				"x-FC-TRACE-id":   {"trace-id"},
			},
			expires: 1583844558,
			token:   "stsToken",
			want:    "http://localhost/2016-08-15/proxy/service.LATEST/funcName/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=PoEmPVmMfNAhQGYUsQhDD%2Bqj%2Brv4YRCjybLgjtRMJ1U%3D",
		},
		{
			name:   "java sdk custom domain signs the plain path",
			c:      Credentials{AccessKeyID: "akID", AccessKeySecret: "akSec"},
			method: "POST",
			url:    "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header: http.Header{
				"ConTENT-Type":  {"application/json"},
				"conTENT-md5":   {"dummy-md5"},
				"x-FC-TRACE-id": {"trace-id"},
			},
			expires: 1583844558,
			token:   "stsToken",
			want:    "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=q6nscsHhckwZh3oIa7fP%2BE3JlY8NBOjVHtGMJqvlfbA%3D",
		},
		{
			name:   "java sdk custom domain without content-md5",
			c:      Credentials{AccessKeyID: "akID", AccessKeySecret: "akSec"},
			method: "POST",
			url:    "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header: http.Header{
				"ConTENT-Type":  {"application/json"},
				"x-FC-TRACE-id": {"trace-id"},
			},
			expires: 1583844558,
			token:   "stsToken",
			want:    "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=f%2BSz9uZUtt6bpYO1iuH2BpU26FWu%2FovTpbGBR0Tn%2B7s%3D",
		},
		{
			name:    "java sdk custom domain without content-md5 and x-fc header",
			c:       Credentials{AccessKeyID: "akID", AccessKeySecret: "akSec"},
			method:  "POST",
			url:     "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b",
			header:  http.Header{"ConTENT-Type": {"application/json"}},
			expires: 1583844558,
			token:   "stsToken",
			want:    "http://custom.com/test/path/%E4%B8%AD%E6%96%87?a=1&x=a&x=b&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=IalihG51KQhTiwbwrBoFDodjTUTQv9AaAjILPbgoPEU%3D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got := PresignURL(tt.c, tt.method, u, tt.header, time.Unix(tt.expires, 0), tt.token)
			if got.String() != tt.want {
				t.Errorf("PresignURL =\n%s\nwant\n%s", got, tt.want)
			}
			if u.String() != tt.url {
				t.Errorf("PresignURL modified its input: %s", u)
			}
			// The signature in the URL is that of the URL's own string to
			// sign, which is what a verifier recomputes (internal/auth's
			// TestVerifyURLAcceptsPresignURL runs these through VerifyURL).
			q := got.Query()
			sts := PresignedStringToSign(tt.method, SignedPath(got), tt.header, q)
			if sig := q.Get(QuerySignature); sig != Signature(tt.c.AccessKeySecret, sts) {
				t.Errorf("signature %s does not match the signed URL's string to sign %q", sig, sts)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in      string
		id, sig string
		ok      bool
	}{
		{in: "FC akid:c2ln", id: "akid", sig: "c2ln", ok: true},
		{in: "  FC akid:c2ln+/=\t", id: "akid", sig: "c2ln+/=", ok: true},
		{in: "FC akid:"},
		{in: "FC :sig"},
		{in: "FC akidsig"},
		{in: "fc akid:sig"},
		{in: "FCakid:sig"},
		{in: "Bearer akid:sig"},
		{in: "FC ak id:sig"},
		{in: "FC akid:si g"},
		{in: "FC akid:sig:more"},
		{in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, sig, err := ParseAuthorization(tt.in)
			if (err == nil) != tt.ok || id != tt.id || sig != tt.sig {
				t.Errorf("ParseAuthorization(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, id, sig, err, tt.id, tt.sig, tt.ok)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"FC akid:c2ln", "FC a:b:c", "FC :", " FC x:y ", "FC \x00:\xff", "fc a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, sig, err := ParseAuthorization(in)
		if err != nil {
			if id != "" || sig != "" {
				t.Fatalf("error with non-empty parts %q %q", id, sig)
			}
			return
		}
		if id == "" || sig == "" || strings.ContainsAny(id, " \t\r\n") || strings.ContainsAny(sig, " \t\r\n:") {
			t.Fatalf("accepted bad parts %q %q from %q", id, sig, in)
		}
		if got := AuthorizationValue(id, sig); got != strings.Trim(in, " \t") {
			t.Fatalf("round trip: %q -> %q", in, got)
		}
		id2, sig2, err := ParseAuthorization(AuthorizationValue(id, sig))
		if err != nil || id2 != id || sig2 != sig {
			t.Fatalf("reparse: %q %q %v", id2, sig2, err)
		}
	})
}

func TestCredentialsStringMasksSecret(t *testing.T) {
	c := Credentials{AccessKeyID: "LTAIxyz", AccessKeySecret: "topsecret"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "topsecret") || !strings.Contains(s, "LTAIxyz") {
			t.Errorf("%q", s)
		}
	}
}

// TestPresignedStringToSign checks the signed-URL form: x-fc-expires takes
// the place of the Date line, x-fc-signature is not signed, and the
// caller's query is left alone.
func TestPresignedStringToSign(t *testing.T) {
	h := http.Header{"Date": {testDate}, "X-Fc-Trace-Id": {"t"}}
	q := url.Values{QueryExpires: {"1583339600"}, QueryAccessKeyID: {"akid"}, QuerySignature: {"sig"}, "a": {"1"}}
	got := PresignedStringToSign("GET", "/p", h, q)
	want := "GET\n\n\n1583339600\nx-fc-trace-id:t\n/p\na=1\nx-fc-access-key-id=akid\nx-fc-expires=1583339600"
	if got != want {
		t.Errorf("PresignedStringToSign =\n%q\nwant\n%q", got, want)
	}
	if q.Get(QuerySignature) != "sig" {
		t.Errorf("PresignedStringToSign modified its query: %v", q)
	}
}

func TestSignedPath(t *testing.T) {
	for in, want := range map[string]string{
		"http://h":                 "/",
		"http://h/":                "/",
		"http://h/a%20b/%E4%B8%AD": "/a b/中",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := SignedPath(u); got != want {
			t.Errorf("SignedPath(%s) = %q, want %q", in, got, want)
		}
	}
}
