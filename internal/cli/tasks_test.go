package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/fcsign"
)

// cannedTasks answers one task, "job-1" of a/f, and records the filters.
type cannedTasks struct {
	mu      sync.Mutex
	filters []fc.TaskFilter
}

func (c *cannedTasks) task(status string) *fc.AsyncTask {
	return &fc.AsyncTask{ServiceName: "a", FunctionName: "f", Qualifier: fc.LATEST, InvocationID: "job-1", Status: status,
		StartedTime: 1700000000000, RequestID: "req-1", AlreadyRetriedTimes: 2, InvocationErrorMessage: "boom",
		Events: []fc.TaskEvent{{EventID: 1, Status: fc.TaskEnqueued, Timestamp: 1700000000000}}}
}

func (c *cannedTasks) ListTasks(_ context.Context, f fc.TaskFilter) ([]*fc.AsyncTask, string, error) {
	c.mu.Lock()
	c.filters = append(c.filters, f)
	c.mu.Unlock()
	return []*fc.AsyncTask{c.task(fc.TaskFailed)}, "job-2", nil
}

func (c *cannedTasks) GetTask(_ context.Context, _, _, _, id string) (*fc.AsyncTask, error) {
	if id != "job-1" {
		return nil, fc.Errorf(fc.CodeStatefulAsyncInvocationNotFound, "task %s does not exist", id)
	}
	return c.task(fc.TaskFailed), nil
}

func (c *cannedTasks) StopTask(ctx context.Context, s, q, f, id string) (*fc.AsyncTask, error) {
	if _, err := c.GetTask(ctx, s, q, f, id); err != nil {
		return nil, err
	}
	return c.task(fc.TaskStopping), nil
}

// acceptingInvoker answers async invocations 202 as the gateway does and
// records their headers.
type acceptingInvoker struct{ last http.Header }

func (a *acceptingInvoker) Invoke(w http.ResponseWriter, r *http.Request, id string, _ *fc.Function, _ string) {
	a.last = r.Header.Clone()
	w.Header().Set(fc.HeaderRequestID, id)
	if t := r.Header.Get(fc.HeaderStatefulAsyncInvocationID); t != "" {
		w.Header().Set(fc.HeaderStatefulAsyncInvocationID, t)
	}
	w.WriteHeader(http.StatusAccepted)
}

func tasksCLI(t *testing.T) (func(args ...string) (string, error), *cannedTasks, *acceptingInvoker) {
	ctx, _, st := storetest.Open(t)
	tasks, inv := &cannedTasks{}, &acceptingInvoker{}
	srv := httptest.NewServer(api.New(api.Options{
		Store:     st,
		Verifier:  &auth.Verifier{Keys: auth.AdminKey(fcsign.Credentials{AccessKeyID: cliKeyID, AccessKeySecret: cliKeySecret})},
		AccountID: cliAccount, Tasks: tasks, Invoker: inv,
	}))
	t.Cleanup(srv.Close)
	if _, err := st.CreateService(ctx, &fc.Service{ServiceName: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFunction(ctx, "a", &fc.Function{FunctionName: "f", Runtime: "custom.debian10"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENFC_ENDPOINT": srv.URL, "OPENFC_ACCESS_KEY_ID": cliKeyID, "OPENFC_ACCESS_KEY_SECRET": cliKeySecret,
		"OPENFC_DATA": t.TempDir(), "HOME": t.TempDir(), "TZ": "UTC"}
	return func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		root := NewRoot(&out, &errb, func(k string) string { return env[k] })
		root.SetArgs(args)
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}, tasks, inv
}

func TestTasksCommands(t *testing.T) {
	run, tasks, _ := tasksCLI(t)
	out, err := run("tasks", "list", "a.LATEST/f", "--status", "Failed", "--prefix", "job", "--limit", "5", "--next-token", "job-0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ID", "STATUS", "job-1", "Failed", "2023-11-14T22:13:20Z", "req-1", "--next-token job-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	f := tasks.filters[0]
	if f.Service != "a" || f.Qualifier != fc.LATEST || f.Function != "f" || f.Status != "Failed" || f.Prefix != "job" || f.Limit != 5 || f.NextToken != "job-0" {
		t.Errorf("filter %+v", f)
	}
	out, err = run("tasks", "list", "a/f", "--json")
	var listed struct {
		Invocations []fc.AsyncTask `json:"invocations"`
		NextToken   string         `json:"nextToken"`
	}
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Invocations) != 1 || listed.NextToken != "job-2" {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	out, err = run("tasks", "get", "a/f", "job-1")
	if err != nil || !strings.Contains(out, "boom") || !strings.Contains(out, "Enqueued") || !strings.Contains(out, "retries:") {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if _, err := run("tasks", "get", "a/f", "job-9"); err == nil || !strings.Contains(err.Error(), "StatefulAsyncInvocationNotFound") {
		t.Fatalf("get of a missing task: %v", err)
	}
	out, err = run("tasks", "stop", "a/f", "job-1")
	if err != nil || strings.TrimSpace(out) != "job-1: Stopping" {
		t.Fatalf("stop: %v %q", err, out)
	}
}

func TestInvokeAsyncCommand(t *testing.T) {
	run, _, inv := tasksCLI(t)
	out, err := run("invoke", "a/f", "--async", "--task-id", "video-42", "--delay", "30", "-e", "{}")
	if err != nil || !strings.Contains(out, "accepted: request ") || !strings.Contains(out, "task: video-42") {
		t.Fatalf("invoke --async: %v\n%s", err, out)
	}
	if inv.last.Get(fc.HeaderInvocationType) != "Async" || inv.last.Get(fc.HeaderAsyncDelay) != "30" ||
		inv.last.Get(fc.HeaderStatefulAsyncInvocationID) != "video-42" {
		t.Errorf("the server got %v", inv.last)
	}
	out, err = run("invoke", "a/f", "--async", "--json")
	var acc map[string]string
	if err != nil || json.Unmarshal([]byte(out), &acc) != nil || acc["requestId"] == "" || acc["taskId"] != "" {
		t.Fatalf("invoke --async --json: %v\n%s", err, out)
	}
}

func TestDeployPutsAsyncConfig(t *testing.T) {
	run, st := cliServer(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := "edition: 3.0.0\nname: a\nresources:\n  web:\n    component: fc3\n    props:\n" +
		"      functionName: f\n      runtime: custom.debian10\n      code: .\n" +
		"      customRuntimeConfig: {command: [./bootstrap]}\n" +
		"      asyncInvokeConfig:\n        maxAsyncRetryAttempts: 1\n        asyncTask: true\n"
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("deploy", "-f", path); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	c, err := st.GetAsyncInvokeConfig(context.Background(), "a", "", "f")
	if err != nil || c.Retries() != 1 || !c.StatefulInvocation {
		t.Fatalf("stored async config %+v, %v", c, err)
	}
}
