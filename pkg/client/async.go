package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AsyncInvokeConfig is a function version's async config
// (async-invoke-config): retries, the maximum age of an event, where the
// record of a finished invocation goes, and whether every async request
// is a task (StatefulInvocation).
type AsyncInvokeConfig struct {
	Service   string `json:"service,omitempty"`
	Qualifier string `json:"qualifier,omitempty"`
	Function  string `json:"function,omitempty"`
	// MaxAsyncRetryAttempts (0–8; nil: 3) and MaxAsyncEventAgeInSeconds
	// (1–604800; nil: 86400).
	MaxAsyncRetryAttempts     *int               `json:"maxAsyncRetryAttempts,omitempty"`
	MaxAsyncEventAgeInSeconds *int64             `json:"maxAsyncEventAgeInSeconds,omitempty"`
	DestinationConfig         *DestinationConfig `json:"destinationConfig,omitempty"`
	// StatefulInvocation (nil: unchanged by a PUT, false at first)
	// makes every async invocation a task.
	StatefulInvocation *bool  `json:"statefulInvocation,omitempty"`
	CreatedTime        string `json:"createdTime,omitempty"`
	LastModifiedTime   string `json:"lastModifiedTime,omitempty"`
}

// DestinationConfig names where the record of a succeeded or failed
// async invocation goes.
type DestinationConfig struct {
	OnSuccess *Destination `json:"onSuccess,omitempty"`
	OnFailure *Destination `json:"onFailure,omitempty"`
}

// Destination is a function ARN
// (acs:fc:{region}:{account}:services/{s}[.{q}]/functions/{f}) or an
// http(s) URL.
type Destination struct {
	Destination string `json:"destination"`
}

// AsyncTask is a task (stateful async invocation).
type AsyncTask struct {
	ServiceName            string      `json:"serviceName"`
	FunctionName           string      `json:"functionName"`
	Qualifier              string      `json:"qualifier"`
	InvocationID           string      `json:"invocationId"`
	Status                 string      `json:"status"`
	StartedTime            int64       `json:"startedTime"`
	EndTime                int64       `json:"endTime"`
	DestinationStatus      string      `json:"destinationStatus,omitempty"`
	InvocationErrorMessage string      `json:"invocationErrorMessage,omitempty"`
	InvocationPayload      string      `json:"invocationPayload,omitempty"`
	RequestID              string      `json:"requestId"`
	AlreadyRetriedTimes    int         `json:"alreadyRetriedTimes"`
	InstanceID             string      `json:"instanceId,omitempty"`
	DurationMs             int64       `json:"durationMs"`
	ReturnPayload          string      `json:"returnPayload,omitempty"`
	Events                 []TaskEvent `json:"events"`
}

// TaskEvent is one step of a task's timeline.
type TaskEvent struct {
	EventID     int64  `json:"eventId"`
	Status      string `json:"status"`
	Timestamp   int64  `json:"timestamp"`
	EventDetail string `json:"eventDetail,omitempty"`
}

// TaskQuery selects tasks: Status, an id Prefix, StartedTimeBegin/End
// (ms since the epoch), and paging (Limit 1–100, NextToken).
type TaskQuery struct {
	Status                           string
	Prefix                           string
	StartedTimeBegin, StartedTimeEnd int64
	Limit                            int
	NextToken                        string
}

func (q TaskQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("status", q.Status)
	set("invocationIdPrefix", q.Prefix)
	set("nextToken", q.NextToken)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.StartedTimeBegin > 0 {
		v.Set("startedTimeBegin", strconv.FormatInt(q.StartedTimeBegin, 10))
	}
	if q.StartedTimeEnd > 0 {
		v.Set("startedTimeEnd", strconv.FormatInt(q.StartedTimeEnd, 10))
	}
	return v
}

// PutAsyncInvokeConfig sets the async config of a function version
// (qualifier "" means LATEST) and returns it as stored.
func (c *Client) PutAsyncInvokeConfig(ctx context.Context, service, qualifier, function string, in AsyncInvokeConfig) (*AsyncInvokeConfig, error) {
	var out AsyncInvokeConfig
	if _, err := c.Do(ctx, http.MethodPut, functionPath(service, qualifier, function, "async-invoke-config"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetAsyncInvokeConfig returns the async config of a function version;
// an *Error with code AsyncConfigNotExists when it has none.
func (c *Client) GetAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) (*AsyncInvokeConfig, error) {
	var out AsyncInvokeConfig
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "async-invoke-config"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAsyncInvokeConfig removes the async config of a function version.
func (c *Client) DeleteAsyncInvokeConfig(ctx context.Context, service, qualifier, function string) error {
	_, err := c.Do(ctx, http.MethodDelete, functionPath(service, qualifier, function, "async-invoke-config"), nil, nil, nil)
	return err
}

// ListAsyncInvokeConfigs returns one page of a function's async configs
// (one per qualifier) and the token of the next page.
func (c *Client) ListAsyncInvokeConfigs(ctx context.Context, service, function string, opts ListOptions) ([]AsyncInvokeConfig, string, error) {
	var out struct {
		Configs   []AsyncInvokeConfig `json:"configs"`
		NextToken string              `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, "", function, "async-invoke-configs"), opts.query(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Configs, out.NextToken, nil
}

// ListStatefulAsyncInvocations returns one page of a function version's
// tasks and the token of the next page.
func (c *Client) ListStatefulAsyncInvocations(ctx context.Context, service, qualifier, function string, q TaskQuery) ([]AsyncTask, string, error) {
	var out struct {
		Invocations []AsyncTask `json:"invocations"`
		NextToken   string      `json:"nextToken"`
	}
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "stateful-async-invocations"), q.values(), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Invocations, out.NextToken, nil
}

// GetStatefulAsyncInvocation returns a task; an *Error with code
// StatefulAsyncInvocationNotFound when there is none.
func (c *Client) GetStatefulAsyncInvocation(ctx context.Context, service, qualifier, function, id string) (*AsyncTask, error) {
	var out AsyncTask
	if _, err := c.Do(ctx, http.MethodGet, functionPath(service, qualifier, function, "stateful-async-invocations", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopStatefulAsyncInvocation stops a task and returns it.
func (c *Client) StopStatefulAsyncInvocation(ctx context.Context, service, qualifier, function, id string) (*AsyncTask, error) {
	var out AsyncTask
	if _, err := c.Do(ctx, http.MethodPut, functionPath(service, qualifier, function, "stateful-async-invocations", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AsyncOptions are an async invocation's options: a task id (it makes
// the invocation a task) and a delay (0–3600 seconds).
type AsyncOptions struct {
	TaskID string
	Delay  time.Duration
}

// Accepted is the answer to an async invocation: its request id, and its
// task id when it is a task.
type Accepted struct {
	RequestID string
	TaskID    string
}

// InvokeFunctionAsync invokes a function asynchronously (InvokeFunction
// with X-Fc-Invocation-Type: Async): openfc persists the request and
// answers 202 before it runs.
func (c *Client) InvokeFunctionAsync(ctx context.Context, service, qualifier, function string, body []byte, opts AsyncOptions) (*Accepted, error) {
	h := http.Header{"X-Fc-Invocation-Type": {"Async"}}
	if opts.TaskID != "" {
		h.Set("X-Fc-Stateful-Async-Invocation-Id", opts.TaskID)
	}
	if opts.Delay > 0 {
		h.Set("X-Fc-Async-Delay", strconv.Itoa(int(opts.Delay/time.Second)))
	}
	resp, err := c.InvokeFunction(ctx, service, qualifier, function, body, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("fc: async invoke %s/%s: status %d; want 202", qualified(service, qualifier), function, resp.StatusCode)
	}
	return &Accepted{RequestID: resp.Header.Get("X-Fc-Request-Id"), TaskID: resp.Header.Get("X-Fc-Stateful-Async-Invocation-Id")}, nil
}
