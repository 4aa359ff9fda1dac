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
		if err := g.opts.Verifier.VerifyURL(c.r); err != nil {
			return err
		}
		c.rawQuery = dropFCQuery(c.rawQuery)
		return nil
	}
	if err := g.opts.Verifier.VerifyHeader(c.r, true); err != nil {
		return err
	}
	c.stripAuth = true
	return nil
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
