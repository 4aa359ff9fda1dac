package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openfc/openfc/internal/fc"
)

// DefaultJWTLeeway is how far past its exp (or before its nbf or iat) a
// token is still accepted: clocks of token issuers and of openfc drift.
const DefaultJWTLeeway = time.Minute

// maxCompiledConfigs bounds the cache of parsed configs; it starts over
// when full (old trigger versions pile up until then).
const maxCompiledConfigs = 4096

// JWT verifies the tokens of HTTP triggers with authType jwt: it finds
// the token (tokenLookup), verifies it with the trigger's JWKS, checks
// exp and nbf, and passes claims to the function (claimPassBy), on the
// paths whitelist/blacklist select.
//
// Configs are parsed once: the cache is keyed by the *fc.JWTAuthConfig
// of the trigger, which the catalog replaces (a new pointer) whenever
// the trigger changes, so a new JWKS is used from the next request on
// and the warm path parses no key. A JWT is safe for concurrent use.
type JWT struct {
	// Now returns the server time; nil means time.Now.
	Now func() time.Time
	// Leeway is the clock leeway on exp, nbf and iat; zero means
	// DefaultJWTLeeway, negative none.
	Leeway time.Duration

	mu       sync.RWMutex
	compiled map[*fc.JWTAuthConfig]*jwtConfig
}

// jwtConfig is a trigger's authConfig, parsed.
type jwtConfig struct {
	cfg *fc.JWTAuthConfig
	// byKid holds the keys with a kid; noKid the one without, if any.
	byKid map[string]*jwtKey
	noKid *jwtKey
	// algs are the algorithms some key verifies (the parser's list).
	algs []jose.SignatureAlgorithm
	// readsForm: some token position or claim mapping is a form field.
	readsForm bool
	// passCookies are the cookie names claims replace.
	passCookies map[string]bool
}

type jwtKey struct {
	jose.JSONWebKey
	algs []jose.SignatureAlgorithm
}

// compile parses cfg, or returns it parsed already.
func (j *JWT) compile(cfg *fc.JWTAuthConfig) (*jwtConfig, error) {
	j.mu.RLock()
	c := j.compiled[cfg]
	j.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	keys, err := ParseJWKS(cfg.JWKS)
	if err != nil {
		return nil, err // validated on create/update: a stored config parses
	}
	c = &jwtConfig{cfg: cfg, byKid: make(map[string]*jwtKey, len(keys))}
	seen := map[jose.SignatureAlgorithm]bool{}
	for i := range keys {
		k := &jwtKey{JSONWebKey: keys[i], algs: KeyAlgorithms(&keys[i])}
		if k.KeyID == "" {
			c.noKid = k
		} else {
			c.byKid[k.KeyID] = k
		}
		for _, a := range k.algs {
			if !seen[a] {
				seen[a] = true
				c.algs = append(c.algs, a)
			}
		}
	}
	for _, l := range cfg.TokenLookup {
		c.readsForm = c.readsForm || l.ReadPosition == fc.PositionForm
	}
	for _, m := range cfg.ClaimPassBy {
		switch m.MappingParameterPosition {
		case fc.PositionForm:
			c.readsForm = true
		case fc.PositionCookie:
			if c.passCookies == nil {
				c.passCookies = map[string]bool{}
			}
			c.passCookies[m.MappingParameterName] = true
		}
	}
	j.mu.Lock()
	if j.compiled == nil || len(j.compiled) >= maxCompiledConfigs {
		j.compiled = map[*fc.JWTAuthConfig]*jwtConfig{}
	}
	j.compiled[cfg] = c
	j.mu.Unlock()
	return c, nil
}

// VerifyJWT checks a call through a trigger with authConfig cfg. path is
// the path the function sees; on a path that whitelist/blacklist leave
// unverified, no token is needed (and no claim passed). Otherwise a token
// must be found and verify, or the call fails with 401 Unauthorized.
//
// The claimPassBy parameters are then set in r: a client's own value
// under such a name is removed (on unverified paths too), never left
// beside the claim's. readForm returns the request body, buffered within
// the body limit; it is called only when a form is needed (a form
// position and a form body). The result is the body to send instead,
// nil when it is unchanged.
func (j *JWT) VerifyJWT(cfg *fc.JWTAuthConfig, r *http.Request, path string, readForm func() ([]byte, error)) ([]byte, error) {
	c, err := j.compile(cfg)
	if err != nil {
		return nil, err
	}
	f := formSource{read: readForm}
	if c.readsForm {
		f.kind = formKind(r.Header.Get("Content-Type"))
	}
	if !mustVerify(cfg, path) {
		return passClaims(c, r, &f, nil)
	}
	token, err := lookupToken(cfg.TokenLookup, r, &f)
	if err != nil {
		return nil, err
	}
	claims, err := j.verify(c, token)
	if err != nil {
		return nil, err
	}
	return passClaims(c, r, &f, claims)
}

// verify checks a token's signature and times; it returns its claims
// when claims are passed on (else nil).
func (j *JWT) verify(c *jwtConfig, token string) (map[string]json.RawMessage, error) {
	tok, err := jwt.ParseSigned(token, c.algs)
	if err != nil {
		return nil, unauthorized("the token is not a valid JWT signed with an algorithm of the trigger's keys (%s): %s", algNames(c.algs), joseMessage(err))
	}
	h := tok.Headers[0]
	k := c.noKid
	if h.KeyID != "" {
		k = c.byKid[h.KeyID]
	}
	switch {
	case k == nil && h.KeyID != "":
		return nil, unauthorized("the token's kid %q names no key of the trigger's JWKS", h.KeyID)
	case k == nil:
		return nil, unauthorized("the token has no kid, and the trigger's JWKS has no key without a kid")
	case !hasAlg(k.algs, h.Algorithm):
		return nil, unauthorized("the token's algorithm %s does not fit the key %s, which verifies %s", h.Algorithm, keyName(k), algNames(k.algs))
	}
	var std jwt.Claims
	var all map[string]json.RawMessage
	dest := []any{&std}
	if len(c.cfg.ClaimPassBy) > 0 {
		dest = append(dest, &all)
	}
	if err := tok.Claims(k.Key, dest...); err != nil {
		return nil, unauthorized("the token's signature does not verify with the key %s: %s", keyName(k), joseMessage(err))
	}
	now := j.now()
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now}, j.leeway()); err != nil {
		return nil, timeError(err, &std, now)
	}
	return all, nil
}

func (j *JWT) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *JWT) leeway() time.Duration {
	switch {
	case j.Leeway < 0:
		return 0
	case j.Leeway == 0:
		return DefaultJWTLeeway
	}
	return j.Leeway
}

// timeError says which time claim refused a token.
func timeError(err error, c *jwt.Claims, now time.Time) error {
	server := now.UTC().Format(time.RFC3339)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return unauthorized("the token expired at %s (server time %s)", c.Expiry.Time().UTC().Format(time.RFC3339), server)
	case errors.Is(err, jwt.ErrNotValidYet):
		return unauthorized("the token is not valid before %s (server time %s)", c.NotBefore.Time().UTC().Format(time.RFC3339), server)
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return unauthorized("the token is issued in the future, at %s (server time %s)", c.IssuedAt.Time().UTC().Format(time.RFC3339), server)
	}
	return unauthorized("the token's claims are invalid: %s", joseMessage(err))
}

func unauthorized(format string, args ...any) *fc.Error {
	return fc.Errorf(fc.CodeUnauthorized, format, args...)
}

func hasAlg(algs []jose.SignatureAlgorithm, alg string) bool {
	for _, a := range algs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

func algNames(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func keyName(k *jwtKey) string {
	if k.KeyID == "" {
		return "without a kid"
	}
	return "with kid '" + k.KeyID + "'"
}

// joseMessage is a go-jose error without its package prefix.
func joseMessage(err error) string {
	const prefix = "go-jose/go-jose: "
	s := err.Error()
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}
