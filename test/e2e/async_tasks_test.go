package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// asyncTask is FC 2.0's StatefulAsyncInvocation record as the API and
// `openfc tasks get --json` print it.
type asyncTask struct {
	ServiceName         string `json:"serviceName"`
	FunctionName        string `json:"functionName"`
	Qualifier           string `json:"qualifier"`
	InvocationID        string `json:"invocationId"`
	Status              string `json:"status"`
	StartedTime         int64  `json:"startedTime"`
	EndTime             int64  `json:"endTime"`
	InvocationPayload   string `json:"invocationPayload"`
	RequestID           string `json:"requestId"`
	AlreadyRetriedTimes int    `json:"alreadyRetriedTimes"`
	InstanceID          string `json:"instanceId"`
	DurationMs          int64  `json:"durationMs"`
	ReturnPayload       string `json:"returnPayload"`
	Events              []struct {
		EventID     int64  `json:"eventId"`
		Status      string `json:"status"`
		Timestamp   int64  `json:"timestamp"`
		EventDetail string `json:"eventDetail"`
	} `json:"events"`
}

// taskList is the list API's answer.
type taskList struct {
	Invocations []asyncTask `json:"invocations"`
	NextToken   string      `json:"nextToken"`
}

// getTask reads task id of f through the API.
func (f *recFn) getTask(t *testing.T, id string) *asyncTask {
	t.Helper()
	resp, body := f.s.signedDo("GET", f.api("/stateful-async-invocations/"+id), "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET task %s: %d %s", id, resp.StatusCode, body)
	}
	var task asyncTask
	if err := json.Unmarshal(body, &task); err != nil {
		t.Fatalf("GET task %s: %v: %s", id, err, body)
	}
	return &task
}

// cliTask reads task id of f with `openfc tasks get --json`.
func (f *recFn) cliTask(t *testing.T, id string) *asyncTask {
	t.Helper()
	out := f.s.cli("tasks", "get", f.ref(), id, "--json")
	var task asyncTask
	if err := json.Unmarshal([]byte(out), &task); err != nil {
		t.Fatalf("tasks get %s --json: %v:\n%s", id, err, out)
	}
	return &task
}

// waitTask waits until task id of f is in status and returns it.
func (f *recFn) waitTask(t *testing.T, id, status string, timeout time.Duration) *asyncTask {
	t.Helper()
	var task *asyncTask
	waitFor(t, timeout, func() error {
		if task = f.getTask(t, id); task.Status != status {
			return fmt.Errorf("task %s is %s; want %s", id, task.Status, status)
		}
		return nil
	})
	return task
}

// cliList runs `openfc tasks list <f> args… --json` and returns the ids
// and the next token. The JSON is the API's answer
// ({"invocations":[…],"nextToken":…}) or, accepted too, the bare list.
func (f *recFn) cliList(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out := f.s.cli(append([]string{"tasks", "list", f.ref(), "--json"}, args...)...)
	var l taskList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		if err2 := json.Unmarshal([]byte(out), &l.Invocations); err2 != nil {
			t.Fatalf("tasks list %v --json: %v:\n%s", args, err, out)
		}
	}
	return taskIDs(l.Invocations), l.NextToken
}

func taskIDs(ts []asyncTask) []string {
	ids := []string{}
	for _, task := range ts {
		ids = append(ids, task.InvocationID)
	}
	sort.Strings(ids)
	return ids
}

// acceptTask sends an async request to f's path as task id, with more
// header name/value pairs, and checks the 202 names the task.
func (f *recFn) acceptTask(t *testing.T, path, id string, kv ...string) string {
	t.Helper()
	h := http.Header{"X-Fc-Stateful-Async-Invocation-Id": {id}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	resp, body := f.s.do("POST", f.proxy(path), strings.NewReader("task "+id), h)
	reqID := wantAccepted(t, "task "+id, resp, body)
	if got := resp.Header.Get("X-Fc-Stateful-Async-Invocation-Id"); got != id {
		t.Errorf("task %s: the 202's X-Fc-Stateful-Async-Invocation-Id is %q", id, got)
	}
	return reqID
}

// TestAsyncTasks: X-Fc-Stateful-Async-Invocation-Id makes a request a
// task (Async implied) whose record `openfc tasks get` shows through its
// life; the list filters by status and id prefix and pages with
// nextToken; a duplicate id is refused with 409; stopping a running task
// cuts the function's call, stopping an enqueued one means it never
// runs; statefulInvocation in the config makes every async request a
// task with a generated id.
func TestAsyncTasks(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "tk", name: "rec"})
	f.putAsyncConfig(t, `{"maxAsyncRetryAttempts":0}`)

	// The enqueued task to stop first: its delay runs during the rest.
	laterReq := f.acceptTask(t, "later", "later-1", "X-Fc-Async-Delay", "10")
	laterAccepted := time.Now()
	if out := s.cli("tasks", "stop", f.ref(), "later-1"); !strings.Contains(out, "later-1") {
		t.Logf("tasks stop later-1 printed %q", out)
	}
	f.waitTask(t, "later-1", "Stopped", 15*time.Second)
	t.Logf("later-1 (enqueued, delay 10 s) was Stopped %v after its 202", time.Since(laterAccepted).Round(time.Millisecond))

	t.Run("get", func(t *testing.T) { taskGet(t, f) })

	t.Run("duplicate id", func(t *testing.T) {
		resp, body := s.do("POST", f.proxy("again"), strings.NewReader("x"), http.Header{"X-Fc-Stateful-Async-Invocation-Id": {"t1"}})
		expectError(t, "duplicate task id", resp, body, 409, "StatefulAsyncInvocationAlreadyExists")
		resp, body = s.signedDo("GET", f.api("/stateful-async-invocations/no-such-task"), "")
		expectError(t, "unknown task", resp, body, 404, "StatefulAsyncInvocationNotFound")
	})

	t.Run("list", func(t *testing.T) { taskListing(t, f) })

	t.Run("stop running", func(t *testing.T) {
		reqID := f.acceptTask(t, "long?sleep=30000", "run-1")
		f.waitRuns(t, reqID, 1, 30*time.Second)
		f.waitTask(t, "run-1", "Running", 10*time.Second)
		stopped := time.Now()
		s.cli("tasks", "stop", f.ref(), "run-1")
		task := f.waitTask(t, "run-1", "Stopped", 15*time.Second)
		if task.EndTime == 0 {
			t.Errorf("stopped task has no end time: %+v", task)
		}
		waitFor(t, 15*time.Second, func() error {
			if len(f.runs(reqID, "cut")) == 0 {
				return fmt.Errorf("the function's call of run-1 was not cut")
			}
			return nil
		})
		t.Logf("run-1 cut %v after the stop", f.runs(reqID, "cut")[0].at().Sub(stopped).Round(time.Millisecond))
		if n := len(f.runs(reqID, "end")); n != 0 {
			t.Errorf("the function's call of run-1 ran to its end")
		}
	})

	t.Run("stopped while enqueued never runs", func(t *testing.T) {
		if wait := time.Until(laterAccepted.Add(13 * time.Second)); wait > 0 {
			time.Sleep(wait)
		}
		if runs := f.runs(laterReq, "start"); len(runs) != 0 {
			t.Errorf("later-1, stopped while enqueued, ran %d times", len(runs))
		}
		if task := f.getTask(t, "later-1"); task.Status != "Stopped" {
			t.Errorf("later-1 is %s; want Stopped", task.Status)
		}
	})

	t.Run("statefulInvocation config", func(t *testing.T) {
		f.putAsyncConfig(t, `{"maxAsyncRetryAttempts":0,"statefulInvocation":true}`)
		resp, body := s.do("POST", f.proxy("gen"), strings.NewReader("g"), asyncHeader())
		reqID := wantAccepted(t, "async with statefulInvocation", resp, body)
		id := resp.Header.Get("X-Fc-Stateful-Async-Invocation-Id")
		if id == "" {
			t.Fatalf("202 without X-Fc-Stateful-Async-Invocation-Id under statefulInvocation: %v", resp.Header)
		}
		if task := f.waitTask(t, id, "Succeeded", 30*time.Second); task.RequestID != reqID {
			t.Errorf("generated task %s: request %s; want %s", id, task.RequestID, reqID)
		}
	})
}

// TestAsyncOfficialSDK: the official FC 2.0 Node SDK's invokeFunction
// with the header x-fc-invocation-type: Async gets 202 and a request id,
// and the function runs with the event.
func TestAsyncOfficialSDK(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "sdka", name: "rec"})
	var res struct {
		Resolved  bool
		Status    int
		RequestID string
		Body      string
		Error     string
	}
	out := runSDK(t, s, "async.js", time.Minute, &res, "OPENFC_SERVICE=sdka", "OPENFC_FUNCTION=rec", "OPENFC_EVENT=sdk-event")
	if !res.Resolved || res.Status != 202 || res.RequestID == "" || res.Body != "" {
		t.Fatalf("SDK invokeFunction Async: %s; want resolved, 202, a request id, no body", out)
	}
	if r := f.waitRuns(t, res.RequestID, 1, 30*time.Second)[0]; r.Path != "/invoke" || r.Body != "sdk-event" {
		t.Errorf("the function saw %s %s body %q; want POST /invoke sdk-event", r.Method, r.Path, r.Body)
	}
}

// TestAsyncInvokeCLI: `openfc invoke --async` queues an event and prints
// its request id (JSON with --json); --task-id makes it a task and
// --delay runs it later.
func TestAsyncInvokeCLI(t *testing.T) {
	s := startServer(t, "")
	f := s.deployRec(recOpts{service: "ci", name: "rec"})
	out := s.cli("invoke", f.ref(), "--async", "-e", "cli-event", "--json")
	var acc struct{ RequestID, TaskID string }
	if err := json.Unmarshal([]byte(out), &acc); err != nil || acc.RequestID == "" || acc.TaskID != "" {
		t.Fatalf("invoke --async --json printed %q; want a request id and no task", out)
	}
	if r := f.waitRuns(t, acc.RequestID, 1, 30*time.Second)[0]; r.Path != "/invoke" || r.Body != "cli-event" {
		t.Errorf("the function saw %s %s body %q; want POST /invoke cli-event", r.Method, r.Path, r.Body)
	}

	sent := time.Now()
	out = s.cli("invoke", f.ref(), "--task-id", "cli-1", "--delay", "2", "-e", "later")
	if !strings.Contains(out, "accepted: request ") || !strings.Contains(out, "cli-1") {
		t.Fatalf("invoke --task-id cli-1 --delay 2 printed %q; want the request id and the task", out)
	}
	task := f.waitTask(t, "cli-1", "Succeeded", 30*time.Second)
	if !strings.Contains(out, task.RequestID) {
		t.Errorf("invoke printed %q; the task's request is %s", out, task.RequestID)
	}
	if r := f.runs(task.RequestID, "start"); len(r) != 1 || r[0].at().Sub(sent) < 2*time.Second {
		t.Errorf("task cli-1 (--delay 2) ran %d times, first at %v after the command; want once, 2 s or more after", len(r), func() time.Duration {
			if len(r) == 0 {
				return 0
			}
			return r[0].at().Sub(sent)
		}())
	}
}

// taskGet: task t1's record, through the CLI, from its 202 to
// Succeeded.
func taskGet(t *testing.T, f *recFn) {
	s := f.s
	reqID := f.acceptTask(t, "t1", "t1")
	f.waitRuns(t, reqID, 1, 30*time.Second)
	f.waitTask(t, "t1", "Succeeded", 30*time.Second)
	task := f.cliTask(t, "t1")
	if task.InvocationID != "t1" || task.Status != "Succeeded" || task.RequestID != reqID || task.ServiceName != "tk" || task.FunctionName != "rec" {
		t.Errorf("tasks get t1: %+v; want t1 of tk/rec, Succeeded, request %s", task, reqID)
	}
	if task.StartedTime == 0 || task.EndTime < task.StartedTime || task.InstanceID == "" || task.ReturnPayload != "done:/t1" {
		t.Errorf("tasks get t1: started %d ended %d instance %q returned %q; want times, an instance and done:/t1",
			task.StartedTime, task.EndTime, task.InstanceID, task.ReturnPayload)
	}
	var statuses []string
	for _, e := range task.Events {
		statuses = append(statuses, e.Status)
	}
	if len(statuses) < 2 || statuses[len(statuses)-1] != "Succeeded" || !contains(statuses, "Running") {
		t.Errorf("task t1's events: %v; want a timeline through Running to Succeeded", statuses)
	}
	// The human form names the task and its status.
	if out := s.cli("tasks", "get", f.ref(), "t1"); !strings.Contains(out, "t1") || !strings.Contains(out, "Succeeded") {
		t.Errorf("tasks get t1 (human) does not show the id and status:\n%s", out)
	}
}

// taskListing: lists by id prefix and status, pages of 2 over 5 tasks
// through the CLI, and the API's list with a time range.
func taskListing(t *testing.T, f *recFn) {
	s := f.s
	want := []string{"p-0", "p-1", "p-2", "p-3", "p-4"}
	for _, id := range want {
		f.acceptTask(t, "list", id)
	}
	f.acceptTask(t, "list?fail=1", "pf-1")
	for _, id := range want {
		f.waitTask(t, id, "Succeeded", 30*time.Second)
	}
	f.waitTask(t, "pf-1", "Failed", 30*time.Second)

	if ids, _ := f.cliList(t, "--prefix", "p-"); strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("tasks list --prefix p-: %v; want %v", ids, want)
	}
	if ids, _ := f.cliList(t, "--prefix", "p", "--status", "Failed"); strings.Join(ids, ",") != "pf-1" {
		t.Errorf("tasks list --prefix p --status Failed: %v; want [pf-1]", ids)
	}
	if ids, _ := f.cliList(t, "--prefix", "p", "--status", "Succeeded"); strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("tasks list --prefix p --status Succeeded: %v; want %v", ids, want)
	}
	// Pages of 2 over the 5: 2, 2, 1, with a token until the last.
	var all []string
	token := ""
	for page := 1; ; page++ {
		args := []string{"--prefix", "p-", "--limit", "2"}
		if token != "" {
			args = append(args, "--next-token", token)
		}
		ids, next := f.cliList(t, args...)
		all = append(all, ids...)
		if len(ids) > 2 || (next != "" && len(ids) == 0) || page > 5 {
			t.Fatalf("page %d: %v next %q; want at most 2 and progress", page, ids, next)
		}
		if next == "" {
			if page != 3 {
				t.Errorf("%d pages of 2 over 5 tasks; want 3", page)
			}
			break
		}
		token = next
	}
	sort.Strings(all)
	if strings.Join(all, ",") != strings.Join(want, ",") {
		t.Errorf("the pages hold %v; want each of %v once", all, want)
	}
	// The API's list, with a time range that holds them all.
	now := time.Now().UnixMilli()
	resp, body := s.signedDo("GET", f.api(fmt.Sprintf("/stateful-async-invocations?invocationIdPrefix=p-&status=Succeeded&startedTimeBegin=%d&startedTimeEnd=%d&limit=10", now-600000, now)), "")
	var l taskList
	if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil || strings.Join(taskIDs(l.Invocations), ",") != strings.Join(want, ",") || l.NextToken != "" {
		t.Errorf("list API: %d %s; want the 5 p- tasks without a next token", resp.StatusCode, body)
	}
	resp, body = s.signedDo("GET", f.api(fmt.Sprintf("/stateful-async-invocations?invocationIdPrefix=p-&startedTimeBegin=%d", now+60000)), "")
	if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil || len(l.Invocations) != 0 {
		t.Errorf("list API from a minute ahead: %d %s; want none", resp.StatusCode, body)
	}
}
