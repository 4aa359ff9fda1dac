package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliRun runs the openfc binary (against s when it is not nil) with extra
// environment variables and returns its exit code and both streams.
func cliRun(t *testing.T, s *server, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if s != nil {
		args = append([]string{"--endpoint", s.URL}, args...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnv(env...)
	cmd.Dir = repoRoot()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running openfc %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

var requestIDLine = regexp.MustCompile(`^RequestId: \S+$`)

// wantFCErrorLines checks stderr is "Code: message…" then "RequestId: id".
func wantFCErrorLines(t *testing.T, what, stderr, codePrefix string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], codePrefix) || !requestIDLine.MatchString(lines[1]) {
		t.Errorf("%s: stderr\n%s\nwant %q… and a RequestId line", what, stderr, codePrefix)
	}
	return lines
}

// A command line openfc cannot run exits 2 with the usage on stderr.
func TestCLIUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		msg   string
		usage string
	}{
		{[]string{"frob"}, `unknown command "frob" for "openfc"`, "openfc [command]"},
		{[]string{"services", "frob"}, `unknown command "frob" for "openfc services"`, "openfc services [command]"},
		{[]string{"--no-such-flag", "services", "list"}, "unknown flag: --no-such-flag", "openfc [command]"},
		{[]string{"functions", "list", "svc", "--no-such-flag"}, "unknown flag: --no-such-flag", "openfc functions list <service> [flags]"},
		{[]string{"invoke"}, "accepts 1 arg(s), received 0", "openfc invoke <service>/<function> [flags]"},
		{[]string{"serve", "--no-such-flag"}, "unknown flag: --no-such-flag", "openfc serve [flags]"},
	} {
		code, stdout, stderr := cliRun(t, nil, nil, tc.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "Usage:\n") || !strings.Contains(stderr, "\n  "+tc.usage+"\n") {
			t.Errorf("openfc %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2, %q and the usage of %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.msg, tc.usage)
		}
	}
	if code, stdout, _ := cliRun(t, nil, nil, "services", "--help"); code != 0 || !strings.Contains(stdout, "delete") {
		t.Errorf("services --help: exit %d\n%s", code, stdout)
	}
}

// A failed `openfc invoke` prints "ErrorCode: message" and the request id
// on stderr and exits 1, for a platform error (no such function) and a
// function error (one that cannot start: UnhandledInvocationError); with
// --json it prints the response body on stdout instead.
func TestCLIInvokeFailure(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "inv", name: "ok"})
	s.deployEcho(echoOpts{service: "inv", name: "bad", command: "[/bin/false]"})

	code, stdout, stderr := cliRun(t, s, nil, "invoke", "inv/nope", "-e", "x")
	if code != 1 || stdout != "" {
		t.Errorf("invoke of a missing function: exit %d, stdout %q", code, stdout)
	}
	lines := wantFCErrorLines(t, "invoke of a missing function", stderr, "FunctionNotFound: ")
	if lines[0] != "FunctionNotFound: function 'nope' does not exist in service 'inv'" {
		t.Errorf("first line %q", lines[0])
	}

	code, stdout, stderr = cliRun(t, s, nil, "invoke", "inv/bad", "-e", "x")
	if code != 1 || stdout != "" {
		t.Errorf("invoke of a function that cannot start: exit %d, stdout %q", code, stdout)
	}
	wantFCErrorLines(t, "invoke of a function that cannot start", stderr, "FunctionNotStarted: ")

	for _, ref := range []string{"inv/nope", "inv/bad"} {
		code, stdout, stderr = cliRun(t, s, nil, "invoke", ref, "--json")
		var e fcError
		if err := json.Unmarshal([]byte(stdout), &e); code != 1 || err != nil || e.ErrorCode == "" || e.RequestID == "" || stderr != "" {
			t.Errorf("invoke %s --json: exit %d, stdout %q, stderr %q; want 1 and FC's error JSON", ref, code, stdout, stderr)
		}
	}

	code, stdout, stderr = cliRun(t, s, nil, "invoke", "inv/ok", "-e", "hello")
	var r echoReply
	if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil || r.Body != "hello" || stderr != "" {
		t.Errorf("invoke inv/ok: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// `openfc services delete` refuses a service that has functions, saying
// so as FC does, and --recursive deletes its triggers and functions
// first.
func TestCLIServicesDelete(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "del", name: "a"})
	s.deployEcho(echoOpts{service: "del", name: "b"})
	s.deployEcho(echoOpts{service: "keep", name: "a"})

	code, stdout, stderr := cliRun(t, s, nil, "services", "delete", "del")
	if code != 1 || stdout != "" {
		t.Errorf("delete of a non-empty service: exit %d, stdout %q", code, stdout)
	}
	lines := wantFCErrorLines(t, "delete of a non-empty service", stderr, "ServiceNotEmpty: ")
	if len(lines) < 3 || !strings.Contains(lines[2], "openfc services delete del --recursive") {
		t.Errorf("stderr does not point to --recursive:\n%s", stderr)
	}
	if resp, body := s.signedDo("GET", "/2016-08-15/services/del/functions/a/triggers/http", ""); resp.StatusCode != 200 {
		t.Fatalf("the refused delete removed a trigger: %d %s", resp.StatusCode, body)
	}

	code, stdout, stderr = cliRun(t, s, nil, "services", "delete", "del", "--recursive")
	if code != 0 || stdout != "deleted service del\n" || stderr != "" {
		t.Fatalf("delete --recursive: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	resp, body := s.signedDo("GET", "/2016-08-15/services/del", "")
	expectError(t, "the deleted service", resp, body, 404, "ServiceNotFound")
	resp, body = s.do("GET", "/2016-08-15/proxy/del/a/x", nil, nil)
	if e := decodeError(t, resp, body); resp.StatusCode != 404 || e.ErrorCode != "ServiceNotFound" {
		t.Errorf("a function of the deleted service answered %d %s", resp.StatusCode, body)
	}
	if r := s.getEcho("/2016-08-15/proxy/keep/a/x", nil); r.Path != "/x" {
		t.Errorf("the other service's function answered %+v", r)
	}
}

// deployCalled deploys an echo function and calls it once, so that it has
// an instance and log records.
func deployCalled(t *testing.T, s *server, service, name string) {
	t.Helper()
	s.deployEcho(echoOpts{service: service, name: name})
	s.getEcho("/2016-08-15/proxy/"+service+"/"+name+"/hi", nil)
	waitFor(t, 10*time.Second, func() error {
		if _, out, _ := cliRun(t, s, nil, "logs", service+"/"+name); !strings.Contains(out, "FC Invoke End") {
			return errors.New("no log records yet")
		}
		return nil
	})
}

// Every list command prints JSON with --json: an array for services,
// functions and instances (also when empty), one object a line for logs.
func TestCLIListJSON(t *testing.T) {
	s := startServer(t, "")
	deployCalled(t, s, "js", "fn")
	if resp, body := s.signedDo("POST", "/2016-08-15/services", `{"serviceName":"emptysvc"}`); resp.StatusCode != 200 {
		t.Fatalf("creating a service: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		args []string
		n    int // items; -1: at least one
	}{
		{[]string{"services", "list", "--json"}, 2},
		{[]string{"functions", "list", "js", "--json"}, 1},
		{[]string{"functions", "list", "emptysvc", "--json"}, 0},
		{[]string{"instances", "--json"}, -1},
		{[]string{"instances", "js/fn", "--json"}, -1},
	} {
		code, stdout, stderr := cliRun(t, s, nil, tc.args...)
		var list []map[string]any
		err := json.Unmarshal([]byte(stdout), &list)
		if code != 0 || err != nil || list == nil || (tc.n >= 0 && len(list) != tc.n) || (tc.n < 0 && len(list) == 0) {
			t.Errorf("openfc %s: exit %d, stdout %q (%v), stderr %q; want a JSON array of %d", strings.Join(tc.args, " "), code, stdout, err, stderr, tc.n)
		}
	}
	code, stdout, _ := cliRun(t, s, nil, "logs", "js/fn", "--json")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 2 {
		t.Fatalf("logs --json: exit %d\n%s", code, stdout)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["message"] == nil {
			t.Errorf("logs --json line %q is not a record: %v", l, err)
		}
	}
}

// `openfc instances` and `openfc logs` print times as RFC 3339 in the
// local zone (the API's are UTC).
func TestCLILocalTimes(t *testing.T) {
	s := startServer(t, "")
	deployCalled(t, s, "tz", "fn")
	shanghai := []string{"TZ=Asia/Shanghai"}
	near := func(what, v string) {
		t.Helper()
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || !strings.HasSuffix(v, "+08:00") {
			t.Errorf("%s time %q is not RFC 3339 at +08:00 (%v)", what, v, err)
		} else if d := time.Since(tm); d < -time.Minute || d > 5*time.Minute {
			t.Errorf("%s time %q is %v from now", what, v, d)
		}
	}

	code, stdout, stderr := cliRun(t, s, shanghai, "instances", "tz/fn")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 2 || len(strings.Fields(lines[0])) < 5 || strings.Fields(lines[0])[4] != "STARTED" {
		t.Fatalf("instances: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l) // the ADDRESS before STARTED is one field: an IP or "-"
		if len(f) < 5 {
			t.Fatalf("instances line %q", l)
		}
		near("instances STARTED", f[4])
	}

	code, stdout, stderr = cliRun(t, s, shanghai, "logs", "tz/fn")
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 2 {
		t.Fatalf("logs: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, l := range lines {
		near("logs", strings.Fields(l)[0])
	}
}
