package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

// runReport runs the CLI like main does, with getenv's variables, and
// returns its exit code, stdout and stderr.
func runReport(getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code = Report(&errb, err)
	return code, out.String(), errb.String()
}

func noEnv(string) string { return "" }

func TestReport(t *testing.T) {
	apiErr := &client.Error{Status: 404, Code: "ServiceNotFound", Message: "service 'x' does not exist", RequestID: "req-1", Type: "FcCommonError"}
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		stderr string // exact
	}{
		{"success", nil, 0, ""},
		{"already reported", ExitError{Code: 3}, 3, ""},
		{"API error", apiErr, 1, "ServiceNotFound: service 'x' does not exist\nRequestId: req-1\n"},
		{"function error without a code", &client.Error{Status: 200, Type: "UnhandledInvocationError", Message: "boom", RequestID: "r2"}, 1,
			"UnhandledInvocationError: boom\nRequestId: r2\n"},
		{"bare HTTP error", &client.Error{Status: 502, Message: "Bad Gateway"}, 1, "HTTP 502: Bad Gateway\n"},
		{"API error with a hint", &hintError{err: apiErr, hint: "hint: do this"}, 1,
			"ServiceNotFound: service 'x' does not exist\nRequestId: req-1\nhint: do this\n"},
		{"API error with context", fmt.Errorf("function s/f: %w", apiErr), 1,
			"openfc: function s/f: " + apiErr.Error() + "\n"},
		{"other error", fmt.Errorf("reading event: nope"), 1, "openfc: reading event: nope\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if code := Report(&b, tc.err); code != tc.code || b.String() != tc.stderr {
				t.Errorf("Report = %d %q; want %d %q", code, b.String(), tc.code, tc.stderr)
			}
		})
	}
}

// A command line the tree cannot run exits 2 with the usage of the
// command that refused it on stderr, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		msg, path string // in stderr: the error, and the usage line of the command
	}{
		{[]string{"frob"}, `unknown command "frob" for "openfc"`, "openfc [command]"},
		{[]string{"services", "frob"}, `unknown command "frob" for "openfc services"`, "openfc services [command]"},
		{[]string{"functions", "lst"}, "did you mean", "openfc functions [command]"},
		{[]string{"--bogus"}, "unknown flag: --bogus", "openfc [command]"},
		{[]string{"services", "list", "--bogus"}, "unknown flag: --bogus", "openfc services list [flags]"},
		{[]string{"logs", "a/f", "--tail", "x"}, `invalid argument "x"`, "openfc logs <service>/<function> [flags]"},
		{[]string{"invoke"}, "accepts 1 arg(s), received 0", "openfc invoke <service>/<function> [flags]"},
		{[]string{"services", "delete"}, "accepts 1 arg(s), received 0", "openfc services delete <service> [flags]"},
		{[]string{"serve", "--bogus"}, "unknown flag: --bogus", "openfc serve [flags]"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`, "openfc serve [flags]"},
	} {
		code, stdout, stderr := runReport(noEnv, tc.args...)
		if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, "openfc: ") ||
			!strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "\n\nUsage:\n") || !strings.Contains(stderr, "\n  "+tc.path+"\n") {
			t.Errorf("openfc %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2, %q and the usage %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.msg, tc.path)
		}
	}
	// Help, asked for or implied, is not an error.
	for _, args := range [][]string{{}, {"services"}, {"--help"}, {"services", "delete", "--help"}, {"serve", "--help"}} {
		code, stdout, stderr := runReport(noEnv, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("openfc %s: exit %d, stdout %q, stderr %q; want help and 0", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

func TestServicesDelete(t *testing.T) {
	run, st := cliServer(t, nil)
	ctx := context.Background()
	if _, err := st.CreateTrigger(ctx, "a", "f", &fc.Trigger{TriggerName: "http", TriggerType: "http", Qualifier: fc.LATEST,
		TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := run("services", "delete", "a")
	var stderr bytes.Buffer
	if code := Report(&stderr, err); code != 1 || out != "" {
		t.Fatalf("delete of a non-empty service: exit %d, stdout %q", code, out)
	}
	lines := strings.Split(stderr.String(), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "ServiceNotEmpty: service 'a'") || !strings.HasPrefix(lines[1], "RequestId: ") ||
		!strings.Contains(lines[2], "openfc services delete a --recursive") {
		t.Errorf("stderr:\n%s\nwant ServiceNotEmpty, the request id and the --recursive hint", stderr.String())
	}
	if _, _, err := st.GetService(ctx, "a"); err != nil {
		t.Fatalf("the refused delete removed the service: %v", err)
	}

	out, err = run("services", "delete", "a", "--recursive")
	if err != nil || out != "deleted service a\n" {
		t.Fatalf("delete --recursive: %q %v", out, err)
	}
	if _, _, err := st.GetService(ctx, "a"); err == nil {
		t.Error("service a is still there")
	}
	if fns, err := st.ListFunctions(ctx, "a"); err != nil || len(fns) != 0 {
		t.Errorf("functions of a left: %d %v", len(fns), err)
	}
	if fns, err := st.ListFunctions(ctx, "b"); err != nil || len(fns) != 2 {
		t.Errorf("service b lost functions: %d %v", len(fns), err)
	}
	if _, err := run("services", "delete", "a"); !client.HasCode(err, "ServiceNotFound") {
		t.Errorf("delete of a missing service: %v", err)
	}
}

// Every list prints a JSON array with --json, [] when empty.
func TestListJSON(t *testing.T) {
	run, st := cliServer(t, cannedInstances{"a/f": {{InstanceID: "i1", ServiceName: "a", FunctionName: "f"}}})
	if _, err := st.CreateService(context.Background(), &fc.Service{ServiceName: "empty"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		n    int
	}{
		{[]string{"services", "list", "--json"}, 3},
		{[]string{"functions", "list", "a", "--json"}, 2},
		{[]string{"functions", "list", "empty", "--json"}, 0},
		{[]string{"instances", "--json"}, 1},
		{[]string{"instances", "b/g", "--json"}, 0},
	} {
		out, err := run(tc.args...)
		var list []map[string]any
		if err != nil || json.Unmarshal([]byte(out), &list) != nil || list == nil || len(list) != tc.n {
			t.Errorf("openfc %s = %q (%v); want a JSON array of %d", strings.Join(tc.args, " "), out, err, tc.n)
		}
	}
}

// Times the API gives in UTC print as RFC 3339 in the zone TZ names.
func TestLocalTimes(t *testing.T) {
	run, st := cliServerEnv(t, cannedInstances{"a/f": {{InstanceID: "i1", ServiceName: "a", FunctionName: "f",
		State: fc.InstanceReady, StartedTime: "2024-05-06T07:08:09.5Z"}}}, map[string]string{"TZ": "Asia/Shanghai"})
	if _, err := st.CreateService(context.Background(), &fc.Service{ServiceName: "timed", LastModifiedTime: "2024-05-06T20:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	out, err := run("instances", "a/f")
	if err != nil || !strings.Contains(out, " 2024-05-06T15:08:09+08:00 ") {
		t.Errorf("instances = %q %v; want the start time 2024-05-06T15:08:09+08:00", out, err)
	}
	out, err = run("services", "list")
	if err != nil || !strings.Contains(out, " 2024-05-07T04:00:00+08:00\n") {
		t.Errorf("services list = %q %v; want the time 2024-05-07T04:00:00+08:00", out, err)
	}

	var b bytes.Buffer
	e := &env{stdout: &b, loc: time.FixedZone("X", -(3*3600 + 30*60))}
	rec := client.LogRecord{Time: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), InstanceID: "i1", Message: "hello world"}
	if err := e.printLogRecord(rec); err != nil || b.String() != "2024-05-06T03:38:09.123-03:30 i1 - hello world\n" {
		t.Errorf("log line = %q %v", b.String(), err)
	}
	if got := zone(func(string) string { return "" }); got != time.Local {
		t.Errorf("zone without TZ = %v; want time.Local", got)
	}
	if got := zone(func(string) string { return ":Asia/Shanghai" }); got.String() != "Asia/Shanghai" {
		t.Errorf("zone(:Asia/Shanghai) = %v", got)
	}
}

// invokeServer answers every invocation with status, header and body.
func invokeServer(t *testing.T, status int, header http.Header, body string) func(string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"OPENFC_ENDPOINT": srv.URL, "OPENFC_ACCESS_KEY_ID": "id", "OPENFC_ACCESS_KEY_SECRET": "secret"}
	return func(k string) string { return env[k] }
}

func TestInvokeFailures(t *testing.T) {
	fcJSON := func(code, msg string) string {
		return fmt.Sprintf(`{"ErrorCode":%q,"ErrorMessage":%q,"RequestId":"req-9"}`, code, msg)
	}
	common := http.Header{"X-Fc-Error-Type": {"FcCommonError"}, "X-Fc-Request-Id": {"req-9"}}
	unhandled := http.Header{"X-Fc-Error-Type": {"UnhandledInvocationError"}, "X-Fc-Request-Id": {"req-9"}}
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		stderr string // without --json; "" means success
	}{
		{"platform error", 404, common, fcJSON("FunctionNotFound", "function 'f' does not exist in service 's'"),
			"FunctionNotFound: function 'f' does not exist in service 's'\nRequestId: req-9\n"},
		{"function error", 412, unhandled, fcJSON("FunctionNotStarted", "the function exited"),
			"FunctionNotStarted: the function exited\nRequestId: req-9\n"},
		{"runtime's function error", 200, unhandled, `{"errorMessage":"boom","errorType":"Error"}`,
			"UnhandledInvocationError: boom\nRequestId: req-9\n"},
		{"the function's own error status", 500, http.Header{"X-Fc-Request-Id": {"req-9"}}, "it broke",
			"HTTP 500: it broke\nRequestId: req-9\n"},
		{"success", 200, http.Header{"X-Fc-Request-Id": {"req-9"}}, `{"ok":true}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := invokeServer(t, tc.status, tc.header, tc.body)
			code, stdout, stderr := runReport(getenv, "invoke", "s/f", "-e", "x")
			if tc.stderr == "" {
				if code != 0 || stdout != tc.body || stderr != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and the body", code, stdout, stderr)
				}
				return
			}
			if code != 1 || stdout != "" || stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, tc.stderr)
			}
			code, stdout, stderr = runReport(getenv, "invoke", "s/f", "--json")
			if code != 1 || stdout != tc.body || stderr != "" {
				t.Errorf("--json: exit %d, stdout %q, stderr %q; want 1 and the body as sent", code, stdout, stderr)
			}
		})
	}
	t.Run("empty error body with --json", func(t *testing.T) {
		getenv := invokeServer(t, 503, common, "")
		code, stdout, _ := runReport(getenv, "invoke", "s/f", "--json")
		var eb fc.ErrorBody
		if code != 1 || json.Unmarshal([]byte(stdout), &eb) != nil || eb.RequestID != "req-9" || eb.ErrorMessage == "" {
			t.Errorf("exit %d, stdout %q; want FC's error JSON", code, stdout)
		}
	})
}
