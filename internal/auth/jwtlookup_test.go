package auth

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/openfc/openfc/internal/fc"
)

// bodyReader is a readForm that hands out the request's body, counting
// the calls.
func bodyReader(r *http.Request, calls *int) func() ([]byte, error) {
	return func() ([]byte, error) {
		*calls++
		return io.ReadAll(r.Body)
	}
}

func multipartBody(t *testing.T, fields [][2]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.Bytes()
}

// TestTokenLookup: a token is found at each position, with and without a
// prefix, positions are tried in order, and a missing one says where it
// was looked for.
func TestTokenLookup(t *testing.T) {
	k := newTestKey(t, jose.ES256, "k")
	tok := k.sign(t, validClaims(nil))
	header := func(name, prefix string) fc.JWTTokenLookup {
		return fc.JWTTokenLookup{ReadPosition: "header", ParameterName: name, Prefix: prefix}
	}
	at := func(pos, name string) fc.JWTTokenLookup {
		return fc.JWTTokenLookup{ReadPosition: pos, ParameterName: name}
	}
	mpType, mpBody := multipartBody(t, [][2]string{{"a", "1"}, {"token", tok}})
	for _, tc := range []struct {
		name    string
		lookups []fc.JWTTokenLookup
		build   func(r *http.Request)
		body    string
		ctype   string
		found   bool
		reads   int // readForm calls
	}{
		{name: "header with prefix", lookups: []fc.JWTTokenLookup{header("Authorization", "Bearer ")},
			build: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, found: true},
		{name: "header prefix in another case", lookups: []fc.JWTTokenLookup{header("Authorization", "Bearer ")},
			build: func(r *http.Request) { r.Header.Set("Authorization", "bEARER "+tok) }, found: true},
		{name: "header without prefix", lookups: []fc.JWTTokenLookup{header("X-Token", "")},
			build: func(r *http.Request) { r.Header.Set("X-Token", tok) }, found: true},
		{name: "header lacking the prefix is no token", lookups: []fc.JWTTokenLookup{header("Authorization", "Bearer ")},
			build: func(r *http.Request) { r.Header.Set("Authorization", tok) }},
		{name: "query", lookups: []fc.JWTTokenLookup{at("query", "jwt")},
			build: func(r *http.Request) { r.URL.RawQuery = "a=1&jwt=" + url.QueryEscape(tok) + "&b=2" }, found: true},
		{name: "query with prefix", lookups: []fc.JWTTokenLookup{{ReadPosition: "query", ParameterName: "jwt", Prefix: "t:"}},
			build: func(r *http.Request) { r.URL.RawQuery = "jwt=t:" + tok }, found: true},
		{name: "query name escaped", lookups: []fc.JWTTokenLookup{at("query", "my token")},
			build: func(r *http.Request) { r.URL.RawQuery = "my+token=" + tok }, found: true},
		{name: "cookie", lookups: []fc.JWTTokenLookup{at("cookie", "jwt")},
			build: func(r *http.Request) { r.Header.Set("Cookie", "a=1; jwt="+tok+"; b=2") }, found: true},
		{name: "form", lookups: []fc.JWTTokenLookup{at("form", "token")},
			body: "a=1&token=" + tok, ctype: "application/x-www-form-urlencoded", found: true, reads: 1},
		{name: "multipart form", lookups: []fc.JWTTokenLookup{at("form", "token")},
			body: string(mpBody), ctype: mpType, found: true, reads: 1},
		{name: "form position, JSON body: not read", lookups: []fc.JWTTokenLookup{at("form", "token")},
			body: `{"token":"` + tok + `"}`, ctype: "application/json"},
		{name: "second position", lookups: []fc.JWTTokenLookup{header("Authorization", "Bearer "), at("query", "jwt")},
			build: func(r *http.Request) { r.URL.RawQuery = "jwt=" + tok }, found: true},
		{name: "first position wins", lookups: []fc.JWTTokenLookup{at("query", "jwt"), header("Authorization", "Bearer ")},
			build: func(r *http.Request) {
				r.URL.RawQuery = "jwt=" + tok
				r.Header.Set("Authorization", "Bearer garbage")
			}, found: true},
		{name: "form read once for two positions", lookups: []fc.JWTTokenLookup{at("form", "x"), at("form", "token")},
			body: "token=" + tok, ctype: "application/x-www-form-urlencoded", found: true, reads: 1},
		{name: "none", lookups: []fc.JWTTokenLookup{header("Authorization", "Bearer "), at("query", "jwt"), at("cookie", "jwt")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testJWTConfig(t, k)
			cfg.TokenLookup = tc.lookups
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if tc.build != nil {
				tc.build(r)
			}
			reads := 0
			_, err := newVerifier().VerifyJWT(cfg, r, "/", bodyReader(r, &reads))
			switch {
			case tc.found && err != nil:
				t.Fatalf("not found: %v", err)
			case !tc.found:
				wantUnauthorized(t, err, "carries no token: looked in ")
			}
			if reads != tc.reads {
				t.Errorf("the body was read %d times; want %d", reads, tc.reads)
			}
		})
	}
}

// TestClaimPassBy: a claim replaces what the client sent under its name
// in a header, a cookie and a form; a missing claim removes the client's
// value; values are rendered as documented.
func TestClaimPassBy(t *testing.T) {
	k := newTestKey(t, jose.RS256, "k")
	tok := k.sign(t, validClaims(map[string]any{"uid": "alice", "n": 42, "admin": true,
		"roles": []string{"a", "b"}, "org": map[string]any{"id": 7}, "nl": "a\nb", "sp": "a b;c"}))
	cfg := testJWTConfig(t, k)
	cfg.ClaimPassBy = []fc.JWTClaimPassBy{
		{ClaimName: "uid", MappingParameterName: "X-Uid", MappingParameterPosition: "header"},
		{ClaimName: "n", MappingParameterName: "X-N", MappingParameterPosition: "header"},
		{ClaimName: "admin", MappingParameterName: "X-Admin", MappingParameterPosition: "header"},
		{ClaimName: "roles", MappingParameterName: "X-Roles", MappingParameterPosition: "header"},
		{ClaimName: "org", MappingParameterName: "X-Org", MappingParameterPosition: "header"},
		{ClaimName: "missing", MappingParameterName: "X-Missing", MappingParameterPosition: "header"},
		{ClaimName: "uid", MappingParameterName: "uid", MappingParameterPosition: "cookie"},
		{ClaimName: "sp", MappingParameterName: "sp", MappingParameterPosition: "cookie"},
		{ClaimName: "missing", MappingParameterName: "gone", MappingParameterPosition: "cookie"},
		{ClaimName: "uid", MappingParameterName: "uid", MappingParameterPosition: "form"},
		{ClaimName: "missing", MappingParameterName: "gone", MappingParameterPosition: "form"},
	}

	t.Run("urlencoded", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/", strings.NewReader("a=1&uid=mallory&gone=x&b=%20"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header["X-Uid"] = []string{"mallory", "eve"}
		r.Header.Set("X-Missing", "forged")
		r.Header.Set("Cookie", "keep=1; uid=mallory; gone=x")
		r.Header.Add("Cookie", "other=2")
		reads := 0
		body, err := newVerifier().VerifyJWT(cfg, r, "/", bodyReader(r, &reads))
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{"X-Uid": "alice", "X-N": "42", "X-Admin": "true", "X-Roles": `["a","b"]`, "X-Org": `{"id":7}`} {
			if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q; want [%q]", name, got, want)
			}
		}
		if _, ok := r.Header["X-Missing"]; ok {
			t.Errorf("the client's X-Missing reached the function: %q", r.Header["X-Missing"])
		}
		if got, want := r.Header["Cookie"], []string{"keep=1; other=2; uid=alice; sp=a%20b%3Bc"}; len(got) != 1 || got[0] != want[0] {
			t.Errorf("Cookie = %q; want %q", got, want)
		}
		if got, want := string(body), "a=1&b=%20&uid=alice"; got != want {
			t.Errorf("body = %q; want %q", got, want)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		ctype, in := multipartBody(t, [][2]string{{"a", "1"}, {"uid", "mallory"}, {"gone", "x"}})
		r := httptest.NewRequest("POST", "/", bytes.NewReader(in))
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("Authorization", "Bearer "+tok)
		reads := 0
		body, err := newVerifier().VerifyJWT(cfg, r, "/", bodyReader(r, &reads))
		if err != nil {
			t.Fatal(err)
		}
		r2 := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r2.Header.Set("Content-Type", ctype)
		if err := r2.ParseMultipartForm(1 << 20); err != nil {
			t.Fatalf("the rewritten form does not parse: %v", err)
		}
		if got := r2.MultipartForm.Value; len(got) != 2 || got["a"][0] != "1" || len(got["uid"]) != 1 || got["uid"][0] != "alice" {
			t.Errorf("form = %v; want a=1, uid=alice", got)
		}
	})

	t.Run("control characters refused in a header", func(t *testing.T) {
		c := testJWTConfig(t, k)
		c.ClaimPassBy = []fc.JWTClaimPassBy{{ClaimName: "nl", MappingParameterName: "X-Nl", MappingParameterPosition: "header"}}
		_, err := newVerifier().VerifyJWT(c, bearer(tok), "/", nil)
		if fe, ok := err.(*fc.Error); !ok || fe.Code != fc.CodeInvalidArgument {
			t.Fatalf("err = %v; want InvalidArgument", err)
		}
	})

	t.Run("unverified path: the client's values go, none come", func(t *testing.T) {
		c := testJWTConfig(t, k)
		c.ClaimPassBy = cfg.ClaimPassBy
		c.Whitelist = []string{"/public/*"}
		r := httptest.NewRequest("POST", "/public/x", strings.NewReader("uid=mallory&a=1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Uid", "mallory")
		r.Header.Set("Cookie", "uid=mallory; keep=1")
		reads := 0
		body, err := newVerifier().VerifyJWT(c, r, "/public/x", bodyReader(r, &reads))
		if err != nil {
			t.Fatalf("a whitelisted path needs no token: %v", err)
		}
		if v, ok := r.Header["X-Uid"]; ok {
			t.Errorf("X-Uid = %q reached the function", v)
		}
		if got := r.Header.Get("Cookie"); got != "keep=1" {
			t.Errorf("Cookie = %q; want keep=1", got)
		}
		if string(body) != "a=1" {
			t.Errorf("body = %q; want a=1", body)
		}
	})
}

// TestMatchJWTPath is the whitelist/blacklist rule.
func TestMatchJWTPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/login", "/login", true},
		{"/login", "/login/", false},
		{"/login", "/login/x", false},
		{"/login", "/Login", false},
		{"/static/*", "/static/a", true},
		{"/static/*", "/static/a/b", true},
		{"/static/*", "/static/", true},
		{"/static/*", "/static", false},
		{"/static/*", "/staticx", false},
		{"/static*", "/staticx/y", true},
		{"*", "/anything", true},
		{"/*", "/", true},
	} {
		if got := MatchJWTPath(tc.pattern, tc.path); got != tc.want {
			t.Errorf("MatchJWTPath(%q, %q) = %v; want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

// TestMustVerify: lists apply to the path the function reads, whatever
// its spelling.
func TestMustVerify(t *testing.T) {
	white := &fc.JWTAuthConfig{Whitelist: []string{"/public/*", "/health"}}
	black := &fc.JWTAuthConfig{Blacklist: []string{"/admin", "/admin/*"}}
	for _, tc := range []struct {
		cfg  *fc.JWTAuthConfig
		path string
		want bool
	}{
		{&fc.JWTAuthConfig{}, "/anything", true},
		{white, "/health", false},
		{white, "/public/a.css", false},
		{white, "/private", true},
		{white, "/public/../private", true},
		{white, "/public/%2e%2e/private", true},
		{white, "//health", false},
		{white, "/public%2Fx", false},
		{white, "/bad%zz", true},
		{black, "/admin", true},
		{black, "/admin/users", true},
		{black, "/%61dmin", true},
		{black, "/x/../admin", true},
		{black, "//admin", true},
		{black, "/public", false},
		{black, "/bad%zz", true},
	} {
		if got := mustVerify(tc.cfg, tc.path); got != tc.want {
			t.Errorf("mustVerify(white %v black %v, %q) = %v; want %v", tc.cfg.Whitelist, tc.cfg.Blacklist, tc.path, got, tc.want)
		}
	}
}

// FuzzTokenLookup: any request parts give a token or a 401, never a
// panic, and a token found is trimmed and without the prefix.
func FuzzTokenLookup(f *testing.F) {
	f.Add("Bearer abc", "jwt=x%20y&a", "jwt=1; b=2", "token=t&x=%zz", "application/x-www-form-urlencoded")
	f.Add("bearer", "", "", "--b\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nv\r\n--b--\r\n", "multipart/form-data; boundary=b")
	f.Add("", "jwt", "jwt", "", "multipart/form-data")
	f.Fuzz(func(t *testing.T, header, query, cookie, body, ctype string) {
		lookups := []fc.JWTTokenLookup{
			{ReadPosition: "header", ParameterName: "Authorization", Prefix: "Bearer "},
			{ReadPosition: "query", ParameterName: "jwt"},
			{ReadPosition: "cookie", ParameterName: "jwt"},
			{ReadPosition: "form", ParameterName: "token"},
		}
		r := &http.Request{Method: "POST", URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{
			"Authorization": {header}, "Cookie": {cookie}, "Content-Type": {ctype}}}
		f := formSource{kind: formKind(ctype), read: func() ([]byte, error) { return []byte(body), nil }}
		tok, err := lookupToken(lookups, r, &f)
		if err != nil {
			if fe, ok := err.(*fc.Error); !ok || fe.Code != fc.CodeUnauthorized {
				t.Fatalf("err = %v; want Unauthorized", err)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) {
			t.Fatalf("token %q is empty or untrimmed", tok)
		}
	})
}
