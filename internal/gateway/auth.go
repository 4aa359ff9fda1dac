package gateway

import (
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// authenticate applies the trigger's authType before anything reaches an
// instance (no cold start for a call that fails it): "function" needs an
// FC signature, "jwt" a token the trigger's JWKS verifies.
func (g *Gateway) authenticate(c *call) error {
	switch c.trigger.TriggerConfig.AuthType {
	case fc.AuthFunction:
		return g.authenticateSignature(c)
	case fc.AuthJWT:
		return g.authenticateJWT(c)
	}
	return nil
}

// authenticateSignature checks an FC signature (header or signed URL);
// the credentials it consumed are not forwarded.
func (g *Gateway) authenticateSignature(c *call) error {
	if c.r.URL.Query().Has(fcsign.QuerySignature) {
		p, err := g.opts.Verifier.VerifyURL(c.r)
		if err != nil {
			return err
		}
		c.rawQuery = dropFCQuery(c.rawQuery)
		return c.allow(p)
	}
	p, err := g.opts.Verifier.VerifyHeader(c.r, true)
	if err != nil {
		return err
	}
	c.stripAuth = true
	return c.allow(p)
}

// authenticateJWT checks the call's token on the path the function sees.
// The token goes on to the function as sent (FC forwards it); claims
// passed by replace the client's parameters in c.r, and a form body the
// verifier read, or rewrote, is what the function gets.
func (g *Gateway) authenticateJWT(c *call) error {
	cfg := c.trigger.TriggerConfig.AuthConfig
	if g.opts.JWT == nil || cfg == nil {
		// Fail closed: validation makes a jwt trigger carry its config,
		// and the daemon always wires a verifier.
		return fc.Errorf(fc.CodeInternalServerError, "the trigger '%s' needs JWT verification, which is not configured", c.trigger.TriggerName)
	}
	body, err := g.opts.JWT.VerifyJWT(cfg, c.r, c.path, c.readBody)
	if err != nil {
		return err
	}
	if body != nil {
		c.replayBody(body)
	}
	return nil
}

// allow records who signed the call and checks the key may invoke its
// function.
func (c *call) allow(p fc.Principal) error {
	c.keyID = p.KeyID
	return p.Allow(fc.ActionInvoke, c.fn.ServiceName, c.fn.FunctionName)
}

// dropFCQuery removes signed-URL parameters (x-fc-*) from a raw query,
// keeping the others exactly as sent.
func dropFCQuery(raw string) string {
	if !strings.Contains(raw, "x-fc-") {
		return raw
	}
	var kept []string
	for _, kv := range strings.Split(raw, "&") {
		if !strings.HasPrefix(strings.ToLower(kv), "x-fc-") {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, "&")
}
