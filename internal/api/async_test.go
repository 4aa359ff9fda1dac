package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

// fakeTasks keeps one task, "job-1" of svc/fn, and records the filters
// and stops it is asked for.
type fakeTasks struct {
	mu      sync.Mutex
	filters []fc.TaskFilter
	stopped []string
}

func (f *fakeTasks) task(id string) *fc.AsyncTask {
	return &fc.AsyncTask{ServiceName: "svc", FunctionName: "fn", Qualifier: fc.LATEST, InvocationID: id, Status: fc.TaskRunning,
		RequestID: "req-1", Events: []fc.TaskEvent{{EventID: 1, Status: fc.TaskEnqueued, Timestamp: 1}}}
}

func (f *fakeTasks) ListTasks(_ context.Context, flt fc.TaskFilter) ([]*fc.AsyncTask, string, error) {
	f.mu.Lock()
	f.filters = append(f.filters, flt)
	f.mu.Unlock()
	return []*fc.AsyncTask{f.task("job-1")}, "job-2", nil
}

func (f *fakeTasks) GetTask(_ context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error) {
	if id != "job-1" || service != "svc" || function != "fn" || qualifier != fc.LATEST {
		return nil, fc.Errorf(fc.CodeStatefulAsyncInvocationNotFound, "task %s does not exist", id)
	}
	return f.task(id), nil
}

func (f *fakeTasks) StopTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error) {
	t, err := f.GetTask(ctx, service, qualifier, function, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.stopped = append(f.stopped, id)
	f.mu.Unlock()
	t.Status = fc.TaskStopping
	return t, nil
}

func TestAsyncInvokeConfigRoutes(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")

	_, err := e.c.GetAsyncInvokeConfig(e.ctx, "svc", "", "fn")
	wantAPIError(t, err, 404, "AsyncConfigNotExists")
	retries, age := 2, int64(600)
	yes := true
	in := client.AsyncInvokeConfig{MaxAsyncRetryAttempts: &retries, MaxAsyncEventAgeInSeconds: &age, StatefulInvocation: &yes,
		DestinationConfig: &client.DestinationConfig{
			OnSuccess: &client.Destination{Destination: "https://hooks.example.com/ok"},
			OnFailure: &client.Destination{Destination: "acs:fc:cn-test:" + testAccount + ":services/svc/functions/fn"}}}
	put, err := e.c.PutAsyncInvokeConfig(e.ctx, "svc", "", "fn", in)
	if err != nil {
		t.Fatal(err)
	}
	if *put.MaxAsyncRetryAttempts != 2 || *put.MaxAsyncEventAgeInSeconds != 600 || !*put.StatefulInvocation || put.CreatedTime == "" ||
		put.Service != "svc" || put.Function != "fn" || put.Qualifier != fc.LATEST || put.DestinationConfig.OnSuccess.Destination != "https://hooks.example.com/ok" {
		t.Fatalf("put answered %+v", put)
	}
	got, err := e.c.GetAsyncInvokeConfig(e.ctx, "svc", "LATEST", "fn")
	if err != nil || *got.MaxAsyncRetryAttempts != 2 || got.CreatedTime != put.CreatedTime {
		t.Fatalf("get: %+v, %v", got, err)
	}
	// An update keeps what it leaves out (FC's rule).
	one := 1
	upd, err := e.c.PutAsyncInvokeConfig(e.ctx, "svc", "", "fn", client.AsyncInvokeConfig{MaxAsyncRetryAttempts: &one})
	if err != nil || *upd.MaxAsyncRetryAttempts != 1 || *upd.MaxAsyncEventAgeInSeconds != 600 || upd.DestinationConfig == nil || !*upd.StatefulInvocation {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	list, next, err := e.c.ListAsyncInvokeConfigs(e.ctx, "svc", "fn", client.ListOptions{})
	if err != nil || len(list) != 1 || next != "" || list[0].Qualifier != fc.LATEST {
		t.Fatalf("list: %+v %q %v", list, next, err)
	}

	bad := func(mut func(c *client.AsyncInvokeConfig), field string) {
		t.Helper()
		c := client.AsyncInvokeConfig{}
		mut(&c)
		_, err := e.c.PutAsyncInvokeConfig(e.ctx, "svc", "", "fn", c)
		wantAPIError(t, err, 400, "InvalidArgument", field)
	}
	nine, zero := 9, int64(0)
	bad(func(c *client.AsyncInvokeConfig) { c.MaxAsyncRetryAttempts = &nine }, "maxAsyncRetryAttempts")
	bad(func(c *client.AsyncInvokeConfig) { c.MaxAsyncEventAgeInSeconds = &zero }, "maxAsyncEventAgeInSeconds")
	bad(func(c *client.AsyncInvokeConfig) {
		c.DestinationConfig = &client.DestinationConfig{OnFailure: &client.Destination{Destination: "acs:mns:r:1:/queues/q"}}
	}, "destinationConfig.onFailure")
	_, err = e.c.PutAsyncInvokeConfig(e.ctx, "svc", "", "nope", client.AsyncInvokeConfig{})
	wantAPIError(t, err, 404, "FunctionNotFound")
	_, err = e.c.PutAsyncInvokeConfig(e.ctx, "svc", "prod", "fn", client.AsyncInvokeConfig{})
	wantAPIError(t, err, 404, "AliasNotFound")

	if err := e.c.DeleteAsyncInvokeConfig(e.ctx, "svc", "", "fn"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, e.c.DeleteAsyncInvokeConfig(e.ctx, "svc", "", "fn"), 404, "AsyncConfigNotExists")
}

func TestTaskRoutes(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")

	tasks, next, err := e.c.ListStatefulAsyncInvocations(e.ctx, "svc", "", "fn",
		client.TaskQuery{Status: "Running", Prefix: "job", Limit: 5, NextToken: "job-0", StartedTimeBegin: 10, StartedTimeEnd: 20})
	if err != nil || len(tasks) != 1 || tasks[0].InvocationID != "job-1" || next != "job-2" || len(tasks[0].Events) != 1 {
		t.Fatalf("list: %+v %q %v", tasks, next, err)
	}
	e.tasks.mu.Lock()
	f := e.tasks.filters[0]
	e.tasks.mu.Unlock()
	want := fc.TaskFilter{Service: "svc", Qualifier: fc.LATEST, Function: "fn", Status: "Running", Prefix: "job", Limit: 5,
		NextToken: "job-0", StartedTimeBegin: 10, StartedTimeEnd: 20}
	if f != want {
		t.Errorf("filter %+v; want %+v", f, want)
	}
	for _, q := range []client.TaskQuery{{Limit: 101}, {Status: "Sleeping"}} {
		_, _, err := e.c.ListStatefulAsyncInvocations(e.ctx, "svc", "", "fn", q)
		wantAPIError(t, err, 400, "InvalidArgument")
	}
	task, err := e.c.GetStatefulAsyncInvocation(e.ctx, "svc", "", "fn", "job-1")
	if err != nil || task.Status != fc.TaskRunning || task.RequestID != "req-1" {
		t.Fatalf("get: %+v %v", task, err)
	}
	_, err = e.c.GetStatefulAsyncInvocation(e.ctx, "svc", "", "fn", "job-9")
	wantAPIError(t, err, 404, "StatefulAsyncInvocationNotFound")
	_, err = e.c.GetStatefulAsyncInvocation(e.ctx, "svc", "", "nope", "job-1")
	wantAPIError(t, err, 404, "FunctionNotFound")
	stopped, err := e.c.StopStatefulAsyncInvocation(e.ctx, "svc", "", "fn", "job-1")
	if err != nil || stopped.Status != fc.TaskStopping || len(e.tasks.stopped) != 1 {
		t.Fatalf("stop: %+v %v", stopped, err)
	}
}
