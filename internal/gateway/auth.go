package gateway

import (
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// authenticate applies the trigger's authType: with "function", an FC
// signature (header or signed URL) is required, and the credentials it
// consumed are not forwarded.
func (g *Gateway) authenticate(c *call) error {
	if c.trigger.TriggerConfig.AuthType != fc.AuthFunction {
		return nil
	}
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
