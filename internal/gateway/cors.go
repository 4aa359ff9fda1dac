package gateway

import (
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// exposedHeaders are FC's headers a browser script may read.
const exposedHeaders = "X-Fc-Request-Id, X-Fc-Error-Type, X-Fc-Code-Checksum, X-Fc-Invocation-Duration, X-Fc-Max-Memory-Usage, X-Fc-Log-Result, X-Fc-Invocation-Code-Version, X-Fc-Stateful-Async-Invocation-Id"

// addCORSDefaults adds FC's CORS defaults to an answer for a browser
// origin, unless the function set Access-Control-Allow-Origin itself:
// then its headers stand alone.
func addCORSDefaults(h http.Header, origin string) {
	if _, set := h["Access-Control-Allow-Origin"]; set {
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if _, set := h["Access-Control-Allow-Credentials"]; !set {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	if _, set := h["Access-Control-Expose-Headers"]; !set {
		h["Access-Control-Expose-Headers"] = []string{exposedHeaders}
	}
	h.Add("Vary", "Origin")
}

// isPreflight reports whether the call is a CORS preflight that openfc
// answers: one to a trigger whose methods do not include OPTIONS (else
// the function answers it).
func (c *call) isPreflight() bool {
	h := c.r.Header
	return c.r.Method == http.MethodOptions && !c.trigger.TriggerConfig.AllowsMethod(http.MethodOptions) &&
		h.Get("Origin") != "" && h.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight: the trigger's methods and the requested
// headers are allowed (the writer adds the CORS defaults to every answer).
func (c *call) preflight() {
	h := http.Header{}
	h.Set("Access-Control-Allow-Methods", strings.Join(c.trigger.TriggerConfig.Methods, ", "))
	if req := c.r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "3600")
	h.Set(fc.HeaderRequestID, c.requestID)
	c.out = Outcome{Status: http.StatusNoContent, Header: h}
}
