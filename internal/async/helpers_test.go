package async

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/natsx"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
)

// attempt is one call of the fake runner.
type attempt struct {
	req fc.AsyncRequest
	at  time.Time
}

// fakeRunner stands for the gateway: it records each attempt and answers
// with answer (a success when nil).
type fakeRunner struct {
	mu     sync.Mutex
	calls  []attempt
	answer func(ctx context.Context, req *fc.AsyncRequest, n int) fc.AsyncOutcome
	called chan attempt
}

func newRunner(answer func(ctx context.Context, req *fc.AsyncRequest, n int) fc.AsyncOutcome) *fakeRunner {
	return &fakeRunner{answer: answer, called: make(chan attempt, 1000)}
}

func (r *fakeRunner) RunAsync(ctx context.Context, req *fc.AsyncRequest) fc.AsyncOutcome {
	a := attempt{req: *req, at: time.Now()}
	r.mu.Lock()
	r.calls = append(r.calls, a)
	n := len(r.calls)
	r.mu.Unlock()
	r.called <- a
	if r.answer == nil {
		return fc.AsyncOutcome{Status: 200, Body: []byte("ok " + req.RequestID), InstanceID: "i-1", Duration: time.Millisecond}
	}
	return r.answer(ctx, req, n)
}

func (r *fakeRunner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// next waits for the next attempt.
func (r *fakeRunner) next(t *testing.T, within time.Duration) attempt {
	t.Helper()
	select {
	case a := <-r.called:
		return a
	case <-time.After(within):
		t.Fatalf("no attempt within %s (%d so far)", within, r.count())
		return attempt{}
	}
}

// none checks that no attempt starts within d.
func (r *fakeRunner) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case a := <-r.called:
		t.Fatalf("unexpected attempt of %s (task %q)", a.req.RequestID, a.req.TaskID)
	case <-time.After(d):
	}
}

// fakeConfigs stands for the async config store.
type fakeConfigs struct {
	mu   sync.Mutex
	cfgs map[string]*fc.AsyncInvokeConfig
}

func (f *fakeConfigs) set(c *fc.AsyncInvokeConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfgs == nil {
		f.cfgs = map[string]*fc.AsyncInvokeConfig{}
	}
	f.cfgs[c.Service+"/"+qualifierOf(c.Qualifier)+"/"+c.Function] = c
}

func (f *fakeConfigs) GetAsyncInvokeConfig(_ context.Context, s, q, fn string) (*fc.AsyncInvokeConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.cfgs[s+"/"+q+"/"+fn]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no config: %w", fc.ErrNotFound)
}

func intp(n int) *int       { return &n }
func int64p(n int64) *int64 { return &n }

// env is a JetStream with the queue and tasks opened on it.
type env struct {
	ctx   context.Context
	conn  *natsx.Conn
	queue *store.AsyncQueue
	tasks *store.AsyncTasks
	cfgs  *fakeConfigs
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, conn := storetest.Conn(t)
	return openEnv(t, ctx, conn)
}

func openEnv(t testing.TB, ctx context.Context, conn *natsx.Conn) *env {
	t.Helper()
	q, err := store.OpenAsyncQueue(ctx, conn.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := store.OpenAsyncTasks(ctx, conn.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, conn: conn, queue: q, tasks: tasks, cfgs: &fakeConfigs{}}
}

// service builds a Service on e with short waits; it is started when r
// is not nil, and closed when the test ends.
func (e *env) service(t testing.TB, r Runner, tune ...func(*Options)) *Service {
	t.Helper()
	o := Options{
		NC: e.conn.NC, Queue: e.queue, Tasks: e.tasks, Configs: e.cfgs, Runner: r,
		Workers: 4, AckWait: 2 * time.Second,
		RetryBase: 50 * time.Millisecond, ThrottleBase: 50 * time.Millisecond,
		Region: "cn-hangzhou", AccountID: "123",
	}
	for _, f := range tune {
		f(&o)
	}
	s := New(o)
	if r != nil {
		if err := s.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Close)
	return s
}

// request is an accepted request to svc/fn, due now.
func request(svc, fn string) *fc.AsyncRequest {
	now := time.Now()
	return &fc.AsyncRequest{
		RequestID: fc.NewRequestID(), Service: svc, Function: fn,
		Method: "POST", Path: "/", Body: []byte("payload"),
		Accepted: now, NotBefore: now,
	}
}

// waitTask polls a task until it is in status.
func waitTask(t *testing.T, s *Service, svc, fn, id, status string, within time.Duration) *fc.AsyncTask {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *fc.AsyncTask
	for time.Now().Before(deadline) {
		tk, err := s.GetTask(context.Background(), svc, "", fn, id)
		if err == nil {
			last = tk
			if tk.Status == status {
				return tk
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s not %s within %s: %+v", id, status, within, last)
	return nil
}

// queued is the number of messages in the async stream.
func (e *env) queued(t *testing.T) uint64 {
	t.Helper()
	st, err := e.conn.JS.Stream(e.ctx, store.AsyncStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
