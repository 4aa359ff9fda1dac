package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// The FC 2.0 `fc` component format deploys too, and `openfc invoke` runs a
// synchronous event invocation (POST /invoke on the instance).
func TestFC2FormatAndInvoke(t *testing.T) {
	s := startServer(t, "")
	out := s.cli("deploy", "-f", "examples/fc2-hello/s.yaml")
	if !strings.Contains(out, s.URL+"/2016-08-15/proxy/fc2-demo/hello/") {
		t.Fatalf("deploy output lacks the trigger URL:\n%s", out)
	}
	resp, body := s.do("GET", "/2016-08-15/proxy/fc2-demo/hello/x", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "hello from FC 2.0 from express-hello") {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}

	out = s.cli("invoke", "fc2-demo/hello", "-e", `{"event":"payload"}`)
	var got struct {
		Received    string `json:"received"`
		Length      int    `json:"length"`
		ContentType string `json:"contentType"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("invoke output is not the app's JSON: %v\n%s", err, out)
	}
	// The app echoes non-JSON bodies as base64; the event arrived whole.
	if got.Length != len(`{"event":"payload"}`) {
		t.Fatalf("the instance received %d bytes (%s); want the event", got.Length, out)
	}

	out = s.cli("services", "list")
	if !strings.Contains(out, "fc2-demo") {
		t.Fatalf("services list:\n%s", out)
	}
	out = s.cli("functions", "get", "fc2-demo/hello")
	if !strings.Contains(out, "runtime: custom") || !strings.Contains(out, "trigger httpTrigger") {
		t.Fatalf("functions get:\n%s", out)
	}
	s.cli("functions", "delete", "fc2-demo/hello")
	resp, body = s.do("GET", "/2016-08-15/proxy/fc2-demo/hello/x", nil, nil)
	if e := decodeError(t, resp, body); resp.StatusCode != 404 || e.ErrorCode != "FunctionNotFound" {
		t.Fatalf("after delete: %d %s", resp.StatusCode, body)
	}
	if out, err := s.tryCLI("invoke", "fc2-demo/hello"); err == nil || !strings.Contains(out, "FunctionNotFound") {
		t.Fatalf("invoke of a deleted function: err %v\n%s", err, out)
	}
}

// Every subcommand answers --help.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"deploy", "--help"}, {"invoke", "--help"},
		{"functions", "list", "--help"}, {"functions", "get", "--help"}, {"functions", "delete", "--help"}, {"services", "list", "--help"},
	} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage:") {
			t.Errorf("openfc %s: err %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, _ := exec.Command(binary, "serve", "--help").CombinedOutput()
	for _, flag := range []string{"--listen", "--data", "--nats", "--start-timeout", "--region", "--account-id"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
}
