//go:build !race

package gateway

import (
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// maxWarmPathAllocs bounds the allocations of one warm request, the
// in-process upstream server's (about 40) included: 73 before the
// gateway was cut into stages, 69 after; it must not grow.
const maxWarmPathAllocs = 69

// TestWarmPathAllocs bounds what a warm request allocates. It is built
// without -race only (the race detector makes sync.Pool drop items at
// random, so counts vary); make test-unit runs it so.
func TestWarmPathAllocs(t *testing.T) {
	gw, req := warmGateway(t)
	warmCall(t, gw, req) // the connection, the metric series, the rendered headers
	if n := testing.AllocsPerRun(500, func() { warmCall(t, gw, req) }); n > maxWarmPathAllocs {
		t.Errorf("a warm request allocates %.1f times; the bound is %d", n, maxWarmPathAllocs)
	}
}

// maxJWTStageAllocs is what the auth stage of a jwt trigger adds to a warm
// request, the verifier's own work aside (auth's TestJWTWarmPathAllocs
// bounds that): the readBody callback.
const maxJWTStageAllocs = 1

// passJWT verifies every call without allocating: what is measured is
// the gateway's side of the stage.
type passJWT struct{}

func (passJWT) VerifyJWT(*fc.JWTAuthConfig, *http.Request, string, func() ([]byte, error)) ([]byte, error) {
	return nil, nil
}

// TestWarmJWTPathAllocs bounds a warm request through a jwt trigger.
func TestWarmJWTPathAllocs(t *testing.T) {
	gw, req := warmGateway(t)
	tr := trig("aaaa-1111", fc.AuthJWT, "GET")
	tr.TriggerConfig.AuthConfig = &fc.JWTAuthConfig{}
	gw.opts.Catalog.(*fakeCatalog).trigs["svc/fn"] = tr
	gw.opts.JWT = passJWT{}
	warmCall(t, gw, req)
	if n := testing.AllocsPerRun(500, func() { warmCall(t, gw, req) }); n > maxWarmPathAllocs+maxJWTStageAllocs {
		t.Errorf("a warm jwt request allocates %.1f times; the bound is %d", n, maxWarmPathAllocs+maxJWTStageAllocs)
	}
}
