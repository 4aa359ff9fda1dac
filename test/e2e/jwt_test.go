package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtSigner is a private key and the kid its tokens name.
type jwtSigner struct {
	alg jose.SignatureAlgorithm
	key any
	kid string
}

func (k jwtSigner) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// publicJWK is the JSON of k's public key.
func (k jwtSigner) publicJWK(t *testing.T) string {
	t.Helper()
	var pub any
	switch p := k.key.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: k.kid, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newRSASigner(t *testing.T, kid string) jwtSigner {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jwtSigner{jose.RS256, k, kid}
}

func newECSigner(t *testing.T, kid string) jwtSigner {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jwtSigner{jose.ES256, k, kid}
}

// jwtAuthConfig is the authConfig JSON of the e2e trigger.
func jwtAuthConfig(t *testing.T, keys ...jwtSigner) string {
	jwks := make([]string, len(keys))
	for i, k := range keys {
		jwks[i] = k.publicJWK(t)
	}
	return `{"jwks": {"keys": [` + strings.Join(jwks, ", ") + `]},
  "tokenLookup": [
    {"readPosition": "header", "parameterName": "Authorization", "prefix": "Bearer "},
    {"readPosition": "query", "parameterName": "jwt"},
    {"readPosition": "cookie", "parameterName": "jwt"}],
  "claimPassBy": [
    {"claimName": "uid", "mappingParameterName": "x-uid", "mappingParameterPosition": "header"},
    {"claimName": "uid", "mappingParameterName": "uid", "mappingParameterPosition": "cookie"}],
  "whitelist": ["/public/*"]}`
}

// deployJWTEcho deploys pyecho as svc/fn behind a jwt trigger whose
// authConfig (JSON, written into the s.yaml as a flow mapping) is ac.
func (s *server) deployJWTEcho(svc, fn, ac string) {
	s.t.Helper()
	s.deployEcho(echoOpts{service: svc, name: fn, auth: "jwt", methods: "[GET, POST]", authConfig: strings.ReplaceAll(ac, "\n", " ")})
}

// TestJWTTrigger deploys a function with a jwt trigger whose JWKS holds
// an RSA and an EC key and calls it with good and bad tokens; then the
// keys rotate through UpdateTrigger.
func TestJWTTrigger(t *testing.T) {
	s := startServer(t, "")
	rsaKey, ecKey := newRSASigner(t, "rsa-1"), newECSigner(t, "ec-1")
	s.deployJWTEcho("jwtsvc", "fn", jwtAuthConfig(t, rsaKey, ecKey))
	const path = "/2016-08-15/proxy/jwtsvc/fn/api"
	now := time.Now()
	claims := func(uid string, exp time.Time) map[string]any {
		return map[string]any{"sub": uid, "uid": uid, "exp": exp.Unix(), "iat": now.Unix()}
	}
	valid := claims("alice", now.Add(time.Hour))

	call := func(target string, prepare func(r *http.Request)) (*http.Response, []byte) {
		req := s.newRequest("GET", target, "")
		if prepare != nil {
			prepare(req)
		}
		return s.send(req)
	}
	withBearer := func(tok string) func(r *http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}

	t.Run("header Bearer, RSA; claims replace the client's", func(t *testing.T) {
		tok := rsaKey.token(t, valid)
		resp, body := call(path, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("X-Uid", "mallory")
			r.Header.Set("Cookie", "uid=mallory; theme=dark")
		})
		r := echoOf(t, "RSA bearer", resp, body)
		if r.Headers["x-uid"] != "alice" {
			t.Errorf("the function got x-uid %q; want alice (the claim, not the client's)", r.Headers["x-uid"])
		}
		if got := r.Headers["cookie"]; got != "theme=dark; uid=alice" {
			t.Errorf("the function got Cookie %q; want theme=dark; uid=alice", got)
		}
		if r.Headers["authorization"] != "Bearer "+tok {
			t.Errorf("the token was not forwarded as sent: %q", r.Headers["authorization"])
		}
	})
	t.Run("query, EC", func(t *testing.T) {
		resp, body := call(path+"?a=1&jwt="+url.QueryEscape(ecKey.token(t, claims("bob", now.Add(time.Hour)))), nil)
		if r := echoOf(t, "EC query", resp, body); r.Headers["x-uid"] != "bob" {
			t.Errorf("x-uid = %q; want bob", r.Headers["x-uid"])
		}
	})
	t.Run("cookie, RSA", func(t *testing.T) {
		resp, body := call(path, func(r *http.Request) { r.Header.Set("Cookie", "jwt="+rsaKey.token(t, valid)) })
		echoOf(t, "RSA cookie", resp, body)
	})
	t.Run("whitelisted path needs no token", func(t *testing.T) {
		resp, body := call("/2016-08-15/proxy/jwtsvc/fn/public/a.css", func(r *http.Request) { r.Header.Set("X-Uid", "mallory") })
		if r := echoOf(t, "whitelisted", resp, body); r.Headers["x-uid"] != "" {
			t.Errorf("a forged x-uid %q reached the function", r.Headers["x-uid"])
		}
	})

	enc := base64.RawURLEncoding.EncodeToString
	none := enc([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + enc([]byte(`{"uid":"mallory"}`)) + "."
	for _, tc := range []struct {
		name string
		tok  string
		msg  string
	}{
		{"none", "", "carries no token"},
		{"expired", rsaKey.token(t, claims("alice", now.Add(-time.Hour))), "expired at"},
		{"wrong key", newRSASigner(t, "rsa-1").token(t, valid), "signature does not verify"},
		{"unknown kid", newECSigner(t, "ec-9").token(t, valid), `kid "ec-9" names no key`},
		{"alg none", none, "not a valid JWT"},
		{"garbage", "abc.def", "not a valid JWT"},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			prepare := withBearer(tc.tok)
			if tc.tok == "" {
				prepare = nil
			}
			resp, body := call(path, prepare)
			e := expectError(t, tc.name, resp, body, http.StatusUnauthorized, "Unauthorized")
			if !strings.Contains(e.ErrorMessage, tc.msg) {
				t.Errorf("message %q does not say %q", e.ErrorMessage, tc.msg)
			}
		})
	}

	t.Run("GetTrigger shows the config", func(t *testing.T) {
		resp, body := s.signedDo("GET", "/2016-08-15/services/jwtsvc/functions/fn/triggers/http", "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"kid":"ec-1"`) || !strings.Contains(string(body), `"readPosition":"cookie"`) {
			t.Errorf("GetTrigger: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("key rotation takes effect on the next call", func(t *testing.T) {
		newKey := newECSigner(t, "ec-2")
		ac, _ := json.Marshal(jwtAuthConfig(t, newKey)) // FC 3.0's form: a JSON string
		upd := `{"triggerName":"http","triggerType":"http","triggerConfig":{"authType":"jwt","methods":["GET","POST"],"authConfig":` + string(ac) + `}}`
		resp, body := s.signedDo("PUT", "/2016-08-15/services/jwtsvc/functions/fn/triggers/http", upd)
		if resp.StatusCode != 200 {
			t.Fatalf("UpdateTrigger: %d %s", resp.StatusCode, body)
		}
		resp, body = call(path, withBearer(rsaKey.token(t, valid)))
		expectError(t, "the rotated-out key", resp, body, http.StatusUnauthorized, "Unauthorized")
		resp, body = call(path, withBearer(newKey.token(t, valid)))
		echoOf(t, "the new key", resp, body)
	})

	t.Run("bad authConfig refused naming the field", func(t *testing.T) {
		upd := `{"triggerName":"http","triggerType":"http","triggerConfig":{"authType":"jwt","methods":["GET"],"authConfig":{"jwks":{"keys":[` +
			ecKey.publicJWK(t) + `]},"tokenLookup":[{"readPosition":"header","parameterName":"A"},{"readPosition":"body","parameterName":"t"}]}}}`
		resp, body := s.signedDo("PUT", "/2016-08-15/services/jwtsvc/functions/fn/triggers/http", upd)
		e := expectError(t, "bad readPosition", resp, body, http.StatusBadRequest, "InvalidArgument")
		if want := `triggerConfig.authConfig.tokenLookup[1].readPosition "body" is invalid`; !strings.Contains(e.ErrorMessage, want) {
			t.Errorf("message %q does not say %q", e.ErrorMessage, want)
		}
	})
}

// TestJWTFloodStartsNoInstance: 1,000 calls without a token to a jwt
// function that never ran are all refused, and no instance starts.
func TestJWTFloodStartsNoInstance(t *testing.T) {
	s := startServer(t, "")
	s.deployJWTEcho("floodsvc", "fn", jwtAuthConfig(t, newECSigner(t, "ec-1")))
	const n, workers = 1000, 16
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for range jobs {
				resp, err := client.Get(s.URL + "/2016-08-15/proxy/floodsvc/fn/x")
				code := -1
				if err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if statuses[http.StatusUnauthorized] != n {
		t.Errorf("statuses %v; want %d × 401", statuses, n)
	}
	resp, body := s.signedDo("GET", "/2016-08-15/services/floodsvc/functions/fn/instances", "")
	if resp.StatusCode != 200 {
		t.Fatalf("ListInstances: %d %s", resp.StatusCode, body)
	}
	var list struct {
		Instances []json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("ListInstances: %v: %s", err, body)
	}
	if len(list.Instances) != 0 {
		t.Errorf("the flood started %d instance(s): %s", len(list.Instances), body)
	}
}

// TestJWTThroughCustomDomain: a function with a jwt trigger served on a
// custom domain checks tokens there as on its trigger URLs (the same
// chain): no token → 401, a valid one → the function, with its claims.
func TestJWTThroughCustomDomain(t *testing.T) {
	s := startServer(t, "")
	key := newRSASigner(t, "rsa-d")
	s.deployJWTEcho("jwtd", "fn", jwtAuthConfig(t, key))
	s.createDomain(t, map[string]any{"domainName": "api.example.com", "protocol": "HTTP",
		"routeConfig": routes(map[string]any{"path": "/*", "serviceName": "jwtd", "functionName": "fn"})})
	call := func(token string) (*http.Response, []byte) {
		req, err := http.NewRequest("GET", s.URL+"/orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "api.example.com"
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return s.send(req)
	}
	if resp, body := call(""); resp.StatusCode != http.StatusUnauthorized || decodeError(t, resp, body).ErrorCode != "Unauthorized" {
		t.Errorf("no token through the domain: %d %s; want 401 Unauthorized", resp.StatusCode, body)
	}
	now := time.Now()
	tok := key.token(t, map[string]any{"sub": "bob", "uid": "bob", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	resp, body := call(tok)
	if r := echoOf(t, "valid token through the domain", resp, body); r.Path != "/orders" || r.Headers["x-uid"] != "bob" {
		t.Errorf("valid token through the domain: path %q x-uid %q; want /orders and bob", r.Path, r.Headers["x-uid"])
	}
}
