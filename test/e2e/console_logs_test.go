package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// consoleLogsCode logs a marker with the request's path, so the test can
// find each call's line in the Logs tab.
const consoleLogsCode = `'use strict';
exports.handler = (request, response, context) => {
  if (request.path === '/many') {
    for (let i = 0; i < 2100; i++) console.log('many ' + i);
  }
  console.log('logmark ' + request.path);
  response.send('logged ' + request.path);
};
`

// followWatch records, from the browser's network events, the follow
// (follow=true) reads of the logs and which of them ended: the page's
// own view of its streams, whatever the page's code says.
type followWatch struct {
	mu    sync.Mutex
	open  map[network.RequestID]bool // request → still open
	count int
}

func watchFollows(b *consoleBrowser) *followWatch {
	w := &followWatch{open: map[network.RequestID]bool{}}
	err := chromedp.Listen(b.ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.Contains(ev.Request.URL, "/logs?") && strings.Contains(ev.Request.URL, "follow=true") {
				w.open[ev.RequestID] = true
				w.count++
			}
		case *network.EventLoadingFailed:
			if w.open[ev.RequestID] {
				w.open[ev.RequestID] = false
			}
		case *network.EventLoadingFinished:
			if w.open[ev.RequestID] {
				w.open[ev.RequestID] = false
			}
		}
	})
	if err != nil {
		b.t.Fatalf("listening to the browser's network events: %v", err)
	}
	return w
}

// state returns how many follow reads started and how many are open.
func (w *followWatch) state() (started, open int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.open {
		if o {
			open++
		}
	}
	return w.count, open
}

// logRows is a script expression: the shown records as [message,
// request id] pairs.
const logRows = `[...document.querySelectorAll('#logs-list .log-rec')].map((r) =>
  [r.querySelector('.log-msg').textContent, r.querySelector('.log-request')?.textContent || ''])`

// TestConsoleLogs drives the Logs and Instances tabs in headless
// Chromium: a call's console.log line is shown with the call's request
// id; Follow shows a new call's line without reloading; clicking a
// request id filters by it; leaving the tab ends the follow stream; the
// Instances tab shows the instance and keeps refreshing.
func TestConsoleLogs(t *testing.T) {
	s := startServer(t, "")
	b := newConsoleBrowser(t)
	follows := watchFollows(b)

	b.signIn(s.URL)
	b.createNodeFunction("logsvc", "logfn", consoleLogsCode)

	call := func(marker string) string {
		t.Helper()
		resp, body := s.do("GET", "/2016-08-15/proxy/logsvc/logfn/"+marker, nil, nil)
		if resp.StatusCode != 200 || string(body) != "logged /"+marker {
			t.Fatalf("calling the function: %d %q", resp.StatusCode, body)
		}
		id := resp.Header.Get("x-fc-request-id")
		if id == "" {
			t.Fatal("the call's answer has no x-fc-request-id")
		}
		return id
	}
	id1 := call("first-marker")

	// The journal takes a moment: Show logs until the line is there.
	b.goTo("#/services/logsvc/functions/logfn/logs", `document.querySelector('#logs-status')?.textContent.startsWith('Loaded')`)
	deadline := time.Now().Add(30 * time.Second)
	for !step(b, "reading the logs", chromedp.Evaluate[bool](logRows+`.some(([m]) => m === 'logmark /first-marker')`)) {
		if time.Now().After(deadline) {
			t.Fatalf("the Logs tab never showed the call's line: %v", step(b, "reading the logs", chromedp.Evaluate[[][]string](logRows)))
		}
		b.do("showing the logs again", chromedp.Sleep(300*time.Millisecond), chromedp.Click(`#logs-filters button[type=submit]`))
		b.waitJS("loading the logs", `document.querySelector('#logs-status').textContent.startsWith('Loaded')`)
	}
	if got := step(b, "reading the first line's request id", chromedp.Evaluate[string](
		`(`+logRows+`.find(([m]) => m === 'logmark /first-marker') || [])[1]`)); got != id1 {
		t.Errorf("the first call's line shows request id %q; the call got %q", got, id1)
	}

	// Follow: a new call's line comes without reloading.
	b.do("following", chromedp.Click("#logs-follow"))
	b.waitJS("the follow", `document.querySelector('#logs-status').textContent.startsWith('Following live')`)
	id2 := call("second-marker")
	b.waitJS("the followed line", logRows+`.some(([m, id]) => m === 'logmark /second-marker' && id === `+strconv.Quote(id2)+`)`)
	if started, open := follows.state(); started != 1 || open != 1 {
		t.Errorf("while following: %d follow reads started, %d open; want 1 and 1", started, open)
	}
	b.shoot("logs")
	b.colorScheme("dark")
	b.shoot("logs-dark")
	b.colorScheme("light")

	consoleLogsFilter(t, b, id2)

	// Follow off ends the stream; on again opens one.
	b.do("turning Follow off", chromedp.Click("#logs-follow"))
	waitFor(t, 10*time.Second, func() error {
		if started, open := follows.state(); started != 2 || open != 0 {
			return fmt.Errorf("after Follow off: %d follow reads started, %d still open; want 2, none open", started, open)
		}
		return nil
	})
	if st := b.text("#logs-status"); !strings.HasPrefix(st, "Stopped following") {
		t.Errorf("after Follow off the status says %q", st)
	}
	b.do("turning Follow on again", chromedp.Click("#logs-follow"))
	b.waitJS("the follow", `document.querySelector('#logs-status').textContent.startsWith('Following live')`)

	consoleLogsCap(t, b, call)

	// Leaving the tab ends the stream.
	b.goTo("#/services/logsvc/functions/logfn/instances", `document.querySelector('#instances-table')`)
	waitFor(t, 10*time.Second, func() error {
		if started, open := follows.state(); started != 4 || open != 0 {
			return fmt.Errorf("after leaving the Logs tab: %d follow reads started, %d still open; want 4, none open", started, open)
		}
		return nil
	})

	consoleInstances(t, b, s)

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleLogsFilter clicks a request id: the Logs tab shows only its
// lines, and follows on.
func consoleLogsFilter(t *testing.T, b *consoleBrowser, id2 string) {
	t.Helper()
	// Clicking the request id filters by it (and follows on).
	b.do("filtering by the second request id",
		chromedp.Click(`#logs-list button.log-request[aria-label="Show only request `+id2+`"]`))
	b.waitJS("the filtered logs", `document.querySelector('#logs-status').textContent.startsWith('Following live') && `+
		logRows+`.length > 0 && `+logRows+`.every(([, id]) => id === `+strconv.Quote(id2)+`)`)
	if v := step(b, "reading the filter", chromedp.Evaluate[string](`document.querySelector('#logs-request-id').value`)); v != id2 {
		t.Errorf("request id filter %q; want %q", v, id2)
	}
	rows := step(b, "reading the logs", chromedp.Evaluate[[][]string](logRows))
	if !containsRow(rows, "logmark /second-marker") || containsRow(rows, "logmark /first-marker") {
		t.Errorf("filtered by %s: %v; want the second call's line only", id2, rows)
	}
	b.shoot("logs-filtered")
}

// consoleInstances checks the Instances tab: the call's instance, and
// refreshes that go on (through a failing one, too).
func consoleInstances(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	// Instances: the call's instance, refreshed.
	n := step(b, "counting instances", chromedp.Evaluate[int](`document.querySelectorAll('#instances-table tbody tr').length`))
	if n != 1 {
		t.Errorf("Instances tab shows %d instances; want 1", n)
	}
	first := b.text("#instances-refreshed")
	b.waitJS("a refresh", `Number(document.querySelector('#instances-refreshed').dataset.refreshes) >= 3`)
	if again := b.text("#instances-refreshed"); again == first || !strings.HasPrefix(again, "Last refreshed at ") {
		t.Errorf("last refreshed %q, then %q; want a newer time", first, again)
	}
	b.shoot("instances")
	consoleInstancesRecover(t, b, s)
}

func containsRow(rows [][]string, msg string) bool {
	for _, r := range rows {
		if len(r) > 0 && r[0] == msg {
			return true
		}
	}
	return false
}

// consoleInstancesRecover checks that a failing refresh is shown and the
// polling goes on: the browser blocks the instances URL (fetch fails),
// then lets it through again.
func consoleInstancesRecover(t *testing.T, b *consoleBrowser, s *server) {
	t.Helper()
	block := func(what string, patterns []*network.BlockPattern) {
		b.do(what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
			return err
		}))
	}
	block("blocking the instances URL", []*network.BlockPattern{{URLPattern: s.URL + "/2016-08-15/services/logsvc/functions/logfn/instances", Block: true}})
	b.waitJS("the failed refresh", `document.querySelector('#tab-instances .fc-error') &&
  document.querySelector('#instances-refreshed').textContent.startsWith('Refresh failed')`)
	if n := step(b, "counting instances", chromedp.Evaluate[int](`document.querySelectorAll('#instances-table tbody tr').length`)); n != 1 {
		t.Errorf("while refreshes fail the table shows %d instances; want the last known one", n)
	}
	before := step(b, "reading the refresh count", chromedp.Evaluate[string](`document.querySelector('#instances-refreshed').dataset.refreshes`))
	block("unblocking the instances URL", []*network.BlockPattern{})
	b.waitJS("a refresh after the failure", `!document.querySelector('#tab-instances .fc-error') &&
  document.querySelector('#instances-refreshed').dataset.refreshes !== `+strconv.Quote(before))
}

// consoleLogsCap checks, while following, that the view keeps the last
// maxShown (2000) records and says so, that it scrolls along while at the
// bottom, and that it stays put once the reader has scrolled up.
func consoleLogsCap(t *testing.T, b *consoleBrowser, call func(string) string) {
	t.Helper()
	call("many") // 2100 lines and more
	b.do("following every kept record",
		chromedp.SetValue("#logs-tail", "0"),
		chromedp.Click("#logs-clear"))
	b.waitJS("the records", `document.querySelector('#logs-status').textContent.includes('oldest') &&
  [...document.querySelectorAll('#logs-list .log-msg')].some((m) => m.textContent === 'logmark /many')`)
	if n := step(b, "counting records", chromedp.Evaluate[int](`document.querySelectorAll('#logs-list .log-rec').length`)); n != 2000 {
		t.Errorf("the view keeps %d records; want 2000", n)
	}
	atBottom := `(() => { const l = document.querySelector('#logs-list'); return l.scrollHeight - l.scrollTop - l.clientHeight < 30; })()`
	if !step(b, "reading the scroll", chromedp.Evaluate[bool](atBottom)) {
		t.Error("following from the bottom, the view did not scroll along")
	}
	step(b, "scrolling up", chromedp.Evaluate[bool](`(document.querySelector('#logs-list').scrollTop = 0, true)`))
	call("third-marker")
	b.waitJS("the third line", `[...document.querySelectorAll('#logs-list .log-msg')].some((m) => m.textContent === 'logmark /third-marker')`)
	if top := step(b, "reading the scroll", chromedp.Evaluate[float64](`document.querySelector('#logs-list').scrollTop`)); top != 0 {
		t.Errorf("scrolled up, a new record moved the view to %v", top)
	}
}
