package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/codezip"
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
	dir := filepath.Join(repoRoot(), "test/e2e/sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules/@alicloud/fc2/package.json")); err != nil {
		t.Fatalf("the Node SDK is not installed: run npm ci in test/e2e/sdk (make test does): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v", err)
	}

	zip, err := codezip.ZipDir(filepath.Join(repoRoot(), "test/e2e/testdata/pyecho"))
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "code.zip.b64")
	if err := os.WriteFile(zipFile, []byte(base64.StdEncoding.EncodeToString(zip)), 0o600); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, "")
	const svc = "sdk-flow"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "flow.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"OPENFC_ENDPOINT="+s.URL,
		"OPENFC_ACCOUNT_ID="+accountID,
		"OPENFC_ACCESS_KEY_ID="+accessKeyID,
		"OPENFC_ACCESS_KEY_SECRET="+accessKeySecret,
		"OPENFC_ZIP_B64_FILE="+zipFile,
		"OPENFC_SERVICE="+svc,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node flow.js: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res sdkResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("flow.js output is not a JSON line: %v\n%s", err, stdout.String())
	}
	t.Logf("flow.js: %s", lines[len(lines)-1])
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
	dir := filepath.Join(repoRoot(), "test/e2e/sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules/@alicloud/fc2/package.json")); err != nil {
		t.Fatalf("the Node SDK is not installed: run npm ci in test/e2e/sdk (make test does): %v", err)
	}
	zip, err := codezip.ZipDir(filepath.Join(repoRoot(), "examples/nodejs-echo/code"))
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "code.zip.b64")
	if err := os.WriteFile(zipFile, []byte(base64.StdEncoding.EncodeToString(zip)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "builtin.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENFC_ENDPOINT="+s.URL, "OPENFC_ACCOUNT_ID="+accountID,
		"OPENFC_ACCESS_KEY_ID="+accessKeyID, "OPENFC_ACCESS_KEY_SECRET="+accessKeySecret, "OPENFC_ZIP_B64_FILE="+zipFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node builtin.js: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var res struct {
		OK                                        bool
		Runtime, HandlerStyle, Method, Path, Body string
		Queries                                   map[string]any
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("builtin.js output: %v\n%s", err, stdout.String())
	}
	if !res.OK || res.Runtime != "nodejs18" || res.HandlerStyle != "http" || res.Method != "POST" || res.Path != "/hi" ||
		res.Body != "payload" || fmt.Sprint(res.Queries["a"]) != "[1 2]" {
		t.Errorf("builtin.js: %s", stdout.String())
	}
}

// TestOfficialNodeSDKVersions: the FC 2.0 Node SDK publishes and lists
// versions, creates, reads, moves, lists and deletes an alias with an
// additionalVersionWeight, is refused deleting a version the alias uses
// (VersionInUse), and invokes the function through the alias
// (test/e2e/sdk/versions.js).
func TestOfficialNodeSDKVersions(t *testing.T) {
	dir := filepath.Join(repoRoot(), "test/e2e/sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules/@alicloud/fc2/package.json")); err != nil {
		t.Fatalf("the Node SDK is not installed: run npm ci in test/e2e/sdk (make test does): %v", err)
	}
	zip, err := codezip.ZipDir(filepath.Join(repoRoot(), "test/e2e/testdata/pyecho"))
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "code.zip.b64")
	if err := os.WriteFile(zipFile, []byte(base64.StdEncoding.EncodeToString(zip)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "versions.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENFC_ENDPOINT="+s.URL, "OPENFC_ACCOUNT_ID="+accountID,
		"OPENFC_ACCESS_KEY_ID="+accessKeyID, "OPENFC_ACCESS_KEY_SECRET="+accessKeySecret, "OPENFC_ZIP_B64_FILE="+zipFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node versions.js: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var res struct {
		OK    bool
		Steps []string
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("versions.js output: %v\n%s", err, stdout.String())
	}
	want := []string{"createService", "createFunction", "publishVersion", "updateFunction", "publishVersion again",
		"listVersions", "listVersions forward", "createAlias", "getAlias", "deleteVersion used by an alias",
		"updateAlias", "listAliases", "invokeFunction through the alias", "deleteVersion",
		"getFunction of a deleted version", "deleteAlias", "getAlias after delete", "deleteVersion 2",
		"deleteFunction", "deleteService"}
	if !res.OK || strings.Join(res.Steps, ",") != strings.Join(want, ",") {
		t.Errorf("versions.js: ok=%v steps\n got %q\nwant %q", res.OK, res.Steps, want)
	}
}
