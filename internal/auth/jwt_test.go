package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openfc/openfc/internal/fc"
)

// testKey is a signing key and its public JWK.
type testKey struct {
	alg  jose.SignatureAlgorithm
	priv any // what signs
	pub  any // what the JWKS holds
	kid  string
}

var jwtNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newTestKey(t testing.TB, alg jose.SignatureAlgorithm, kid string) testKey {
	t.Helper()
	k := testKey{alg: alg, kid: kid}
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	case jose.ES256, jose.ES384, jose.ES512:
		curve := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	case jose.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, pub
	case jose.HS256, jose.HS384, jose.HS512:
		secret := make([]byte, 64)
		_, _ = rand.Read(secret)
		k.priv, k.pub = secret, secret
	default:
		t.Fatalf("no test key for %s", alg)
	}
	return k
}

// jwk is the key's public JWK as a JWKS holds it.
func (k testKey) jwk(t testing.TB) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign makes a token with claims, the key's kid in its header.
func (k testKey) sign(t testing.TB, claims any) string {
	t.Helper()
	return signWith(t, k.alg, k.priv, k.kid, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validClaims expire an hour after jwtNow.
func validClaims(extra map[string]any) map[string]any {
	c := map[string]any{"sub": "alice", "exp": jwtNow.Add(time.Hour).Unix(), "iat": jwtNow.Add(-time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func testJWTConfig(t testing.TB, keys ...testKey) *fc.JWTAuthConfig {
	t.Helper()
	c := &fc.JWTAuthConfig{TokenLookup: []fc.JWTTokenLookup{{ReadPosition: "header", ParameterName: "Authorization", Prefix: "Bearer "}}}
	for _, k := range keys {
		c.JWKS.Keys = append(c.JWKS.Keys, k.jwk(t))
	}
	return c
}

func newVerifier() *JWT { return &JWT{Now: func() time.Time { return jwtNow }} }

func bearer(token string) *http.Request {
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func wantUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	fe, ok := err.(*fc.Error)
	if !ok || fe.Code != fc.CodeUnauthorized || fe.Status() != http.StatusUnauthorized {
		t.Fatalf("err = %v; want 401 Unauthorized", err)
	}
	if !strings.Contains(fe.Message, msg) {
		t.Errorf("message %q does not say %q", fe.Message, msg)
	}
}

// TestJWTAlgorithms: a token of every supported algorithm verifies with
// its key, and not with another key of the same type under its kid.
func TestJWTAlgorithms(t *testing.T) {
	for _, alg := range JWTAlgorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := newTestKey(t, alg, "k1")
			cfg := testJWTConfig(t, k)
			v := newVerifier()
			if _, err := v.VerifyJWT(cfg, bearer(k.sign(t, validClaims(nil))), "/api/x", nil); err != nil {
				t.Fatalf("a valid %s token: %v", alg, err)
			}
			other := newTestKey(t, alg, "k1")
			_, err := v.VerifyJWT(cfg, bearer(other.sign(t, validClaims(nil))), "/api/x", nil)
			wantUnauthorized(t, err, "signature does not verify")
		})
	}
}

// noneToken is an unsigned token (alg none), as an attacker makes it.
func noneToken(kid string) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(validClaims(nil))
	return enc(h) + "." + enc(p) + "."
}

// TestJWTRejections: every kind of bad token fails with 401 and says why.
func TestJWTRejections(t *testing.T) {
	rsaKey := newTestKey(t, jose.RS256, "rsa")
	hmacKey := newTestKey(t, jose.HS256, "hmac")
	noKid := newTestKey(t, jose.ES256, "")
	cfg := testJWTConfig(t, rsaKey, hmacKey)
	cfgNoKid := testJWTConfig(t, rsaKey, noKid)

	// Key confusion: an HS256 token whose HMAC secret is the RSA public
	// key's bytes (what a naive verifier would use), under the RSA kid.
	der, err := x509.MarshalPKIXPublicKey(rsaKey.pub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	nBytes := rsaKey.pub.(*rsa.PublicKey).N.Bytes()

	valid := rsaKey.sign(t, validClaims(nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)) + "." + parts[2]

	for _, tc := range []struct {
		name  string
		cfg   *fc.JWTAuthConfig
		token string
		msg   string
	}{
		{"alg none", cfg, noneToken("rsa"), "not a valid JWT"},
		{"HS256 with the RSA key's PEM", cfg, signWith(t, jose.HS256, pemBytes, "rsa", validClaims(nil)), "does not fit the key with kid 'rsa'"},
		{"HS256 with the RSA modulus", cfg, signWith(t, jose.HS256, nBytes, "rsa", validClaims(nil)), "does not fit the key with kid 'rsa'"},
		{"RS token under the HMAC kid", cfg, signWith(t, jose.RS256, rsaKey.priv, "hmac", validClaims(nil)), "does not fit the key with kid 'hmac'"},
		{"HS only, RSA-only JWKS", testJWTConfig(t, rsaKey), signWith(t, jose.HS256, pemBytes, "rsa", validClaims(nil)), "not a valid JWT"},
		{"expired", cfg, rsaKey.sign(t, validClaims(map[string]any{"exp": jwtNow.Add(-2 * time.Minute).Unix()})), "expired at"},
		{"not yet valid", cfg, rsaKey.sign(t, validClaims(map[string]any{"nbf": jwtNow.Add(2 * time.Minute).Unix()})), "not valid before"},
		{"issued in the future", cfg, rsaKey.sign(t, validClaims(map[string]any{"iat": jwtNow.Add(10 * time.Minute).Unix()})), "issued in the future"},
		{"exp not a number", cfg, rsaKey.sign(t, validClaims(map[string]any{"exp": "tomorrow"})), "signature does not verify"},
		{"unknown kid", cfg, signWith(t, jose.RS256, rsaKey.priv, "nope", validClaims(nil)), `kid "nope" names no key`},
		{"no kid, no kid-less key", cfg, signWith(t, jose.RS256, rsaKey.priv, "", validClaims(nil)), "has no kid"},
		{"kid does not fall back to the kid-less key", cfgNoKid, signWith(t, jose.ES256, noKid.priv, "other", validClaims(nil)), `kid "other" names no key`},
		{"wrong key", cfg, newTestKey(t, jose.RS256, "rsa").sign(t, validClaims(nil)), "signature does not verify"},
		{"tampered payload", cfg, tampered, "signature does not verify"},
		{"garbage", cfg, "not-a-token", "not a valid JWT"},
		{"three empty parts", cfg, "..", "not a valid JWT"},
		{"bad base64", cfg, "a$.b$.c$", "not a valid JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newVerifier().VerifyJWT(tc.cfg, bearer(tc.token), "/", nil)
			wantUnauthorized(t, err, tc.msg)
		})
	}
}

// TestJWTAcceptance: the edges that pass.
func TestJWTAcceptance(t *testing.T) {
	rsaKey := newTestKey(t, jose.RS256, "rsa")
	noKid := newTestKey(t, jose.ES256, "")
	cfg := testJWTConfig(t, rsaKey, noKid)
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"expired within the leeway", rsaKey.sign(t, validClaims(map[string]any{"exp": jwtNow.Add(-30 * time.Second).Unix()}))},
		{"nbf within the leeway", rsaKey.sign(t, validClaims(map[string]any{"nbf": jwtNow.Add(30 * time.Second).Unix()}))},
		{"no exp at all", rsaKey.sign(t, map[string]any{"sub": "alice"})},
		{"no kid: the kid-less key", noKid.sign(t, validClaims(nil))},
		{"PS256 with an RSA key", signWith(t, jose.PS256, rsaKey.priv, "rsa", validClaims(nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newVerifier().VerifyJWT(cfg, bearer(tc.token), "/", nil); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// TestJWTKeyAlg: a JWK's alg narrows what it verifies.
func TestJWTKeyAlg(t *testing.T) {
	k := newTestKey(t, jose.RS256, "rsa")
	b, _ := json.Marshal(jose.JSONWebKey{Key: k.pub, KeyID: "rsa", Algorithm: "RS256"})
	cfg := &fc.JWTAuthConfig{JWKS: fc.JWKS{Keys: []json.RawMessage{b}},
		TokenLookup: []fc.JWTTokenLookup{{ReadPosition: "header", ParameterName: "Authorization", Prefix: "Bearer "}}}
	v := newVerifier()
	if _, err := v.VerifyJWT(cfg, bearer(k.sign(t, validClaims(nil))), "/", nil); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	_, err := v.VerifyJWT(cfg, bearer(signWith(t, jose.PS256, k.priv, "rsa", validClaims(nil))), "/", nil)
	wantUnauthorized(t, err, "not a valid JWT")
}

// TestJWTKeyRotation: a new config (as an UpdateTrigger stores it) is
// used at once; the parsed old one is not.
func TestJWTKeyRotation(t *testing.T) {
	oldKey, newKey := newTestKey(t, jose.RS256, "k"), newTestKey(t, jose.ES256, "k")
	v := newVerifier()
	cfg1 := testJWTConfig(t, oldKey)
	if _, err := v.VerifyJWT(cfg1, bearer(oldKey.sign(t, validClaims(nil))), "/", nil); err != nil {
		t.Fatal(err)
	}
	cfg2 := testJWTConfig(t, newKey)
	_, err := v.VerifyJWT(cfg2, bearer(oldKey.sign(t, validClaims(nil))), "/", nil)
	wantUnauthorized(t, err, "not a valid JWT")
	if _, err := v.VerifyJWT(cfg2, bearer(newKey.sign(t, validClaims(nil))), "/", nil); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	c1, _ := v.compile(cfg1)
	c1again, _ := v.compile(cfg1)
	if c1 != c1again {
		t.Error("a config is parsed again on its next use")
	}
}
