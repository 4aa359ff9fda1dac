package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// nestedCase is one endpoint under a service (and usually a function).
// path has {s} and {f} (and {leaf}, the leaf's name) to fill in.
type nestedCase struct {
	name   string
	method string
	path   string
	body   any
	// leafCode is the leaf's own NotFound code, answered when the service
	// and function exist but the leaf does not; "" when the endpoint has
	// no leaf that can be missing (a list, a create, a PUT of a config).
	leafCode string
	// noFunction: the path names only a service.
	noFunction bool
}

// nestedCases lists every endpoint that resolves a service, then a
// function, then its own resource.
func nestedCases() []nestedCase {
	const fn = "/services/{s}/functions/{f}"
	return []nestedCase{
		{name: "list functions", method: http.MethodGet, path: "/services/{s}/functions", noFunction: true},
		{name: "create function", method: http.MethodPost, path: "/services/{s}/functions", noFunction: true}, // body: fnBody
		{name: "get function", method: http.MethodGet, path: fn},
		{name: "update function", method: http.MethodPut, path: fn, body: map[string]any{"description": "x"}},
		{name: "delete function", method: http.MethodDelete, path: fn},
		{name: "create trigger", method: http.MethodPost, path: fn + "/triggers", body: httpTrigger("t", "GET")},
		{name: "list triggers", method: http.MethodGet, path: fn + "/triggers"},
		{name: "get trigger", method: http.MethodGet, path: fn + "/triggers/{leaf}", leafCode: "TriggerNotFound"},
		{name: "update trigger", method: http.MethodPut, path: fn + "/triggers/{leaf}", body: map[string]any{"description": "x"}, leafCode: "TriggerNotFound"},
		{name: "delete trigger", method: http.MethodDelete, path: fn + "/triggers/{leaf}", leafCode: "TriggerNotFound"},
		{name: "put on-demand config", method: http.MethodPut, path: fn + "/on-demand-config", body: map[string]any{"maximumInstanceCount": 1}},
		{name: "get on-demand config", method: http.MethodGet, path: fn + "/on-demand-config", leafCode: "OnDemandConfigNotFound"},
		{name: "delete on-demand config", method: http.MethodDelete, path: fn + "/on-demand-config", leafCode: "OnDemandConfigNotFound"},
		{name: "put provision config", method: http.MethodPut, path: fn + "/provision-config", body: map[string]any{"target": 1}},
		{name: "get provision config", method: http.MethodGet, path: fn + "/provision-config"},
		{name: "delete provision config", method: http.MethodDelete, path: fn + "/provision-config"},
		{name: "list instances", method: http.MethodGet, path: fn + "/instances"},
		{name: "function logs", method: http.MethodGet, path: fn + "/logs"},
		{name: "invoke", method: http.MethodPost, path: fn + "/invocations", body: []byte("event")},
	}
}

func fillNested(path, service, function, leaf string) string {
	return strings.NewReplacer("{s}", service, "{f}", function, "{leaf}", leaf).Replace(path)
}

// FC resolves a nested path from the outside in: a missing service is
// ServiceNotFound whatever lies below it, a missing function
// FunctionNotFound, and only then the leaf's own NotFound.
func TestNestedNotFoundOrder(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.createService("empty") // a service without functions
	before := e.snapshot()
	for _, tc := range nestedCases() {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t // e.do fails the running test on transport errors
			body := tc.body
			if tc.method == http.MethodPost && tc.path == "/services/{s}/functions" {
				body = fnBody("newfn", appZip(t, "nested"))
			}
			type level struct {
				what, service, function, leaf, code, named string
			}
			levels := []level{
				{"missing service", "nosvc", "fn", "t", "ServiceNotFound", "nosvc"},
				{"missing service, missing function", "nosvc", "nofn", "t", "ServiceNotFound", "nosvc"},
			}
			if !tc.noFunction {
				levels = append(levels,
					level{"missing function", "svc", "nofn", "t", "FunctionNotFound", "nofn"},
					level{"missing function in an empty service", "empty", "fn", "t", "FunctionNotFound", "fn"})
			}
			if tc.leafCode != "" {
				levels = append(levels, level{"missing leaf", "svc", "fn", "nope", tc.leafCode, "fn"})
			}
			for _, l := range levels {
				_, err := e.do(tc.method, fillNested(tc.path, l.service, l.function, l.leaf), body, nil)
				wantAPIError(t, err, http.StatusNotFound, l.code, l.named)
				if t.Failed() {
					t.Logf("level: %s", l.what)
					return
				}
			}
		})
	}
	e.t = t
	if after := e.snapshot(); !slices.Equal(before, after) {
		t.Errorf("refused requests changed the store: %v -> %v", before, after)
	}
	if n := len(e.inv.recorded()); n != 0 {
		t.Errorf("refused invocations reached the invoker %d times", n)
	}
}
