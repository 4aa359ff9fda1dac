package python

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWSGIRequest(t *testing.T) {
	t.Parallel()
	in := start(t, "app.echo")
	resp, b := in.Do(t, http.MethodGet, "/a/b%20c?x=1&x=2&y=", "req-1", nil,
		"X-Fc-Access-Key-Id", "AK", "X-Fc-Base-Path", "/2016-08-15/proxy/svc/fn/", "X-Custom", "v",
		"X-Forwarded-For", "10.1.2.3", "X-Forwarded-Proto", "https", "X-Fc-Qualifier", "prod")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var got struct {
		Method, Path, Query, URL, RemoteAddr, Scheme string
		Headers                                      map[string]string
		Context                                      map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got.Method != "GET" || got.Path != "/a/b c" || got.Query != "x=1&x=2&y=" {
		t.Errorf("method, path, query = %q %q %q", got.Method, got.Path, got.Query)
	}
	if want := "https://" + strings.TrimPrefix(in.URL, "http://") + "/2016-08-15/proxy/svc/fn/a/b%20c?x=1&x=2&y="; got.URL != want {
		t.Errorf("fc.request_uri = %q, want %q", got.URL, want)
	}
	if got.RemoteAddr != "10.1.2.3" || got.Scheme != "https" {
		t.Errorf("REMOTE_ADDR %q, wsgi.url_scheme %q", got.RemoteAddr, got.Scheme)
	}
	if got.Headers["HTTP_X_CUSTOM"] != "v" {
		t.Errorf("HTTP_X_CUSTOM missing: %v", got.Headers)
	}
	for k := range got.Headers {
		if strings.HasPrefix(k, "HTTP_X_FC_") {
			t.Errorf("FC's header %s reached the handler", k)
		}
	}
	want := map[string]any{"request_id": "req-1", "access_key_id": "AK", "function": "fn", "handler": "app.echo",
		"memory": 128.0, "service": "svc", "qualifier": "prod", "region": "cn-test", "account_id": "1234"}
	for k, v := range want {
		if got.Context[k] != v {
			t.Errorf("fc.context %s = %v, want %v", k, got.Context[k], v)
		}
	}
}

func TestWSGIBinaryBodyStatusHeaders(t *testing.T) {
	t.Parallel()
	in := start(t, "app.raw")
	body := make([]byte, 70000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	resp, b := in.Do(t, http.MethodPost, "/", "r", body, "X-Want-Status", "201 Created")
	if resp.StatusCode != 201 || !bytes.Equal(b, body) {
		t.Fatalf("status %d, body %d bytes equal=%v", resp.StatusCode, len(b), bytes.Equal(b, body))
	}
	if resp.Header.Get("X-Echo-Len") != "70000" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers %v", resp.Header)
	}
	// A chunked request body (unknown length: ContentLength 0 with a
	// body) arrives whole too.
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/", struct{ *bytes.Reader }{bytes.NewReader(body)})
	req.Header.Set("X-Want-Status", "404 Not Found")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp2.Body)
	if resp2.StatusCode != 404 || !bytes.Equal(got.Bytes(), body) || req.ContentLength != 0 {
		t.Errorf("chunked upload: status %d, equal=%v, length %d", resp2.StatusCode, bytes.Equal(got.Bytes(), body), req.ContentLength)
	}
}

func TestWSGIStreamedBody(t *testing.T) {
	t.Parallel()
	in := start(t, "app.stream")
	resp, b := in.Do(t, http.MethodGet, "/", "r", nil)
	if string(b) != "part0;part1;part2;" || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("body %q, transfer encoding %v", b, resp.TransferEncoding)
	}
}

// TestKeepAlive sends two requests on one connection.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	in := start(t, "app.raw")
	c, err := net.Dial("tcp", strings.TrimPrefix(in.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, body := range []string{"first", "second!"} {
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Fc-Request-Id: r%d\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var got bytes.Buffer
		_, _ = got.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || got.String() != body || resp.Close {
			t.Fatalf("request %d: status %d body %q close %v", i, resp.StatusCode, got.String(), resp.Close)
		}
	}
}

// TestConcurrency runs two slow requests: side by side with
// FC_INSTANCE_CONCURRENCY=2, one after the other with 1. It measures
// time, so it runs alone (the other tests are parallel).
func TestConcurrency(t *testing.T) {
	for _, tc := range []struct {
		concurrency string
		min, max    time.Duration
	}{
		{"2", 500 * time.Millisecond, 1100 * time.Millisecond},
		{"1", 1200 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.concurrency, func(t *testing.T) {
			in := start(t, "app.slow", "FC_INSTANCE_CONCURRENCY="+tc.concurrency)
			began := time.Now()
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, b := in.Do(t, http.MethodGet, "/", fmt.Sprint("r", i), nil)
					if resp.StatusCode != 200 || string(b) != "slow done" {
						t.Errorf("status %d body %q", resp.StatusCode, b)
					}
				}()
			}
			wg.Wait()
			if d := time.Since(began); d < tc.min || d > tc.max {
				t.Errorf("two 0.6 s requests took %v, want between %v and %v", d, tc.min, tc.max)
			}
		})
	}
}

func TestInitializerOnce(t *testing.T) {
	t.Parallel()
	in := start(t, "app.count", "FC_FUNCTION_INITIALIZER=app.init")
	for i := range 2 {
		resp, b := in.Do(t, http.MethodPost, "/initialize", fmt.Sprint("init-", i), nil, "X-Fc-Control-Path", "/initialize")
		if resp.StatusCode != 200 {
			t.Fatalf("initialize %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if _, b := in.Do(t, http.MethodGet, "/", "r", nil); string(b) != "1" {
		t.Errorf("initializer ran %s times, want 1", b)
	}
	if got := in.WaitLines("initializing init-0")["initializing init-0"]; got[0] != "init-0" {
		t.Errorf("initializer's line: %v\n%s", got, in.Out.String())
	}
}

func TestUnhandledError(t *testing.T) {
	t.Parallel()
	in := start(t, "app.boom")
	for i := range 2 { // the instance keeps serving
		resp, b := in.Do(t, http.MethodGet, "/", fmt.Sprint("r", i), nil)
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || resp.Header.Get("X-Openfc-Runtime-Token") != testToken {
			t.Errorf("headers %v", resp.Header)
		}
		var e struct {
			ErrorMessage, ErrorType string
			StackTrace              []string
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if e.ErrorMessage != "bad input" || e.ErrorType != "ValueError" || len(e.StackTrace) == 0 || !strings.Contains(e.StackTrace[0], "app.py") {
			t.Errorf("error body %+v", e)
		}
		if i == 0 {
			const tb = "Traceback (most recent call last):"
			if got := in.WaitLines(tb)[tb]; got != [2]string{"r0", "ERROR"} {
				t.Errorf("traceback line %v\n%s", got, in.Out.String())
			}
		}
	}
}

// TestTokenHidden checks that user code does not find the trusted
// channel's secret in its environment.
func TestTokenHidden(t *testing.T) {
	t.Parallel()
	in := start(t, "app.echo")
	_, b := in.Do(t, http.MethodGet, "/", "r", nil)
	if bytes.Contains(b, []byte(testToken)) {
		t.Fatalf("the token reached the handler: %s", b)
	}
}

// TestLogRequestIDs runs two requests at once on one instance, each
// logging through print, stderr and logging, and checks every line names
// its own request.
func TestLogRequestIDs(t *testing.T) {
	t.Parallel()
	in := start(t, "app.logs", "FC_INSTANCE_CONCURRENCY=2")
	var wg sync.WaitGroup
	for _, tag := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.Do(t, http.MethodGet, "/?"+tag, "rid-"+tag, nil)
		}()
	}
	wg.Wait()
	lines := in.WaitLines("no newline A", "no newline B", "logging A 4", "logging B 4")
	for _, tag := range []string{"A", "B"} {
		for i := range 5 {
			for kind, level := range map[string]string{"print": "INFO", "stderr": "ERROR", "logging": "INFO"} {
				msg := fmt.Sprintf("%s %s %d", kind, tag, i)
				if got := lines[msg]; got != [2]string{"rid-" + tag, level} {
					t.Errorf("%q logged as %v, want rid-%s %s", msg, got, tag, level)
				}
			}
		}
		if got := lines["no newline "+tag]; got[0] != "rid-"+tag {
			t.Errorf("unterminated line: %v", got)
		}
	}
}

func TestEventStyle(t *testing.T) {
	t.Parallel()
	in := start(t, "app.event", "OPENFC_HANDLER_STYLE=event")
	resp, b := in.Do(t, http.MethodPost, "/p/q?a=1&a=2&b=x", "ev-1", []byte("hello"), "X-Forwarded-For", "1.2.3.4", "User-Agent", "ua")
	if resp.StatusCode != 201 || resp.Header.Get("X-Ev") != "yes" {
		t.Fatalf("status %d headers %v: %s", resp.StatusCode, resp.Header, b)
	}
	var ev struct {
		Version, RawPath, Body string
		IsBase64Encoded        bool
		Headers                map[string]string
		QueryParameters        map[string]string
		RequestContext         struct {
			AccountID, RequestID, TimeEpoch string
			HTTP                            struct{ Method, Path, SourceIP, UserAgent string }
		}
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if ev.Version != "v1" || ev.RawPath != "/p/q" || ev.Body != "hello" || ev.IsBase64Encoded {
		t.Errorf("event %+v", ev)
	}
	if ev.QueryParameters["a"] != "1,2" || ev.QueryParameters["b"] != "x" || ev.Headers["user-agent"] != "ua" {
		t.Errorf("queries %v headers %v", ev.QueryParameters, ev.Headers)
	}
	rc := ev.RequestContext
	if rc.AccountID != "1234" || rc.RequestID != "ev-1" || rc.HTTP.Method != "POST" || rc.HTTP.SourceIP != "1.2.3.4" || rc.TimeEpoch == "" {
		t.Errorf("requestContext %+v", rc)
	}
	for k := range ev.Headers {
		if strings.HasPrefix(k, "x-fc-") {
			t.Errorf("FC's header %s in the event", k)
		}
	}
}

func TestEventStyleBinaryAndPlain(t *testing.T) {
	t.Parallel()
	in := start(t, "app.event_bin", "OPENFC_HANDLER_STYLE=event")
	body := []byte{0, 0xff, 0xfe, 1, 2, 0x80}
	resp, b := in.Do(t, http.MethodPost, "/", "r", body)
	if resp.StatusCode != 200 || !bytes.Equal(b, body) {
		t.Errorf("binary round trip: status %d body %x", resp.StatusCode, b)
	}
	in2 := start(t, "app.event_plain", "OPENFC_HANDLER_STYLE=event")
	resp, b = in2.Do(t, http.MethodGet, "/", "r", nil)
	if resp.StatusCode != 200 || string(b) != `{"hello": "world"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("plain dict: status %d body %s headers %v", resp.StatusCode, b, resp.Header)
	}
}

// TestInvoke is InvokeFunction: the raw payload in, the return value out.
func TestInvoke(t *testing.T) {
	t.Parallel()
	in := start(t, "app.invoke")
	resp, b := in.Do(t, http.MethodPost, "/invoke", "r", []byte("payload"), "X-Fc-Control-Path", "/invoke")
	if resp.StatusCode != 200 || string(b) != "got:payload" {
		t.Errorf("status %d body %q", resp.StatusCode, b)
	}
}

func TestMissingHandler(t *testing.T) {
	t.Parallel()
	in := start(t, "app.nope")
	resp, b := in.Do(t, http.MethodGet, "/", "r", nil)
	if resp.StatusCode != 502 || !bytes.Contains(b, []byte("Handler 'nope' is missing on module 'app'")) {
		t.Errorf("status %d body %s", resp.StatusCode, b)
	}
}

func TestFlask(t *testing.T) {
	t.Parallel()
	if err := exec.Command(python(t), "-c", "import flask").Run(); err != nil {
		t.Skip("flask is not installed for this interpreter (apt-get install python3-flask)")
	}
	in := start(t, "flaskapp.handler")
	resp, b := in.Do(t, http.MethodPost, "/hello/ann?k=1&k=2", "r", []byte("body text"), "X-Fc-Base-Path", "/2016-08-15/proxy/s/f/")
	var got struct {
		Name, Body, URL string
		Args            map[string][]string
	}
	if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d %v: %s", resp.StatusCode, err, b)
	}
	if got.Name != "ann" || got.Body != "body text" || len(got.Args["k"]) != 2 || !strings.HasSuffix(got.URL, "/2016-08-15/proxy/s/f/hello/ann?k=1&k=2") {
		t.Errorf("got %+v", got)
	}
	resp, b = in.Do(t, http.MethodGet, "/status", "r", nil)
	if resp.StatusCode != 418 || resp.Header.Get("X-Flask") != "1" || string(b) != "teapot" {
		t.Errorf("status %d headers %v body %q", resp.StatusCode, resp.Header, b)
	}
}

// TestExampleEcho runs examples/python-echo, as WSGI and (with Flask
// installed) as a Flask app: repeated query keys, a binary body.
func TestExampleEcho(t *testing.T) {
	t.Parallel()
	code, err := filepath.Abs("../../../examples/python-echo/code")
	if err != nil {
		t.Fatal(err)
	}
	handlers := []string{"index.handler"}
	if exec.Command(python(t), "-c", "import flask").Run() == nil {
		handlers = append(handlers, "flaskapp.handler")
	}
	body := []byte{0, 0xff, 0x10, 'a'}
	for _, h := range handlers {
		in := start(t, h, "FC_FUNC_CODE_PATH="+code)
		resp, b := in.Do(t, http.MethodPut, "/x/y?k=1&k=2&one=v", "r", body, "X-Fc-Base-Path", "/2016-08-15/proxy/s/f/", "X-Forwarded-For", "9.9.9.9")
		var got struct {
			Method, Path, Body, BodyEncoding, URL, ClientIP string
			Queries                                         map[string]any
		}
		if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d %v: %s", h, resp.StatusCode, err, b)
		}
		if got.Method != "PUT" || got.Path != "/x/y" || got.ClientIP != "9.9.9.9" || !strings.HasSuffix(got.URL, "/2016-08-15/proxy/s/f/x/y?k=1&k=2&one=v") {
			t.Errorf("%s: %+v", h, got)
		}
		if raw, _ := base64.StdEncoding.DecodeString(got.Body); got.BodyEncoding != "base64" || !bytes.Equal(raw, body) {
			t.Errorf("%s: body %q (%s)", h, got.Body, got.BodyEncoding)
		}
		if fmt.Sprint(got.Queries["k"]) != "[1 2]" || got.Queries["one"] != "v" {
			t.Errorf("%s: queries %v", h, got.Queries)
		}
	}
}
