package async

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

func TestEnqueueThenRun(t *testing.T) {
	e := newEnv(t)
	r := newRunner(nil)
	s := e.service(t, r)
	want := map[string]bool{}
	for range 5 {
		req := request("svc", "fn")
		if err := s.Enqueue(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		if req.TaskID != "" {
			t.Fatalf("a plain request became task %q", req.TaskID)
		}
		want[req.RequestID] = true
	}
	for range 5 {
		a := r.next(t, 5*time.Second)
		if !want[a.req.RequestID] {
			t.Fatalf("ran %q, not an enqueued request (or twice)", a.req.RequestID)
		}
		delete(want, a.req.RequestID)
		if string(a.req.Body) != "payload" || a.req.Service != "svc" || a.req.Function != "fn" {
			t.Fatalf("the runner got %+v", a.req)
		}
	}
	r.none(t, 300*time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for e.queued(t) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.queued(t); n != 0 {
		t.Fatalf("%d messages left in the queue after every request ran", n)
	}
}

func TestEnqueueDeduplicatesARetriedAccept(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil)
	req := request("svc", "fn")
	for range 3 {
		again := *req
		if err := s.Enqueue(e.ctx, &again); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.queued(t); n != 1 {
		t.Fatalf("the same request id accepted 3 times is %d messages, want 1", n)
	}
	r := newRunner(nil)
	e.service(t, r)
	r.next(t, 5*time.Second)
	r.none(t, 500*time.Millisecond)
}

func TestDelayIsHonoured(t *testing.T) {
	e := newEnv(t)
	r := newRunner(nil)
	s := e.service(t, r)
	req := request("svc", "fn")
	req.NotBefore = req.Accepted.Add(1500 * time.Millisecond)
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	now := request("svc", "fn")
	if err := s.Enqueue(e.ctx, now); err != nil {
		t.Fatal(err)
	}
	if a := r.next(t, time.Second); a.req.RequestID != now.RequestID {
		t.Fatal("the delayed request ran first")
	}
	a := r.next(t, 6*time.Second)
	if a.at.Before(req.NotBefore) {
		t.Fatalf("ran %s before its due time", req.NotBefore.Sub(a.at))
	}
	if late := a.at.Sub(req.NotBefore); late > 2*time.Second {
		t.Fatalf("ran %s after its due time", late)
	}
}

func TestEnqueueAnswers503WhenTheQueueIsGone(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil)
	e.conn.Close()
	err := s.Enqueue(e.ctx, request("svc", "fn"))
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeServiceUnavailable || fe.Status() != 503 {
		t.Fatalf("Enqueue with NATS closed = %v, want 503 ServiceUnavailable", err)
	}
}

func TestDuplicateTaskIDIs409(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil)
	req := request("svc", "fn")
	req.TaskID = "job-1"
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	again := request("svc", "fn")
	again.TaskID = "job-1"
	err := s.Enqueue(e.ctx, again)
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeStatefulAsyncInvocationAlreadyExists || fe.Status() != 409 {
		t.Fatalf("second task job-1 = %v, want 409 StatefulAsyncInvocationAlreadyExists", err)
	}
	if n := e.queued(t); n != 1 {
		t.Fatalf("%d messages queued, want 1 (the duplicate is refused before the queue)", n)
	}
	bad := request("svc", "fn")
	bad.TaskID = "a.b"
	if err := s.Enqueue(e.ctx, bad); !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
		t.Fatalf("task id a.b = %v, want 400 InvalidArgument", err)
	}
}

func TestStatefulConfigMakesEveryRequestATask(t *testing.T) {
	e := newEnv(t)
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "fn", StatefulInvocation: true})
	r := newRunner(nil)
	s := e.service(t, r)
	req := request("svc", "fn")
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	if req.TaskID == "" {
		t.Fatal("statefulInvocation: no task id was generated")
	}
	tk := waitTask(t, s, "svc", "fn", req.TaskID, fc.TaskSucceeded, 5*time.Second)
	if tk.RequestID != req.RequestID || tk.ReturnPayload != "ok "+req.RequestID || tk.InstanceID != "i-1" || tk.Qualifier != fc.LATEST {
		t.Fatalf("task record %+v", tk)
	}
	if tk.EndTime == 0 || tk.StartedTime != req.Accepted.UnixMilli() || tk.InvocationPayload != "payload" {
		t.Fatalf("task times/payload %+v", tk)
	}
	var statuses []string
	for _, ev := range tk.Events {
		statuses = append(statuses, ev.Status)
	}
	if got := join(statuses); got != "Enqueued Running Succeeded" {
		t.Fatalf("timeline %q", got)
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func TestFunctionErrorsAreRetriedAndCounted(t *testing.T) {
	e := newEnv(t)
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "fn", MaxAsyncRetryAttempts: intp(2)})
	r := newRunner(func(_ context.Context, req *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		return fc.AsyncOutcome{Status: 200, FCStatus: "404", Body: []byte("boom")}
	})
	s := e.service(t, r)
	req := request("svc", "fn")
	req.TaskID = "retry-me"
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	tk := waitTask(t, s, "svc", "fn", "retry-me", fc.TaskFailed, 10*time.Second)
	if n := r.count(); n != 3 {
		t.Fatalf("%d attempts, want 3 (1 + 2 retries)", n)
	}
	if tk.AlreadyRetriedTimes != 2 || tk.InvocationErrorMessage == "" {
		t.Fatalf("task %+v", tk)
	}
	r.mu.Lock()
	for _, a := range r.calls {
		if a.req.RequestID != req.RequestID {
			t.Errorf("a retry ran with request id %s, want %s", a.req.RequestID, req.RequestID)
		}
	}
	gap := r.calls[2].at.Sub(r.calls[1].at)
	r.mu.Unlock()
	if gap < 100*time.Millisecond { // RetryBase 50 ms doubled once
		t.Errorf("second retry %s after the first, want ≥ 100ms (backoff)", gap)
	}
}

func TestHTTPFunctionPlain500Completes(t *testing.T) {
	e := newEnv(t)
	r := newRunner(func(context.Context, *fc.AsyncRequest, int) fc.AsyncOutcome {
		return fc.AsyncOutcome{Status: 500, Body: []byte("oops")}
	})
	s := e.service(t, r)
	req := request("svc", "fn")
	req.TaskID = "plain500"
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	waitTask(t, s, "svc", "fn", "plain500", fc.TaskSucceeded, 5*time.Second)
	r.next(t, time.Second)
	r.none(t, 300*time.Millisecond)
}

func TestThrottledWaitsWithoutCountingRetries(t *testing.T) {
	e := newEnv(t)
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "fn", MaxAsyncRetryAttempts: intp(0)})
	r := newRunner(func(_ context.Context, _ *fc.AsyncRequest, n int) fc.AsyncOutcome {
		if n <= 3 {
			return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeResourceThrottled, "no capacity")}
		}
		return fc.AsyncOutcome{Status: 200}
	})
	s := e.service(t, r)
	req := request("svc", "fn")
	req.TaskID = "busy"
	if err := s.Enqueue(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	tk := waitTask(t, s, "svc", "fn", "busy", fc.TaskSucceeded, 10*time.Second)
	if r.count() != 4 || tk.AlreadyRetriedTimes != 0 {
		t.Fatalf("%d attempts, %d retries counted; want 4 attempts with retries 0 (throttling is not a retry)", r.count(), tk.AlreadyRetriedTimes)
	}
}

func TestMaxAgeExpires(t *testing.T) {
	e := newEnv(t)
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "old", MaxAsyncEventAgeInSeconds: int64p(1)})
	e.cfgs.set(&fc.AsyncInvokeConfig{Service: "svc", Function: "busy", MaxAsyncEventAgeInSeconds: int64p(1)})
	r := newRunner(func(_ context.Context, req *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeResourceThrottled, "no capacity")}
	})
	s := e.service(t, r)

	old := request("svc", "old")
	old.TaskID = "old"
	old.Accepted = time.Now().Add(-2 * time.Second)
	old.NotBefore = old.Accepted
	if err := s.Enqueue(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	waitTask(t, s, "svc", "old", "old", fc.TaskExpired, 5*time.Second)

	busy := request("svc", "busy")
	busy.TaskID = "busy"
	if err := s.Enqueue(e.ctx, busy); err != nil {
		t.Fatal(err)
	}
	tk := waitTask(t, s, "svc", "busy", "busy", fc.TaskExpired, 5*time.Second)
	if end := time.UnixMilli(tk.EndTime); end.Sub(busy.Accepted) > 1500*time.Millisecond {
		t.Fatalf("expired %s after acceptance, want about its max age of 1s", end.Sub(busy.Accepted))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.calls {
		if a.req.TaskID == "old" {
			t.Fatal("an event older than its max age ran")
		}
	}
}

func TestShutdownLetsAttemptsFinishThenHandsBackTheRest(t *testing.T) {
	e := newEnv(t)
	r := newRunner(func(ctx context.Context, req *fc.AsyncRequest, _ int) fc.AsyncOutcome {
		if req.TaskID == "short" {
			time.Sleep(300 * time.Millisecond)
			return fc.AsyncOutcome{Status: 200}
		}
		<-ctx.Done()
		return fc.AsyncOutcome{Err: fc.Errorf(fc.CodeClientClosedRequest, "cancelled")}
	})
	s := e.service(t, r, func(o *Options) { o.AckWait = 10 * time.Second })
	short := request("svc", "fn")
	short.TaskID = "short"
	if err := s.Enqueue(e.ctx, short); err != nil {
		t.Fatal(err)
	}
	r.next(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	s.Shutdown(ctx)
	cancel()
	if tk, _ := s.GetTask(e.ctx, "svc", "", "fn", "short"); tk.Status != fc.TaskSucceeded {
		t.Fatalf("after a drain the attempt under way is %s, want Succeeded", tk.Status)
	}

	s2 := e.service(t, r, func(o *Options) { o.AckWait = 10 * time.Second })
	long := request("svc", "fn")
	long.TaskID = "long"
	if err := s2.Enqueue(e.ctx, long); err != nil {
		t.Fatal(err)
	}
	r.next(t, 5*time.Second)
	spent, cancel := context.WithCancel(e.ctx)
	cancel()
	s2.Shutdown(spent)
	// Handed back at once, not after the 10 s ack wait.
	r3 := newRunner(nil)
	e.service(t, r3)
	if a := r3.next(t, 3*time.Second); a.req.TaskID != "long" {
		t.Fatalf("ran %q", a.req.TaskID)
	}
}
