package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
	"github.com/openfc/openfc/pkg/fcsign"
)

// The HTTP-trigger rules of the spec (§0, §7, §8), checked end to end
// against `openfc serve` and the pyecho function.

// rulesFn is a pyecho deployment behind one HTTP trigger.
type rulesFn struct {
	svc, fn string
	auth    string // default anonymous
	methods string // YAML list; default [GET, POST, PUT, DELETE, PATCH, HEAD]
	disable bool   // disableURLInternet
}

func (s *server) rulesDeploy(f rulesFn) string {
	s.t.Helper()
	return s.deployEcho(echoOpts{service: f.svc, name: f.fn, auth: f.auth, methods: f.methods, disable: f.disable, concurrency: 4})
}

// rulesTrigger returns the function's HTTP trigger as the CLI shows it.
func (s *server) rulesTrigger(svc, fn string) fc.Trigger {
	s.t.Helper()
	var got struct {
		Triggers []fc.Trigger `json:"triggers"`
	}
	out := s.cli("functions", "get", svc+"/"+fn, "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Triggers) != 1 {
		s.t.Fatalf("functions get %s/%s --json: %v\n%s", svc, fn, err, out)
	}
	return got.Triggers[0]
}

// rulesHost returns the trigger subdomain host:port of svc/fn from its
// urlInternet.
func (s *server) rulesHost(svc, fn string) string {
	s.t.Helper()
	t := s.rulesTrigger(svc, fn)
	u, err := url.Parse(t.URLInternet)
	if err != nil || !strings.HasSuffix(u.Hostname(), ".fcapp.localhost") {
		s.t.Fatalf("urlInternet %q of %s/%s is not a trigger subdomain", t.URLInternet, svc, fn)
	}
	return u.Host
}

// rulesPort is the server's port.
func (s *server) rulesPort() string {
	u, _ := url.Parse(s.URL)
	return u.Port()
}

// rulesDo sends a request to the server with the given Host (empty: the
// server's address) and returns the response with its body.
func (s *server) rulesDo(t *testing.T, method, target, host string, header http.Header, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return rulesSend(t, req)
}

// rulesSend sends req and returns the response with its body read.
func rulesSend(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// rulesRaw writes a raw HTTP/1.1 request and reads one response, so that
// the test controls every byte of the request. The request is written
// while the response is read: the server may answer before the body.
func (s *server) rulesRaw(t *testing.T, raw string, method string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	go io.WriteString(c, raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %.80q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, b
}

// rulesRequest formats a raw request; Host comes first, then the headers
// in order, then body (with Content-Length, unless a header sets one).
func rulesRequest(method, target, host string, headers [][2]string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	hasLength := false
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
		hasLength = hasLength || strings.EqualFold(h[0], "Content-Length") || strings.EqualFold(h[0], "Transfer-Encoding")
	}
	if body != "" && !hasLength {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

// rulesRespond is the pyecho path that answers as the query says.
func rulesRespond(base string, kv ...string) string {
	q := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return base + "respond?" + q.Encode()
}

// rulesEcho decodes a pyecho reply.
func rulesEcho(t *testing.T, resp *http.Response, body []byte) echoReply {
	t.Helper()
	return echoOf(t, "echo", resp, body)
}

var rulesLogKV = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// rulesLogRecords returns the server's access-log records (msg=request)
// for a request id, waiting briefly for the first one.
func (s *server) rulesLogRecords(requestID string) []map[string]string {
	var recs []map[string]string
	collect := func() {
		recs = nil
		for _, line := range strings.Split(s.log.String(), "\n") {
			if !strings.Contains(line, " msg=request ") || !strings.Contains(line, "request_id="+requestID) {
				continue
			}
			rec := map[string]string{}
			for _, m := range rulesLogKV.FindAllStringSubmatch(line, -1) {
				v := m[2]
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				}
				rec[m[1]] = v
			}
			if rec["request_id"] == requestID {
				recs = append(recs, rec)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for collect(); len(recs) == 0 && time.Now().Before(deadline); collect() {
		time.Sleep(20 * time.Millisecond)
	}
	// A second record would come right after the first.
	time.Sleep(50 * time.Millisecond)
	collect()
	return recs
}

// checkPlatformError checks an FC platform or function error: status,
// code, X-Fc-Error-Type, the JSON body and its request id.
func checkPlatformError(t *testing.T, what string, resp *http.Response, body []byte, status int, code, errType string, msg ...string) fcError {
	t.Helper()
	e := decodeError(t, resp, body)
	if resp.StatusCode != status || e.ErrorCode != code {
		t.Errorf("%s: %d %s (%s); want %d %s", what, resp.StatusCode, e.ErrorCode, e.ErrorMessage, status, code)
	}
	if got := resp.Header.Get("X-Fc-Error-Type"); got != errType {
		t.Errorf("%s: X-Fc-Error-Type = %q; want %q", what, got, errType)
	}
	if e.RequestID != resp.Header.Get("X-Fc-Request-Id") {
		t.Errorf("%s: body RequestId %q differs from X-Fc-Request-Id %q", what, e.RequestID, resp.Header.Get("X-Fc-Request-Id"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q; want application/json", what, ct)
	}
	for _, m := range msg {
		if !strings.Contains(e.ErrorMessage, m) {
			t.Errorf("%s: message %q does not contain %q", what, e.ErrorMessage, m)
		}
	}
	return e
}

// hiddenLength hides a reader's length so the client streams it chunked.
type hiddenLength struct{ io.Reader }

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// rulesLimitCase is one request against the request limits.
type rulesLimitCase struct {
	name   string
	raw    func(host string) string // a raw request, or
	stream int64                    // a chunked body of this many bytes
	async  bool
	status int
	code   string   // "" for a function answer
	msg    []string // in the error message
	body   int      // body length the function saw (200 only), -1 to skip
}

func (s *server) runLimitCases(t *testing.T, cases []rulesLimitCase) {
	host := strings.TrimPrefix(s.URL, "http://")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			var body []byte
			if c.raw != nil {
				raw := c.raw(host)
				resp, body = s.rulesRaw(t, raw, strings.Fields(raw)[0])
			} else {
				h := http.Header{}
				if c.async {
					h.Set("X-Fc-Invocation-Type", "Async")
				}
				req, err := http.NewRequest("POST", s.URL+"/2016-08-15/proxy/lim/echo/", hiddenLength{io.LimitReader(zeros{}, c.stream)})
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1
				req.Header = h
				resp, body = rulesSend(t, req)
			}
			if c.code != "" {
				checkPlatformError(t, c.name, resp, body, c.status, c.code, "FcCommonError", c.msg...)
				return
			}
			r := rulesEcho(t, resp, body)
			if c.body >= 0 && len(r.Body) != c.body {
				t.Errorf("the function saw a body of %d bytes; want %d", len(r.Body), c.body)
			}
		})
	}
}

// padHeaders returns a header X-Pad that brings the request headers
// (keys + values, Host included) to exactly n bytes.
func padHeaders(host string, n int, others ...[2]string) [][2]string {
	size := len("Host") + len(host) + len("X-Pad")
	for _, h := range others {
		size += len(h[0]) + len(h[1])
	}
	return append(others, [2]string{"X-Pad", strings.Repeat("p", n-size)})
}

// padTarget returns a request target of exactly n bytes.
func padTarget(base string, n int) string {
	return base + strings.Repeat("t", n-len(base))
}

// TestLimits checks FC's default request limits: 8 KB of headers, 4 KB of
// path and query, 32 MB sync and 128 KB async bodies.
func TestLimits(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "lim", fn: "echo"})
	const base = "/2016-08-15/proxy/lim/echo/"
	get := func(target string, headers [][2]string) func(string) string {
		return func(host string) string { return rulesRequest("GET", target, host, headers, "") }
	}
	s.runLimitCases(t, []rulesLimitCase{
		{name: "headers at 8192 bytes", raw: func(h string) string { return get(base, padHeaders(h, 8192))(h) }, status: 200, body: 0},
		{name: "headers at 8193 bytes", raw: func(h string) string { return get(base, padHeaders(h, 8193))(h) }, status: 400, code: "InvalidArgument", msg: []string{"8193", "8192"}},
		{name: "many small headers over 8192 bytes", raw: func(h string) string {
			var hs [][2]string
			for i := 0; i < 700; i++ {
				hs = append(hs, [2]string{fmt.Sprintf("X-H%d", i), "vvvvvvvv"})
			}
			return get(base, hs)(h)
		}, status: 400, code: "InvalidArgument", msg: []string{"8192"}},
		{name: "path at 4096 bytes", raw: get(padTarget(base, 4096), nil), status: 200, body: 0},
		{name: "path at 4097 bytes", raw: get(padTarget(base, 4097), nil), status: 400, code: "InvalidArgument", msg: []string{"4097", "4096"}},
		{name: "query counts toward the path limit", raw: get(padTarget(base+"?q=", 4097), nil), status: 400, code: "InvalidArgument", msg: []string{"4097", "4096"}},
		{name: "sync body over 32 MB by Content-Length, refused before it is sent", raw: func(h string) string {
			return rulesRequest("POST", base, h, [][2]string{{"Content-Length", "33554433"}}, "")
		}, status: 400, code: "InvalidArgument", msg: []string{"33554433", "33554432"}},
		{name: "async body over 128 KB", raw: func(h string) string {
			return rulesRequest("POST", base, h, [][2]string{{"X-Fc-Invocation-Type", "Async"}}, strings.Repeat("a", 131073))
		}, status: 400, code: "InvalidArgument", msg: []string{"131073", "131072"}},
		// At the limit the body passes to the accept stage, whose delay
		// check answers (so the row holds with or without a queue).
		{name: "async body at 128 KB reaches the accept stage", raw: func(h string) string {
			return rulesRequest("POST", base, h, [][2]string{{"X-Fc-Invocation-Type", "Async"}, {"X-Fc-Async-Delay", "3601"}}, strings.Repeat("a", 131072))
		}, status: 400, code: "InvalidArgument", msg: []string{"X-Fc-Async-Delay"}},
		{name: "a sync body of 1 MB is within the limit", raw: func(h string) string {
			return rulesRequest("POST", base, h, nil, strings.Repeat("s", 1<<20))
		}, status: 200, body: 1 << 20},
		{name: "streamed sync body over 32 MB", stream: 33554433, status: 400, code: "InvalidArgument", msg: []string{"33554433", "33554432"}},
	})
}

// TestLimitsFlags checks that the limit flags of `openfc serve` apply.
func TestLimitsFlags(t *testing.T) {
	s := startServer(t, "", "--max-request-header-bytes", "2048", "--max-request-path-bytes", "512",
		"--max-sync-body-bytes", "4096", "--max-async-body-bytes", "1024", "--max-response-header-bytes", "2048")
	s.rulesDeploy(rulesFn{svc: "lim", fn: "echo"})
	const base = "/2016-08-15/proxy/lim/echo/"
	get := func(target string, headers [][2]string) func(string) string {
		return func(host string) string { return rulesRequest("GET", target, host, headers, "") }
	}
	post := func(headers [][2]string, body string) func(string) string {
		return func(host string) string { return rulesRequest("POST", base, host, headers, body) }
	}
	s.runLimitCases(t, []rulesLimitCase{
		{name: "headers at 2048 bytes", raw: func(h string) string { return get(base, padHeaders(h, 2048))(h) }, status: 200, body: 0},
		{name: "headers at 2049 bytes", raw: func(h string) string { return get(base, padHeaders(h, 2049))(h) }, status: 400, code: "InvalidArgument", msg: []string{"2049", "2048"}},
		{name: "path at 512 bytes", raw: get(padTarget(base, 512), nil), status: 200, body: 0},
		{name: "path at 513 bytes", raw: get(padTarget(base, 513), nil), status: 400, code: "InvalidArgument", msg: []string{"513", "512"}},
		{name: "sync body at 4096 bytes", raw: post(nil, strings.Repeat("b", 4096)), status: 200, body: 4096},
		{name: "sync body at 4097 bytes", raw: post(nil, strings.Repeat("b", 4097)), status: 400, code: "InvalidArgument", msg: []string{"4097", "4096"}},
		{name: "streamed body at 4096 bytes", stream: 4096, status: 200, body: 4096},
		{name: "streamed body at 4097 bytes", stream: 4097, status: 400, code: "InvalidArgument", msg: []string{"4097", "4096"}},
		{name: "streamed body far over", stream: 1 << 20, status: 400, code: "InvalidArgument", msg: []string{"4097", "4096"}},
		{name: "async body at 1025 bytes", raw: post([][2]string{{"X-Fc-Invocation-Type", "Async"}}, strings.Repeat("a", 1025)), status: 400, code: "InvalidArgument", msg: []string{"1025", "1024"}},
		{name: "async body at 1024 bytes reaches the accept stage", raw: post([][2]string{{"X-Fc-Invocation-Type", "Async"}, {"X-Fc-Async-Delay", "-1"}}, strings.Repeat("a", 1024)), status: 400, code: "InvalidArgument", msg: []string{"X-Fc-Async-Delay"}},
		{name: "streamed async body over the async limit", stream: 2000, async: true, status: 400, code: "InvalidArgument", msg: []string{"1024"}},
	})
	t.Run("response headers", func(t *testing.T) {
		resp, body := s.rulesDo(t, "GET", rulesRespond(base, "big", "1500"), "", nil, nil)
		if resp.StatusCode != 200 || len(resp.Header.Get("X-Big")) != 1500 {
			t.Errorf("1500-byte header: %d %s", resp.StatusCode, body)
		}
		resp, body = s.rulesDo(t, "GET", rulesRespond(base, "big", "2100"), "", nil, nil)
		checkPlatformError(t, "2100-byte header", resp, body, 502, "BadResponse", "UnhandledInvocationError", "2048")
	})
}

// TestRestrictedRequestHeaders checks what reaches the function: no
// client x-fc-* header (openfc's values replace the spoofed ones), no
// Connection or Keep-Alive, X-Forwarded-For from the connection, and
// Authorization only when the trigger does not consume it.
func TestRestrictedRequestHeaders(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "rh", fn: "echo"})
	s.rulesDeploy(rulesFn{svc: "rh", fn: "signed", auth: "function", methods: "[GET, POST]"})
	spoofed := [][2]string{
		{"X-Fc-Request-Id", "spoofed-request-id"},
		{"X-Fc-Base-Path", "/evil/"},
		{"X-Fc-Account-Id", "999999"},
		{"X-Fc-Access-Key-Id", "LTAIspoofed"},
		{"X-Fc-Access-Key-Secret", "spoofed-secret"},
		{"X-Fc-Security-Token", "spoofed-token"},
		{"X-Fc-Function-Name", "evil"},
		{"X-Fc-Service-Name", "evil"},
		{"X-Fc-Qualifier", "evil"},
		{"X-Fc-Region", "evil"},
		{"X-Fc-Control-Path", "/invoke"},
		{"x-fc-lowercase", "1"},
		{"X-FC-UPPERCASE", "1"},
		{"Connection", "keep-alive, X-Hop-Listed"},
		{"Keep-Alive", "timeout=5, max=100"},
		{"X-Hop-Listed", "1"},
		{"X-Forwarded-For", "6.6.6.6"},
		{"Authorization", "Bearer client-token"},
		{"X-Custom", "kept"},
	}
	host := strings.TrimPrefix(s.URL, "http://")
	resp, body := s.rulesRaw(t, rulesRequest("GET", "/2016-08-15/proxy/rh/echo/p?q=1", host, spoofed, ""), "GET")
	got := rulesEcho(t, resp, body)
	reqID := resp.Header.Get("X-Fc-Request-Id")
	for _, c := range []struct {
		header, want string // want "" means absent
	}{
		{"x-fc-request-id", reqID},
		{"x-fc-base-path", "/2016-08-15/proxy/rh/echo/"},
		{"x-fc-account-id", accountID},
		{"x-fc-access-key-id", ""},
		{"x-fc-access-key-secret", ""},
		{"x-fc-security-token", ""},
		{"x-fc-function-name", "echo"},
		{"x-fc-service-name", "rh"},
		{"x-fc-qualifier", "LATEST"},
		{"x-fc-region", "cn-hangzhou"},
		{"x-fc-control-path", "/http-invoke"},
		{"x-fc-lowercase", ""},
		{"x-fc-uppercase", ""},
		{"connection", ""},
		{"keep-alive", ""},
		{"x-hop-listed", ""},
		{"x-forwarded-for", "127.0.0.1"},
		{"authorization", "Bearer client-token"}, // an anonymous trigger does not consume it
		{"x-custom", "kept"},
	} {
		t.Run(c.header, func(t *testing.T) {
			v, ok := got.Headers[c.header]
			if c.want == "" && ok || c.want != "" && v != c.want {
				t.Errorf("the function saw %s = %q (present %v); want %q", c.header, v, ok, c.want)
			}
		})
	}
	if reqID == "" || reqID == "spoofed-request-id" {
		t.Errorf("X-Fc-Request-Id = %q; want openfc's", reqID)
	}

	t.Run("authType function consumes Authorization", func(t *testing.T) {
		req, err := http.NewRequest("GET", s.URL+"/2016-08-15/proxy/rh/signed/p", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Fc-Access-Key-Id", "LTAIspoofed")
		fcsign.Sign(adminCreds, req)
		resp, body := rulesSend(t, req)
		r := rulesEcho(t, resp, body)
		for _, h := range []string{"authorization", "x-fc-access-key-id"} {
			if v, ok := r.Headers[h]; ok {
				t.Errorf("the function saw %s = %q", h, v)
			}
		}
		if r.Headers["x-fc-function-name"] != "signed" {
			t.Errorf("x-fc-function-name = %q", r.Headers["x-fc-function-name"])
		}
	})
}

// TestResponseRules checks the filtering of function responses.
func TestResponseRules(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "resp", fn: "echo"})
	const base = "/2016-08-15/proxy/resp/echo/"
	absent := func(t *testing.T, resp *http.Response, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if v, ok := resp.Header[k]; ok {
				t.Errorf("%s = %q reached the client", k, v)
			}
		}
	}
	for _, c := range []struct {
		name  string
		query []string
		check func(t *testing.T, resp *http.Response, body []byte)
	}{
		{"x-fc headers are dropped", []string{"h", "X-Fc-Request-Id:spoofed", "h", "X-Fc-Error-Type:UnhandledInvocationError", "h", "X-Fc-Custom:1", "h", "X-Fc-Status:200"},
			func(t *testing.T, resp *http.Response, body []byte) {
				absent(t, resp, "X-Fc-Error-Type", "X-Fc-Custom", "X-Fc-Status")
				if v := resp.Header.Values("X-Fc-Request-Id"); len(v) != 1 || v[0] == "spoofed" || v[0] == "" {
					t.Errorf("X-Fc-Request-Id = %q; want openfc's id", v)
				}
			}},
		{"Connection and Keep-Alive are dropped", []string{"h", "Connection:keep-alive", "h", "Keep-Alive:timeout=99"},
			func(t *testing.T, resp *http.Response, body []byte) { absent(t, resp, "Connection", "Keep-Alive") }},
		{"Server is dropped", []string{"h", "Server:evil/1.0"},
			func(t *testing.T, resp *http.Response, body []byte) { absent(t, resp, "Server") }},
		{"Upgrade is dropped", []string{"h", "Upgrade:websocket"},
			func(t *testing.T, resp *http.Response, body []byte) { absent(t, resp, "Upgrade") }},
		{"openfc's Date is sent", []string{"h", "Date:Mon, 01 Jan 2001 00:00:00 GMT"},
			func(t *testing.T, resp *http.Response, body []byte) {
				v := resp.Header.Values("Date")
				d, err := http.ParseTime(resp.Header.Get("Date"))
				if len(v) != 1 || err != nil || time.Since(d).Abs() > 5*time.Minute {
					t.Errorf("Date = %q; want one current date", v)
				}
			}},
		{"status, headers and body pass", []string{"status", "201", "h", "X-Custom:v1", "h", "X-Custom:v2", "h", "Content-Type:text/x-test", "body", "created"},
			func(t *testing.T, resp *http.Response, body []byte) {
				if resp.StatusCode != 201 || string(body) != "created" || strings.Join(resp.Header.Values("X-Custom"), ",") != "v1,v2" || resp.Header.Get("Content-Type") != "text/x-test" {
					t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
				}
			}},
		{"Content-Length matches the body", []string{"body", "hello world"},
			func(t *testing.T, resp *http.Response, body []byte) {
				if resp.Header.Get("Content-Length") != "11" || string(body) != "hello world" {
					t.Errorf("Content-Length %q, body %q", resp.Header.Get("Content-Length"), body)
				}
			}},
		{"7000 bytes of headers pass", []string{"big", "7000"},
			func(t *testing.T, resp *http.Response, body []byte) {
				if resp.StatusCode != 200 || len(resp.Header.Get("X-Big")) != 7000 {
					t.Errorf("got %d, X-Big of %d bytes", resp.StatusCode, len(resp.Header.Get("X-Big")))
				}
			}},
		{"headers over 8 KB are a BadResponse that leaks nothing", []string{"big", "9000", "h", "X-Secret:leak", "h", "Set-Cookie:s=1", "h", "Content-Disposition:inline", "body", "secret-body"},
			func(t *testing.T, resp *http.Response, body []byte) {
				checkPlatformError(t, "big headers", resp, body, 502, "BadResponse", "UnhandledInvocationError", "8192")
				absent(t, resp, "X-Secret", "X-Big", "Set-Cookie", "Content-Disposition")
				if strings.Contains(string(body), "secret-body") {
					t.Errorf("the function's body leaked: %s", body)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.rulesDo(t, "GET", rulesRespond(base, c.query...), "", nil, nil)
			c.check(t, resp, body)
		})
	}
}

// rulesMetric reads openfc_http_requests_total with the given labels from
// the admin listener.
func rulesMetric(t *testing.T, admin string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	total := 0.0
	line := regexp.MustCompile(`^openfc_http_requests_total\{(.*)\} (\S+)$`)
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	for _, l := range strings.Split(string(b), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		got := map[string]string{}
		for _, kv := range label.FindAllStringSubmatch(m[1], -1) {
			got[kv[1]] = kv[2]
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			v, _ := strconv.ParseFloat(m[2], 64)
			total += v
		}
	}
	return total
}

// TestXFcStatus checks x-fc-status: the client gets the function's own
// status and body without the header; the access log and the metrics
// count a non-2xx x-fc-status as a failure.
func TestXFcStatus(t *testing.T) {
	s := startServer(t, "", "--admin-listen", "127.0.0.1:0")
	admin := s.AdminAddr
	s.rulesDeploy(rulesFn{svc: "xst", fn: "echo"})
	const base = "/2016-08-15/proxy/xst/echo/"
	for _, c := range []struct {
		name     string
		status   string // the function's status
		fcStatus string // its x-fc-status, "" for none
		failed   bool
	}{
		{"x-fc-status 500", "500", "500", true},
		{"x-fc-status 404", "404", "404", true},
		{"a 200 reporting x-fc-status 500", "200", "500", true},
		{"x-fc-status 200", "200", "200", false},
		{"a 503 without x-fc-status is a success", "503", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			result := map[bool]string{true: "failed", false: "success"}[c.failed]
			labels := map[string]string{"function": "xst/echo", "status": c.status, "error_type": "", "result": result}
			before := rulesMetric(t, admin, labels)
			q := []string{"status", c.status, "body", "function body " + c.name}
			if c.fcStatus != "" {
				q = append(q, "h", "X-Fc-Status:"+c.fcStatus)
			}
			resp, body := s.rulesDo(t, "GET", rulesRespond(base, q...), "", nil, nil)
			if strconv.Itoa(resp.StatusCode) != c.status || string(body) != "function body "+c.name {
				t.Errorf("client got %d %q; want the function's %s %q", resp.StatusCode, body, c.status, "function body "+c.name)
			}
			if v, ok := resp.Header["X-Fc-Status"]; ok {
				t.Errorf("x-fc-status %q reached the client", v)
			}
			if v := resp.Header.Get("X-Fc-Error-Type"); v != "" {
				t.Errorf("X-Fc-Error-Type = %q on the function's own answer", v)
			}
			recs := s.rulesLogRecords(resp.Header.Get("X-Fc-Request-Id"))
			if len(recs) != 1 {
				t.Fatalf("%d access-log records for the request; want 1", len(recs))
			}
			rec := recs[0]
			if got := rec["failed"] == "true"; got != c.failed {
				t.Errorf("access log failed=%q; want %v: %v", rec["failed"], c.failed, rec)
			}
			if rec["fc_status"] != c.fcStatus {
				t.Errorf("access log fc_status=%q; want %q", rec["fc_status"], c.fcStatus)
			}
			if rec["status"] != c.status || rec["function"] != "xst/echo" {
				t.Errorf("access log status=%q function=%q", rec["status"], rec["function"])
			}
			if after := rulesMetric(t, admin, labels); after != before+1 {
				t.Errorf("openfc_http_requests_total%v went from %v to %v; want +1", labels, before, after)
			}
		})
	}
}

// TestContentDisposition checks that the proxy form forces attachment and
// trigger subdomains pass the function's header.
func TestContentDisposition(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "cd", fn: "echo"})
	sub := s.rulesHost("cd", "echo")
	for _, c := range []struct {
		name, host, set, want string // want "" means absent
	}{
		{"proxy form without a header", "", "", "attachment"},
		{"proxy form overrides inline", "", "inline", "attachment"},
		{"proxy form overrides inline with a filename", "", "inline; filename=page.html", "attachment"},
		{"proxy form keeps attachment with a filename", "", "attachment; filename=x", "attachment; filename=x"},
		{"subdomain passes inline", sub, "inline", "inline"},
		{"subdomain passes attachment", sub, "attachment; filename=x", "attachment; filename=x"},
		{"subdomain leaves it absent", sub, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := []string{"body", "<html></html>"}
			if c.set != "" {
				q = append(q, "h", "Content-Disposition:"+c.set)
			}
			target := rulesRespond("/2016-08-15/proxy/cd/echo/", q...)
			if c.host != "" {
				target = rulesRespond("/", q...)
			}
			resp, body := s.rulesDo(t, "GET", target, c.host, nil, nil)
			if resp.StatusCode != 200 || string(body) != "<html></html>" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			got, ok := resp.Header["Content-Disposition"]
			if c.want == "" && ok || c.want != "" && strings.Join(got, ",") != c.want {
				t.Errorf("Content-Disposition = %q (present %v); want %q", got, ok, c.want)
			}
		})
	}
}

// TestSubdomain checks trigger subdomains: the URL the API and the CLI
// give, the path passed unchanged, the Host as sent, no x-fc-base-path,
// and 404 TriggerNotFound for unknown triggers.
func TestSubdomain(t *testing.T) {
	s := startServer(t, "")
	out := s.rulesDeploy(rulesFn{svc: "sub", fn: "echo"})
	s.rulesDeploy(rulesFn{svc: "sub", fn: "other", methods: "[GET]"})
	tr := s.rulesTrigger("sub", "echo")
	wantURL := "http://" + route.SubdomainLabel("sub", "echo", tr.URLID()) + ".fcapp.localhost:" + s.rulesPort() + "/"
	if tr.URLInternet != wantURL {
		t.Errorf("urlInternet = %q; want %q", tr.URLInternet, wantURL)
	}
	if !strings.Contains(out, wantURL) {
		t.Errorf("deploy did not print %s:\n%s", wantURL, out)
	}
	echoHost, otherHost := s.rulesHost("sub", "echo"), s.rulesHost("sub", "other")
	port := s.rulesPort()
	spoof := http.Header{"X-Fc-Base-Path": {"/evil/"}}
	for _, c := range []struct {
		name, method, host, target string
		wantName, wantPath         string
	}{
		{"root", "GET", echoHost, "/", "echo", "/"},
		{"path and query pass unchanged", "POST", echoHost, "/a/b%20c/?x=1&y=%2F", "echo", "/a/b%20c/?x=1&y=%2F"},
		{"a proxy-form path is just a path", "GET", echoHost, "/2016-08-15/proxy/sub/other/x", "echo", "/2016-08-15/proxy/sub/other/x"},
		{"another function's host", "GET", otherHost, "/o", "other", "/o"},
		{"host in upper case", "GET", strings.ToUpper(strings.TrimSuffix(echoHost, ":"+port)) + ":" + port, "/u", "echo", "/u"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in io.Reader
			if c.method == "POST" {
				in = strings.NewReader("b")
			}
			resp, body := s.rulesDo(t, c.method, c.target, c.host, spoof, in)
			r := rulesEcho(t, resp, body)
			if r.Name != c.wantName || r.Path != c.wantPath || r.Method != c.method {
				t.Errorf("function %q saw %s %s; want %q to see %s %s", r.Name, r.Method, r.Path, c.wantName, c.method, c.wantPath)
			}
			if r.Headers["host"] != c.host {
				t.Errorf("function saw Host %q; want %q", r.Headers["host"], c.host)
			}
			if v, ok := r.Headers["x-fc-base-path"]; ok {
				t.Errorf("function saw x-fc-base-path %q on a subdomain", v)
			}
			if r.Headers["x-fc-request-id"] != resp.Header.Get("X-Fc-Request-Id") || r.Headers["x-fc-control-path"] != "/http-invoke" {
				t.Errorf("function saw x-fc-request-id %q (client %q), x-fc-control-path %q", r.Headers["x-fc-request-id"], resp.Header.Get("X-Fc-Request-Id"), r.Headers["x-fc-control-path"])
			}
		})
	}
	for _, c := range []struct {
		name, host string
	}{
		{"unknown trigger id", "echo-sub-00000000000000000000000000000000.fcapp.localhost:" + port},
		{"known id under another label", route.SubdomainLabel("sub", "wrong", tr.URLID()) + ".fcapp.localhost:" + port},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.rulesDo(t, "GET", "/", c.host, nil, nil)
			checkPlatformError(t, c.name, resp, body, 404, "TriggerNotFound", "FcCommonError")
		})
	}
	t.Run("the trigger's methods apply", func(t *testing.T) {
		resp, body := s.rulesDo(t, "POST", "/", otherHost, nil, strings.NewReader("x"))
		checkPlatformError(t, "POST to a GET trigger", resp, body, 403, "MethodNotAllowed", "FcCommonError")
	})
}

// TestDisableURLInternet checks that disableURLInternet refuses both the
// proxy form and the trigger subdomain, and that turning it off opens
// both again.
func TestDisableURLInternet(t *testing.T) {
	s := startServer(t, "")
	out := s.rulesDeploy(rulesFn{svc: "dis", fn: "echo", disable: true})
	if !strings.Contains(out, "internet URLs disabled") {
		t.Errorf("deploy output does not say the URLs are disabled:\n%s", out)
	}
	tr := s.rulesTrigger("dis", "echo")
	if tr.URLInternet != "" || tr.URLIntranet != "" {
		t.Errorf("a disabled trigger shows URLs %q %q", tr.URLInternet, tr.URLIntranet)
	}
	sub := route.SubdomainLabel("dis", "echo", tr.URLID()) + ".fcapp.localhost:" + s.rulesPort()
	forms := []struct{ name, host, target string }{
		{"proxy form", "", "/2016-08-15/proxy/dis/echo/x"},
		{"subdomain", sub, "/x"},
	}
	for _, f := range forms {
		for _, method := range []string{"GET", "POST", "TRACE"} {
			t.Run(f.name+" "+method, func(t *testing.T) {
				resp, body := s.rulesDo(t, method, f.target, f.host, nil, nil)
				checkPlatformError(t, f.name, resp, body, 403, "AccessDenied", "FcCommonError", "access denied due to function internet URL is disabled")
			})
		}
	}
	s.rulesDeploy(rulesFn{svc: "dis", fn: "echo", disable: false})
	for _, f := range forms {
		t.Run("re-enabled "+f.name, func(t *testing.T) {
			resp, body := s.rulesDo(t, "GET", f.target, f.host, nil, nil)
			if r := rulesEcho(t, resp, body); r.Path != "/x" {
				t.Errorf("function saw %s", r.Path)
			}
		})
	}
}

// TestMethods checks the trigger's method list (TRACE never passes) and
// that HEAD answers carry no body.
func TestMethods(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "m", fn: "getpost", methods: "[GET, POST]"})
	s.rulesDeploy(rulesFn{svc: "m", fn: "all", methods: "[GET, POST, PUT, DELETE, HEAD, PATCH, OPTIONS]"})
	for _, c := range []struct {
		fn, method string
		status     int
	}{
		{"getpost", "GET", 200}, {"getpost", "POST", 200},
		{"getpost", "PUT", 403}, {"getpost", "DELETE", 403}, {"getpost", "PATCH", 403},
		{"getpost", "HEAD", 403}, {"getpost", "OPTIONS", 403}, {"getpost", "TRACE", 403}, {"getpost", "PROPFIND", 403},
		{"all", "GET", 200}, {"all", "POST", 200}, {"all", "PUT", 200}, {"all", "DELETE", 200},
		{"all", "PATCH", 200}, {"all", "HEAD", 200}, {"all", "OPTIONS", 200},
		{"all", "TRACE", 403}, {"all", "PROPFIND", 403},
	} {
		t.Run(c.fn+" "+c.method, func(t *testing.T) {
			resp, body := s.rulesDo(t, c.method, "/2016-08-15/proxy/m/"+c.fn+"/p", "", nil, nil)
			switch {
			case c.method == "HEAD":
				if resp.StatusCode != c.status || len(body) != 0 || resp.Header.Get("X-Fc-Request-Id") == "" {
					t.Errorf("HEAD: %d, %d body bytes; want %d, none", resp.StatusCode, len(body), c.status)
				}
				if c.status == 403 && resp.Header.Get("X-Fc-Error-Type") != "FcCommonError" {
					t.Errorf("HEAD 403: X-Fc-Error-Type %q", resp.Header.Get("X-Fc-Error-Type"))
				}
			case c.status == 403:
				checkPlatformError(t, c.method, resp, body, 403, "MethodNotAllowed", "FcCommonError", c.method)
			default:
				if r := rulesEcho(t, resp, body); r.Method != c.method {
					t.Errorf("function saw %s; want %s", r.Method, c.method)
				}
			}
		})
	}

	// A HEAD answer followed by a GET on the same connection: any body
	// bytes after the HEAD answer would corrupt the GET's response.
	t.Run("HEAD sends no body bytes", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		host := strings.TrimPrefix(s.URL, "http://")
		br := bufio.NewReader(c)
		for _, target := range []string{"/2016-08-15/proxy/m/all/", rulesRespond("/2016-08-15/proxy/m/all/", "body", "must-not-be-sent")} {
			io.WriteString(c, rulesRequest("HEAD", target, host, nil, ""))
			head, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
			if err != nil || head.StatusCode != 200 {
				t.Fatalf("HEAD %s: %v %v", target, head, err)
			}
			head.Body.Close()
			io.WriteString(c, rulesRequest("GET", "/2016-08-15/proxy/m/all/after-head", host, nil, ""))
			get, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("the response after HEAD %s does not parse (body bytes were sent?): %v", target, err)
			}
			b, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if r := rulesEcho(t, get, b); r.Path != "/after-head" {
				t.Fatalf("GET after HEAD: %+v", r)
			}
		}
	})

	t.Run("preflight for a trigger without OPTIONS", func(t *testing.T) {
		resp, body := s.rulesDo(t, "OPTIONS", "/2016-08-15/proxy/m/getpost/p", "", http.Header{
			"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"},
		}, nil)
		if resp.StatusCode != 204 || len(body) != 0 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST" {
			t.Errorf("preflight: %d %v %q", resp.StatusCode, resp.Header, body)
		}
	})
}

// TestTriggerRules checks the error model (every platform error is FC
// JSON with X-Fc-Request-Id and X-Fc-Error-Type) and the access log (one
// record per request).
func TestTriggerRules(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "tr", fn: "echo"})
	s.rulesDeploy(rulesFn{svc: "tr", fn: "signed", auth: "function", methods: "[GET]"})
	s.rulesDeploy(rulesFn{svc: "tr", fn: "off", disable: true})
	s.cli("deploy", "-f", writeYAML(t, fmt.Sprintf(`edition: 3.0.0
name: tr
resources:
  f:
    component: fc3
    props: {functionName: notrigger, runtime: custom.debian10, code: %s, customRuntimeConfig: {command: [python3, server.py]}}
`, filepath.Join(repoRoot(), "test/e2e/testdata/pyecho"))))
	port := s.rulesPort()
	const base = "/2016-08-15/proxy/tr/echo/"
	for _, c := range []struct {
		name, method, target, host string
		header                     http.Header
		status                     int
		code, errType, function    string // code "" for a function answer
	}{
		{"success", "GET", base, "", nil, 200, "", "", "tr/echo"},
		{"function's own 404", "GET", rulesRespond(base, "status", "404", "body", "nope"), "", nil, 404, "", "", "tr/echo"},
		{"unknown service", "GET", "/2016-08-15/proxy/nosvc/echo/", "", nil, 404, "ServiceNotFound", "FcCommonError", ""},
		{"unknown function", "GET", "/2016-08-15/proxy/tr/nofn/", "", nil, 404, "FunctionNotFound", "FcCommonError", ""},
		{"function without an HTTP trigger", "GET", "/2016-08-15/proxy/tr/notrigger/", "", nil, 404, "TriggerNotFound", "FcCommonError", ""},
		{"unknown alias", "GET", "/2016-08-15/proxy/tr.prod/echo/", "", nil, 404, "AliasNotFound", "FcCommonError", ""},
		{"unknown trigger host", "GET", "/", "x-tr-0123456789abcdef.fcapp.localhost:" + port, nil, 404, "TriggerNotFound", "FcCommonError", ""},
		{"not a proxy path", "GET", "/2016-08-15/proxy/tr", "", nil, 400, "PathNotSupported", "FcCommonError", ""},
		{"path over the limit", "GET", padTarget(base, 5000), "", nil, 400, "InvalidArgument", "FcCommonError", ""},
		{"method not allowed", "TRACE", base, "", nil, 403, "MethodNotAllowed", "FcCommonError", "tr/echo"},
		{"internet URL disabled", "GET", "/2016-08-15/proxy/tr/off/", "", nil, 403, "AccessDenied", "FcCommonError", "tr/off"},
		{"signature missing", "GET", "/2016-08-15/proxy/tr/signed/", "", nil, 400, "MissingRequiredHeader", "FcCommonError", "tr/signed"},
		{"signature wrong", "GET", "/2016-08-15/proxy/tr/signed/", "", http.Header{
			"Date": {time.Now().UTC().Format(http.TimeFormat)}, "Authorization": {"FC " + accessKeyID + ":c2lnbmF0dXJl"},
		}, 403, "SignatureNotMatch", "FcCommonError", "tr/signed"},
		{"unknown invocation type", "POST", base, "", http.Header{"X-Fc-Invocation-Type": {"Later"}}, 400, "InvalidArgument", "FcCommonError", "tr/echo"},
		{"bad response", "GET", rulesRespond(base, "big", "9000"), "", nil, 502, "BadResponse", "UnhandledInvocationError", "tr/echo"},
		{"process crash", "GET", base + "crash", "", nil, 502, "ProcessExited", "UnhandledInvocationError", "tr/echo"},
		{"success after the crash", "GET", base, "", nil, 200, "", "", "tr/echo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			resp, body := s.rulesDo(t, c.method, c.target, c.host, c.header, nil)
			elapsed := time.Since(start)
			if c.code != "" {
				checkPlatformError(t, c.name, resp, body, c.status, c.code, c.errType)
			} else if resp.StatusCode != c.status || resp.Header.Get("X-Fc-Error-Type") != "" {
				t.Errorf("got %d %s %s; want the function's %d", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body, c.status)
			}
			id := resp.Header.Get("X-Fc-Request-Id")
			if id == "" {
				t.Fatalf("no X-Fc-Request-Id")
			}
			recs := s.rulesLogRecords(id)
			if len(recs) != 1 {
				t.Fatalf("%d access-log records for request %s; want 1", len(recs), id)
			}
			rec := recs[0]
			for k, want := range map[string]string{
				"function": c.function, "status": strconv.Itoa(c.status), "error_type": c.errType, "method": c.method,
			} {
				if rec[k] != want {
					t.Errorf("access log %s=%q; want %q (%v)", k, rec[k], want, rec)
				}
			}
			if _, ok := rec["error_type"]; !ok {
				t.Errorf("access log has no error_type: %v", rec)
			}
			if d, err := time.ParseDuration(rec["duration"]); err != nil || d <= 0 || d > elapsed {
				t.Errorf("access log duration=%q; want a positive duration within the %v the client waited", rec["duration"], elapsed)
			}
			if got, want := rec["failed"] == "true", c.code != ""; got != want {
				t.Errorf("access log failed=%q; want %v", rec["failed"], want)
			}
		})
	}
}

// The path reaches the function byte for byte, on both URL forms, even with
// characters Go would re-encode ('|', '^', '{', '}') and escapes it would
// decode (%7e).
func TestPathPassesVerbatim(t *testing.T) {
	s := startServer(t, "")
	s.rulesDeploy(rulesFn{svc: "raw", fn: "echo", auth: "anonymous", methods: "[GET]"})
	host := s.rulesHost("raw", "echo")
	for _, tc := range []struct{ name, target, host, want string }{
		{"subdomain", "/a|b^c{d}%7e/%2F?q=a|b", host, "/a|b^c{d}%7e/%2F?q=a|b"},
		{"proxy form", "/2016-08-15/proxy/raw/echo/a|b^c%7e%2F?x=|", "127.0.0.1", "/a|b^c%7e%2F?x=|"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.rulesRaw(t, rulesRequest("GET", tc.target, tc.host, nil, ""), "GET")
			r := rulesEcho(t, resp, body)
			if r.Path != tc.want {
				t.Fatalf("the function saw %q; want %q", r.Path, tc.want)
			}
		})
	}
}
