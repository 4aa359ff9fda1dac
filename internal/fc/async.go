package fc

import (
	"net/http"
	"time"
)

// This file is FC's asynchronous invocation (spec §6): the headers, the
// limits and defaults, the function's async config, the persisted
// request, the outcome of one attempt and the task (stateful async
// invocation) record. internal/gateway accepts and runs, internal/async
// queues, retries and records; both speak these types.

// Async request headers.
const (
	// HeaderAsyncDelay delays an async invocation by 0–3600 seconds.
	HeaderAsyncDelay = "X-Fc-Async-Delay"
	// HeaderStatefulAsyncInvocationID names a task (stateful async
	// invocation); it implies Async.
	HeaderStatefulAsyncInvocationID = "X-Fc-Stateful-Async-Invocation-Id"
)

// Async limits and defaults.
const (
	MaxAsyncDelay                    = 3600 * time.Second
	DefaultMaxAsyncRetryAttempts     = 3
	MaxAsyncRetryAttempts            = 8
	DefaultMaxAsyncEventAgeInSeconds = 86400
	// MaxAsyncEventAgeInSeconds is the API struct's bound (7 days).
	MaxAsyncEventAgeInSeconds = 604800
	// MaxTaskReturnPayload bounds the function's answer kept in a task
	// record.
	MaxTaskReturnPayload = 1 << 20
)

// AsyncInvokeConfig is a function's async config (FC 2.0's
// PutFunctionAsyncInvokeConfig), per service[.qualifier]/function.
type AsyncInvokeConfig struct {
	Service   string `json:"service"`
	Qualifier string `json:"qualifier"`
	Function  string `json:"function"`
	// MaxAsyncRetryAttempts (0–8) retries a failed invocation; nil: 3.
	MaxAsyncRetryAttempts *int `json:"maxAsyncRetryAttempts,omitempty"`
	// MaxAsyncEventAgeInSeconds (1–604800) drops an event that could not
	// run within it (Expired); nil: 86400.
	MaxAsyncEventAgeInSeconds *int64             `json:"maxAsyncEventAgeInSeconds,omitempty"`
	DestinationConfig         *DestinationConfig `json:"destinationConfig,omitempty"`
	// StatefulInvocation makes every async request a task.
	StatefulInvocation bool   `json:"statefulInvocation"`
	CreatedTime        string `json:"createdTime,omitempty"`
	LastModifiedTime   string `json:"lastModifiedTime,omitempty"`
}

// Retries is MaxAsyncRetryAttempts with its default.
func (c *AsyncInvokeConfig) Retries() int {
	if c == nil || c.MaxAsyncRetryAttempts == nil {
		return DefaultMaxAsyncRetryAttempts
	}
	return *c.MaxAsyncRetryAttempts
}

// MaxAge is MaxAsyncEventAgeInSeconds with its default.
func (c *AsyncInvokeConfig) MaxAge() time.Duration {
	if c == nil || c.MaxAsyncEventAgeInSeconds == nil {
		return DefaultMaxAsyncEventAgeInSeconds * time.Second
	}
	return time.Duration(*c.MaxAsyncEventAgeInSeconds) * time.Second
}

// DestinationConfig says where the record of a finished invocation goes.
type DestinationConfig struct {
	OnSuccess *Destination `json:"onSuccess,omitempty"`
	OnFailure *Destination `json:"onFailure,omitempty"`
}

// Destination is a function ARN
// (acs:fc:{region}:{account}:services/{s}.{q}/functions/{f}) or, as an
// openfc extension, an http(s) URL the record is POSTed to.
type Destination struct {
	Destination string `json:"destination"`
}

// AsyncRequest is an accepted asynchronous invocation, as persisted in
// the queue before the 202: everything needed to run it later, on any
// node, through the same chain as a synchronous call.
type AsyncRequest struct {
	// RequestID is X-Fc-Request-Id of the 202, the queue message's id
	// (Nats-Msg-Id: a retried accept is deduplicated) and the
	// x-fc-request-id the instance sees on every attempt.
	RequestID string `json:"requestId"`
	// TaskID is the stateful async invocation id; "" for a plain async
	// request.
	TaskID string `json:"taskId,omitempty"`

	Service   string `json:"service"`
	Qualifier string `json:"qualifier"`
	Function  string `json:"function"`
	// Event marks InvokeFunction (POST /invoke, x-fc-control-path
	// /invoke); otherwise an HTTP trigger call through Trigger.
	Event   bool   `json:"event,omitempty"`
	Trigger string `json:"trigger,omitempty"`

	// The request as the instance is to see it: Path escaped, after the
	// proxy form's prefix (BasePath); Header without openfc's own
	// credentials.
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	RawQuery   string      `json:"rawQuery,omitempty"`
	BasePath   string      `json:"basePath,omitempty"`
	Host       string      `json:"host,omitempty"`
	Header     http.Header `json:"header,omitempty"`
	Body       []byte      `json:"body,omitempty"`
	RemoteAddr string      `json:"remoteAddr,omitempty"`
	TLS        bool        `json:"tls,omitempty"`

	// KeyID is the access key that signed the request ("": none).
	KeyID string `json:"keyId,omitempty"`
	// Accepted is when the 202 was decided; NotBefore is Accepted plus
	// X-Fc-Async-Delay.
	Accepted  time.Time `json:"accepted"`
	NotBefore time.Time `json:"notBefore"`

	// Domain is the custom domain the request came through ("": another
	// way in): its run keeps the domain's exemption from the trigger's
	// disableURLInternet.
	Domain string `json:"domain,omitempty"`
}

// AsyncOutcome is what one attempt of an async invocation produced: the
// function's answer (Status, Header, Body bounded by
// MaxTaskReturnPayload), or the FC error that stopped it.
type AsyncOutcome struct {
	Status   int         `json:"status,omitempty"`
	Header   http.Header `json:"header,omitempty"`
	Body     []byte      `json:"body,omitempty"`
	Err      *Error      `json:"error,omitempty"`
	FCStatus string      `json:"fcStatus,omitempty"`
	// InstanceID is the instance that ran it ("": none was reached).
	InstanceID string        `json:"instanceId,omitempty"`
	Duration   time.Duration `json:"duration"`
}

// Task statuses (FC's StatefulAsyncInvocation / AsyncTask).
const (
	TaskEnqueued  = "Enqueued"
	TaskRunning   = "Running"
	TaskSucceeded = "Succeeded"
	TaskFailed    = "Failed"
	TaskRetrying  = "Retrying"
	TaskStopping  = "Stopping"
	TaskStopped   = "Stopped"
	TaskExpired   = "Expired"
	TaskInvalid   = "Invalid"
)

// AsyncTask is FC 2.0's StatefulAsyncInvocation record.
type AsyncTask struct {
	ServiceName            string      `json:"serviceName"`
	FunctionName           string      `json:"functionName"`
	Qualifier              string      `json:"qualifier"`
	InvocationID           string      `json:"invocationId"`
	Status                 string      `json:"status"`
	StartedTime            int64       `json:"startedTime"` // ms
	EndTime                int64       `json:"endTime"`     // ms; 0 while not ended
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
	Timestamp   int64  `json:"timestamp"` // ms
	EventDetail string `json:"eventDetail,omitempty"`
}

// TaskFilter selects tasks of one function for a list.
type TaskFilter struct {
	Service, Qualifier, Function string
	// Status, when set, keeps tasks in that status.
	Status string
	// StartedTimeBegin/End (ms, inclusive; 0: open) bound StartedTime.
	StartedTimeBegin, StartedTimeEnd int64
	// Prefix keeps invocation ids starting with it.
	Prefix string
	// Limit (1–100, default 20) and NextToken page the list.
	Limit     int
	NextToken string
}
