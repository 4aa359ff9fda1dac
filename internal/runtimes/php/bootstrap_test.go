package php

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoed is what testdata/index.php's /echo answers.
type echoed struct {
	Method, Path, Body, URL, ClientIP string
	Queries                           map[string]any
	Headers                           map[string][]string
	Context                           struct {
		RequestID   string
		Credentials struct{ AccessKeyID string }
		Function    struct {
			Name, Handler string
			Memory        int
		}
		Service struct{ Name, Qualifier string }
		Region  string
	}
}

func TestPSR7Request(t *testing.T) {
	t.Parallel()
	in := start(t, "index.handler")
	bin := make([]byte, 70000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	resp, b := in.Do(t, http.MethodPost, "/echo?x=1&x=2&y=3&status=201", "req-1", bin,
		"X-Fc-Access-Key-Id", "AK", "X-Custom", "v", "X-Forwarded-For", "10.1.2.3", "X-Fc-Qualifier", "prod")
	var e echoed
	if resp.StatusCode != 201 || json.Unmarshal(b, &e) != nil {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if e.Method != "POST" || e.Path != "/echo" || e.URL != "/echo?x=1&x=2&y=3&status=201" || e.ClientIP != "10.1.2.3" {
		t.Errorf("echoed %+v", e)
	}
	if got, _ := json.Marshal(e.Queries["x"]); string(got) != `["1","2"]` || e.Queries["y"] != "3" {
		t.Errorf("queries %v", e.Queries)
	}
	if body := decode64(t, e.Body); !bytes.Equal(body, bin) {
		t.Errorf("body of %d bytes, not byte-exact", len(body))
	}
	if len(e.Headers["X-Custom"]) != 1 || e.Headers["X-Custom"][0] != "v" {
		t.Errorf("headers %v", e.Headers)
	}
	for k := range e.Headers {
		if strings.HasPrefix(strings.ToLower(k), "x-fc-") {
			t.Errorf("FC's header %s reached the handler", k)
		}
	}
	c := e.Context
	if c.RequestID != "req-1" || c.Credentials.AccessKeyID != "AK" || c.Function.Name != "fn" || c.Function.Handler != "index.handler" ||
		c.Function.Memory != 128 || c.Service.Name != "svc" || c.Service.Qualifier != "prod" || c.Region != "cn-test" {
		t.Errorf("context %+v", c)
	}
	if got := resp.Header.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("X-Multi %v; want two header lines a, b", got)
	}
}

// A thrown exception and a PHP error answer FC's 502 shape on the
// trusted channel; the instance keeps serving.
func TestErrors(t *testing.T) {
	t.Parallel()
	in := start(t, "index.handler", "FC_INSTANCE_CONCURRENCY=1")
	for path, typ := range map[string]string{"/boom": "InvalidArgumentException", "/fatal": "Error"} {
		resp, b := in.Do(t, http.MethodGet, path, "r-"+path, nil)
		var e struct {
			ErrorMessage, ErrorType string
			StackTrace              []string
		}
		if resp.StatusCode != 502 || json.Unmarshal(b, &e) != nil || e.ErrorType != typ || len(e.StackTrace) == 0 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || resp.Header.Get("X-Openfc-Runtime-Token") != testToken {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if resp, b := in.Do(t, http.MethodGet, "/", "r-after", nil); resp.StatusCode != 200 || !strings.HasPrefix(string(b), "ok ") {
			t.Errorf("after %s: %d %s", path, resp.StatusCode, b)
		}
	}
}

// The initializer runs once, in the master: every worker sees its state.
func TestInitializerOnceForAllWorkers(t *testing.T) {
	t.Parallel()
	in := start(t, "index.handler", "FC_INSTANCE_CONCURRENCY=3", "FC_FUNCTION_INITIALIZER=index.initializer")
	if resp, b := in.Do(t, http.MethodPost, "/initialize", "init", nil, "X-Fc-Control-Path", "/initialize"); resp.StatusCode != 200 {
		t.Fatalf("initialize: %d %s", resp.StatusCode, b)
	}
	for range 6 {
		var got struct{ InitCalls int }
		if _, b := in.Do(t, http.MethodGet, "/init", "r", nil); json.Unmarshal(b, &got) != nil || got.InitCalls != 1 {
			t.Fatalf("init: %s", b)
		}
	}
}

// Two slow requests run side by side (instanceConcurrency 2), each log
// line prefixed with its own request id.
func TestConcurrencyAndLogs(t *testing.T) {
	t.Parallel()
	in := start(t, "index.handler", "FC_INSTANCE_CONCURRENCY=2")
	begin := time.Now()
	var wg sync.WaitGroup
	for _, rid := range []string{"s1", "s2"} {
		wg.Go(func() {
			if resp, b := in.Do(t, http.MethodGet, "/slow?ms=1000", rid, nil); resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", rid, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	if d := time.Since(begin); d > 1800*time.Millisecond {
		t.Errorf("two 1 s requests took %v; want in parallel", d)
	}
	lines := in.WaitLines("slow start s1", "slow end s1", "slow start s2", "slow end s2")
	for _, rid := range []string{"s1", "s2"} {
		if l := lines["slow start "+rid]; l != [2]string{rid, "INFO"} {
			t.Errorf("echo line of %s: %v", rid, l)
		}
		if l := lines["slow end "+rid]; l != [2]string{rid, "INFO"} {
			t.Errorf("fcLogger line of %s: %v", rid, l)
		}
	}
}

// FC 3.0's event style and InvokeFunction's payload.
func TestEventAndInvoke(t *testing.T) {
	t.Parallel()
	in := start(t, "index.event", "OPENFC_HANDLER_STYLE=event")
	resp, b := in.Do(t, http.MethodGet, "/p/q?k=v&k=w", "e1", nil)
	var ev struct {
		RawPath, Method string
		Queries         map[string]string
	}
	if resp.StatusCode != 201 || resp.Header.Get("X-Style") != "event" || json.Unmarshal(b, &ev) != nil || ev.RawPath != "/p/q" || ev.Method != "GET" || ev.Queries["k"] != "v,w" {
		t.Fatalf("event: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	inv := start(t, "index.invoke")
	if resp, b := inv.Do(t, http.MethodPost, "/invoke", "i1", []byte("payload"), "X-Fc-Control-Path", "/invoke"); resp.StatusCode != 200 || string(b) != "got payload" {
		t.Errorf("invoke: %d %s", resp.StatusCode, b)
	}
}
