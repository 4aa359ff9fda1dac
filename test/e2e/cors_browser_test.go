package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// corsFindChromium returns the browser binary or fails the test: the CORS
// test must never be skipped for want of a browser.
func corsFindChromium(t *testing.T) string {
	t.Helper()
	return chromiumTool().mustFind(t)
}

// corsPage serves testdata/cors/page.html from its own origin
// (127.0.0.1 on another port than openfc) and receives the page's results
// on POST /result.
type corsPage struct {
	srv     *httptest.Server
	results chan []byte
}

func newCORSPage(t *testing.T) *corsPage {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(repoRoot(), "test/e2e/testdata/cors/page.html"))
	if err != nil {
		t.Fatal(err)
	}
	p := &corsPage{results: make(chan []byte, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(html)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.results <- b:
		default: // a second result is ignored
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	p.srv = httptest.NewServer(mux) // listens on 127.0.0.1:<random>
	t.Cleanup(p.srv.Close)
	return p
}

// origin is the page's origin, as the browser sends it in Origin.
func (p *corsPage) origin() string { return p.srv.URL }

// corsTarget is one trigger URL the page exercises.
type corsTarget struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	DeniedURL string `json:"deniedUrl,omitempty"`
}

// corsFetch is what the page's script could read from one fetch.
type corsFetch struct {
	Status    int             `json:"status"`
	RequestID string          `json:"requestId"`
	ErrorType string          `json:"errorType"`
	Text      string          `json:"text"`
	JSON      json.RawMessage `json:"json"`
	Error     string          `json:"error"` // the fetch failed (CORS)
}

// short summarises f for the test log.
func (f *corsFetch) short() string {
	switch {
	case f == nil:
		return "-"
	case f.Error != "":
		return "blocked"
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", f.Status, f.ErrorType))
}

func (f *corsFetch) String() string {
	if f == nil {
		return "<not run>"
	}
	if f.Error != "" {
		return "fetch failed: " + f.Error
	}
	return fmt.Sprintf("status %d, X-Fc-Request-Id %q, X-Fc-Error-Type %q, body %.400s", f.Status, f.RequestID, f.ErrorType, f.Text)
}

type corsTargetResult struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Post          *corsFetch `json:"post"`
	Put           *corsFetch `json:"put"`
	Head          *corsFetch `json:"head"`
	Denied        *corsFetch `json:"denied"`
	Cred          *corsFetch `json:"cred"`
	CredPreflight *corsFetch `json:"credPreflight"`
}

type corsPageResult struct {
	Fatal     string             `json:"fatal"`
	Origin    string             `json:"origin"`
	UserAgent string             `json:"userAgent"`
	Targets   []corsTargetResult `json:"targets"`
}

// corsBlocked describes a fetch Chromium must block, as its console
// reports it: "Access to fetch at '<URL>' from origin '<origin>' has been
// blocked by CORS policy: … <Reason> …".
type corsBlocked struct{ URL, Reason string }

// corsRunChromium opens the page with the targets in headless Chromium and
// returns what the page's script reported. It also checks Chromium's
// console: exactly the blocked fetches given were blocked by CORS, for
// the reasons given. Chromium (its whole process group) is killed before
// this returns.
func corsRunChromium(t *testing.T, chromium string, page *corsPage, targets []corsTarget, blocked []corsBlocked) corsPageResult {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{"targets": targets})
	if err != nil {
		t.Fatal(err)
	}
	pageURL := page.srv.URL + "/page.html?cfg=" + url.QueryEscape(string(cfg))

	profile, err := os.MkdirTemp("", "openfc-e2e-chromium")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0", // console messages on stderr
		"--user-data-dir="+profile, pageURL)
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatalf("starting %s: %v; install Chromium with: %s", chromium, err, chromiumTool().install)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium (pid %d) did not exit within 10s of SIGKILL", cmd.Process.Pid)
		}
		os.RemoveAll(profile)
	}
	t.Cleanup(stop)
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("chromium output (without D-Bus noise):\n%s", corsChromiumLog(out.String()))
		}
	}()

	var raw []byte
	select {
	case raw = <-page.results:
	case <-exited:
		t.Fatalf("chromium exited before the page reported results")
	case <-time.After(60 * time.Second):
		t.Fatalf("the page reported no results within 60s")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("page result: %s", raw)
		}
	})
	var res corsPageResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("page result is not JSON: %v: %s", err, raw)
	}
	if res.Fatal != "" {
		t.Fatalf("the page's script failed: %s", res.Fatal)
	}
	if res.Origin != page.origin() {
		t.Fatalf("page origin %q; want %q", res.Origin, page.origin())
	}
	if len(res.Targets) != len(targets) {
		t.Fatalf("page reported %d targets; want %d", len(res.Targets), len(targets))
	}
	for _, tr := range res.Targets {
		t.Logf("%s: POST %s | PUT %s | HEAD %s | denied %s | cred %s | credPreflight %s", tr.Name,
			tr.Post.short(), tr.Put.short(), tr.Head.short(), tr.Denied.short(), tr.Cred.short(), tr.CredPreflight.short())
	}

	// Console messages reach Chromium's log asynchronously: wait for them.
	matches := func(line string, b corsBlocked) bool {
		return strings.Contains(line, "Access to fetch at '"+b.URL+"' from origin '"+page.origin()+"' has been blocked by CORS policy") &&
			strings.Contains(line, b.Reason)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := corsGrepLines(out.String(), "blocked by CORS policy")
		var missing []string
		for _, b := range blocked {
			found := false
			for _, line := range strings.Split(lines, "\n") {
				if matches(line, b) {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%s (%s)", b.URL, b.Reason))
			}
		}
		if len(missing) == 0 {
			for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
				ok := line == ""
				for _, b := range blocked {
					ok = ok || matches(line, b)
				}
				if !ok {
					t.Errorf("chromium blocked a fetch the test did not expect to be blocked: %s", line)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("chromium's console does not report these fetches blocked by CORS: %s", strings.Join(missing, "; "))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return res
}

// corsChromiumLog drops Chromium's D-Bus complaints (no bus in a
// container) from its output.
func corsChromiumLog(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, "dbus") && !strings.Contains(line, "D-Bus") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// corsTriggerURL returns the trigger-subdomain URL (urlInternet) of the
// function's only trigger, as `openfc functions get --json` prints it.
func corsTriggerURL(t *testing.T, s *server, fn string) string {
	t.Helper()
	var got struct {
		Triggers []struct {
			URLInternet string `json:"urlInternet"`
		} `json:"triggers"`
	}
	out := s.cli("functions", "get", fn, "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("functions get %s --json: %v:\n%s", fn, err, out)
	}
	if len(got.Triggers) != 1 {
		t.Fatalf("functions get %s: %d triggers; want 1:\n%s", fn, len(got.Triggers), out)
	}
	u, err := url.Parse(got.Triggers[0].URLInternet)
	if err != nil || !strings.HasSuffix(u.Hostname(), ".fcapp.localhost") || u.Port() == "" || u.Path != "/" {
		t.Fatalf("urlInternet of %s = %q; want http://<label>.fcapp.localhost:<port>/", fn, got.Triggers[0].URLInternet)
	}
	return got.Triggers[0].URLInternet
}

// corsRawPreflight sends a CORS preflight from Go to rawURL; a trigger
// subdomain is reached through the server's address with its Host.
func corsRawPreflight(t *testing.T, s *server, rawURL, origin, method, headers string) *http.Response {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	base, _ := url.Parse(s.URL)
	u.Host = base.Host
	req, err := http.NewRequest(http.MethodOptions, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("OPTIONS %s: %v", rawURL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

var corsLogFieldRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// corsGatewayRequests returns openfc's per-request log lines ("msg=request")
// for one function as key/value maps.
func corsGatewayRequests(log, function string) []map[string]string {
	var out []map[string]string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "msg=request ") {
			continue
		}
		kv := map[string]string{}
		for _, m := range corsLogFieldRE.FindAllStringSubmatch(line, -1) {
			v := m[2]
			if strings.HasPrefix(v, `"`) {
				if u, err := corsUnquoteLog(v); err == nil {
					v = u
				}
			}
			kv[m[1]] = v
		}
		if kv["msg"] == "request" && kv["function"] == function {
			out = append(out, kv)
		}
	}
	return out
}

func corsUnquoteLog(s string) (string, error) {
	var v string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// corsEchoOf decodes an echo reply the page read.
func corsEchoOf(t *testing.T, what string, f *corsFetch) echoReply {
	t.Helper()
	var r echoReply
	if f == nil || f.Error != "" || len(f.JSON) == 0 || json.Unmarshal(f.JSON, &r) != nil {
		t.Fatalf("%s: the script could not read the function's JSON: %s", what, f)
	}
	return r
}

// corsCheckPost: the preflighted POST reached the function with its header
// and body, and the script could read X-Fc-Request-Id.
func corsCheckPost(t *testing.T, tr corsTargetResult, origin string) {
	t.Helper()
	what := tr.Name + " POST (preflighted)"
	if tr.Post == nil || tr.Post.Error != "" || tr.Post.Status != 200 {
		t.Fatalf("%s: %s; want 200", what, tr.Post)
	}
	r := corsEchoOf(t, what, tr.Post)
	if r.Method != "POST" || r.Path != "/browser" {
		t.Errorf("%s: function saw %s %s; want POST /browser", what, r.Method, r.Path)
	}
	if r.Headers["x-custom"] != "hello" {
		t.Errorf("%s: function saw x-custom %q; want hello", what, r.Headers["x-custom"])
	}
	if !strings.HasPrefix(r.Headers["content-type"], "application/json") {
		t.Errorf("%s: function saw content-type %q; want application/json", what, r.Headers["content-type"])
	}
	if r.Body != `{"a":1}` {
		t.Errorf("%s: function saw body %q; want {\"a\":1}", what, r.Body)
	}
	if r.Headers["origin"] != origin {
		t.Errorf("%s: function saw Origin %q; want %q", what, r.Headers["origin"], origin)
	}
	if tr.Post.RequestID == "" {
		t.Errorf("%s: the script could not read X-Fc-Request-Id (not exposed?)", what)
	} else if tr.Post.RequestID != r.Headers["x-fc-request-id"] {
		t.Errorf("%s: the script read X-Fc-Request-Id %q; the function saw %q", what, tr.Post.RequestID, r.Headers["x-fc-request-id"])
	}
}

// corsCheckHead: HEAD is simple (no preflight) and not among the trigger's
// methods: the script reads openfc's 403 and its exposed headers.
func corsCheckHead(t *testing.T, tr corsTargetResult) {
	t.Helper()
	if f := tr.Head; f == nil || f.Error != "" || f.Status != 403 || f.ErrorType != "FcCommonError" || f.RequestID == "" {
		t.Errorf("%s HEAD (not allowed): %s; want a readable 403 with X-Fc-Error-Type FcCommonError and X-Fc-Request-Id", tr.Name, f)
	}
}

// corsCheckCred: a credentialed simple GET succeeds.
func corsCheckCred(t *testing.T, tr corsTargetResult) {
	t.Helper()
	what := tr.Name + " credentialed GET"
	if tr.Cred == nil || tr.Cred.Error != "" || tr.Cred.Status != 200 {
		t.Fatalf("%s: %s; want 200", what, tr.Cred)
	}
	if r := corsEchoOf(t, what, tr.Cred); r.Method != "GET" || r.Path != "/browser?cred=1" {
		t.Errorf("%s: function saw %s %s; want GET /browser?cred=1", what, r.Method, r.Path)
	}
	if tr.Cred.RequestID == "" {
		t.Errorf("%s: the script could not read X-Fc-Request-Id", what)
	}
}

func TestCORSInHeadlessChromium(t *testing.T) {
	chromium := corsFindChromium(t)
	s := startServer(t, "")
	parent := t
	base, _ := url.Parse(s.URL)

	// The trigger's methods do not include OPTIONS: openfc answers the
	// browser's preflights itself.
	t.Run("OpenfcAnswersPreflight", func(t *testing.T) {
		s.t = t // s.cli and friends fail this subtest
		defer func() { s.t = parent }()
		s.deployEcho(echoOpts{service: "cors", name: "echo", methods: "[GET, POST]"})
		s.deployEcho(echoOpts{service: "cors", name: "getonly", methods: "[GET]"})
		echoSub, getonlySub := corsTriggerURL(t, s, "cors/echo"), corsTriggerURL(t, s, "cors/getonly")
		if !strings.HasSuffix(echoSub, ":"+base.Port()+"/") {
			t.Fatalf("urlInternet %s is not on the server's port %s", echoSub, base.Port())
		}
		page := newCORSPage(t)
		origin := page.origin()
		if origin == s.URL {
			t.Fatalf("the page's origin %s is openfc's", origin)
		}
		targets := []corsTarget{
			{Name: "proxy form", URL: s.URL + "/2016-08-15/proxy/cors/echo/browser", DeniedURL: s.URL + "/2016-08-15/proxy/cors/getonly/denied"},
			{Name: "trigger subdomain", URL: echoSub + "browser", DeniedURL: getonlySub + "denied"},
		}
		var blocked []corsBlocked
		for _, tg := range targets {
			blocked = append(blocked, corsBlocked{tg.URL, "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response"})
		}
		res := corsRunChromium(t, chromium, page, targets, blocked)
		for _, tr := range res.Targets {
			corsCheckPost(t, tr, origin)
			// openfc's preflight answer allows GET, POST only: the browser
			// must refuse to send the PUT.
			if tr.Put == nil || tr.Put.Error == "" {
				t.Errorf("%s PUT: %s; want the fetch blocked by openfc's preflight answer (Allow-Methods GET, POST)", tr.Name, tr.Put)
			}
			corsCheckHead(t, tr)
			// A simple POST to a GET-only trigger: openfc's 403 and its
			// JSON are readable cross-origin.
			d := tr.Denied
			var e fcError
			if d == nil || d.Error != "" || d.Status != 403 || json.Unmarshal(d.JSON, &e) != nil {
				t.Errorf("%s POST to a GET-only trigger: %s; want a readable 403 FC error", tr.Name, d)
			} else if e.ErrorCode != "MethodNotAllowed" || e.ErrorMessage == "" || d.ErrorType != "FcCommonError" || d.RequestID == "" || d.RequestID != e.RequestID {
				t.Errorf("%s POST to a GET-only trigger: ErrorCode %q, X-Fc-Error-Type %q, X-Fc-Request-Id %q, RequestId %q; want MethodNotAllowed, FcCommonError and matching ids",
					tr.Name, e.ErrorCode, d.ErrorType, d.RequestID, e.RequestID)
			}
			corsCheckCred(t, tr)
			// Credentialed and preflighted: openfc's preflight answer
			// carries Access-Control-Allow-Credentials: true.
			what := tr.Name + " credentialed POST (preflighted)"
			if tr.CredPreflight == nil || tr.CredPreflight.Error != "" || tr.CredPreflight.Status != 200 {
				t.Errorf("%s: %s; want 200", what, tr.CredPreflight)
			} else if r := corsEchoOf(t, what, tr.CredPreflight); r.Method != "POST" || r.Headers["x-custom"] != "cred" || r.Body != "cred" {
				t.Errorf("%s: function saw %s x-custom=%q body %q", what, r.Method, r.Headers["x-custom"], r.Body)
			}
		}

		// Server side: the browser's preflights were answered by openfc
		// (204) and none reached the function; the PUT was never sent.
		log := s.log.String()
		reqs := corsGatewayRequests(log, "cors/echo")
		perPath := map[string]int{}
		for _, r := range reqs {
			switch r["method"] {
			case "OPTIONS":
				if r["status"] != "204" {
					t.Errorf("openfc logged an OPTIONS for cors/echo with status %s; want 204 (answered by openfc): %v", r["status"], r)
				}
				if r["instance"] != "" {
					t.Errorf("an OPTIONS for cors/echo was served by instance %s; want openfc to answer it", r["instance"])
				}
				perPath[r["path"]]++
			case "PUT":
				t.Errorf("the browser sent a PUT although the preflight did not allow it: %v", r)
			}
		}
		// Per URL: preflights for the POST, the PUT and the credentialed POST.
		for _, p := range []string{"/2016-08-15/proxy/cors/echo/browser", "/browser"} {
			if perPath[p] < 3 {
				t.Errorf("openfc logged %d preflights for %s; want at least 3 (POST, PUT, credentialed POST): %v", perPath[p], p, reqs)
			}
		}
		// pyecho prints `request "METHOD /path HTTP/1.1" ...` per request.
		if !strings.Contains(log, `"POST /browser HTTP/1.1"`) {
			t.Errorf("the function's request log lines are missing from the server log; cannot check for OPTIONS")
		}
		if strings.Contains(log, `"OPTIONS /`) {
			t.Errorf("an OPTIONS request reached the echo function:\n%s", corsGrepLines(log, `"OPTIONS /`))
		}

		// The same from Go, for both URL forms.
		for _, tg := range targets {
			resp := corsRawPreflight(t, s, tg.URL, origin, "POST", "X-Custom, Content-Type")
			h := resp.Header
			if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
				h.Get("Access-Control-Allow-Methods") != "GET, POST" || h.Get("Access-Control-Allow-Headers") != "X-Custom, Content-Type" ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Fc-Request-Id") || h.Get("X-Fc-Request-Id") == "" ||
				h.Get("X-From-Function") != "" {
				t.Errorf("%s: raw preflight got %d %v; want openfc's 204 allowing GET, POST and echoing X-Custom, Content-Type", tg.Name, resp.StatusCode, h)
			}
		}
		if log := s.log.String(); strings.Contains(log, `"OPTIONS /`) {
			t.Errorf("an OPTIONS request reached the echo function:\n%s", corsGrepLines(log, `"OPTIONS /`))
		}
	})

	// The trigger's methods include OPTIONS: preflights go to the function,
	// whose CORS headers stand alone.
	t.Run("FunctionAnswersPreflight", func(t *testing.T) {
		s.t = t // s.cli and friends fail this subtest
		defer func() { s.t = parent }()
		s.deployEcho(echoOpts{service: "cors", name: "preflight", methods: "[GET, POST, OPTIONS]",
			code: filepath.Join(repoRoot(), "test/e2e/testdata/cors/preflightfn")})
		sub := corsTriggerURL(t, s, "cors/preflight")
		page := newCORSPage(t)
		origin := page.origin()
		targets := []corsTarget{
			{Name: "proxy form", URL: s.URL + "/2016-08-15/proxy/cors/preflight/browser"},
			{Name: "trigger subdomain", URL: sub + "browser"},
		}
		var blocked []corsBlocked
		for _, tg := range targets {
			blocked = append(blocked,
				corsBlocked{tg.URL, "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response"},
				corsBlocked{tg.URL + "?cred=2", "The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be 'true'"})
		}
		res := corsRunChromium(t, chromium, page, targets, blocked)
		for _, tr := range res.Targets {
			corsCheckPost(t, tr, origin)
			// The function's preflight answer allows only POST.
			if tr.Put == nil || tr.Put.Error == "" {
				t.Errorf("%s PUT: %s; want the fetch blocked by the function's preflight answer (Allow-Methods POST)", tr.Name, tr.Put)
			}
			corsCheckHead(t, tr)
			if tr.Denied != nil {
				t.Errorf("%s: unexpected denied result %s", tr.Name, tr.Denied)
			}
			corsCheckCred(t, tr)
			// The function's preflight answer has no
			// Access-Control-Allow-Credentials and openfc must not add
			// one: the browser refuses the credentialed preflighted POST.
			if tr.CredPreflight == nil || tr.CredPreflight.Error == "" {
				t.Errorf("%s credentialed POST (preflighted): %s; want it blocked (the function's preflight answer lacks Access-Control-Allow-Credentials)", tr.Name, tr.CredPreflight)
			}
		}

		// Server side: the function received the browser's preflights.
		log := s.log.String()
		for _, want := range []string{
			"corsfn OPTIONS /browser origin=" + origin + " request-method=POST request-headers=content-type,x-custom",
			"corsfn OPTIONS /browser origin=" + origin + " request-method=PUT",
			"corsfn OPTIONS /browser?cred=2 origin=" + origin + " request-method=POST request-headers=x-custom",
			"corsfn POST /browser",
		} {
			if n := strings.Count(log, want); n < len(targets) {
				t.Errorf("the function logged %q %d times; want %d (one per URL form):\n%s", want, n, len(targets), corsGrepLines(log, "corsfn "))
			}
		}
		if strings.Contains(log, "corsfn PUT") {
			t.Errorf("the browser sent a PUT although the function's preflight did not allow it")
		}
		reqs := corsGatewayRequests(log, "cors/preflight")
		preflights := 0
		for _, r := range reqs {
			if r["method"] == "OPTIONS" {
				preflights++
				if r["status"] != "200" || r["instance"] == "" {
					t.Errorf("openfc logged an OPTIONS for cors/preflight with status %s, instance %q; want the function's 200", r["status"], r["instance"])
				}
			}
		}
		if preflights < 3*len(targets) {
			t.Errorf("openfc logged %d preflights for cors/preflight; want at least %d: %v", preflights, 3*len(targets), reqs)
		}

		// The same from Go: the function's answer, without openfc's
		// defaults.
		for _, tg := range targets {
			resp := corsRawPreflight(t, s, tg.URL, origin, "POST", "X-Custom, Content-Type")
			h := resp.Header
			if resp.StatusCode != 200 || h.Get("X-From-Function") != "yes" || h.Get("Access-Control-Allow-Origin") != origin ||
				h.Get("Access-Control-Allow-Methods") != "POST" || h.Get("Access-Control-Allow-Headers") != "X-Custom, Content-Type" ||
				h.Get("X-Fc-Request-Id") == "" {
				t.Errorf("%s: raw preflight got %d %v; want the function's 200 with X-From-Function: yes", tg.Name, resp.StatusCode, h)
			}
			for _, k := range []string{"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary"} {
				if v, ok := h[k]; ok {
					t.Errorf("%s: raw preflight has %s %q; openfc must not add its defaults when the function set Access-Control-Allow-Origin", tg.Name, k, v)
				}
			}
		}
	})
}

// corsGrepLines returns the lines of s that contain sub.
func corsGrepLines(s, sub string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
