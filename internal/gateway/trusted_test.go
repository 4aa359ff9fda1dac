package gateway

import (
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// TestRuntimeTokenChannel: X-Fc-Error-Type from an instance stays only
// with the instance's runtime token, which never goes out.
func TestRuntimeTokenChannel(t *testing.T) {
	for _, c := range []struct {
		name, instToken, sent string
		keep                  bool
	}{
		{"built-in with its token", "s3cret", "s3cret", true},
		{"built-in, wrong token", "s3cret", "guess", false},
		{"built-in, no token", "s3cret", "", false},
		{"custom runtime forging", "", "", false},
		{"custom runtime, any token", "", "s3cret", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(fc.HeaderErrorType, "UnhandledInvocationError")
			h.Set("X-Fc-Other", "x")
			if c.sent != "" {
				h.Set(fc.HeaderRuntimeToken, c.sent)
			}
			resp := &http.Response{StatusCode: 502, Header: h, ContentLength: -1}
			filterResponseHeaders(resp, http.MethodGet, c.instToken)
			if got := h.Get(fc.HeaderErrorType) != ""; got != c.keep {
				t.Errorf("X-Fc-Error-Type kept = %v; want %v", got, c.keep)
			}
			if h.Get(fc.HeaderRuntimeToken) != "" || h.Get("X-Fc-Other") != "" {
				t.Errorf("headers left: %v", h)
			}
		})
	}
}
