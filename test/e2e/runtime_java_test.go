package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildJavaJar compiles sources (paths under the repository) against
// openfc's com.aliyun.fc.runtime interfaces and Debian's servlet API, as a
// user's build against fc-java-core would, into dir/<name>.jar.
func buildJavaJar(t *testing.T, dir, name string, sources ...string) {
	t.Helper()
	servlet := "/usr/share/java/servlet-api.jar"
	if _, err := exec.LookPath("javac"); err != nil {
		t.Fatalf("javac is needed (apt-get install default-jdk-headless): %v", err)
	}
	if _, err := os.Stat(servlet); err != nil {
		t.Fatalf("the servlet API is needed (apt-get install libservlet-api-java): %v", err)
	}
	ifaces, _ := filepath.Glob(filepath.Join(repoRoot(), "internal/runtimes/java/src/com/aliyun/fc/runtime/*.java"))
	classes := t.TempDir()
	args := []string{"--release", "11", "-d", classes, "-cp", servlet}
	args = append(args, ifaces...)
	for _, s := range sources {
		args = append(args, filepath.Join(repoRoot(), s))
	}
	if out, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	// The jar holds the user's classes only: FC provides com.aliyun.fc.runtime.
	os.RemoveAll(filepath.Join(classes, "com"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("jar", "cf", filepath.Join(dir, name+".jar"), "-C", classes, ".").CombinedOutput(); err != nil {
		t.Fatalf("jar: %v\n%s", err, out)
	}
}

// The example's echo, deployed from its FC 2.0 s.yaml with the jar built
// next to it: repeated query keys, a binary body byte-exact, the client IP.
func TestJavaRuntimeEcho(t *testing.T) {
	dir := t.TempDir()
	buildJavaJar(t, filepath.Join(dir, "target"), "echo", "examples/java-echo/src/example/App.java")
	yaml, err := os.ReadFile(filepath.Join(repoRoot(), "examples/java-echo/s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "s.yaml"), yaml, 0o644)
	s := startServer(t, "")
	s.cli("deploy", "-f", filepath.Join(dir, "s.yaml"))
	resp, body := s.do("GET", "/2016-08-15/proxy/java-demo/echo/a/b?x=1&x=2&y=3", nil, nil)
	var e struct {
		Method, Path, Body, BodyEncoding, URL, ClientIP, RequestID string
		Queries                                                    map[string]any
		Headers                                                    map[string]string
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	if e.Method != "GET" || e.Path != "/a/b" || fmt.Sprint(e.Queries["x"]) != "[1 2]" || e.Queries["y"] != "3" || e.ClientIP == "" || e.RequestID == "" || !strings.HasSuffix(e.URL, "/a/b") {
		t.Errorf("GET echoed %s", body)
	}
	for h := range e.Headers {
		if strings.HasPrefix(h, "x-fc-") {
			t.Errorf("the handler saw FC's header %s", h)
		}
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80}
	resp, body = s.do("POST", "/2016-08-15/proxy/java-demo/echo/up", bytes.NewReader(bin), nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &e) != nil {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	got, _ := base64.StdEncoding.DecodeString(e.Body)
	if e.BodyEncoding != "base64" || !bytes.Equal(got, bin) {
		t.Errorf("POST body %q (%s); want %x byte-exact", e.Body, e.BodyEncoding, bin)
	}
}

// Status codes and headers set and deleted; an exception answers FC's 502
// shape and the instance keeps serving; the initializer ran once; two slow
// requests run in parallel on one instance, each log line filed under its
// own request id.
func TestJavaRuntimeErrorsConcurrencyLogs(t *testing.T) {
	dir := t.TempDir()
	buildJavaJar(t, dir, "behave", "test/e2e/testdata/javabehave/behave/Behave.java")
	s := startServer(t, "")
	s.deployBuiltinFC2(builtinFn{service: "jb", name: "fn", runtime: "java8", code: dir,
		handler: "behave.Behave::handleRequest", initializer: "behave.Behave::initialize", concurrency: 2, memory: 512})
	base := "/2016-08-15/proxy/jb/fn"
	first := s.getOK(base + "/")

	resp, _ := s.do("GET", base+"/status?code=418", nil, nil)
	if resp.StatusCode != 418 || resp.Header.Get("X-Kept") != "yes" || resp.Header.Get("X-Dropped") != "" || strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" {
		t.Errorf("status: %d %v", resp.StatusCode, resp.Header)
	}

	resp, body := s.do("GET", base+"/boom", nil, nil)
	var e struct {
		ErrorMessage, ErrorType string
		StackTrace              []string
	}
	json.Unmarshal(body, &e)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || e.ErrorType != "java.lang.IllegalStateException" || e.ErrorMessage != "boom from the handler" || len(e.StackTrace) == 0 || !strings.Contains(e.StackTrace[0], "behave.Behave.handleRequest") {
		t.Fatalf("exception: %d %q %s", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	if resp.Header.Get("X-Openfc-Runtime-Token") != "" {
		t.Errorf("the runtime token reached the client")
	}
	if again := s.getOK(base + "/"); again != first {
		t.Errorf("after the exception %q answered; want the same instance %q", again, first)
	}
	s.initializedOnce(t, base)
	slowPairAndLogs(t, s, "jb/fn")
}

// FC 3.0's event style: a StreamRequestHandler deployed from an fc3
// s.yaml gets the HTTP request as the event JSON and answers with
// {statusCode, headers, body}; its exception is FC's 502 shape.
func TestJavaRuntimeFC3Event(t *testing.T) {
	dir := t.TempDir()
	buildJavaJar(t, dir, "event", "test/e2e/testdata/javaevent/event/Echo.java")
	s := startServer(t, "")
	s.deployBuiltinFC3(builtinFn{service: "jev", name: "jev", runtime: "java11", code: dir, handler: "event.Echo::handleRequest", memory: 512})
	resp, body := s.do("GET", "/2016-08-15/proxy/jev/jev/p/q?k=v&k=w", nil, nil)
	var ev struct{ RawPath, Method, K, Version, RequestID string }
	if resp.StatusCode != 201 || resp.Header.Get("X-Style") != "event" || json.Unmarshal(body, &ev) != nil {
		t.Fatalf("event style: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if ev.RawPath != "/p/q" || ev.Method != "GET" || ev.K != "v,w" || ev.Version != "v1" || ev.RequestID == "" {
		t.Errorf("the event carried %s", body)
	}
	resp, body = s.do("GET", "/2016-08-15/proxy/jev/jev/boom", nil, nil)
	var e struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(body, &e)
	if resp.StatusCode != 502 || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || e.ErrorType != "java.lang.IllegalStateException" || e.ErrorMessage != "boom from the event handler" {
		t.Errorf("exception: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}
