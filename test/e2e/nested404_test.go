package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// tinyFunctionBody is a valid CreateFunction body with a one-file zip.
func tinyFunctionBody(t *testing.T, name string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("app.py")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "print('hi')")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{"functionName":%q,"runtime":"custom.debian10","customRuntimeConfig":{"command":["python3","app.py"]},"code":{"zipFile":%q}}`,
		name, base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// TestNested404Table: the management API resolves a nested path from the
// outside in, as FC does. Under a missing service every endpoint answers
// 404 ServiceNotFound, under a missing function 404 FunctionNotFound, and
// only then the leaf's own NotFound (TriggerNotFound,
// OnDemandConfigNotFound). Signed requests against the real server.
func TestNested404Table(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "svc", name: "fn"})
	if resp, body := s.signedDo("POST", "/2016-08-15/services", `{"serviceName":"empty"}`); resp.StatusCode != 200 {
		t.Fatalf("creating service empty: %d %s", resp.StatusCode, body)
	}
	const fn = "/2016-08-15/services/{s}/functions/{f}"
	cases := []struct {
		name, method, path, body string
		leafCode                 string // the leaf's own NotFound; "" when no leaf can be missing
		serviceOnly              bool   // the path names no function
	}{
		{name: "ListFunctions", method: "GET", path: "/2016-08-15/services/{s}/functions", serviceOnly: true},
		{name: "CreateFunction", method: "POST", path: "/2016-08-15/services/{s}/functions", body: tinyFunctionBody(t, "newfn"), serviceOnly: true},
		{name: "GetFunction", method: "GET", path: fn},
		{name: "UpdateFunction", method: "PUT", path: fn, body: `{"description":"x"}`},
		{name: "DeleteFunction", method: "DELETE", path: fn},
		{name: "CreateTrigger", method: "POST", path: fn + "/triggers", body: `{"triggerName":"t2","triggerType":"http","triggerConfig":{"authType":"anonymous","methods":["GET"]}}`},
		{name: "ListTriggers", method: "GET", path: fn + "/triggers"},
		{name: "GetTrigger", method: "GET", path: fn + "/triggers/{t}", leafCode: "TriggerNotFound"},
		{name: "UpdateTrigger", method: "PUT", path: fn + "/triggers/{t}", body: `{"description":"x"}`, leafCode: "TriggerNotFound"},
		{name: "DeleteTrigger", method: "DELETE", path: fn + "/triggers/{t}", leafCode: "TriggerNotFound"},
		{name: "PutOnDemandConfig", method: "PUT", path: fn + "/on-demand-config", body: `{"maximumInstanceCount":1}`},
		{name: "GetOnDemandConfig", method: "GET", path: fn + "/on-demand-config", leafCode: "OnDemandConfigNotFound"},
		{name: "DeleteOnDemandConfig", method: "DELETE", path: fn + "/on-demand-config", leafCode: "OnDemandConfigNotFound"},
		{name: "PutProvisionConfig", method: "PUT", path: fn + "/provision-config", body: `{"target":1}`},
		{name: "GetProvisionConfig", method: "GET", path: fn + "/provision-config"},
		{name: "DeleteProvisionConfig", method: "DELETE", path: fn + "/provision-config"},
		{name: "ListInstances", method: "GET", path: fn + "/instances"},
		{name: "GetFunctionLogs", method: "GET", path: fn + "/logs"},
		{name: "InvokeFunction", method: "POST", path: fn + "/invocations", body: "event"},
	}
	type level struct{ what, service, function, trigger, code, named string }
	for _, tc := range cases {
		levels := []level{
			{"missing service", "nosvc", "fn", "http", "ServiceNotFound", "nosvc"},
			{"missing service and function", "nosvc", "nofn", "nope", "ServiceNotFound", "nosvc"},
		}
		if !tc.serviceOnly {
			levels = append(levels,
				level{"missing function", "svc", "nofn", "http", "FunctionNotFound", "nofn"},
				level{"missing function, empty service", "empty", "fn", "http", "FunctionNotFound", "fn"})
		}
		if tc.leafCode != "" {
			levels = append(levels, level{"missing leaf", "svc", "fn", "nope", tc.leafCode, "fn"})
		}
		for _, l := range levels {
			path := strings.NewReplacer("{s}", l.service, "{f}", l.function, "{t}", l.trigger).Replace(tc.path)
			resp, body := s.signedDo(tc.method, path, tc.body)
			e := expectError(t, fmt.Sprintf("%s, %s: %s %s", tc.name, l.what, tc.method, path), resp, body, http.StatusNotFound, l.code)
			if !strings.Contains(e.ErrorMessage, "'"+l.named+"'") {
				t.Errorf("%s, %s: message %q does not name '%s'", tc.name, l.what, e.ErrorMessage, l.named)
			}
		}
	}

	// Nothing was changed by the refused requests: the function and its
	// trigger are still there and it still answers.
	if resp, body := s.signedDo("GET", "/2016-08-15/services/svc/functions/fn/triggers/http", ""); resp.StatusCode != 200 {
		t.Errorf("the trigger after the table: %d %s", resp.StatusCode, body)
	}
	if r := s.getEcho("/2016-08-15/proxy/svc/fn/after", nil); r.Path != "/after" {
		t.Errorf("the function after the table answered %+v", r)
	}
}
