package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/openfc/openfc/internal/fc"
)

// This file serves asynchronous invocation's management routes: a
// function version's async config (FC 2.0's async-invoke-config) and its
// tasks (stateful async invocations: list, get, stop).

// AsyncConfigStore keeps the async configs of function versions
// (store.JetStream). Get and Delete return fc.ErrNotFound when there is
// none; Put returns it when the function does not exist.
type AsyncConfigStore interface {
	PutAsyncInvokeConfig(ctx context.Context, c *fc.AsyncInvokeConfig) error
	GetAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) (*fc.AsyncInvokeConfig, error)
	DeleteAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) error
	// ListAsyncInvokeConfigs returns the configs sorted by service,
	// qualifier and function; a non-empty name filters.
	ListAsyncInvokeConfigs(ctx context.Context, service, qualifier, function string) ([]*fc.AsyncInvokeConfig, error)
}

// Tasks reads and stops tasks (the async package). Qualifier "" is
// LATEST; errors are *fc.Error (404 StatefulAsyncInvocationNotFound).
type Tasks interface {
	ListTasks(ctx context.Context, f fc.TaskFilter) (tasks []*fc.AsyncTask, nextToken string, err error)
	GetTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error)
	StopTask(ctx context.Context, service, qualifier, function, id string) (*fc.AsyncTask, error)
}

func (a *API) asyncRoutes(h func(string, handlerFunc)) {
	const fnv = v + "/services/{service}/functions/{function}"
	h("PUT "+fnv+"/async-invoke-config", a.putAsyncConfig)
	h("GET "+fnv+"/async-invoke-config", a.getAsyncConfig)
	h("DELETE "+fnv+"/async-invoke-config", a.deleteAsyncConfig)
	h("GET "+fnv+"/async-invoke-configs", a.listAsyncConfigs)
	h("GET "+fnv+"/stateful-async-invocations", a.listTasks)
	h("GET "+fnv+"/stateful-async-invocations/{id}", a.getTask)
	h("PUT "+fnv+"/stateful-async-invocations/{id}", a.stopTask)
}

func asyncConfigNotFound(ref scalingRef) *fc.Error {
	return fc.Errorf(fc.CodeAsyncConfigNotExists, "async config of function '%s' in service '%s' (qualifier %s) does not exist", ref.function, ref.service, ref.qualifier)
}

// putAsyncConfig creates or updates a function version's async config;
// as in FC, an update keeps the fields the request leaves out.
func (a *API) putAsyncConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	var in struct {
		MaxAsyncRetryAttempts     *int                  `json:"maxAsyncRetryAttempts"`
		MaxAsyncEventAgeInSeconds *int64                `json:"maxAsyncEventAgeInSeconds"`
		DestinationConfig         *fc.DestinationConfig `json:"destinationConfig"`
		StatefulInvocation        *bool                 `json:"statefulInvocation"`
	}
	if err := a.decode(r, &in); err != nil {
		return 0, nil, nil, err
	}
	ctx := r.Context()
	c, err := a.opts.Store.GetAsyncInvokeConfig(ctx, ref.service, ref.qualifier, ref.function)
	switch {
	case errors.Is(err, fc.ErrNotFound):
		c = &fc.AsyncInvokeConfig{Service: ref.service, Qualifier: ref.qualifier, Function: ref.function}
	case err != nil:
		return 0, nil, nil, storeErr(err, nil, nil)
	}
	if in.MaxAsyncRetryAttempts != nil {
		c.MaxAsyncRetryAttempts = in.MaxAsyncRetryAttempts
	}
	if in.MaxAsyncEventAgeInSeconds != nil {
		c.MaxAsyncEventAgeInSeconds = in.MaxAsyncEventAgeInSeconds
	}
	if in.DestinationConfig != nil {
		c.DestinationConfig = in.DestinationConfig
	}
	if in.StatefulInvocation != nil {
		c.StatefulInvocation = *in.StatefulInvocation
	}
	if err := fc.ValidateAsyncInvokeConfig(c); err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.PutAsyncInvokeConfig(ctx, c); err != nil {
		return 0, nil, nil, a.functionErr(ctx, err, ref.service, ref.function)
	}
	stored, err := a.opts.Store.GetAsyncInvokeConfig(ctx, ref.service, ref.qualifier, ref.function)
	if err != nil {
		return 0, nil, nil, storeErr(err, asyncConfigNotFound(ref), nil)
	}
	return http.StatusOK, stored, nil, nil
}

func (a *API) getAsyncConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	c, err := a.opts.Store.GetAsyncInvokeConfig(r.Context(), ref.service, ref.qualifier, ref.function)
	if err != nil {
		return 0, nil, nil, storeErr(err, asyncConfigNotFound(ref), nil)
	}
	return http.StatusOK, c, nil, nil
}

func (a *API) deleteAsyncConfig(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := a.opts.Store.DeleteAsyncInvokeConfig(r.Context(), ref.service, ref.qualifier, ref.function); err != nil {
		return 0, nil, nil, storeErr(err, asyncConfigNotFound(ref), nil)
	}
	return http.StatusNoContent, nil, nil, nil
}

// listAsyncConfigs lists a function's async configs, one per qualifier,
// paged by qualifier.
func (a *API) listAsyncConfigs(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	p, err := parsePage(r)
	if err != nil {
		return 0, nil, nil, err
	}
	all, err := a.opts.Store.ListAsyncInvokeConfigs(r.Context(), ref.service, "", ref.function)
	if err != nil {
		return 0, nil, nil, err
	}
	items, next := paginate(p, all, func(c *fc.AsyncInvokeConfig) string { return c.Qualifier })
	return http.StatusOK, map[string]any{"configs": items, "nextToken": next}, nil, nil
}

// tasks is Options.Tasks, or the 503 of a daemon without async.
func (a *API) tasks() (Tasks, error) {
	if a.opts.Tasks == nil {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "asynchronous invocation is not available")
	}
	return a.opts.Tasks, nil
}

var taskStatuses = []string{fc.TaskEnqueued, fc.TaskRunning, fc.TaskSucceeded, fc.TaskFailed, fc.TaskRetrying,
	fc.TaskStopping, fc.TaskStopped, fc.TaskExpired, fc.TaskInvalid}

// taskFilter reads a task list's query: limit (1–100, default 20),
// nextToken, invocationIdPrefix, status, startedTimeBegin/End (ms).
func taskFilter(r *http.Request, ref scalingRef) (fc.TaskFilter, error) {
	q := r.URL.Query()
	f := fc.TaskFilter{Service: ref.service, Qualifier: ref.qualifier, Function: ref.function, Limit: 20,
		NextToken: q.Get("nextToken"), Prefix: q.Get("invocationIdPrefix"), Status: q.Get("status")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return f, fc.Errorf(fc.CodeInvalidArgument, "limit %q is invalid: use 1 to 100", s)
		}
		f.Limit = n
	}
	if f.Status != "" && !slices.Contains(taskStatuses, f.Status) {
		return f, fc.Errorf(fc.CodeInvalidArgument, "status %q is invalid: use one of %v", f.Status, taskStatuses)
	}
	for _, t := range []struct {
		name string
		dst  *int64
	}{{"startedTimeBegin", &f.StartedTimeBegin}, {"startedTimeEnd", &f.StartedTimeEnd}} {
		if s := q.Get(t.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return f, fc.Errorf(fc.CodeInvalidArgument, "%s %q is invalid: give milliseconds since the epoch", t.name, s)
			}
			*t.dst = n
		}
	}
	return f, nil
}

func (a *API) listTasks(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	f, err := taskFilter(r, ref)
	if err != nil {
		return 0, nil, nil, err
	}
	tasks, err := a.tasks()
	if err != nil {
		return 0, nil, nil, err
	}
	list, next, err := tasks.ListTasks(r.Context(), f)
	if err != nil {
		return 0, nil, nil, err
	}
	if list == nil {
		list = []*fc.AsyncTask{}
	}
	return http.StatusOK, map[string]any{"invocations": list, "nextToken": next}, nil, nil
}

// taskRef is the task a get or stop names.
func (a *API) taskRef(r *http.Request) (scalingRef, string, Tasks, error) {
	ref, err := a.scalingRef(r)
	if err != nil {
		return ref, "", nil, err
	}
	id := r.PathValue("id")
	if err := fc.CheckTaskID("statefulAsyncInvocationId", id); err != nil {
		return ref, "", nil, err
	}
	tasks, err := a.tasks()
	return ref, id, tasks, err
}

func (a *API) getTask(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, id, tasks, err := a.taskRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	t, err := tasks.GetTask(r.Context(), ref.service, ref.qualifier, ref.function, id)
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, t, nil, nil
}

func (a *API) stopTask(r *http.Request, _ string) (int, any, http.Header, error) {
	ref, id, tasks, err := a.taskRef(r)
	if err != nil {
		return 0, nil, nil, err
	}
	t, err := tasks.StopTask(r.Context(), ref.service, ref.qualifier, ref.function, id)
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, t, nil, nil
}
