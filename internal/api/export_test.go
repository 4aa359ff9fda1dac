package api

import (
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/openfc/openfc/internal/fc"
)

// Patterns returns the routes a registers.
func (a *API) Patterns() []string { return slices.Clone(a.patterns) }

// ScopeOf routes r with a's patterns (a mux of its own, so the handlers
// do not run) and returns the matched pattern and routeScope's answer.
func (a *API) ScopeOf(r *http.Request) (pattern string, action fc.Action, service, function string) {
	mux := http.NewServeMux()
	for _, p := range a.patterns {
		mux.HandleFunc(p, func(_ http.ResponseWriter, r *http.Request) {
			pattern = r.Pattern
			action, service, function = routeScope(r)
		})
	}
	mux.ServeHTTP(httptest.NewRecorder(), r)
	return pattern, action, service, function
}
