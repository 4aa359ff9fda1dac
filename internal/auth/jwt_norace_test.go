//go:build !race

package auth

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// The allocation bound is built without -race (which changes what
// allocates), as the gateway's are; make test-unit runs it so.

const maxWarmJWTAllocs = 125

// TestJWTWarmPathAllocs: verifying with a parsed config parses no key:
// its allocations stay those of one token's parse and check.
func TestJWTWarmPathAllocs(t *testing.T) {
	k := newTestKey(t, jose.ES256, "k")
	cfg := testJWTConfig(t, k)
	v := newVerifier()
	r := bearer(k.sign(t, validClaims(nil)))
	if _, err := v.VerifyJWT(cfg, r, "/", nil); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() { _, _ = v.VerifyJWT(cfg, r, "/", nil) })
	fresh := testing.AllocsPerRun(20, func() {
		_, _ = (&JWT{Now: v.Now}).VerifyJWT(cfg, r, "/", nil)
	})
	if n >= fresh {
		t.Errorf("a warm verification allocates %.0f times, as many as one that parses the JWKS (%.0f)", n, fresh)
	}
	// go-jose's parse of the token and the ECDSA check are most of it:
	// 121 with Go 1.26 and go-jose 4.1.9.
	if n > maxWarmJWTAllocs {
		t.Errorf("a warm verification allocates %.0f times; the bound is %d", n, maxWarmJWTAllocs)
	}
}
