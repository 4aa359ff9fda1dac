package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// consoleEchoCode answers with the query parameter "who" and the header
// X-Echo it got, writes a console.log line (the log tail shows it) and,
// given ?sleep=N, answers after N seconds (a task to stop).
const consoleEchoCode = `'use strict';
exports.handler = (request, response, context) => {
  const q = request.queries || {};
  console.log('echo-log who=' + (q.who || '-'));
  const reply = () => {
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.send('who=' + (q.who || '') + ' x-echo=' + (request.headers['x-echo'] || ''));
  };
  if (q.sleep) setTimeout(reply, Number(q.sleep) * 1000);
  else reply();
};
`

// TestConsoleAsync drives Test Function (query and header rows, the log
// tail, billed memory; an async run followed to Succeeded) and the Async
// & Tasks tab (stateful invocation on, the tasks list, Stop) in headless
// Chromium.
func TestConsoleAsync(t *testing.T) {
	s := startServer(t, "")
	b := newConsoleBrowser(t)
	b.do("opening the console", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible("#signin"))
	consoleSignIn(t, b)

	b.createService("asyncsvc")
	b.goTo("#/services/asyncsvc", `document.getElementById('create-function')`)
	b.do("creating the echo function",
		chromedp.SetValue(`#create-function input[name=functionName]`, "echo"),
		chromedp.SetValue(`#create-function input[name=memorySize]`, "256"),
		chromedp.SetValue(`#create-function input[name=timeout]`, "60"),
		chromedp.SetValue(`#create-function textarea[name=code]`, consoleEchoCode),
		chromedp.Click(`#create-function button[type=submit]`),
		chromedp.WaitVisible("#function-tabs"))

	const fnHash = "#/services/asyncsvc/functions/echo"
	// Async & Tasks: no configuration yet; turn stateful invocation on.
	b.goTo(fnHash+"/async", `document.querySelector('#async-config-state')?.textContent.startsWith('No asynchronous configuration')`)
	// A destination FC cannot parse: the API's error, as FC reports it.
	b.do("saving a bad destination",
		chromedp.SetValue("#async-on-failure", "not-a-destination"),
		chromedp.Click(`#async-config button[type=submit]`),
		chromedp.WaitVisible("#async-config .fc-error"))
	b.checkFCError("#async-config", "a bad destination", "InvalidArgument", "")
	b.setValue("#async-on-failure", "")
	b.do("enabling stateful invocation",
		chromedp.Click("#async-stateful"),
		chromedp.Click(`#async-config button[type=submit]`),
		chromedp.WaitVisible(`#async-config-delete`))
	if st := b.text("#async-config-state"); !strings.HasPrefix(st, "Saved.") {
		t.Errorf("after saving the async configuration: %q", st)
	}
	if on := step(b, "reading the checkbox", chromedp.Evaluate[bool](`document.getElementById('async-stateful').checked`)); !on {
		t.Errorf("stateful invocation is not checked after saving")
	}

	consoleTestSync(t, b, fnHash)
	taskID := consoleTestAsync(t, b, fnHash)

	// The tasks list shows the task, Succeeded.
	b.goTo(fnHash+"/async", `document.querySelector('#task-list table, #task-list .empty')`)
	if st := b.text("#task-status-" + taskID); st != "Succeeded" {
		t.Errorf("tasks list: task %s is %q; want Succeeded", taskID, st)
	}
	b.do("opening the task", chromedp.Click(`button[aria-label="Show task `+taskID+`"]`),
		chromedp.WaitVisible("#task-detail-timeline"))
	if tl := b.text("#task-detail-timeline"); !strings.Contains(tl, "Enqueued") || !strings.Contains(tl, "Succeeded") {
		t.Errorf("task detail timeline %q; want Enqueued … Succeeded", tl)
	}
	b.shoot("async-tasks")
	b.colorScheme("dark")
	b.shoot("async-tasks-dark")
	b.colorScheme("light")

	consoleStopTask(t, b, fnHash)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %v", errs)
	}
}

// consoleTestSync runs the function synchronously with a query row and a
// header row: the answer echoes both, the log tail shows its console.log
// line, billed memory is the configured 256 MB.
func consoleTestSync(t *testing.T, b *consoleBrowser, fnHash string) {
	t.Helper()
	b.goTo(fnHash+"/test", `document.querySelector('#test-function')`)
	// The row editor with the keyboard: Add focuses the new row's name;
	// Remove takes the row away and gives the focus to Add.
	b.do("adding a query row with the keyboard", chromedp.Focus("#test-query-add"), chromedp.KeyEvent(kb.Enter))
	if id := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "test-query-key-1" {
		t.Errorf("after Add the focus is on %q; want the new row's name", id)
	}
	b.do("removing a header row with the keyboard",
		chromedp.Click("#test-header-add"),
		chromedp.Focus("#test-header-remove-1"), chromedp.KeyEvent(kb.Enter))
	focus := step(b, "reading the focus", chromedp.Evaluate[string](`document.activeElement.id + ' ' + document.querySelectorAll('#test-header .kv-row').length`))
	if focus != "test-header-add 0" {
		t.Errorf("after Remove: focus and rows %q; want the Add button and no row", focus)
	}
	b.do("adding a query parameter and a header",
		chromedp.SetValue("#test-path", "/echo"),
		chromedp.SetValue("#test-query-key-1", "who"),
		chromedp.SetValue("#test-query-value-1", "alice b"),
		chromedp.Click("#test-header-add"),
		chromedp.SetValue("#test-header-key-2", "X-Echo"),
		chromedp.SetValue("#test-header-value-2", "héllo"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-response-body"))
	if got, want := b.text("#test-response-body"), "who=alice b x-echo=héllo"; got != want {
		t.Errorf("Test Function body %q; want %q", got, want)
	}
	if st := b.text("#test-status"); !strings.HasPrefix(st, "200") {
		t.Errorf("Test Function status %q; want 200", st)
	}
	if log := b.text("#test-log"); !strings.Contains(log, "echo-log who=alice b") {
		t.Errorf("Test Function log tail %q; want the function's console.log line", log)
	}
	if mem := b.text("#test-billed-memory"); mem != "256 MB" {
		t.Errorf("billed memory %q; want 256 MB", mem)
	}
	if d := b.text("#test-duration"); !strings.HasSuffix(d, " ms") {
		t.Errorf("duration %q", d)
	}
	b.shoot("test-sync")
}

// consoleTestAsync runs the function asynchronously: the 202's request
// id shows, and the task (stateful invocation is on) is followed until
// Succeeded. It returns the task id.
func consoleTestAsync(t *testing.T, b *consoleBrowser, fnHash string) string {
	t.Helper()
	b.do("running asynchronously",
		chromedp.Click("#test-async"),
		chromedp.WaitVisible("#test-task-id-input"),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-task-id"))
	if st := b.text("#test-status"); !strings.HasPrefix(st, "202") {
		t.Errorf("async run status %q; want 202", st)
	}
	reqID := b.text("#test-request-id")
	taskID := b.text("#test-task-id")
	if len(reqID) < 8 || taskID != "task-"+reqID {
		t.Errorf("async run: request id %q, task id %q; want task-<request id>", reqID, taskID)
	}
	b.waitFor("the task to succeed", `document.getElementById('test-task-status')?.textContent === 'Succeeded'`, 45*time.Second)
	if tl := b.text("#test-task-timeline"); !strings.Contains(tl, "Running") || !strings.Contains(tl, "Succeeded") {
		t.Errorf("test run timeline %q; want Running … Succeeded", tl)
	}
	// The queued request kept the header's bytes: the browser sent
	// "héllo" as Latin-1, which the queue's JSON once turned into U+FFFD.
	if got, want := b.text("#test-task-return"), "who=alice b x-echo=héllo"; got != want {
		t.Errorf("the task's return payload %q; want %q, as the synchronous run answered", got, want)
	}
	b.shoot("test-async")
	return taskID
}

// consoleStopTask starts a task that sleeps 20 s under a task id the
// console sends, stops it from the tasks list and waits for Stopped.
func consoleStopTask(t *testing.T, b *consoleBrowser, fnHash string) {
	t.Helper()
	const id = "sleepy-1"
	b.goTo(fnHash+"/test", `document.querySelector('#test-function')`)
	b.do("running a sleeping task",
		chromedp.SetValue("#test-path", "/?sleep=20"),
		chromedp.Click("#test-async"),
		chromedp.SetValue("#test-task-id-input", id),
		chromedp.Click(`#test-function button[type=submit]`),
		chromedp.WaitVisible("#test-task-id"))
	if got := b.text("#test-task-id"); got != id {
		t.Errorf("the sleeping run's task id %q; want %q", got, id)
	}
	// Wait until it runs, so that Stop cancels a running attempt.
	b.waitFor("the task to run", `document.getElementById('test-task-status')?.textContent === 'Running'`, 30*time.Second)
	b.goTo(fnHash+"/async", `document.getElementById('task-status-`+id+`')`)
	if st := b.text("#task-status-" + id); st != "Running" {
		t.Errorf("tasks list: %s is %q; want Running", id, st)
	}
	b.do("stopping the task from the list", chromedp.Click(`button[aria-label="Stop task `+id+`"]`))
	// Stopped, not Succeeded: the stop cancelled the 20 s run.
	b.waitFor("the task to stop", `document.getElementById('task-status-`+id+`')?.textContent === 'Stopped'`, 15*time.Second)
	b.do("filtering on a time range with no task",
		chromedp.SetValue("#task-from", "2099-01-01T00:00"),
		chromedp.Click(`#task-filter button[type=submit]`))
	b.waitFor("the empty list", `document.querySelector('#task-list .empty') !== null`, 10*time.Second)
	b.setValue("#task-from", "")
	b.do("filtering on Stopped",
		chromedp.SetValue("#task-status-filter", "Stopped"),
		chromedp.Click(`#task-filter button[type=submit]`))
	// The search marks its form busy until the list is drawn again.
	b.waitFor("the filtered list", `!document.getElementById('task-filter').hasAttribute('aria-busy')`, 10*time.Second)
	if st := b.text("#task-status-" + id); st != "Stopped" {
		t.Errorf("filter Stopped: %s is %q", id, st)
	}
	if n := step(b, "counting rows", chromedp.Evaluate[int](`document.querySelectorAll('#task-list tbody tr').length`)); n != 1 {
		t.Errorf("filter Stopped: %d rows; want 1", n)
	}
	b.shoot("async-stopped")
}
