package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/openfc/openfc/pkg/fcsign"
)

// consoleFunctionCode is the function the test creates from the console:
// FC 2.0's Node.js HTTP handler, answering with what it received.
const consoleFunctionCode = `'use strict';
exports.handler = (request, response, context) => {
  const chunks = [];
  request.on('data', (c) => chunks.push(c));
  request.on('end', () => {
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.send('console says hi ' + request.method + ' ' + request.path + ' [' + Buffer.concat(chunks) + ']');
  });
};
`

// consoleBrowser is a headless Chromium driven by chromedp, with what
// its pages threw or logged as errors.
type consoleBrowser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	shots  string // the screenshot directory
}

func newConsoleBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	chromium := chromiumTool().mustFind(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b := &consoleBrowser{t: t, ctx: ctx, shots: filepath.Join(repoRoot(), "test/e2e/artifacts")}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Listen starts the browser; the page's errors are kept for the end.
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.errors = append(b.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.errors = append(b.errors, "console.error: "+strings.Join(args, " "))
			}
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v; install Chromium with: %s", chromium, err, chromiumTool().install)
	}
	return b
}

// step bounds one action, so that a page that never shows what the test
// waits for fails the test instead of hanging it.
func step[T any](b *consoleBrowser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v (page errors: %v; the page: %s)", what, err, b.pageErrors(), b.pageState())
	}
	return v
}

// pageState is where the page is and what it shows, for a failed step's
// message.
func (b *consoleBrowser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + ' ' + JSON.stringify(document.body ? document.body.innerText.slice(0, 400) : '') + ' loaded: ' + performance.getEntriesByType('resource').map((e) => e.name.replace(location.origin, '') + ' ' + e.responseStatus).join(', ')`))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return state
}

// do runs actions in order, bounded as step.
func (b *consoleBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	step(b, what, chromedp.Steps(actions...))
}

func (b *consoleBrowser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// text returns the text of the first node matching sel, once visible.
func (b *consoleBrowser) text(sel string) string {
	b.t.Helper()
	b.do("waiting for "+sel, chromedp.WaitVisible(sel))
	return strings.TrimSpace(step(b, "reading "+sel, chromedp.Text(sel)))
}

// goTo shows the console page of hash and waits until ready (a script
// expression) holds. It changes location.hash rather than navigating: a
// fragment change is a same-document navigation, and the old page stays
// in the DOM until the router has drawn the new one, so waiting for an
// element both pages have would race.
func (b *consoleBrowser) goTo(hash, ready string) {
	b.t.Helper()
	step(b, "showing "+hash, chromedp.Evaluate[bool](`location.hash = `+strconv.Quote(hash)+`; true`))
	b.waitJS(hash, ready)
}

// waitJS waits until a script expression holds in the page, within a
// step's bound.
func (b *consoleBrowser) waitJS(what, expr string) {
	b.t.Helper()
	b.waitFor(what, expr, 55*time.Second)
}

// waitFor polls a script expression in the page until it holds.
func (b *consoleBrowser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	step(b, "waiting for "+what, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(timeout)))
}

// setValue sets a control's value as a person would: input and change
// events follow (chromedp's SetValue sends none).
func (b *consoleBrowser) setValue(sel, value string) {
	b.t.Helper()
	step(b, "setting "+sel, chromedp.Evaluate[bool](`(() => {
  const el = document.querySelector(`+strconv.Quote(sel)+`);
  el.value = `+strconv.Quote(value)+`;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  return true;
})()`))
}

// attr returns an attribute of the first node matching sel.
func (b *consoleBrowser) attr(sel, name string) string {
	b.t.Helper()
	return step(b, "reading "+name+" of "+sel, chromedp.AttributeValue(sel, name)).Value
}

// shoot saves full-page screenshots of the current page at 390 and 1280
// px widths as artifacts/console-<http1 server>-<name>-<width>.png, and
// at each width runs the accessibility pass (axe) and checks nothing
// reaches past the right edge: every page a test shows is checked as it
// is shown.
func (b *consoleBrowser) shoot(name string) {
	b.t.Helper()
	for _, w := range []int64{390, 1280} {
		b.do("sizing for "+name, chromedp.EmulateViewport(w, 900), chromedp.Sleep(150*time.Millisecond))
		b.axe(fmt.Sprintf("%s at %d px", name, w))
		if over := b.overflow(); len(over) > 0 {
			b.t.Errorf("page %s at %d px: elements reach past the right edge: %v", name, w, over)
		}
		png := step(b, "screenshot "+name, chromedp.FullScreenshot(100))
		// Both front-door servers' runs of the suite go at once: each has
		// its own files.
		server := http1Server
		if server == "" {
			server = "default"
		}
		p := filepath.Join(b.shots, fmt.Sprintf("console-%s-%s-%d.png", server, name, w))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// axeSource is axe-core (test/e2e/testdata/axe, vendored from npm
// axe-core 4.14.1 under MPL-2.0), the accessibility checker.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "test/e2e/testdata/axe/axe.min.js"))
	return string(b), err
})

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axe runs axe-core on the current page (WCAG 2 A/AA rules) and fails the
// test on every serious or critical violation. It is evaluated through
// the DevTools protocol, which the page's CSP does not govern: the
// console itself stays free of inline and foreign scripts.
func (b *consoleBrowser) axe(name string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("reading axe-core: %v", err)
	}
	script := `(async () => {
  if (!window.axe) { ` + src + `
  }
  const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] });
  return JSON.stringify(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) })));
})()`
	out := step(b, "axe on "+name, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe on %s: %v in %.300s", name, err, out)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...)+": "+n.Summary)
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("axe on %s: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, where)
		} else {
			b.t.Logf("axe on %s: %s (%s, not failing): %s at %v", name, v.ID, v.Impact, v.Help, where)
		}
	}
}

// overflow names the elements that reach past the page's right edge (the
// page would scroll sideways); tables scroll in their own box.
func (b *consoleBrowser) overflow() []string {
	b.t.Helper()
	return step(b, "measuring overflow", chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
    && !e.closest('.table-wrap'))
  .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
}

// colorScheme emulates prefers-color-scheme (light or dark) and returns
// the page's background colour under it.
func (b *consoleBrowser) colorScheme(scheme string) string {
	b.t.Helper()
	b.do("emulating prefers-color-scheme: "+scheme, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	}))
	return step(b, "reading the background", chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
}

// TestConsole drives the web console in headless Chromium: a bad secret
// shows FC's signature error; signing in, creating a service and a
// Node.js function with its HTTP trigger; Test Function shows the
// function's answer; the trigger's URL opened in the browser answers.
func TestConsole(t *testing.T) {
	s := startServer(t, "")
	checkConsoleHeaders(t, s)
	b := newConsoleBrowser(t)

	b.do("opening the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#signin"))
	b.shoot("signin")

	consoleSignIn(t, b)

	b.do("creating a service",
		chromedp.SetValue(`#create-service input[name=serviceName]`, "consolesvc"),
		chromedp.SetValue(`#create-service input[name=description]`, "made in the console"),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/consolesvc"]`))
	b.shoot("services")

	b.do("opening the service",
		chromedp.Click(`#service-list a[href="#/services/consolesvc"]`),
		chromedp.WaitVisible("#create-function"),
		chromedp.SetValue(`#create-function input[name=functionName]`, "hello"),
		chromedp.SetValue(`#create-function input[name=memorySize]`, "256"),
		chromedp.SetValue(`#create-function input[name=timeout]`, "30"),
		chromedp.SetValue(`#create-function textarea[name=code]`, consoleFunctionCode))
	b.shoot("functions")
	b.do("creating a function with its HTTP trigger",
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))
	b.goTo("#/services/consolesvc/functions/hello/config", `document.querySelector('#tab-config dl.props')`)
	if mem := b.text(`#main dl.props`); !strings.Contains(mem, "256 MB") || !strings.Contains(mem, "nodejs20") {
		t.Errorf("function page: %q; want nodejs20 and 256 MB", mem)
	}

	b.goTo("#/services/consolesvc/functions/hello/test", `document.querySelector('#test-function')`)
	b.do("testing the function",
		chromedp.SetValue("#test-method", "POST"),
		chromedp.SetValue("#test-path", "/p/q?x=1"),
		chromedp.SetValue("#test-body", "ping"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if got, want := b.text("#test-response-body"), "console says hi POST /p/q [ping]"; got != want {
		t.Errorf("Test Function body %q; want %q", got, want)
	}
	if st := b.text("#test-status"); !strings.HasPrefix(st, "200") {
		t.Errorf("Test Function status %q; want 200", st)
	}
	if d := b.text("#test-duration"); !strings.HasSuffix(d, " ms") {
		t.Errorf("Test Function duration %q", d)
	}
	if hd := b.text("#test-headers"); !strings.Contains(hd, "x-fc-request-id:") {
		t.Errorf("Test Function headers %q; want x-fc-request-id", hd)
	}
	b.shoot("function")
	light, dark := b.colorScheme("light"), b.colorScheme("dark")
	if light == dark {
		t.Errorf("the page's background is %s in light and dark schemes alike", light)
	}
	b.shoot("function-dark")
	b.colorScheme("light")
	consoleSignedFunction(t, b)

	// The trigger's public URL, opened in the browser.
	b.goTo("#/services/consolesvc/functions/hello/triggers",
		`document.querySelector('h1 .name')?.textContent === 'consolesvc/hello' && document.querySelector('a.url-internet')`)
	href := step(b, "reading the trigger URL", chromedp.AttributeValue(`a.url-internet`, "href")).Value
	u, err := url.Parse(href)
	if err != nil || !strings.HasSuffix(u.Hostname(), ".fcapp.localhost") || u.Port() != strings.TrimPrefix(s.URL[strings.LastIndex(s.URL, ":"):], ":") {
		t.Fatalf("trigger URL %q (%v); want a subdomain of fcapp.localhost on the server's port", href, err)
	}
	b.do("opening the trigger URL", chromedp.Navigate(href))
	page := step(b, "reading the trigger's answer", chromedp.Text("body"))
	if got, want := strings.TrimSpace(page), "console says hi GET / []"; got != want {
		t.Errorf("the trigger URL in the browser: %q; want %q", got, want)
	}

	consoleDeleteServices(t, b, s)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleSignIn signs in: a bad secret first shows FC's signature error as
// FC reports it; then the right one, typed and sent with the keyboard
// alone, is kept in sessionStorage only.
func consoleSignIn(t *testing.T, b *consoleBrowser) {
	t.Helper()
	// A bad secret: FC's error as FC reports it.
	b.do("signing in with a bad secret",
		chromedp.SetValue("#access-key-id", accessKeyID),
		chromedp.SetValue("#access-key-secret", "not-the-secret"),
		chromedp.Click("#signin button[type=submit]"),
		chromedp.WaitVisible("#signin .fc-error"))
	if code := b.text("#signin .fc-error .error-code"); code != "SignatureNotMatch" {
		t.Errorf("bad secret: ErrorCode %q; want SignatureNotMatch", code)
	}
	if msg := b.text("#signin .fc-error .error-message"); !strings.Contains(msg, "does not match the signature you provided") {
		t.Errorf("bad secret: ErrorMessage %q; want FC's signature message", msg)
	}
	if id := b.text("#signin .fc-error .error-request-id code"); len(id) < 8 {
		t.Errorf("bad secret: RequestId %q", id)
	}
	b.shoot("signin-error")

	// The right secret, typed and sent with the keyboard alone: the error
	// left the focus on the secret, Enter submits.
	if id := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "access-key-secret" {
		t.Errorf("after the error the focus is on %q; want the secret's field", id)
	}
	b.do("signing in with the keyboard",
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), // select the bad secret
		chromedp.KeyEvent(accessKeySecret+kb.Enter),
		chromedp.WaitVisible("#create-service"))
	// The right secret is kept in sessionStorage only.
	stored := step(b, "reading sessionStorage", chromedp.Evaluate[string](`sessionStorage.getItem('openfc.accessKey') || ''`))
	local := step(b, "reading localStorage", chromedp.Evaluate[int](`localStorage.length`))
	cookies := step(b, "reading cookies", chromedp.Evaluate[string](`document.cookie`))
	if !strings.Contains(stored, accessKeySecret) || local != 0 || cookies != "" {
		t.Errorf("after sign-in: sessionStorage %q, localStorage has %d items, cookies %q; want the key in sessionStorage only", stored, local, cookies)
	}
}

// signIn opens the console at url and signs in with the test's key.
func (b *consoleBrowser) signIn(url string) {
	b.t.Helper()
	b.do("signing in",
		chromedp.Navigate(url+"/"), chromedp.WaitVisible("#signin"),
		chromedp.SetValue("#access-key-id", accessKeyID),
		chromedp.SetValue("#access-key-secret", accessKeySecret),
		chromedp.Click("#signin button[type=submit]"),
		chromedp.WaitVisible("#create-service"))
}

// consoleDeleteServices goes back to the services (same tab: the key is
// still in sessionStorage), deletes services and signs out.
func consoleDeleteServices(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	// Deleting a service with functions shows FC's refusal; an empty one goes.
	b.do("back to the services",
		chromedp.Navigate(s.URL+"/#/services"),
		chromedp.WaitVisible(`#service-list a[href="#/services/consolesvc"]`),
		chromedp.Click(`button[aria-label="Delete service consolesvc"]`),
		chromedp.Click(`button[aria-label="Confirm deleting service consolesvc"]`))
	if code := b.text("#main .fc-error .error-code"); code != "ServiceNotEmpty" {
		t.Errorf("deleting a service with functions: %q; want ServiceNotEmpty", code)
	}
	b.do("creating and deleting an empty service",
		chromedp.SetValue(`#create-service input[name=serviceName]`, "tmpsvc"),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/tmpsvc"]`),
		chromedp.Click(`button[aria-label="Delete service tmpsvc"]`),
		chromedp.Click(`button[aria-label="Confirm deleting service tmpsvc"]`),
		chromedp.WaitNotPresent(`#service-list a[href="#/services/tmpsvc"]`))
	b.do("signing out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin"))
	if left := step(b, "reading sessionStorage", chromedp.Evaluate[int](`sessionStorage.length`)); left != 0 {
		t.Errorf("after sign-out sessionStorage holds %d items", left)
	}
}

// consoleSignedFunction creates a function whose trigger wants FC's
// signature (authType function): Test Function signs its call in the
// browser, query included, and gets the function's answer.
func consoleSignedFunction(t *testing.T, b *consoleBrowser) {
	t.Helper()
	b.goTo("#/services/consolesvc", `document.getElementById('create-function')`)
	b.do("creating a function with a signed trigger",
		chromedp.SetValue(`#create-function input[name=functionName]`, "secure"),
		chromedp.SetValue(`#create-function select[name=authType]`, "function"),
		chromedp.SetValue(`#create-function textarea[name=code]`, consoleFunctionCode),
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))
	b.goTo("#/services/consolesvc/functions/secure/test", `document.querySelector('#test-function')`)
	b.do("testing the signed function",
		chromedp.SetValue("#test-path", "/s t?b=2&a=1&a=0"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if st := b.text("#test-status"); !strings.HasPrefix(st, "200") {
		t.Errorf("Test Function of a signed trigger: status %q, body %q; want 200", st, b.text("#test-response-body"))
	}
	if got, want := b.text("#test-response-body"), "console says hi GET /s t []"; got != want {
		t.Errorf("Test Function of a signed trigger: body %q; want %q", got, want)
	}
}

// checkConsoleHeaders checks the console page's security headers over
// plain HTTP, as the browser gets them.
func checkConsoleHeaders(t *testing.T, s *server) {
	t.Helper()
	resp, body := s.do("GET", "/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<main id="main"`) {
		t.Fatalf("GET /: %d %.300s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-cache",
	} {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("GET /: %s %q; want %q", k, got, want)
		}
	}
	// A signed request keeps the API's answer.
	req, err := http.NewRequest("GET", s.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	fcsign.Sign(adminCreds, req)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 400 || !strings.Contains(string(b2), "PathNotSupported") {
		t.Errorf("signed GET /: %d %s; want the API's PathNotSupported", r2.StatusCode, b2)
	}
}
