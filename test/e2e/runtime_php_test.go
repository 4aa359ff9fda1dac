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

// phpEnv points the server at Debian's php, which has pcntl and Guzzle's
// PSR-7 (php-cli php-guzzlehttp-psr7).
func phpEnv(t *testing.T) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		t.Fatalf("php is needed (apt-get install php-cli php-guzzlehttp-psr7): %v", err)
	}
	return "OPENFC_PHP=" + php
}

// deployPHP deploys internal/runtimes/php/testdata (the bootstrap tests'
// handlers) as an FC 2.0 function with an initializer.
func deployPHP(s *server, service, name string, concurrency int) {
	s.t.Helper()
	s.deployBuiltinFC2(builtinFn{service: service, name: name, runtime: "php7.2", code: "internal/runtimes/php/testdata", concurrency: concurrency})
}

// The example's echo, deployed from its FC 2.0 s.yaml: repeated query
// keys, a binary body byte-exact.
func TestPHPRuntimeEcho(t *testing.T) {
	s := startServerEnv(t, "", []string{phpEnv(t)})
	s.cli("deploy", "-f", filepath.Join(repoRoot(), "examples/php-echo/s.yaml"))
	resp, body := s.do("GET", "/2016-08-15/proxy/php-demo/echo/a/b?x=1&x=2&y=3", nil, nil)
	var e struct {
		Method, Path, Body, BodyEncoding, URL string
		Queries                               map[string]any
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	if e.Method != "GET" || e.Path != "/a/b" || fmt.Sprint(e.Queries["x"]) != "[1 2]" || e.Queries["y"] != "3" {
		t.Errorf("GET echoed %+v", e)
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80}
	resp, body = s.do("POST", "/2016-08-15/proxy/php-demo/echo/up", bytes.NewReader(bin), nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got, _ := base64.StdEncoding.DecodeString(e.Body); e.BodyEncoding != "base64" || !bytes.Equal(got, bin) {
		t.Errorf("POST body %q (%s); want %x byte-exact", e.Body, e.BodyEncoding, bin)
	}
}

// Status codes and repeated header values; an exception and a PHP error
// answer FC's 502 shape and the instance keeps serving; the initializer
// ran once for the instance's workers; two slow requests run in parallel
// on one instance, each log line filed under its own request id.
func TestPHPRuntimeErrorsConcurrencyLogs(t *testing.T) {
	s := startServerEnv(t, "", []string{phpEnv(t)})
	deployPHP(s, "phpb", "fn", 2)
	base := "/2016-08-15/proxy/phpb/fn"
	first := s.getOK(base + "/")
	resp, body := s.do("GET", base+"/echo?status=201", nil, nil)
	if resp.StatusCode != 201 || strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" {
		t.Errorf("echo: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	for path, typ := range map[string]string{"/boom": "InvalidArgumentException", "/fatal": "Error"} {
		resp, body := s.do("GET", base+path, nil, nil)
		var e struct{ ErrorMessage, ErrorType string }
		json.Unmarshal(body, &e)
		if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || e.ErrorType != typ || e.ErrorMessage == "" {
			t.Fatalf("%s: %d %q %s", path, resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
		}
		if resp.Header.Get("X-Openfc-Runtime-Token") != "" {
			t.Errorf("the runtime token reached the client")
		}
		if again := s.getOK(base + "/"); again != first {
			t.Errorf("after %s %q answered; want the same instance %q", path, again, first)
		}
	}
	s.initializedOnce(t, base)
	slowPairAndLogs(t, s, "phpb/fn")
}

// An fc3 s.yaml's PHP function gets FC 3.0's HTTP event.
func TestPHPRuntimeFC3Event(t *testing.T) {
	s := startServerEnv(t, "", []string{phpEnv(t)})
	s.deployBuiltinFC3(builtinFn{service: "phpev", name: "ev", runtime: "php7.2", code: "internal/runtimes/php/testdata", handler: "index.event"})
	resp, body := s.do("GET", "/2016-08-15/proxy/phpev/ev/p/q?k=v", nil, nil)
	var ev struct {
		RawPath, Method string
		Queries         map[string]string
	}
	if resp.StatusCode != 201 || resp.Header.Get("X-Style") != "event" || json.Unmarshal(body, &ev) != nil || ev.RawPath != "/p/q" || ev.Method != "GET" || ev.Queries["k"] != "v" {
		t.Fatalf("event style: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}
