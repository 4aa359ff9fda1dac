package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonEnv points the server at the Debian interpreter, which has Flask
// (python3-flask), whatever python3 comes first in PATH.
func pythonEnv(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatalf("/usr/bin/python3 is needed (apt-get install python3 python3-flask): %v", err)
	}
	if out, err := exec.Command(py, "-c", "import flask").CombinedOutput(); err != nil {
		t.Fatalf("Flask is needed for the Python runtime tests (apt-get install python3-flask): %v\n%s", err, out)
	}
	return "OPENFC_PYTHON=" + py
}

// deployPy deploys testdata/pybehave as an FC 2.0 function of handler
// style http (the fc component) with an initializer.
func deployPy(s *server, service, name string, concurrency int) {
	s.t.Helper()
	s.deployBuiltinFC2(builtinFn{service: service, name: name, runtime: "python3.10", code: "test/e2e/testdata/pybehave", concurrency: concurrency})
}

// The example's WSGI echo and Flask echo, deployed from its FC 2.0 s.yaml:
// repeated query keys, a binary body byte-exact.
func TestPythonRuntimeEcho(t *testing.T) {
	s := startServerEnv(t, "", []string{pythonEnv(t)})
	s.cli("deploy", "-f", filepath.Join(repoRoot(), "examples/python-echo/s.yaml"))
	for _, fn := range []string{"echo", "echo-flask"} {
		resp, body := s.do("GET", "/2016-08-15/proxy/python-demo/"+fn+"/a/b?x=1&x=2&y=3", nil, nil)
		var e struct {
			Method, Path, Body, BodyEncoding string
			Queries                          map[string]any
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
			t.Fatalf("%s GET: %d %s", fn, resp.StatusCode, body)
		}
		if e.Method != "GET" || e.Path != "/a/b" || fmt.Sprint(e.Queries["x"]) != "[1 2]" || e.Queries["y"] != "3" {
			t.Errorf("%s GET echoed %+v", fn, e)
		}
		bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80}
		resp, body = s.do("POST", "/2016-08-15/proxy/python-demo/"+fn+"/up", bytes.NewReader(bin), nil)
		if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
			t.Fatalf("%s POST: %d %s", fn, resp.StatusCode, body)
		}
		got, _ := base64.StdEncoding.DecodeString(e.Body)
		if e.BodyEncoding != "base64" || !bytes.Equal(got, bin) {
			t.Errorf("%s POST body %q (%s); want %x byte-exact", fn, e.Body, e.BodyEncoding, bin)
		}
	}
}

// An exception answers FC's 502 shape and the instance keeps serving; the
// initializer ran once; two slow requests run in parallel on one
// instance, each log line filed under its own request id.
func TestPythonRuntimeErrorsConcurrencyLogs(t *testing.T) {
	s := startServerEnv(t, "", []string{pythonEnv(t)})
	deployPy(s, "pyb", "fn", 2)
	base := "/2016-08-15/proxy/pyb/fn"
	first := s.getOK(base + "/")
	resp, body := s.do("GET", base+"/boom", nil, nil)
	var e struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(body, &e)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || e.ErrorType != "ValueError" || !strings.Contains(e.ErrorMessage, "boom from the handler") {
		t.Fatalf("exception: %d %q %s", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	if resp.Header.Get("X-Openfc-Runtime-Token") != "" {
		t.Errorf("the runtime token reached the client")
	}
	if again := s.getOK(base + "/"); again != first {
		t.Errorf("after the exception %q answered; want the same instance %q", again, first)
	}
	resp, body = s.do("GET", base+"/status?code=418", nil, nil)
	if resp.StatusCode != 418 || resp.Header.Get("X-Set") != "yes" || strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" || string(body) != "status" {
		t.Errorf("status and headers: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	s.initializedOnce(t, base)
	slowPairAndLogs(t, s, "pyb/fn")
}

// An fc3 s.yaml's Python function gets FC 3.0's HTTP event.
func TestPythonRuntimeFC3Event(t *testing.T) {
	s := startServerEnv(t, "", []string{pythonEnv(t)})
	s.deployBuiltinFC3(builtinFn{service: "pyev", name: "ev", runtime: "python3.10", code: "test/e2e/testdata/pybehave", handler: "index.event"})
	resp, body := s.do("GET", "/2016-08-15/proxy/pyev/ev/p/q?k=v", nil, nil)
	var ev struct {
		RawPath, Method string
		Queries         map[string]string
	}
	if resp.StatusCode != 201 || resp.Header.Get("X-Style") != "event" || json.Unmarshal(body, &ev) != nil || ev.RawPath != "/p/q" || ev.Method != "GET" || ev.Queries["k"] != "v" {
		t.Fatalf("event style: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}
