package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
)

func TestListTasksFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil)
	base := time.Now().Add(-time.Hour)
	for i := range 25 {
		req := request("svc", "fn")
		req.TaskID = fmt.Sprintf("job-%02d", i)
		if i%5 == 0 {
			req.TaskID = fmt.Sprintf("other-%02d", i)
		}
		req.Accepted = base.Add(time.Duration(i) * time.Minute)
		if err := s.Enqueue(e.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 { // another function's tasks are not listed
		req := request("svc", "fn2")
		req.TaskID = fmt.Sprintf("job-%02d", i)
		if err := s.Enqueue(e.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"job-01", "job-02", "other-10"} {
		if _, err := s.StopTask(e.ctx, "svc", "", "fn", id); err != nil {
			t.Fatal(err)
		}
	}

	list := func(f fc.TaskFilter) []string {
		t.Helper()
		f.Service, f.Function = "svc", "fn"
		var ids []string
		seen := map[string]bool{}
		for pages := 0; ; pages++ {
			tasks, next, err := s.ListTasks(e.ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) > max(f.Limit, 1) && f.Limit > 0 {
				t.Fatalf("page of %d, limit %d", len(tasks), f.Limit)
			}
			for _, tk := range tasks {
				if seen[tk.InvocationID] {
					t.Fatalf("%s listed twice", tk.InvocationID)
				}
				seen[tk.InvocationID] = true
				ids = append(ids, tk.InvocationID)
			}
			if next == "" {
				return ids
			}
			if pages > 30 {
				t.Fatal("the list does not end")
			}
			f.NextToken = next
		}
	}
	if ids := list(fc.TaskFilter{Limit: 7}); len(ids) != 25 {
		t.Fatalf("paged by 7: %d tasks %v, want 25", len(ids), ids)
	}
	tasks, next, err := s.ListTasks(e.ctx, fc.TaskFilter{Service: "svc", Function: "fn", Limit: 10})
	if err != nil || len(tasks) != 10 || next == "" {
		t.Fatalf("first page: %d tasks, next %q, %v", len(tasks), next, err)
	}
	if ids := list(fc.TaskFilter{Limit: 3, Prefix: "other-"}); len(ids) != 5 {
		t.Fatalf("prefix other-: %v", ids)
	}
	if ids := list(fc.TaskFilter{Limit: 2, Status: fc.TaskStopped}); strings.Join(ids, ",") != "job-01,job-02,other-10" {
		t.Fatalf("status Stopped: %v", ids)
	}
	begin := base.Add(10 * time.Minute).UnixMilli()
	end := base.Add(14 * time.Minute).UnixMilli()
	if ids := list(fc.TaskFilter{Limit: 20, StartedTimeBegin: begin, StartedTimeEnd: end}); len(ids) != 5 {
		t.Fatalf("started in [10m, 14m]: %v", ids)
	}
	if ids := list(fc.TaskFilter{Qualifier: "prod"}); len(ids) != 0 {
		t.Fatalf("qualifier prod has no tasks, listed %v", ids)
	}
	var fe *fc.Error
	if _, _, err := s.ListTasks(e.ctx, fc.TaskFilter{Service: "svc", Function: "fn", NextToken: "%%%"}); !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := s.GetTask(e.ctx, "svc", "", "fn", "nope"); !errors.As(err, &fe) || fe.Code != fc.CodeStatefulAsyncInvocationNotFound {
		t.Fatalf("GetTask of a missing id: %v", err)
	}
}

func TestStopEnqueuedTaskNeverRuns(t *testing.T) {
	e := newEnv(t)
	r := newRunner(nil)
	s := e.service(t, r)
	req := request("svc", "fn")
	req.TaskID = "later"
	req.NotBefore = req.Accepted.Add(time.Second)
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	tk, err := s.StopTask(e.ctx, "svc", "", "fn", "later")
	if err != nil || tk.Status != fc.TaskStopped {
		t.Fatalf("stop of an enqueued task: %+v, %v", tk, err)
	}
	r.none(t, 2*time.Second)
	if n := e.queued(t); n != 0 {
		t.Fatalf("the stopped task's message is still queued (%d)", n)
	}
	// A finished task: stop changes nothing.
	again, err := s.StopTask(e.ctx, "svc", "", "fn", "later")
	if err != nil || again.Status != fc.TaskStopped || len(again.Events) != len(tk.Events) {
		t.Fatalf("second stop: %+v, %v", again, err)
	}
}

func TestStopRunningTaskCancelsIt(t *testing.T) {
	e := newEnv(t)
	cancelled := make(chan struct{})
	r := newRunner(func(ctx context.Context, _ *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		<-ctx.Done()
		close(cancelled)
		return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeClientClosedRequest, "cancelled")}
	})
	s := e.service(t, r)
	// The stop comes through the API of another node.
	other := e.service(t, nil)
	req := request("svc", "fn")
	req.TaskID = "long"
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	r.next(t, 5*time.Second)
	waitTask(t, s, "svc", "fn", "long", fc.TaskRunning, 2*time.Second)
	tk, err := other.StopTask(e.ctx, "svc", "", "fn", "long")
	if err != nil || tk.Status != fc.TaskStopping {
		t.Fatalf("stop of a running task: %+v, %v", tk, err)
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the running attempt was not cancelled")
	}
	waitTask(t, s, "svc", "fn", "long", fc.TaskStopped, 3*time.Second)
	r.none(t, 500*time.Millisecond)
}

func TestDestinations(t *testing.T) {
	e := newEnv(t)
	posted := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- b
	}))
	t.Cleanup(srv.Close)
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "ok", DestinationConfig: &fc.DestinationConfig{
		OnSuccess: &fc.Destination{Destination: "acs:fc:cn-hangzhou:123:services/svc.LATEST/functions/sink"},
	}})
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "bad", MaxAsyncRetryAttempts: intp(1), DestinationConfig: &fc.DestinationConfig{
		OnFailure: &fc.Destination{Destination: srv.URL + "/failed"},
	}})
	r := newRunner(func(_ context.Context, req *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		if req.Function == "bad" {
			return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeFunctionCrashed, "process exited")}
		}
		return fc.AsyncOutcome{Status: 201, Body: []byte("done")}
	})
	s := e.service(t, r)

	ok := request("svc", "ok")
	ok.TaskID = "ok1"
	if err := s.Enqueue(e.ctx, ok); err != nil {
		t.Fatal(err)
	}
	var sink attempt
	for sink.req.Function != "sink" {
		sink = r.next(t, 5*time.Second)
	}
	if !sink.req.Event || sink.req.Service != "svc" || sink.req.RequestID == ok.RequestID {
		t.Fatalf("destination request %+v", sink.req)
	}
	var rec record
	if err := json.Unmarshal(sink.req.Body, &rec); err != nil {
		t.Fatalf("destination body %q: %v", sink.req.Body, err)
	}
	if rec.RequestContext.RequestID != ok.RequestID || rec.RequestContext.FunctionArn != "acs:fc:cn-hangzhou:123:services/svc.LATEST/functions/ok" ||
		rec.RequestContext.ApproximateInvokeCount != 1 || rec.RequestPayload != "payload" || rec.ResponsePayload != "done" ||
		rec.ResponseContext.StatusCode != 201 || rec.ResponseContext.FunctionError != "" || rec.RequestContext.Condition != "" || rec.Timestamp == 0 {
		t.Fatalf("success record %+v", rec)
	}
	if tk := waitTask(t, s, "svc", "ok", "ok1", fc.TaskSucceeded, 3*time.Second); tk.DestinationStatus != "Succeeded" {
		t.Fatalf("destination status %q", tk.DestinationStatus)
	}

	bad := request("svc", "bad")
	if err := s.Enqueue(e.ctx, bad); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-posted:
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.RequestContext.RequestID != bad.RequestID || rec.RequestContext.Condition != "RetriesExhausted" ||
			rec.RequestContext.ApproximateInvokeCount != 2 || !strings.Contains(rec.ResponseContext.FunctionError, "process exited") ||
			rec.ResponseContext.StatusCode != 502 {
			t.Fatalf("failure record %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failure destination got nothing")
	}
}

func TestKilledWorkerIsRedelivered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	server, err := natsx.Start(ctx, natsx.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Close)
	nodeA, err := natsx.Start(ctx, natsx.Options{URL: server.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nodeA.Close)
	envA := openEnv(t, ctx, nodeA)
	envB := openEnv(t, ctx, server)

	stuck := newRunner(func(ctx context.Context, _ *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		<-ctx.Done()
		return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeClientClosedRequest, "cancelled")}
	})
	a := envA.service(t, stuck, func(o *Options) { o.AckWait = time.Second })
	req := request("svc", "fn")
	req.TaskID = "crash"
	if err := a.Enqueue(ctx, req); err != nil {
		t.Fatal(err)
	}
	stuck.next(t, 5*time.Second)
	// Node A dies: its connection goes, with its heartbeats, and it acks
	// nothing.
	killed := time.Now()
	nodeA.NC.Close()

	r := newRunner(nil)
	b := envB.service(t, r, func(o *Options) { o.AckWait = time.Second })
	got := r.next(t, 5*time.Second)
	if got.req.RequestID != req.RequestID {
		t.Fatalf("node B ran %s", got.req.RequestID)
	}
	if d := got.at.Sub(killed); d > 3*time.Second {
		t.Fatalf("redelivered %s after the kill, want within about the ack wait (1s)", d)
	}
	tk := waitTask(t, b, "svc", "fn", "crash", fc.TaskSucceeded, 3*time.Second)
	running := 0
	for _, ev := range tk.Events {
		if ev.Status == fc.TaskRunning {
			running++
		}
	}
	if running != 2 {
		t.Fatalf("the timeline shows %d runs, want 2 (the crashed one and the rerun): %+v", running, tk.Events)
	}
}
