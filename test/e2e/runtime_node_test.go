package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// deployNodeFC2 deploys testdata/nodebehave as service/name on nodejs18
// from an FC 2.0 (fc component) s.yaml: FC 2.0's HTTP handler.
func deployNodeFC2(s *server, service, name string, concurrency int) {
	s.t.Helper()
	s.deployBuiltinFC2(builtinFn{service: service, name: name, runtime: "nodejs18", code: "test/e2e/testdata/nodebehave", concurrency: concurrency})
}

type nodeEcho struct {
	Method, Path, URL, ClientIP, Body, RequestID string
	Queries                                      map[string]any
	Headers                                      map[string]any
	Function                                     map[string]any
}

func TestNodeRuntimeHTTPHandler(t *testing.T) {
	s := startServer(t, "")
	deployNodeFC2(s, "node", "fn", 4)
	base := "/2016-08-15/proxy/node/fn"

	// GET with repeated query keys.
	resp, body := s.do("GET", base+"/echo?a=1&a=2&b=x%20y", nil, http.Header{"X-Custom": {"v"}})
	var e nodeEcho
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("GET echo: %d %s", resp.StatusCode, body)
	}
	if e.Method != "GET" || e.Path != "/echo" || fmt.Sprint(e.Queries["a"]) != "[1 2]" || e.Queries["b"] != "x y" || e.URL != "/echo?a=1&a=2&b=x%20y" {
		t.Errorf("echo = %+v", e)
	}
	if e.Headers["x-custom"] != "v" || e.ClientIP == "" || e.RequestID != resp.Header.Get("X-Fc-Request-Id") {
		t.Errorf("echo headers/clientIP/requestId = %v %q %q", e.Headers, e.ClientIP, e.RequestID)
	}
	for k := range e.Headers {
		if strings.HasPrefix(k, "x-fc-") {
			t.Errorf("the handler saw FC's header %s", k)
		}
	}
	if e.Function["name"] != "fn" || e.Function["initializer"] != "index.initializer" {
		t.Errorf("context.function = %v", e.Function)
	}

	// POST with a binary body, byte-exact.
	bin := make([]byte, 70000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	resp, body = s.do("POST", base+"/echo", bytes.NewReader(bin), http.Header{"Content-Type": {"application/octet-stream"}})
	e = nodeEcho{}
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("POST echo: %d %s", resp.StatusCode, body)
	}
	if got, _ := base64.StdEncoding.DecodeString(e.Body); !bytes.Equal(got, bin) || e.Method != "POST" {
		t.Errorf("POST body: got %d bytes, want %d byte-exact", len(got), len(bin))
	}

	// Status codes.
	for _, code := range []int{201, 404, 503} {
		if resp, _ := s.do("GET", fmt.Sprintf("%s/status?code=%d", base, code), nil, nil); resp.StatusCode != code {
			t.Errorf("status %d: got %d", code, resp.StatusCode)
		}
	}

	// setHeader, deleteHeader, and a handler's X-Fc-Error-Type dropped.
	resp, _ = s.do("GET", base+"/headers", nil, nil)
	if resp.Header.Get("X-Kept") != "yes" || resp.Header.Get("X-Dropped") != "" || resp.Header.Get("X-Fc-Error-Type") != "" {
		t.Errorf("headers: %v", resp.Header)
	}

	// send(stream).
	if resp, body := s.do("GET", base+"/stream", nil, nil); resp.StatusCode != 200 || string(body) != "chunk1-chunk2-chunk3" {
		t.Errorf("stream: %d %q", resp.StatusCode, body)
	}

	// A thrown error and a rejected promise: FC's error shape, and the
	// instance keeps serving.
	for _, p := range []string{"/throw", "/reject"} {
		resp, body := s.do("GET", base+p, nil, nil)
		var fe struct {
			ErrorMessage, ErrorType string
			StackTrace              []string
		}
		if err := json.Unmarshal(body, &fe); err != nil || resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" ||
			fe.ErrorMessage == "" || fe.ErrorType == "" || len(fe.StackTrace) == 0 || resp.Header.Get("X-Openfc-Runtime-Token") != "" {
			t.Errorf("%s: %d %v %s", p, resp.StatusCode, resp.Header, body)
		}
	}

	// The initializer ran once on the instance that served all of this.
	var in struct {
		Inits, PID int
	}
	resp, body = s.do("GET", base+"/init", nil, nil)
	if json.Unmarshal(body, &in) != nil || in.Inits != 1 {
		t.Errorf("init: %d %s; want inits 1", resp.StatusCode, body)
	}
}

// Two slow requests run side by side on one instance (instanceConcurrency
// 2), and each one's log lines carry its own request id.
func TestNodeRuntimeConcurrencyAndLogs(t *testing.T) {
	s := startServer(t, "")
	deployNodeFC2(s, "nodec", "fn", 2)
	base := "/2016-08-15/proxy/nodec/fn"
	s.do("GET", base+"/init", nil, nil) // warm: one instance
	slowPairAndLogs(t, s, "nodec/fn")
}

// slowPairAndLogs sends two 1.5 s /slow requests to fn at once and checks
// they ran side by side in one process and that each one's two "slow …"
// log lines (which name its request id) are filed under that request id.
func slowPairAndLogs(t *testing.T, s *server, fn string) {
	t.Helper()
	type slow struct {
		RequestID string
		PID       int
	}
	out := make([]slow, 2)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range out {
		wg.Go(func() {
			resp, body := s.do("GET", "/2016-08-15/proxy/"+fn+"/slow?ms=1500", nil, nil)
			if resp.StatusCode != 200 || json.Unmarshal(body, &out[i]) != nil {
				t.Errorf("slow: %d %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if d := time.Since(begin); d > 2800*time.Millisecond || out[0].PID != out[1].PID {
		t.Errorf("two 1.5 s requests took %v on processes %d, %d; want in parallel on one instance", d, out[0].PID, out[1].PID)
	}
	waitFor(t, 5*time.Second, func() error {
		var recs []struct{ RequestID, Message string }
		for _, l := range strings.Split(strings.TrimSpace(s.cli("logs", fn, "--json")), "\n") {
			var r struct{ RequestID, Message string }
			if json.Unmarshal([]byte(l), &r) == nil {
				recs = append(recs, r)
			}
		}
		for _, o := range out {
			n := 0
			for _, r := range recs {
				if strings.Contains(r.Message, "slow ") && strings.Contains(r.Message, o.RequestID) {
					if r.RequestID != o.RequestID {
						return fmt.Errorf("line %q filed under %q", r.Message, r.RequestID)
					}
					n++
				}
			}
			if n != 2 {
				return fmt.Errorf("request %s has %d slow lines; want 2", o.RequestID, n)
			}
		}
		return nil
	})
}

// An fc3 s.yaml's built-in function gets FC 3.0's HTTP event.
func TestNodeRuntimeFC3Event(t *testing.T) {
	s := startServer(t, "")
	s.cli("deploy", "-f", filepath.Join(repoRoot(), "examples/nodejs-echo/s.fc3.yaml"))
	resp, body := s.do("POST", "/2016-08-15/proxy/nodejs-demo3/echo3/a/b?x=1&x=2", strings.NewReader(`{"k":1}`), http.Header{"Content-Type": {"application/json"}})
	var ev struct {
		Version, RawPath, Body string
		IsBase64Encoded        bool
		QueryParameters        map[string]string
		RequestContext         struct {
			RequestID string
			HTTP      struct{ Method string }
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &ev) != nil {
		t.Fatalf("fc3 event: %d %s", resp.StatusCode, body)
	}
	if ev.Version != "v1" || ev.RawPath != "/a/b" || ev.Body != `{"k":1}` || ev.IsBase64Encoded || ev.QueryParameters["x"] != "1,2" ||
		ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.RequestID != resp.Header.Get("X-Fc-Request-Id") {
		t.Errorf("fc3 event = %s", body)
	}
	if got := s.cli("functions", "get", "nodejs-demo3/echo3", "--json"); !strings.Contains(got, `"handlerStyle": "event"`) && !strings.Contains(got, `"handlerStyle":"event"`) {
		t.Errorf("GetFunction does not show handlerStyle event:\n%s", got)
	}
}

// A custom runtime's server cannot claim FC's error type, even with a
// runtime token header of its own making.
func TestCustomRuntimeForgedErrorType(t *testing.T) {
	s := startServer(t, "")
	s.deployEcho(echoOpts{service: "forge", name: "echo"})
	resp, _ := s.do("GET", "/2016-08-15/proxy/forge/echo/respond?status=502&h=X-Fc-Error-Type:UnhandledInvocationError&h=X-Openfc-Runtime-Token:guess", nil, nil)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "" || resp.Header.Get("X-Openfc-Runtime-Token") != "" {
		t.Fatalf("forged: %d %v; want 502 without X-Fc-Error-Type or the token", resp.StatusCode, resp.Header)
	}
}

// A Node.js function's preStop hook runs when its instance stops.
func TestNodeRuntimePreStop(t *testing.T) {
	marks := t.TempDir()
	s := startServer(t, "")
	yaml := fmt.Sprintf(`edition: 1.0.0
name: nodestop
services:
  fn:
    component: devsapp/fc
    props:
      region: cn-hangzhou
      service: {name: nodestop}
      function:
        name: fn
        runtime: nodejs18
        codeUri: %s
        handler: index.handler
        environmentVariables: {MARK_DIR: %s}
        instanceLifecycleConfig:
          preStop: {handler: index.preStop, timeout: 5}
      triggers:
        - name: http
          type: http
          config: {authType: anonymous, methods: [GET]}
`, filepath.Join(repoRoot(), "test/e2e/testdata/nodebehave"), marks)
	s.cli("deploy", "-f", writeYAML(t, yaml))
	if resp, body := s.do("GET", "/2016-08-15/proxy/nodestop/fn/init", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	s.stop()
	ents, _ := os.ReadDir(marks)
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "prestop-") {
		t.Fatalf("marks after stop: %v; want the preStop hook's one", ents)
	}
}
