package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoReply is what testdata/pyecho answers.
type echoReply struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Env     map[string]string `json:"env"`
	PID     int               `json:"pid"`
	CWD     string            `json:"cwd"`
}

type echoOpts struct {
	service, name string
	methods       string            // YAML list, e.g. "[GET, POST]"
	auth          string            // trigger authType; default anonymous
	authConfig    string            // trigger authConfig, JSON on one line ("": none)
	env           map[string]string // more environment variables
	props         string            // more s.yaml props, lines indented by 6
	disable       bool              // disableURLInternet
	concurrency   int
	command       string // YAML list; default [python3, server.py]
	code          string // default testdata/pyecho
	timeout       int    // seconds; default 20
}

// deployEcho writes an fc3 s.yaml for the echo function and deploys it
// with the CLI; it returns the CLI output.
func (s *server) deployEcho(o echoOpts) string {
	s.t.Helper()
	if o.methods == "" {
		o.methods = "[GET, POST, PUT, DELETE, PATCH, HEAD]"
	}
	if o.concurrency == 0 {
		o.concurrency = 1
	}
	if o.command == "" {
		o.command = "[python3]\n        args: [server.py]"
	}
	if o.code == "" {
		o.code = filepath.Join(repoRoot(), "test/e2e/testdata/pyecho")
	}
	if o.auth == "" {
		o.auth = "anonymous"
	}
	if o.timeout == 0 {
		o.timeout = 20
	}
	yaml := fmt.Sprintf(`edition: 3.0.0
name: %s
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %s
      runtime: custom.debian10
      code: %s
      timeout: %d
      instanceConcurrency: %d
      customRuntimeConfig:
        command: %s
        port: 9000
      environmentVariables:
        ECHO_NAME: %s
%s%s      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: %s
            methods: %s
            disableURLInternet: %v
`, o.service, o.name, o.code, o.timeout, o.concurrency, o.command, o.name, envLines(o.env), o.props, o.auth, o.methods, o.disable)
	if o.authConfig != "" {
		yaml += "            authConfig: " + o.authConfig + "\n"
	}
	return s.cli("deploy", "-f", writeYAML(s.t, yaml))
}

// envLines are s.yaml environmentVariables lines for env, sorted.
func envLines(env map[string]string) string {
	keys := slices.Sorted(maps.Keys(env))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "        %s: %s\n", k, env[k])
	}
	return b.String()
}

func (s *server) getEcho(path string, header http.Header) echoReply {
	s.t.Helper()
	resp, body := s.do("GET", path, nil, header)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var r echoReply
	if err := json.Unmarshal(body, &r); err != nil {
		s.t.Fatalf("GET %s: not echo JSON: %s", path, body)
	}
	return r
}

func TestExpressExample(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot(), "examples/express-hello/code/node_modules/express")); err != nil {
		t.Fatalf("examples/express-hello/code/node_modules is missing: run `npm ci` there (make test does): %v", err)
	}
	s := startServer(t, "")
	out := s.cli("deploy", "-f", "examples/express-hello/s.yaml")
	wantURL := s.URL + "/2016-08-15/proxy/demo/express-hello/"
	if !strings.Contains(out, wantURL) {
		t.Fatalf("deploy output does not print the trigger URL %s:\n%s", wantURL, out)
	}

	resp, body := s.do("GET", "/2016-08-15/proxy/demo/express-hello/any/path?x=1&y=two", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Query   map[string]string `json:"query"`
		Headers map[string]string `json:"headers"`
		Env     map[string]string `json:"env"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET body: %v: %s", err, body)
	}
	if got.Method != "GET" || got.Path != "/any/path" || got.Query["x"] != "1" || got.Query["y"] != "two" {
		t.Errorf("app saw %s %s %v; want GET /any/path x=1 y=two", got.Method, got.Path, got.Query)
	}
	reqID := resp.Header.Get("X-Fc-Request-Id")
	if reqID == "" || got.Headers["x-fc-request-id"] != reqID {
		t.Errorf("X-Fc-Request-Id %q, app saw %q", reqID, got.Headers["x-fc-request-id"])
	}
	for k, want := range map[string]string{
		"x-fc-function-name": "express-hello", "x-fc-service-name": "demo", "x-fc-control-path": "/http-invoke",
		"x-fc-base-path": "/2016-08-15/proxy/demo/express-hello/", "x-fc-qualifier": "LATEST", "x-fc-region": "cn-hangzhou",
		"x-fc-account-id": accountID, "x-fc-function-memory": "512", "x-fc-function-timeout": "30",
	} {
		if got.Headers[k] != want {
			t.Errorf("header %s = %q; want %q", k, got.Headers[k], want)
		}
	}
	if got.Env["FC_FUNCTION_NAME"] != "express-hello" || got.Env["FC_SERVICE_NAME"] != "demo" || got.Env["FC_CUSTOM_LISTEN_PORT"] != "9000" || got.Env["FC_INSTANCE_ID"] == "" {
		t.Errorf("app env = %v", got.Env)
	}

	payload := `{"hello":"world","n":[1,2,3]}`
	resp, body = s.do("POST", "/2016-08-15/proxy/demo/express-hello/items", strings.NewReader(payload), http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != 200 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	var posted struct {
		Received    map[string]any `json:"received"`
		ContentType string         `json:"contentType"`
	}
	if err := json.Unmarshal(body, &posted); err != nil {
		t.Fatalf("POST body: %v: %s", err, body)
	}
	if posted.Received["hello"] != "world" || fmt.Sprint(posted.Received["n"]) != "[1 2 3]" {
		t.Errorf("app received %v; want %s", posted.Received, payload)
	}

	// Node closes a kept-alive connection after 5 s idle (keepAliveTimeout);
	// the next POST must not be sent on the connection openfc pooled and
	// fail (a body is never replayed): openfc notices the close first.
	time.Sleep(7 * time.Second) // Node closes it at 5-6 s
	resp, body = s.do("POST", "/2016-08-15/proxy/demo/express-hello/items", strings.NewReader(payload), http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"hello":"world"`) {
		t.Fatalf("POST after Node closed the idle connection: %d %s", resp.StatusCode, body)
	}

	// PUT is not among the trigger's methods.
	resp, body = s.do("PUT", "/2016-08-15/proxy/demo/express-hello/", nil, nil)
	if resp.StatusCode != 403 || resp.Header.Get("X-Fc-Error-Type") != "FcCommonError" {
		t.Errorf("PUT: %d %s; want 403 FcCommonError", resp.StatusCode, body)
	}
	decodeError(t, resp, body)
}

func TestNotFound(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "nf", name: "echo"})
	// A function without an HTTP trigger.
	s.cli("deploy", "-f", writeYAML(t, fmt.Sprintf(`edition: 3.0.0
name: nf
resources:
  f:
    component: fc3
    props: {functionName: notrigger, runtime: custom.debian10, code: %s, customRuntimeConfig: {command: [python3, server.py]}}
`, filepath.Join(repoRoot(), "test/e2e/testdata/pyecho"))))
	for _, tc := range []struct{ path, code string }{
		{"/2016-08-15/proxy/nope/echo/", "ServiceNotFound"},
		{"/2016-08-15/proxy/nf/nope/", "FunctionNotFound"},
		{"/2016-08-15/proxy/nf/notrigger/", "TriggerNotFound"},
		{"/2016-08-15/proxy/nf.prod/echo/", "AliasNotFound"},
	} {
		resp, body := s.do("GET", tc.path, nil, nil)
		e := decodeError(t, resp, body)
		if resp.StatusCode != 404 || e.ErrorCode != tc.code || resp.Header.Get("X-Fc-Error-Type") != "FcCommonError" {
			t.Errorf("GET %s: %d %s %s; want 404 %s", tc.path, resp.StatusCode, e.ErrorCode, resp.Header.Get("X-Fc-Error-Type"), tc.code)
		}
	}
}

func writeYAML(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Two functions both hard-code port 9000 and run at the same time, each in
// its own network namespace.
func TestTwoFunctionsOnPort9000(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "ports", name: "one"})
	s.deployEcho(echoOpts{service: "ports", name: "two"})
	a := s.getEcho("/2016-08-15/proxy/ports/one/", nil)
	b := s.getEcho("/2016-08-15/proxy/ports/two/", nil)
	if a.Name != "one" || b.Name != "two" || a.PID == b.PID {
		t.Fatalf("got %q (pid %d) and %q (pid %d); want one and two from different processes", a.Name, a.PID, b.Name, b.PID)
	}
	// Both still alive and answering, interleaved.
	for i := 0; i < 5; i++ {
		if r := s.getEcho("/2016-08-15/proxy/ports/one/x", nil); r.Name != "one" || r.PID != a.PID {
			t.Fatalf("one answered %q pid %d; want the warm instance %d", r.Name, r.PID, a.PID)
		}
		if r := s.getEcho("/2016-08-15/proxy/ports/two/x", nil); r.Name != "two" || r.PID != b.PID {
			t.Fatalf("two answered %q pid %d; want the warm instance %d", r.Name, r.PID, b.PID)
		}
	}
}

// instanceConcurrency 1: concurrent requests never share an instance.
func TestConcurrencyLimit(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "conc", name: "one"})
	var wg sync.WaitGroup
	pids := make(chan int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := s.do("GET", "/2016-08-15/proxy/conc/one/sleep?ms=600", nil, nil)
			if resp.StatusCode != 200 {
				t.Errorf("status %d: %s", resp.StatusCode, body)
				return
			}
			var r echoReply
			json.Unmarshal(body, &r)
			pids <- r.PID
		}()
	}
	wg.Wait()
	close(pids)
	seen := map[int]int{}
	for p := range pids {
		seen[p]++
	}
	// With 4 overlapping 600 ms requests and concurrency 1, more than one
	// instance must have served.
	if len(seen) < 2 {
		t.Fatalf("4 concurrent requests were served by %d instance(s): %v", len(seen), seen)
	}
}

func TestCrashGives502ThenRecovers(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "crash", name: "echo"})
	first := s.getEcho("/2016-08-15/proxy/crash/echo/", nil)
	resp, body := s.do("GET", "/2016-08-15/proxy/crash/echo/crash", nil, nil)
	e := decodeError(t, resp, body)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
		t.Fatalf("crash: %d %s %s; want 502 UnhandledInvocationError", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	if !strings.Contains(e.ErrorMessage, "exited unexpectedly") || !strings.Contains(e.ErrorMessage, "exit status 3") {
		t.Errorf("crash message %q does not say the process exited with status 3", e.ErrorMessage)
	}
	next := s.getEcho("/2016-08-15/proxy/crash/echo/", nil)
	if next.PID == first.PID {
		t.Fatalf("after the crash the same pid %d answered", next.PID)
	}
}

func TestFunctionNotStarted(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "ns", name: "exits", command: `[sh, -c, "echo boom-before-listen; exit 7"]`})
	resp, body := s.do("GET", "/2016-08-15/proxy/ns/exits/", nil, nil)
	e := decodeError(t, resp, body)
	if e.ErrorCode != "FunctionNotStarted" || !strings.Contains(e.ErrorMessage, "boom-before-listen") {
		t.Fatalf("got %d %s %q; want FunctionNotStarted with the output tail", resp.StatusCode, e.ErrorCode, e.ErrorMessage)
	}
	if resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
		t.Errorf("X-Fc-Error-Type = %q", resp.Header.Get("X-Fc-Error-Type"))
	}
}

func TestRestartKeepsFunctions(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	s.deployEcho(echoOpts{service: "keep", name: "echo"})
	r := s.getEcho("/2016-08-15/proxy/keep/echo/a", nil)
	s.stop()
	if pids := processesWithEnv("FC_INSTANCE_ID=" + r.Env["FC_INSTANCE_ID"]); len(pids) > 0 {
		t.Fatalf("instance processes %v outlived the server", pids)
	}
	s2 := startServer(t, dir)
	r2 := s2.getEcho("/2016-08-15/proxy/keep/echo/b", nil)
	if r2.Name != "echo" || r2.Path != "/b" {
		t.Fatalf("after restart got %+v", r2)
	}
	out := s2.cli("functions", "list", "keep")
	if !strings.Contains(out, "echo") {
		t.Fatalf("functions list after restart:\n%s", out)
	}
}

// SIGTERM waits for in-flight requests, then stops every instance.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "drain", name: "echo"})
	r := s.getEcho("/2016-08-15/proxy/drain/echo/", nil)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(s.URL + "/2016-08-15/proxy/drain/echo/sleep?ms=1500")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	time.Sleep(300 * time.Millisecond)
	s.stop()
	res := <-done
	if res.err != nil || res.status != 200 {
		t.Fatalf("in-flight request during shutdown: status %d err %v; want 200", res.status, res.err)
	}
	if pids := processesWithEnv("FC_INSTANCE_ID=" + r.Env["FC_INSTANCE_ID"]); len(pids) > 0 {
		t.Fatalf("instance processes %v outlived the server", pids)
	}
}

func TestRedeployUpdatesInPlace(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "upd", name: "echo", methods: "[GET]"})
	a := s.getEcho("/2016-08-15/proxy/upd/echo/", nil)
	if resp, _ := s.do("POST", "/2016-08-15/proxy/upd/echo/", nil, nil); resp.StatusCode != 403 {
		t.Fatalf("POST before redeploy: %d; want 403", resp.StatusCode)
	}
	s.deployEcho(echoOpts{service: "upd", name: "echo", methods: "[GET, POST]", concurrency: 5})
	resp, body := s.do("POST", "/2016-08-15/proxy/upd/echo/", strings.NewReader("x"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("POST after redeploy: %d %s", resp.StatusCode, body)
	}
	var b echoReply
	json.Unmarshal(body, &b)
	if b.PID == a.PID {
		t.Errorf("the changed configuration is still served by the old instance %d", a.PID)
	}
	out := s.cli("functions", "get", "upd/echo")
	if !strings.Contains(out, "instanceConcurrency: 5") {
		t.Errorf("functions get after redeploy:\n%s", out)
	}
}
