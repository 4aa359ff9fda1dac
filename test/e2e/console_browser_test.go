package e2e

// The console tests' browser: headless Chromium driven by chromedp, with
// the checks every page gets (axe, overflow) and the steps they share.

import (
	"context"
	"encoding/json"
	"fmt"
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
)

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

// createService creates a service from the services page.
func (b *consoleBrowser) createService(name string) {
	b.t.Helper()
	b.do("creating service "+name,
		chromedp.SetValue(`#create-service input[name=serviceName]`, name),
		chromedp.Click(`#create-service button[type=submit]`),
		chromedp.WaitVisible(`#service-list a[href="#/services/`+name+`"]`))
}

// createNodeFunction creates service svc and in it a Node.js function fn
// (the create form's defaults) whose index.js is code, and waits for the
// function's page.
func (b *consoleBrowser) createNodeFunction(svc, fn, code string) {
	b.t.Helper()
	b.createService(svc)
	b.do("creating function "+svc+"/"+fn,
		chromedp.Click(`#service-list a[href="#/services/`+svc+`"]`),
		chromedp.WaitVisible("#create-function"),
		chromedp.SetValue(`#create-function input[name=functionName]`, fn),
		chromedp.SetValue(`#create-function textarea[name=code]`, code),
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))
}

// checkFCError checks the error box under scope shows FC's error as FC
// reports it: ErrorCode code, an ErrorMessage containing msg, and a
// request id.
func (b *consoleBrowser) checkFCError(scope, what, code, msg string) {
	b.t.Helper()
	box := scope + " .fc-error"
	if got := b.text(box + " .error-code"); got != code {
		b.t.Errorf("%s: ErrorCode %q; want %s", what, got, code)
	}
	if got := b.text(box + " .error-message"); !strings.Contains(got, msg) {
		b.t.Errorf("%s: ErrorMessage %q; want it to say %q", what, got, msg)
	}
	if id := b.text(box + " .error-request-id code"); len(id) < 8 {
		b.t.Errorf("%s: RequestId %q", what, id)
	}
}
