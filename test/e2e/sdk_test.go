package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// sdkResult is the JSON line test/e2e/sdk/flow.js prints on success.
type sdkResult struct {
	OK         bool     `json:"ok"`
	Service    string   `json:"service"`
	Steps      []string `json:"steps"`
	TriggerURL string   `json:"triggerURL"`
	Anonymous  struct {
		Method, Path, Name string
	} `json:"anonymous"`
	Unsigned struct {
		Status    int    `json:"status"`
		ErrorCode string `json:"errorCode"`
	} `json:"unsigned"`
	SignedPost struct {
		Method, Path, Body string
	} `json:"signedPost"`
	SignedGet struct {
		Method, Path string
	} `json:"signedGet"`
	AfterDelete string `json:"afterDelete"`
}

// sdkSteps are the steps flow.js must report, in order.
var sdkSteps = []string{
	"createService", "createService again", "getService", "listServices",
	"createFunction", "getFunction", "listFunctions", "updateFunction", "getFunction after update",
	"createTrigger", "getTrigger", "listTriggers", "fetch anonymous trigger",
	"createFunction signed", "createTrigger signed", "fetch signed trigger unsigned",
	"SDK post proxy", "SDK get proxy",
	"deleteFunction with a trigger", "deleteTrigger signed", "deleteFunction signed",
	"deleteTrigger", "getTrigger after delete", "deleteFunction", "getFunction after delete",
	"deleteService", "getService after delete",
}

// TestOfficialNodeSDK drives openfc with the official FC 2.0 Node SDK
// (@alicloud/fc2, installed by `npm ci` in test/e2e/sdk): the whole life of
// a service, two functions and their HTTP triggers, an anonymous trigger
// called with fetch and an authType function trigger called through the
// SDK's own signed request helpers.
func TestOfficialNodeSDK(t *testing.T) {
	s := startServer(t, "")
	const svc = "sdk-flow"
	var res sdkResult
	last := runSDK(t, s, "flow.js", 3*time.Minute, &res, sdkZipEnv(t, "test/e2e/testdata/pyecho"), "OPENFC_SERVICE="+svc)
	t.Logf("flow.js: %s", last)
	if !res.OK || res.Service != svc {
		t.Errorf("ok=%v service=%q; want ok for %s", res.OK, res.Service, svc)
	}
	if strings.Join(res.Steps, ",") != strings.Join(sdkSteps, ",") {
		t.Errorf("steps:\n got %q\nwant %q", res.Steps, sdkSteps)
	}
	if want := s.URL + "/2016-08-15/proxy/" + svc + "/echo/"; res.TriggerURL != want {
		t.Errorf("trigger URL %q; want %q", res.TriggerURL, want)
	}
	if a := res.Anonymous; a.Method != "GET" || a.Path != "/hello?x=1" || a.Name != "after" {
		t.Errorf("anonymous call: function saw %+v; want GET /hello?x=1 with ECHO_NAME=after", a)
	}
	if u := res.Unsigned; u.Status != 400 || u.ErrorCode != "MissingRequiredHeader" {
		t.Errorf("unsigned call of the authType function trigger: %+v; want 400 MissingRequiredHeader", u)
	}
	if p := res.SignedPost; p.Method != "POST" || p.Path != "/echo?q=1" || p.Body != "body" {
		t.Errorf("SDK-signed POST: function saw %+v", p)
	}
	if g := res.SignedGet; g.Method != "GET" || g.Path != "/list?b=2&b=1&a%20key=x%2Fy%20z" {
		t.Errorf("SDK-signed GET: function saw %+v", g)
	}
	if res.AfterDelete != "ServiceNotFound" {
		t.Errorf("getService after delete: %q; want ServiceNotFound", res.AfterDelete)
	}

	// Seen from outside the SDK: nothing is left.
	resp, body := s.signedDo("GET", "/2016-08-15/services", "")
	if resp.StatusCode != 200 || strings.Contains(string(body), svc) {
		t.Errorf("services after the flow: %d %s; want 200 without %s", resp.StatusCode, body, svc)
	}
	resp, body = s.do("GET", "/2016-08-15/proxy/"+svc+"/echo/", nil, nil)
	expectError(t, "trigger after the flow", resp, body, 404, "ServiceNotFound")
}

// TestOfficialNodeSDKBuiltinRuntime: the FC 2.0 Node SDK creates a
// nodejs18 function from a zip (examples/nodejs-echo) and its HTTP
// trigger calls the handler unchanged.
func TestOfficialNodeSDKBuiltinRuntime(t *testing.T) {
	s := startServer(t, "")
	var res struct {
		OK                                        bool
		Runtime, HandlerStyle, Method, Path, Body string
		Queries                                   map[string]any
	}
	last := runSDK(t, s, "builtin.js", 2*time.Minute, &res, sdkZipEnv(t, "examples/nodejs-echo/code"))
	if !res.OK || res.Runtime != "nodejs18" || res.HandlerStyle != "http" || res.Method != "POST" || res.Path != "/hi" ||
		res.Body != "payload" || fmt.Sprint(res.Queries["a"]) != "[1 2]" {
		t.Errorf("builtin.js: %s", last)
	}
}

// TestOfficialNodeSDKVersions: the FC 2.0 Node SDK publishes and lists
// versions, creates, reads, moves, lists and deletes an alias with an
// additionalVersionWeight, is refused deleting a version the alias uses
// (VersionInUse), and invokes the function through the alias
// (test/e2e/sdk/versions.js).
func TestOfficialNodeSDKVersions(t *testing.T) {
	s := startServer(t, "")
	var res struct {
		OK    bool
		Steps []string
	}
	runSDK(t, s, "versions.js", 2*time.Minute, &res, sdkZipEnv(t, "test/e2e/testdata/pyecho"))
	want := []string{"createService", "createFunction", "publishVersion", "updateFunction", "publishVersion again",
		"listVersions", "listVersions forward", "createAlias", "getAlias", "deleteVersion used by an alias",
		"updateAlias", "listAliases", "invokeFunction through the alias", "deleteVersion",
		"getFunction of a deleted version", "deleteAlias", "getAlias after delete", "deleteVersion 2",
		"deleteFunction", "deleteService"}
	if !res.OK || strings.Join(res.Steps, ",") != strings.Join(want, ",") {
		t.Errorf("versions.js: ok=%v steps\n got %q\nwant %q", res.OK, res.Steps, want)
	}
}
