package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// recEntry is one line of testdata/asyncrec's log: a call that reached
// the function ("start"), finished its sleep ("end") or saw its
// connection cut while sleeping ("cut").
type recEntry struct {
	RequestID string  `json:"requestId"`
	TaskID    string  `json:"taskId"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Body      string  `json:"body"`
	Phase     string  `json:"phase"`
	Name      string  `json:"name"`
	CWD       string  `json:"cwd"`  // under the data dir of the node that ran it
	Time      float64 `json:"time"` // Unix seconds
}

func (e recEntry) at() time.Time {
	return time.Unix(0, int64(e.Time*1e9))
}

// recFn is a deployed asyncrec function and the file it records calls in.
type recFn struct {
	s             *server
	service, name string
	log           string
}

type recOpts struct {
	service, name string
	auth          string // trigger authType; default anonymous
	concurrency   int    // default 10
	timeout       int    // seconds; default 60
	// props are more fc3 props lines, indented by 6 spaces (e.g.
	// asyncInvokeConfig).
	props string
}

// deployRec deploys testdata/asyncrec as service/name with an HTTP
// trigger (GET and POST); its calls are recorded in a file of the test's.
func (s *server) deployRec(o recOpts) *recFn {
	s.t.Helper()
	if o.auth == "" {
		o.auth = "anonymous"
	}
	if o.concurrency == 0 {
		o.concurrency = 10
	}
	if o.timeout == 0 {
		o.timeout = 60
	}
	f := &recFn{s: s, service: o.service, name: o.name, log: filepath.Join(s.t.TempDir(), o.name+".jsonl")}
	s.deployEcho(echoOpts{service: o.service, name: o.name, auth: o.auth, methods: "[GET, POST]",
		concurrency: o.concurrency, timeout: o.timeout, code: filepath.Join(repoRoot(), "test/e2e/testdata/asyncrec"),
		env: map[string]string{"ASYNC_LOG": f.log, "ASYNC_NAME": o.name}, props: o.props})
	return f
}

// proxy is the function's proxy-form path followed by rest.
func (f *recFn) proxy(rest string) string {
	return "/2016-08-15/proxy/" + f.service + "/" + f.name + "/" + strings.TrimPrefix(rest, "/")
}

// api is the function's management API path followed by rest.
func (f *recFn) api(rest string) string {
	return "/2016-08-15/services/" + f.service + "/functions/" + f.name + rest
}

// ref is service/function as the CLI takes it.
func (f *recFn) ref() string { return f.service + "/" + f.name }

// entries reads the calls recorded so far.
func (f *recFn) entries() []recEntry {
	f.s.t.Helper()
	b, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.s.t.Fatal(err)
	}
	var out []recEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e recEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a line being written
		}
		out = append(out, e)
	}
	return out
}

// runs are the recorded entries of requestID in phase.
func (f *recFn) runs(requestID, phase string) []recEntry {
	var out []recEntry
	for _, e := range f.entries() {
		if e.RequestID == requestID && e.Phase == phase {
			out = append(out, e)
		}
	}
	return out
}

// waitRuns waits until requestID has started n times and returns the runs.
func (f *recFn) waitRuns(t *testing.T, requestID string, n int, timeout time.Duration) []recEntry {
	t.Helper()
	var got []recEntry
	waitFor(t, timeout, func() error {
		if got = f.runs(requestID, "start"); len(got) < n {
			return fmt.Errorf("%s/%s ran request %s %d times; want %d", f.service, f.name, requestID, len(got), n)
		}
		return nil
	})
	return got
}

// asyncHeader is X-Fc-Invocation-Type: Async plus the given name/value
// pairs.
func asyncHeader(kv ...string) http.Header {
	h := http.Header{"X-Fc-Invocation-Type": {"Async"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// wantAccepted checks an async accept: 202, an empty body and a request
// id, which it returns.
func wantAccepted(t *testing.T, what string, resp *http.Response, body []byte) string {
	t.Helper()
	id := resp.Header.Get("X-Fc-Request-Id")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%s: %d %s; want 202", what, resp.StatusCode, body)
	}
	if len(body) != 0 {
		t.Errorf("%s: 202 with body %q; want none", what, body)
	}
	if id == "" {
		t.Fatalf("%s: 202 without X-Fc-Request-Id", what)
	}
	return id
}

// signed sends method path with body and header, signed with the admin
// key.
func (s *server) signed(method, path, body string, header http.Header) (*http.Response, []byte) {
	s.t.Helper()
	req := s.newRequest(method, path, body)
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	fcsign.Sign(adminCreds, req)
	return s.send(req)
}

// putAsyncConfig sets f's async config (FC 2.0 PutFunctionAsyncInvokeConfig)
// from its JSON.
func (f *recFn) putAsyncConfig(t *testing.T, config string) {
	t.Helper()
	resp, body := f.s.signedDo("PUT", f.api("/async-invoke-config"), config)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT async-invoke-config %s: %d %s", config, resp.StatusCode, body)
	}
}

// TestAsyncWaysIn: X-Fc-Invocation-Type: Async on the proxy form, the
// trigger subdomain and InvokeFunction answers 202 with an empty body and
// X-Fc-Request-Id before the function runs, and the function then runs
// once with that request id, the method, path, query and body sent.
func TestAsyncWaysIn(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "aw", name: "rec"})
	sub, err := url.Parse(corsTriggerURL(t, s, "aw/rec"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		send           func() (*http.Response, []byte)
		method, path   string
		body           string
		acceptedWithin time.Duration
	}{
		{"proxy form POST (the function sleeps 3 s)", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("p1?x=1&sleep=3000"), strings.NewReader("proxy-body"), asyncHeader("Content-Type", "text/plain"))
		}, "POST", "/p1?x=1&sleep=3000", "proxy-body", 2 * time.Second},
		{"proxy form GET", func() (*http.Response, []byte) {
			return s.do("GET", f.proxy("g?y=2"), nil, asyncHeader())
		}, "GET", "/g?y=2", "", 0},
		{"proxy form, lower-case header value", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("lc"), strings.NewReader("lc-body"), http.Header{"X-Fc-Invocation-Type": {"async"}})
		}, "POST", "/lc", "lc-body", 0},
		{"trigger subdomain", func() (*http.Response, []byte) {
			req := s.newRequest("POST", "/s1?z=3", "sub-body")
			req.Host = sub.Host
			req.Header = asyncHeader()
			return s.send(req)
		}, "POST", "/s1?z=3", "sub-body", 0},
		{"InvokeFunction", func() (*http.Response, []byte) {
			return s.signed("POST", f.api("/invocations"), "event-body", asyncHeader())
		}, "POST", "/invoke", "event-body", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			resp, body := tc.send()
			took := time.Since(began)
			id := wantAccepted(t, tc.name, resp, body)
			if tc.acceptedWithin > 0 && took > tc.acceptedWithin {
				t.Errorf("202 took %v; want it before the function's run ends (under %v)", took, tc.acceptedWithin)
			}
			runs := f.waitRuns(t, id, 1, 30*time.Second)
			r := runs[0]
			if r.Method != tc.method || r.Path != tc.path || r.Body != tc.body {
				t.Errorf("function saw %s %s body %q; want %s %s body %q", r.Method, r.Path, r.Body, tc.method, tc.path, tc.body)
			}
			if r.at().Before(began) {
				t.Errorf("function ran at %v, before the request was sent (%v)", r.at(), began)
			}
		})
	}
	// Sync stays the default, and an explicit Sync answers the function.
	resp, body := s.do("POST", f.proxy("sync"), strings.NewReader("x"), http.Header{"X-Fc-Invocation-Type": {"Sync"}})
	if resp.StatusCode != 200 || string(body) != "done:/sync" {
		t.Errorf("Sync call: %d %q; want 200 done:/sync", resp.StatusCode, body)
	}
	// Each accepted request ran once (none twice, none of another id).
	time.Sleep(2 * time.Second)
	seen := map[string]int{}
	for _, e := range f.entries() {
		if e.Phase == "start" {
			seen[e.RequestID]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("request %s ran %d times; want once", id, n)
		}
	}
	if len(seen) != 6 { // five async, one sync
		t.Errorf("%d distinct request ids ran; want 6: %v", len(seen), seen)
	}
}

// TestAsyncRefusals: what cannot be accepted is refused at once with its
// error, never with a 202, and never runs: an unknown function or
// service, a failed signature (authType function), a bad delay, a body
// over 128 KB. A body of exactly 128 KB and a signed call are accepted.
func TestAsyncRefusals(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "ar", name: "rec"})
	g := s.deployRec(recOpts{service: "ar", name: "authrec", auth: "function"})
	limit := 128 << 10
	for _, tc := range []struct {
		name   string
		send   func() (*http.Response, []byte)
		status int
		code   string
		msg    string
	}{
		{"unknown function", func() (*http.Response, []byte) {
			return s.do("POST", "/2016-08-15/proxy/ar/nope/", strings.NewReader("x"), asyncHeader())
		}, 404, "FunctionNotFound", ""},
		{"unknown service", func() (*http.Response, []byte) {
			return s.do("POST", "/2016-08-15/proxy/nope/rec/", strings.NewReader("x"), asyncHeader())
		}, 404, "ServiceNotFound", ""},
		{"unknown function, InvokeFunction", func() (*http.Response, []byte) {
			return s.signed("POST", "/2016-08-15/services/ar/functions/nope/invocations", "x", asyncHeader())
		}, 404, "FunctionNotFound", ""},
		{"unsigned call of an authType function trigger", func() (*http.Response, []byte) {
			return s.do("POST", g.proxy("unsigned"), strings.NewReader("x"), asyncHeader())
		}, 400, "MissingRequiredHeader", ""},
		{"bad signature", func() (*http.Response, []byte) {
			h := asyncHeader("Authorization", fcsign.AuthorizationValue(accessKeyID, fcsign.Signature("wrong", "x")), "Date", time.Now().UTC().Format(http.TimeFormat))
			return s.do("POST", g.proxy("badsig"), strings.NewReader("x"), h)
		}, 403, "SignatureNotMatch", ""},
		{"delay abc", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("d"), strings.NewReader("x"), asyncHeader("X-Fc-Async-Delay", "abc"))
		}, 400, "InvalidArgument", "X-Fc-Async-Delay"},
		{"delay 3601", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("d"), strings.NewReader("x"), asyncHeader("X-Fc-Async-Delay", "3601"))
		}, 400, "InvalidArgument", "X-Fc-Async-Delay"},
		{"delay -1", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("d"), strings.NewReader("x"), asyncHeader("X-Fc-Async-Delay", "-1"))
		}, 400, "InvalidArgument", "X-Fc-Async-Delay"},
		{"delay 1.5", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("d"), strings.NewReader("x"), asyncHeader("X-Fc-Async-Delay", "1.5"))
		}, 400, "InvalidArgument", "X-Fc-Async-Delay"},
		{"body of 128 KB + 1", func() (*http.Response, []byte) {
			return s.do("POST", f.proxy("big"), strings.NewReader(strings.Repeat("b", limit+1)), asyncHeader())
		}, 400, "InvalidArgument", fmt.Sprint(limit)},
		{"body of 128 KB + 1, InvokeFunction", func() (*http.Response, []byte) {
			return s.signed("POST", f.api("/invocations"), strings.Repeat("b", limit+1), asyncHeader())
		}, 400, "InvalidArgument", fmt.Sprint(limit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			resp, body := tc.send()
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("refusal took %v; want it at once", took)
			}
			e := expectError(t, tc.name, resp, body, tc.status, tc.code)
			if tc.msg != "" && !strings.Contains(e.ErrorMessage, tc.msg) {
				t.Errorf("message %q does not name %q", e.ErrorMessage, tc.msg)
			}
		})
	}

	// Within the limits: accepted and run.
	resp, body := s.do("POST", f.proxy("exact"), strings.NewReader(strings.Repeat("e", limit)), asyncHeader())
	id := wantAccepted(t, "body of 128 KB", resp, body)
	if r := f.waitRuns(t, id, 1, 30*time.Second)[0]; len(r.Body) != limit {
		t.Errorf("the function got %d bytes; want %d", len(r.Body), limit)
	}
	req := s.newRequest("POST", g.proxy("signed?q=1"), "signed-body")
	req.Header = asyncHeader("Content-Type", "text/plain")
	fcsign.Sign(adminCreds, req)
	resp, body = s.send(req)
	id = wantAccepted(t, "signed call of an authType function trigger", resp, body)
	if r := g.waitRuns(t, id, 1, 30*time.Second)[0]; r.Path != "/signed?q=1" || r.Body != "signed-body" {
		t.Errorf("signed async call: function saw %s body %q", r.Path, r.Body)
	}
	resp, body = s.do("POST", f.proxy("zero"), strings.NewReader("z"), asyncHeader("X-Fc-Async-Delay", "0"))
	id = wantAccepted(t, "delay 0", resp, body)
	f.waitRuns(t, id, 1, 30*time.Second)

	// Nothing refused ran.
	time.Sleep(2 * time.Second)
	for _, fn := range []*recFn{f, g} {
		for _, e := range fn.entries() {
			if e.Phase == "start" && !strings.HasPrefix(e.Path, "/exact") && !strings.HasPrefix(e.Path, "/signed") && !strings.HasPrefix(e.Path, "/zero") {
				t.Errorf("%s ran a refused request: %s %s", fn.name, e.Method, e.Path)
			}
		}
	}
}

// TestAsyncDelay: X-Fc-Async-Delay: 3 runs the function no earlier than
// 3 s after the 202 and within 10 s more.
func TestAsyncDelay(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "ad", name: "rec"})
	// Warm: the delay measured is the queue's, not a cold start's.
	if resp, body := s.do("GET", f.proxy("warm"), nil, nil); resp.StatusCode != 200 {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
	}
	sent := time.Now()
	resp, body := s.do("POST", f.proxy("late"), strings.NewReader("d"), asyncHeader("X-Fc-Async-Delay", "3"))
	answered := time.Now()
	id := wantAccepted(t, "delay 3", resp, body)
	if answered.Sub(sent) > 2*time.Second {
		t.Errorf("the 202 took %v; the delay is the run's, not the accept's", answered.Sub(sent))
	}
	r := f.waitRuns(t, id, 1, 20*time.Second)[0]
	if ran := r.at().Sub(sent); ran < 3*time.Second || ran > 13*time.Second+answered.Sub(sent) {
		t.Errorf("with X-Fc-Async-Delay: 3 the function ran %v after the request was sent; want 3 s to 13 s", ran)
	} else {
		t.Logf("X-Fc-Async-Delay: 3: ran %v after the request was sent", ran)
	}
}
