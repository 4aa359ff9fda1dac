package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/route"
)

// fakeQueue keeps what it is given; err, when set, refuses; taskID, when
// set, is given to requests without one (a statefulInvocation config).
type fakeQueue struct {
	mu     sync.Mutex
	reqs   []*fc.AsyncRequest
	err    error
	taskID string
}

func (q *fakeQueue) Enqueue(_ context.Context, req *fc.AsyncRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if req.TaskID == "" {
		req.TaskID = q.taskID
	}
	q.reqs = append(q.reqs, req)
	return nil
}

func (q *fakeQueue) taken() []*fc.AsyncRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*fc.AsyncRequest(nil), q.reqs...)
}

func newAsyncEnv(t *testing.T) (*testEnv, *fakeQueue) {
	e := newTestEnv(t, testLimits)
	q := &fakeQueue{}
	e.gw.opts.Queue = q
	return e, q
}

func TestAsyncAcceptAnswers202AndPersists(t *testing.T) {
	e, q := newAsyncEnv(t)
	r := e.req("POST", proxy+"anon/some/path?a=1&b=%20", "", strings.NewReader("payload"))
	r.Header.Set(fc.HeaderInvocationType, "Async")
	r.Header.Set(fc.HeaderAsyncDelay, "30")
	r.Header.Set("X-Custom", "kept")
	before := time.Now()
	resp, body := e.do(r)
	if resp.StatusCode != http.StatusAccepted || body != "" {
		t.Fatalf("got %d %q; want 202 and no body", resp.StatusCode, body)
	}
	id := resp.Header.Get(fc.HeaderRequestID)
	if id == "" || resp.Header.Get(fc.HeaderStatefulAsyncInvocationID) != "" {
		t.Fatalf("headers %v: want a request id and no task id", resp.Header)
	}
	if acq, _ := e.inst.counts(); acq != 0 || e.upstreamHits() != 0 {
		t.Fatalf("accept acquired %d slots and reached the instance %d times; want none", acq, e.upstreamHits())
	}
	reqs := q.taken()
	if len(reqs) != 1 {
		t.Fatalf("%d requests queued; want 1", len(reqs))
	}
	got := reqs[0]
	if got.RequestID != id || got.Service != "svc" || got.Function != "anon" || got.Qualifier != fc.LATEST || got.Event ||
		got.Trigger != "http" || got.Method != "POST" || got.Path != "/some/path" || got.RawQuery != "a=1&b=%20" ||
		string(got.Body) != "payload" || got.Header.Get("X-Custom") != "kept" || got.BasePath != "/2016-08-15/proxy/svc/anon/" {
		t.Errorf("queued %+v", got)
	}
	if got.Accepted.Before(before) || got.NotBefore.Sub(got.Accepted) != 30*time.Second {
		t.Errorf("accepted %v, not before %v; want 30s apart", got.Accepted, got.NotBefore)
	}
	if !strings.Contains(e.logs.String(), `"status":202`) || !strings.Contains(e.logs.String(), id) {
		t.Errorf("no access log line for the 202: %s", e.logs.String())
	}
}

func TestAsyncAcceptTaskIDs(t *testing.T) {
	e, q := newAsyncEnv(t)
	// A task id header implies Async.
	r := e.req("POST", proxy+"anon/", "", strings.NewReader("x"))
	r.Header.Set(fc.HeaderStatefulAsyncInvocationID, "video_01")
	resp, _ := e.do(r)
	if resp.StatusCode != 202 || resp.Header.Get(fc.HeaderStatefulAsyncInvocationID) != "video_01" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
	// The queue may name the task (statefulInvocation).
	q.taskID = "generated-1"
	r = e.req("POST", proxy+"anon/", "", nil)
	r.Header.Set(fc.HeaderInvocationType, "Async")
	if resp, _ := e.do(r); resp.StatusCode != 202 || resp.Header.Get(fc.HeaderStatefulAsyncInvocationID) != "generated-1" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
	// Its refusals are the answer.
	q.err = fc.Errorf(fc.CodeStatefulAsyncInvocationAlreadyExists, "task video_01 exists")
	r = e.req("POST", proxy+"anon/", "", nil)
	r.Header.Set(fc.HeaderStatefulAsyncInvocationID, "video_01")
	resp, body := e.do(r)
	checkFCError(t, resp, body, 409, fc.CodeStatefulAsyncInvocationAlreadyExists)
	q.err = fc.Errorf(fc.CodeServiceUnavailable, "the queue is full")
	resp, body = e.do(e.reqAsync("POST", proxy+"anon/", ""))
	checkFCError(t, resp, body, 503, fc.CodeServiceUnavailable)
}

func (e *testEnv) reqAsync(method, target, host string) *http.Request {
	r := e.req(method, target, host, nil)
	r.Header.Set(fc.HeaderInvocationType, "Async")
	return r
}

func TestAsyncAcceptRefusals(t *testing.T) {
	e, q := newAsyncEnv(t)
	authHost := route.SubdomainLabel("svc", "auth", "bbbb2222") + "." + testDomain
	for _, tc := range []struct {
		name   string
		r      *http.Request
		status int
		code   fc.Code
	}{
		{"unknown function", e.reqAsync("POST", proxy+"nosuch/", ""), 404, fc.CodeFunctionNotFound},
		{"failed auth", e.reqAsync("POST", "/", authHost), 400, fc.CodeMissingRequiredHeader},
		{"method not allowed", e.reqAsync("DELETE", "/", authHost), 403, fc.CodeMethodNotAllowed},
		{"delay over an hour", func() *http.Request {
			r := e.reqAsync("POST", proxy+"anon/", "")
			r.Header.Set(fc.HeaderAsyncDelay, "3601")
			return r
		}(), 400, fc.CodeInvalidArgument},
		{"bad task id", func() *http.Request {
			r := e.reqAsync("POST", proxy+"anon/", "")
			r.Header.Set(fc.HeaderStatefulAsyncInvocationID, "9lives")
			return r
		}(), 400, fc.CodeInvalidArgument},
		{"body over 128 KB", func() *http.Request {
			r := e.req("POST", proxy+"anon/", "", hideLength{strings.NewReader(strings.Repeat("b", 101))})
			r.Header.Set(fc.HeaderInvocationType, "Async")
			return r
		}(), 400, fc.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.r)
			checkFCError(t, resp, body, tc.status, tc.code)
		})
	}
	if n := len(q.taken()); n != 0 {
		t.Errorf("%d refused requests were queued", n)
	}
}

func TestAsyncAcceptSignedStripsCredentials(t *testing.T) {
	e, q := newAsyncEnv(t)
	authHost := route.SubdomainLabel("svc", "auth", "bbbb2222") + "." + testDomain
	r := e.reqAsync("POST", "/hook?x=1", authHost)
	r.Header.Set("Authorization", "FC good")
	if resp, body := e.do(r); resp.StatusCode != 202 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	got := q.taken()[0]
	if got.Header.Get("Authorization") != "" || got.KeyID != "good" || got.Path != "/hook" || got.RawQuery != "x=1" {
		t.Errorf("queued %+v", got)
	}
	// The run skips authentication: the signature is not there any more.
	out := e.gw.RunAsync(context.Background(), got)
	if out.Err != nil || out.Status != 200 {
		t.Fatalf("run: %+v", out)
	}
	if s := e.lastSeen(); s.Header.Get("Authorization") != "" || s.URI != "/hook?x=1" {
		t.Errorf("the instance saw %s %v", s.URI, s.Header)
	}
}

func TestRunAsyncThroughTheChain(t *testing.T) {
	e, q := newAsyncEnv(t)
	r := e.req("PUT", proxy+"anon/p%7Cq?k=v", "", strings.NewReader("the body"))
	r.Header.Set(fc.HeaderInvocationType, "Async")
	r.Header.Set("X-Custom", "kept")
	if resp, body := e.do(r); resp.StatusCode != 202 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	req := q.taken()[0]
	e.setHandler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer", "yes")
		w.Header().Set(fc.HeaderStatus, "201")
		w.WriteHeader(201)
		io.WriteString(w, "done")
	})
	out := e.gw.RunAsync(context.Background(), req)
	if out.Err != nil || out.Status != 201 || string(out.Body) != "done" || out.Header.Get("X-Answer") != "yes" ||
		out.InstanceID != "inst-1" || out.FCStatus != "201" || out.Duration <= 0 {
		t.Fatalf("outcome %+v", out)
	}
	s := e.lastSeen()
	if s.Method != "PUT" || s.URI != "/p%7Cq?k=v" || s.Body != "the body" || s.Header.Get("X-Custom") != "kept" ||
		s.Header.Get(fc.HeaderRequestID) != req.RequestID || s.Header.Get(fc.HeaderControlPath) != fc.ControlHTTPInvoke ||
		s.Header.Get(fc.HeaderInvocationType) != "" {
		t.Errorf("the instance saw %+v", s)
	}
	e.inst.mu.Lock()
	async, released := e.inst.asyncAcquired, e.inst.released
	e.inst.mu.Unlock()
	if async != 1 || released != 1 {
		t.Errorf("async acquires %d, releases %d; want 1, 1", async, released)
	}
	if n := strings.Count(e.logs.String(), req.RequestID); n < 2 {
		t.Errorf("want an access log line for the accept and one for the run: %s", e.logs.String())
	}
}

func TestRunAsyncBoundsTheAnswer(t *testing.T) {
	e, q := newAsyncEnv(t)
	e.do(e.reqAsync("POST", proxy+"anon/", ""))
	req := q.taken()[0]
	e.setHandler(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("a", fc.MaxTaskReturnPayload+10))
	})
	out := e.gw.RunAsync(context.Background(), req)
	if out.Err != nil || out.Status != 200 || len(out.Body) != fc.MaxTaskReturnPayload {
		t.Fatalf("status %d, %d body bytes, err %v; want 200 and %d", out.Status, len(out.Body), out.Err, fc.MaxTaskReturnPayload)
	}
}

func TestRunAsyncFailures(t *testing.T) {
	e, q := newAsyncEnv(t)
	e.do(e.reqAsync("POST", proxy+"anon/", ""))
	req := *q.taken()[0]

	gone := req
	gone.Function = "deleted"
	if out := e.gw.RunAsync(context.Background(), &gone); out.Err == nil || out.Err.Code != fc.CodeFunctionNotFound {
		t.Errorf("deleted function: %+v", out)
	}
	gone.Service = "nosvc"
	if out := e.gw.RunAsync(context.Background(), &gone); out.Err == nil || out.Err.Code != fc.CodeServiceNotFound {
		t.Errorf("deleted service: %+v", out)
	}
	// A stop (ctx cancelled) cuts the exchange: an FC error, not an answer.
	started := make(chan struct{})
	e.setHandler(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	done := make(chan fc.AsyncOutcome, 1)
	go func() { done <- e.gw.RunAsync(ctx, &req) }()
	select {
	case out := <-done:
		if out.Err == nil || out.InstanceID != "inst-1" {
			t.Errorf("stopped run: %+v", out)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stopped run did not end")
	}
}

func TestAsyncInvokeFunction(t *testing.T) {
	e, q := newAsyncEnv(t)
	fn := e.gw.opts.Catalog.(*fakeCatalog).fns["svc/notrig"]
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/2016-08-15/services/svc/functions/notrig/invocations", strings.NewReader(`{"k":1}`))
	r.Header.Set(fc.HeaderInvocationType, "Async")
	e.gw.Invoke(rec, r, "req-event", fn, fc.LATEST)
	if rec.Code != 202 || rec.Body.Len() != 0 || rec.Header().Get(fc.HeaderRequestID) != "req-event" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	req := q.taken()[0]
	if !req.Event || req.Function != "notrig" || string(req.Body) != `{"k":1}` {
		t.Fatalf("queued %+v", req)
	}
	out := e.gw.RunAsync(context.Background(), req)
	s := e.lastSeen()
	if out.Err != nil || out.Status != 200 || s.Method != "POST" || s.URI != "/invoke" || s.Body != `{"k":1}` ||
		s.Header.Get(fc.HeaderControlPath) != fc.ControlInvoke {
		t.Fatalf("outcome %+v; the instance saw %+v", out, s)
	}
}
