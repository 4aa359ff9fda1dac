package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/pkg/client"
)

func TestDomainsCommands(t *testing.T) {
	_, _, runner := apiCLI(t, func(o *api.Options, st *store.JetStream, _ *auth.Keys) { o.Domains = st })
	run := runner.admin

	if code, out, errOut := run("domains", "create", "*.example.com", "--route", "/*=shop/web", "--route", "/api/*=shop/api@prod"); code != 0 || !strings.Contains(out, "created custom domain *.example.com (HTTP, 2 routes)") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("domains", "create", "*.example.com", "--route", "/*=shop/web"); code == 0 || !strings.Contains(errOut, "DomainNameAlreadyExists") {
		t.Fatalf("second create: %d %q", code, errOut)
	}
	if code, _, errOut := run("domains", "create", "a.example.com", "--route", "api"); code == 0 || !strings.Contains(errOut, "PATH=SERVICE/FUNCTION") {
		t.Fatalf("bad --route: %d %q", code, errOut)
	}
	code, out, _ := run("domains", "list")
	if code != 0 || !strings.Contains(out, "*.example.com") || !strings.Contains(out, "/api/*=shop/api@prod") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, errOut := run("domains", "update", "*.example.com", "--route", "/*=shop/other"); code != 0 || !strings.Contains(out, "1 routes") {
		t.Fatalf("update: %d %q %q", code, out, errOut)
	}
	code, out, _ = run("domains", "get", "*.example.com")
	var d client.CustomDomain
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || len(d.RouteConfig.Routes) != 1 || d.RouteConfig.Routes[0].FunctionName != "other" {
		t.Fatalf("get: %d %q", code, out)
	}
	if code, out, _ := run("domains", "delete", "*.example.com"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %q", code, out)
	}
	if code, _, errOut := run("domains", "get", "*.example.com"); code == 0 || !strings.Contains(errOut, "DomainNameNotFound") {
		t.Fatalf("get deleted: %d %q", code, errOut)
	}
}
