package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

// scopeRow is what one route does, to what, for access-key scopes.
type scopeRow struct {
	pattern, method, path string // path: an example request path (after the version)
	action                fc.Action
	service, function     string
}

const (
	svcP = "/services/{service}"
	fnP  = svcP + "/functions/{function}"
	ver  = "/" + fc.APIVersion
)

// scopeTable has one row per registered route: a route added without a
// row fails TestScopeTableCoversEveryRoute, so its scope is decided, not
// inherited by accident.
var scopeTable = []scopeRow{
	{"POST " + ver + "/services", "POST", "/services", fc.ActionManage, "", ""},
	{"GET " + ver + "/services", "GET", "/services", fc.ActionManage, "", ""},
	{"GET " + ver + svcP, "GET", "/services/svc.prod", fc.ActionManage, "svc", ""},
	{"PUT " + ver + svcP, "PUT", "/services/svc", fc.ActionManage, "svc", ""},
	{"DELETE " + ver + svcP, "DELETE", "/services/svc", fc.ActionManage, "svc", ""},
	{"POST " + ver + svcP + "/functions", "POST", "/services/svc/functions", fc.ActionManage, "svc", ""},
	{"GET " + ver + svcP + "/functions", "GET", "/services/svc.LATEST/functions", fc.ActionManage, "svc", ""},
	{"GET " + ver + fnP, "GET", "/services/svc.1/functions/fn", fc.ActionManage, "svc", "fn"},
	{"PUT " + ver + fnP, "PUT", "/services/svc/functions/fn", fc.ActionManage, "svc", "fn"},
	{"DELETE " + ver + fnP, "DELETE", "/services/svc/functions/fn", fc.ActionManage, "svc", "fn"},
	{"POST " + ver + fnP + "/triggers", "POST", "/services/svc/functions/fn/triggers", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/triggers", "GET", "/services/svc/functions/fn/triggers", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/triggers/{trigger}", "GET", "/services/svc/functions/fn/triggers/t", fc.ActionManage, "svc", "fn"},
	{"PUT " + ver + fnP + "/triggers/{trigger}", "PUT", "/services/svc/functions/fn/triggers/t", fc.ActionManage, "svc", "fn"},
	{"DELETE " + ver + fnP + "/triggers/{trigger}", "DELETE", "/services/svc/functions/fn/triggers/t", fc.ActionManage, "svc", "fn"},
	{"PUT " + ver + fnP + "/on-demand-config", "PUT", "/services/svc.prod/functions/fn/on-demand-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/on-demand-config", "GET", "/services/svc.prod/functions/fn/on-demand-config", fc.ActionManage, "svc", "fn"},
	{"DELETE " + ver + fnP + "/on-demand-config", "DELETE", "/services/svc.prod/functions/fn/on-demand-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + "/on-demand-configs", "GET", "/on-demand-configs", fc.ActionManage, "", ""},
	{"PUT " + ver + fnP + "/provision-config", "PUT", "/services/svc.prod/functions/fn/provision-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/provision-config", "GET", "/services/svc.prod/functions/fn/provision-config", fc.ActionManage, "svc", "fn"},
	{"DELETE " + ver + fnP + "/provision-config", "DELETE", "/services/svc.prod/functions/fn/provision-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + "/provision-configs", "GET", "/provision-configs", fc.ActionManage, "", ""},
	{"GET " + ver + fnP + "/instances", "GET", "/services/svc/functions/fn/instances", fc.ActionManage, "svc", "fn"},
	{"PUT " + ver + fnP + "/async-invoke-config", "PUT", "/services/svc.prod/functions/fn/async-invoke-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/async-invoke-config", "GET", "/services/svc/functions/fn/async-invoke-config", fc.ActionManage, "svc", "fn"},
	{"DELETE " + ver + fnP + "/async-invoke-config", "DELETE", "/services/svc/functions/fn/async-invoke-config", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/async-invoke-configs", "GET", "/services/svc/functions/fn/async-invoke-configs", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/stateful-async-invocations", "GET", "/services/svc.prod/functions/fn/stateful-async-invocations", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/stateful-async-invocations/{id}", "GET", "/services/svc/functions/fn/stateful-async-invocations/t1", fc.ActionManage, "svc", "fn"},
	{"PUT " + ver + fnP + "/stateful-async-invocations/{id}", "PUT", "/services/svc/functions/fn/stateful-async-invocations/t1", fc.ActionManage, "svc", "fn"},
	{"POST " + ver + "/images", "POST", "/images", fc.ActionManage, "", ""},
	{"GET " + ver + "/images", "GET", "/images", fc.ActionManage, "", ""},
	{"DELETE " + ver + "/images/{ref...}", "DELETE", "/images/docker.io/library/app:v1", fc.ActionManage, "", ""},
	{"POST " + ver + "/access-keys", "POST", "/access-keys", fc.ActionManageKeys, "", ""},
	{"GET " + ver + "/access-keys", "GET", "/access-keys", fc.ActionManageKeys, "", ""},
	{"GET " + ver + "/access-keys/{accessKeyId}", "GET", "/access-keys/LTAIx", fc.ActionManageKeys, "", ""},
	{"DELETE " + ver + "/access-keys/{accessKeyId}", "DELETE", "/access-keys/LTAIx", fc.ActionManageKeys, "", ""},
	{"POST " + ver + "/custom-domains", "POST", "/custom-domains", fc.ActionManage, "", ""},
	{"GET " + ver + "/custom-domains", "GET", "/custom-domains", fc.ActionManage, "", ""},
	{"GET " + ver + "/custom-domains/{domain}", "GET", "/custom-domains/*.example.com", fc.ActionManage, "", ""},
	{"PUT " + ver + "/custom-domains/{domain}", "PUT", "/custom-domains/a.example.com", fc.ActionManage, "", ""},
	{"DELETE " + ver + "/custom-domains/{domain}", "DELETE", "/custom-domains/a.example.com", fc.ActionManage, "", ""},
	{"POST " + ver + fnP + "/invocations", "POST", "/services/svc.prod/functions/fn/invocations", fc.ActionInvoke, "svc", "fn"},
	{"GET " + ver + fnP + "/logs", "GET", "/services/svc/functions/fn/logs", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/code", "GET", "/services/svc.1/functions/fn/code", fc.ActionManage, "svc", "fn"},
	{"GET " + ver + fnP + "/code/zip", "GET", "/services/svc/functions/fn/code/zip", fc.ActionManage, "svc", "fn"},
	{"POST " + ver + svcP + "/versions", "POST", "/services/svc/versions", fc.ActionManage, "svc", ""},
	{"GET " + ver + svcP + "/versions", "GET", "/services/svc/versions", fc.ActionManage, "svc", ""},
	{"DELETE " + ver + svcP + "/versions/{version}", "DELETE", "/services/svc/versions/1", fc.ActionManage, "svc", ""},
	{"POST " + ver + svcP + "/aliases", "POST", "/services/svc/aliases", fc.ActionManage, "svc", ""},
	{"GET " + ver + svcP + "/aliases", "GET", "/services/svc/aliases", fc.ActionManage, "svc", ""},
	{"GET " + ver + svcP + "/aliases/{alias}", "GET", "/services/svc/aliases/prod", fc.ActionManage, "svc", ""},
	{"PUT " + ver + svcP + "/aliases/{alias}", "PUT", "/services/svc/aliases/prod", fc.ActionManage, "svc", ""},
	{"DELETE " + ver + svcP + "/aliases/{alias}", "DELETE", "/services/svc/aliases/prod", fc.ActionManage, "svc", ""},
	{"GET " + ver + "/cluster", "GET", "/cluster", fc.ActionOperate, "", ""},
	{"/", "GET", "/no/such/route", fc.ActionManage, "", ""},
}

// adminOnly says whether only the admin key may do action.
func adminOnly(action fc.Action) bool {
	return action == fc.ActionManageKeys || action == fc.ActionOperate
}

func TestScopeTableCoversEveryRoute(t *testing.T) {
	e := newKeysEnv(t)
	rows := map[string]scopeRow{}
	for _, row := range scopeTable {
		rows[row.pattern] = row
	}
	registered := map[string]bool{}
	for _, p := range e.a.Patterns() {
		registered[p] = true
		if _, ok := rows[p]; !ok {
			t.Errorf("route %q has no row in scopeTable: decide what it does (invoke, manage, manage keys) and to which service/function", p)
		}
	}
	for p := range rows {
		if !registered[p] {
			t.Errorf("scopeTable row %q is not a registered route", p)
		}
	}
	for _, row := range scopeTable {
		r, _ := http.NewRequest(row.method, "http://x"+ver+row.path, nil)
		pattern, action, service, function := e.a.ScopeOf(r)
		if pattern != row.pattern || action != row.action || service != row.service || function != row.function {
			t.Errorf("%s %s: routed to %q as (%d, %q, %q); want %q (%d, %q, %q)", row.method, row.path,
				pattern, action, service, function, row.pattern, row.action, row.service, row.function)
		}
	}
}

// Every route, called with keys of every kind: a key that may not is
// refused with FC's 403 AccessDenied before the handler runs; a key that
// may is never refused for its scope.
func TestScopeEnforcedOnEveryRoute(t *testing.T) {
	e := newKeysEnv(t)
	// A service the scoped keys must not be able to touch.
	if _, err := e.admin.CreateService(e.ctx, client.Service{ServiceName: "victim"}); err != nil {
		t.Fatal(err)
	}
	elsewhere := e.create(client.CreateAccessKeyInput{Resources: []string{"elsewhere"}})
	invokeOnly := e.create(client.CreateAccessKeyInput{InvokeOnly: true})
	exact := e.create(client.CreateAccessKeyInput{Resources: []string{"svc/fn", "victim"}})
	service := e.create(client.CreateAccessKeyInput{Resources: []string{"svc"}})
	full := e.create(client.CreateAccessKeyInput{})
	cred := func(k *client.AccessKey) fcsign.Credentials {
		return fcsign.Credentials{AccessKeyID: k.AccessKeyID, AccessKeySecret: k.AccessKeySecret}
	}
	for _, row := range scopeTable {
		for _, tc := range []struct {
			who     string
			cred    fcsign.Credentials
			allowed bool
		}{
			{"admin", testAdminCred, true},
			{"key scoped elsewhere", cred(elsewhere), false},
			{"invoke-only key", cred(invokeOnly), row.action == fc.ActionInvoke},
			// A function-scoped key reaches that function, not its service.
			{"key scoped to the route's function", cred(exact), !adminOnly(row.action) && row.function == "fn"},
			{"key scoped to the route's service", cred(service), !adminOnly(row.action) && row.service == "svc"},
			{"full-access key", cred(full), !adminOnly(row.action)},
		} {
			body := ""
			if row.method == "POST" || row.method == "PUT" {
				body = "{}"
			}
			status, h, resp := e.rawSigned(tc.cred, row.method, row.path, body)
			var eb fc.ErrorBody
			_ = json.Unmarshal([]byte(resp), &eb)
			denied := status == http.StatusForbidden && eb.ErrorCode == "AccessDenied"
			if denied == tc.allowed {
				t.Errorf("%s %s by %s: %d %s; want allowed=%v", row.method, row.path, tc.who, status, resp, tc.allowed)
			}
			if denied && (h.Get("X-Fc-Request-Id") == "" || eb.RequestID != h.Get("X-Fc-Request-Id") || h.Get("X-Fc-Error-Type") != "FcCommonError") {
				t.Errorf("%s %s by %s: the 403 is not FC's error body: %v %s", row.method, row.path, tc.who, h, resp)
			}
		}
	}
	// Refused calls never ran: the victim service is still there, and
	// the one key made is the admin's (its row's POST).
	if _, err := e.admin.GetService(e.ctx, "victim"); err != nil {
		t.Errorf("victim service: %v", err)
	}
	if _, err := e.client(client.Credentials(cred(elsewhere))).GetService(e.ctx, "victim"); errCode(err) != "AccessDenied" {
		t.Errorf("key scoped elsewhere reading victim: %v", err)
	}
	if list, _ := e.admin.ListAccessKeys(e.ctx); len(list) != 6 {
		t.Errorf("%d keys after the refused creates; want 6", len(list))
	}
}
