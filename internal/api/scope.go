package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// invokePattern is InvokeFunction's route: the one management route an
// invoke-only key may call.
const invokePattern = "POST " + v + "/services/{service}/functions/{function}/invocations"

// keysPath is the root of the access-keys routes (keys.go).
const keysPath = v + "/access-keys"

// clusterPath is the cluster status route (cluster.go).
const clusterPath = v + "/cluster"

// routeScope says what a routed request does and to what, for
// fc.Principal.Allow: InvokeFunction invokes, the access-keys routes
// manage keys, the cluster status operates, every other route manages. The resource comes from the
// route's path values: {service} (its qualifier dropped, with route's
// parser) and {function}; a route without {service} is account-wide
// (""), which a resource-scoped key never reaches: custom domains
// (domains.go) are such, since a domain routes to any service.
func routeScope(r *http.Request) (action fc.Action, service, function string) {
	action = fc.ActionManage
	_, path, _ := strings.Cut(r.Pattern, " ")
	switch {
	case r.Pattern == invokePattern:
		action = fc.ActionInvoke
	case path == keysPath || strings.HasPrefix(path, keysPath+"/"):
		action = fc.ActionManageKeys
	case path == clusterPath:
		action = fc.ActionOperate
	}
	service = r.PathValue("service")
	if s, _, ok := route.SplitQualified(service); ok {
		service = s
	}
	return action, service, r.PathValue("function")
}

// principalKey is the context key of the principal that signed a
// management call.
type principalKey struct{}

func withPrincipal(ctx context.Context, p fc.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns who signed the call; the zero Principal before
// the signature was checked or when it failed.
func principalFrom(ctx context.Context) fc.Principal {
	p, _ := ctx.Value(principalKey{}).(fc.Principal)
	return p
}
