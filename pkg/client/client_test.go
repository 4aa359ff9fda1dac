package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

var testCred = Credentials{AccessKeyID: "LTAItest", AccessKeySecret: "s3cr3t"}

// recorded is what the fake server saw of one request.
type recorded struct {
	method, path, query string
	header              http.Header
	body                []byte
	authErr             error
}

// fakeFC is an httptest server that verifies signatures with
// auth.Verifier, records each request and answers with a canned reply.
type fakeFC struct {
	*httptest.Server
	mu     sync.Mutex
	last   recorded
	status int
	reply  string
	header http.Header
}

func newFakeFC(t *testing.T) *fakeFC {
	f := &fakeFC{}
	v := &auth.Verifier{Keys: auth.AdminKey(fcsign.Credentials(testCred))}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, authErr := v.VerifyHeader(r, strings.HasPrefix(r.URL.Path, fcsign.ProxyPathPrefix))
		f.mu.Lock()
		f.last = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body, authErr: authErr}
		status, reply, hdr := f.status, f.reply, f.header
		f.mu.Unlock()
		w.Header().Set("X-Fc-Request-Id", "req-1")
		if authErr != nil {
			fe := fc.AsError(authErr)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fe.Status())
			_ = json.NewEncoder(w).Encode(fc.ErrorBody{ErrorCode: string(fe.Code), ErrorMessage: fe.Message})
			return
		}
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFC) respond(status int, reply string, header http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.reply, f.header = status, reply, header
}

func (f *fakeFC) lastRequest() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// jsonEqual compares two JSON documents structurally.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("body = %s, want none", got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestClientRequests(t *testing.T) {
	srv := newFakeFC(t)
	c := New(srv.URL+"/", "123456", testCred)
	ctx := context.Background()
	yes := true
	tests := []struct {
		name     string
		call     func() (any, error)
		reply    string
		method   string
		path     string
		query    string
		wantBody string
		want     any
	}{
		{
			name: "CreateService",
			call: func() (any, error) {
				return c.CreateService(ctx, Service{ServiceName: "svc", Description: "d", InternetAccess: &yes})
			},
			reply:  `{"serviceName":"svc","serviceId":"id1","description":"d","createdTime":"2024-01-01T00:00:00Z"}`,
			method: "POST", path: "/2016-08-15/services",
			wantBody: `{"serviceName":"svc","description":"d","internetAccess":true}`,
			want:     &Service{ServiceName: "svc", ServiceID: "id1", Description: "d", CreatedTime: "2024-01-01T00:00:00Z"},
		},
		{
			name:   "GetService",
			call:   func() (any, error) { return c.GetService(ctx, "svc") },
			reply:  `{"serviceName":"svc"}`,
			method: "GET", path: "/2016-08-15/services/svc",
			want: &Service{ServiceName: "svc"},
		},
		{
			name:   "UpdateService",
			call:   func() (any, error) { return c.UpdateService(ctx, "svc", Service{Description: "new"}) },
			reply:  `{"serviceName":"svc","description":"new"}`,
			method: "PUT", path: "/2016-08-15/services/svc",
			wantBody: `{"description":"new"}`,
			want:     &Service{ServiceName: "svc", Description: "new"},
		},
		{
			name:   "DeleteService",
			call:   func() (any, error) { return nil, c.DeleteService(ctx, "svc") },
			method: "DELETE", path: "/2016-08-15/services/svc",
		},
		{
			name: "ListServices",
			call: func() (any, error) {
				s, next, err := c.ListServices(ctx, ListOptions{Prefix: "s", NextToken: "tok", Limit: 2})
				return []any{s, next}, err
			},
			reply:  `{"services":[{"serviceName":"s1"},{"serviceName":"s2"}],"nextToken":"s3"}`,
			method: "GET", path: "/2016-08-15/services", query: "limit=2&nextToken=tok&prefix=s",
			want: []any{[]Service{{ServiceName: "s1"}, {ServiceName: "s2"}}, "s3"},
		},
		{
			name: "CreateFunction",
			call: func() (any, error) {
				return c.CreateFunction(ctx, "svc", FunctionInput{
					Function: Function{
						FunctionName: "fn", Runtime: "custom.debian10", MemorySize: 256,
						CustomRuntimeConfig:  &CustomRuntimeConfig{Command: []string{"/code/bootstrap"}, Port: 9000},
						EnvironmentVariables: map[string]string{"K": "v"},
					},
					Code: &Code{ZipFile: "UEsFBg=="},
				})
			},
			reply:  `{"functionName":"fn","runtime":"custom.debian10","memorySize":256,"codeChecksum":"123","codeSize":22}`,
			method: "POST", path: "/2016-08-15/services/svc/functions",
			wantBody: `{"functionName":"fn","runtime":"custom.debian10","memorySize":256,"customRuntimeConfig":{"command":["/code/bootstrap"],"port":9000},"environmentVariables":{"K":"v"},"code":{"zipFile":"UEsFBg=="}}`,
			want:     &Function{FunctionName: "fn", Runtime: "custom.debian10", MemorySize: 256, CodeChecksum: "123", CodeSize: 22},
		},
		{
			name:   "GetFunction",
			call:   func() (any, error) { return c.GetFunction(ctx, "svc", "fn") },
			reply:  `{"functionName":"fn","timeout":3}`,
			method: "GET", path: "/2016-08-15/services/svc/functions/fn",
			want: &Function{FunctionName: "fn", Timeout: 3},
		},
		{
			name: "UpdateFunction",
			call: func() (any, error) {
				return c.UpdateFunction(ctx, "svc", "fn", FunctionInput{Function: Function{Timeout: 30}})
			},
			reply:  `{"functionName":"fn","timeout":30}`,
			method: "PUT", path: "/2016-08-15/services/svc/functions/fn",
			wantBody: `{"timeout":30}`,
			want:     &Function{FunctionName: "fn", Timeout: 30},
		},
		{
			name:   "DeleteFunction",
			call:   func() (any, error) { return nil, c.DeleteFunction(ctx, "svc", "fn") },
			method: "DELETE", path: "/2016-08-15/services/svc/functions/fn",
		},
		{
			name: "ListFunctions",
			call: func() (any, error) {
				f, next, err := c.ListFunctions(ctx, "svc", ListOptions{})
				return []any{f, next}, err
			},
			reply:  `{"functions":[{"functionName":"a"}]}`,
			method: "GET", path: "/2016-08-15/services/svc/functions",
			want: []any{[]Function{{FunctionName: "a"}}, ""},
		},
		{
			name: "CreateTrigger",
			call: func() (any, error) {
				return c.CreateTrigger(ctx, "svc", "fn", Trigger{TriggerName: "http", TriggerType: "http",
					TriggerConfig: &HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET", "POST"}}})
			},
			reply:  `{"triggerName":"http","triggerType":"http","qualifier":"LATEST","triggerConfig":{"authType":"anonymous","methods":["GET","POST"]}}`,
			method: "POST", path: "/2016-08-15/services/svc/functions/fn/triggers",
			wantBody: `{"triggerName":"http","triggerType":"http","triggerConfig":{"authType":"anonymous","methods":["GET","POST"]}}`,
			want: &Trigger{TriggerName: "http", TriggerType: "http", Qualifier: "LATEST",
				TriggerConfig: &HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET", "POST"}}},
		},
		{
			name:   "GetTrigger",
			call:   func() (any, error) { return c.GetTrigger(ctx, "svc", "fn", "http") },
			reply:  `{"triggerName":"http"}`,
			method: "GET", path: "/2016-08-15/services/svc/functions/fn/triggers/http",
			want: &Trigger{TriggerName: "http"},
		},
		{
			name:   "UpdateTrigger",
			call:   func() (any, error) { return c.UpdateTrigger(ctx, "svc", "fn", "http", Trigger{Description: "x"}) },
			reply:  `{"triggerName":"http","description":"x"}`,
			method: "PUT", path: "/2016-08-15/services/svc/functions/fn/triggers/http",
			wantBody: `{"description":"x"}`,
			want:     &Trigger{TriggerName: "http", Description: "x"},
		},
		{
			name:   "DeleteTrigger",
			call:   func() (any, error) { return nil, c.DeleteTrigger(ctx, "svc", "fn", "http") },
			method: "DELETE", path: "/2016-08-15/services/svc/functions/fn/triggers/http",
		},
		{
			name: "ListTriggers",
			call: func() (any, error) {
				tr, next, err := c.ListTriggers(ctx, "svc", "fn", ListOptions{Limit: 1})
				return []any{tr, next}, err
			},
			reply:  `{"triggers":[{"triggerName":"http"}],"nextToken":"n"}`,
			method: "GET", path: "/2016-08-15/services/svc/functions/fn/triggers", query: "limit=1",
			want: []any{[]Trigger{{TriggerName: "http"}}, "n"},
		},
		{
			name:   "escaped names",
			call:   func() (any, error) { return c.GetService(ctx, "a b/c") },
			reply:  `{"serviceName":"a b/c"}`,
			method: "GET", path: "/2016-08-15/services/a%20b%2Fc",
			want: &Service{ServiceName: "a b/c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.respond(http.StatusOK, tt.reply, nil)
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			r := srv.lastRequest()
			if r.authErr != nil {
				t.Fatalf("server rejected the signature: %v", r.authErr)
			}
			if r.method != tt.method || r.path != tt.path || r.query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", r.method, r.path, r.query, tt.method, tt.path, tt.query)
			}
			jsonEqual(t, r.body, tt.wantBody)
			if tt.wantBody != "" && r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
			}
			if r.header.Get("X-Fc-Account-Id") != "123456" {
				t.Errorf("x-fc-account-id = %q", r.header.Get("X-Fc-Account-Id"))
			}
			if _, err := http.ParseTime(r.header.Get("Date")); err != nil {
				t.Errorf("Date %q: %v", r.header.Get("Date"), err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	srv := newFakeFC(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		client *Client
		status int
		reply  string
		want   Error
	}{
		{
			name:   "FC error body",
			client: New(srv.URL, "1", testCred),
			status: http.StatusNotFound,
			reply:  `{"ErrorCode":"ServiceNotFound","ErrorMessage":"service 'svc' does not exist","RequestId":"req-9"}`,
			want:   Error{Status: 404, Code: "ServiceNotFound", Message: "service 'svc' does not exist", RequestID: "req-9"},
		},
		{
			name:   "request id from the header",
			client: New(srv.URL, "1", testCred),
			status: http.StatusConflict,
			reply:  `{"ErrorCode":"ServiceAlreadyExists","ErrorMessage":"exists"}`,
			want:   Error{Status: 409, Code: "ServiceAlreadyExists", Message: "exists", RequestID: "req-1"},
		},
		{
			name:   "non-JSON body",
			client: New(srv.URL, "1", testCred),
			status: http.StatusBadGateway,
			reply:  "upstream down\n",
			want:   Error{Status: 502, Message: "upstream down", RequestID: "req-1"},
		},
		{
			name:   "empty body",
			client: New(srv.URL, "1", testCred),
			status: http.StatusServiceUnavailable,
			want:   Error{Status: 503, Message: "Service Unavailable", RequestID: "req-1"},
		},
		{
			name:   "wrong secret is rejected by the verifier",
			client: New(srv.URL, "1", Credentials{AccessKeyID: testCred.AccessKeyID, AccessKeySecret: "wrong"}),
			want:   Error{Status: 403, Code: "SignatureNotMatch", RequestID: "req-1"},
		},
		{
			name:   "unknown key",
			client: New(srv.URL, "1", Credentials{AccessKeyID: "nobody", AccessKeySecret: "x"}),
			want:   Error{Status: 403, Code: "InvalidAccessKeyID", Message: "invalid access key ID 'nobody'", RequestID: "req-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.respond(tt.status, tt.reply, nil)
			_, err := tt.client.GetService(ctx, "svc")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if tt.want.Code == "SignatureNotMatch" {
				tt.want.Message = e.Message // FC's long message
			}
			if string(e.Body) != tt.reply && tt.reply != "" {
				t.Errorf("Body = %q, want the reply %q as sent", e.Body, tt.reply)
			}
			got := *e
			got.Body = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("err = %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(e.Error(), tt.want.Code) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
	t.Run("helpers", func(t *testing.T) {
		err := error(&Error{Status: 404, Code: "FunctionNotFound"})
		if !IsNotFound(err) || !HasCode(err, "FunctionNotFound") || HasCode(err, "ServiceNotFound") || IsNotFound(errors.New("x")) {
			t.Error("IsNotFound/HasCode")
		}
	})
	t.Run("bad endpoint", func(t *testing.T) {
		if _, err := New("not a url", "1", testCred).GetService(ctx, "svc"); err == nil {
			t.Error("no error")
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := New(srv.URL, "1", testCred).GetService(cctx, "svc"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestInvokeFunction(t *testing.T) {
	srv := newFakeFC(t)
	c := New(srv.URL, "123456", testCred, WithHTTPClient(srv.Client()))
	ctx := context.Background()

	t.Run("ok with qualifier and signed x-fc headers", func(t *testing.T) {
		srv.respond(http.StatusOK, "hello back", http.Header{"X-Fc-Code-Checksum": {"1"}})
		resp, err := c.InvokeFunction(ctx, "svc", "LATEST", "fn", []byte("hello"),
			http.Header{"X-Fc-Invocation-Type": {"Sync"}, "Content-Type": {"text/plain"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := srv.lastRequest()
		if r.authErr != nil {
			t.Fatalf("signature: %v", r.authErr)
		}
		if r.method != "POST" || r.path != "/2016-08-15/services/svc.LATEST/functions/fn/invocations" {
			t.Errorf("request = %s %s", r.method, r.path)
		}
		if string(r.body) != "hello" || r.header.Get("Content-Type") != "text/plain" || r.header.Get("X-Fc-Invocation-Type") != "Sync" {
			t.Errorf("body %q, headers %v", r.body, r.header)
		}
		if string(b) != "hello back" || resp.Header.Get("X-Fc-Code-Checksum") != "1" {
			t.Errorf("response %q %v", b, resp.Header)
		}
	})
	t.Run("default content type, no qualifier", func(t *testing.T) {
		srv.respond(http.StatusAccepted, "", nil)
		resp, err := c.InvokeFunction(ctx, "svc", "", "fn", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := srv.lastRequest()
		if r.path != "/2016-08-15/services/svc/functions/fn/invocations" || r.header.Get("Content-Type") != "application/octet-stream" || r.authErr != nil {
			t.Errorf("path %s, content type %q, auth %v", r.path, r.header.Get("Content-Type"), r.authErr)
		}
	})
	t.Run("function error is returned as the response", func(t *testing.T) {
		srv.respond(http.StatusBadGateway, `{"errorMessage":"boom"}`, http.Header{"X-Fc-Error-Type": {"UnhandledInvocationError"}})
		resp, err := c.InvokeFunction(ctx, "svc", "", "fn", []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
			t.Errorf("response %d %v", resp.StatusCode, resp.Header)
		}
		// A built-in runtime's error body: its errorMessage is the message.
		e := ResponseError(resp)
		if e.Status != 502 || e.Type != "UnhandledInvocationError" || e.Code != "" || e.Message != "boom" ||
			e.RequestID != "req-1" || string(e.Body) != `{"errorMessage":"boom"}` {
			t.Errorf("ResponseError = %+v", e)
		}
	})
	t.Run("function error with FC's error JSON", func(t *testing.T) {
		const reply = `{"ErrorCode":"FunctionNotStarted","ErrorMessage":"it exited","RequestId":"req-7"}`
		srv.respond(http.StatusPreconditionFailed, reply, http.Header{"X-Fc-Error-Type": {"UnhandledInvocationError"}})
		resp, err := c.InvokeFunction(ctx, "svc", "", "fn", []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		e := ResponseError(resp)
		if e.Status != 412 || e.Type != "UnhandledInvocationError" || e.Code != "FunctionNotStarted" || e.Message != "it exited" ||
			e.RequestID != "req-7" || string(e.Body) != reply {
			t.Errorf("ResponseError = %+v", e)
		}
	})
	t.Run("platform error", func(t *testing.T) {
		srv.respond(http.StatusNotFound, `{"ErrorCode":"FunctionNotFound","ErrorMessage":"nope"}`, http.Header{"X-Fc-Error-Type": {"FcCommonError"}})
		resp, err := c.InvokeFunction(ctx, "svc", "", "fn", nil, nil)
		if resp != nil || !HasCode(err, "FunctionNotFound") {
			t.Errorf("resp %v, err %v", resp, err)
		}
		var e *Error
		if errors.As(err, &e) && (e.Type != "FcCommonError" || !strings.Contains(string(e.Body), `"ErrorCode":"FunctionNotFound"`)) {
			t.Errorf("platform error: type %q, body %q", e.Type, e.Body)
		}
	})
}

func TestDoRawAndCredentialsString(t *testing.T) {
	srv := newFakeFC(t)
	c := New(srv.URL, "1", testCred)
	srv.respond(http.StatusOK, `{"k":"v"}`, nil)
	var out map[string]string
	h, err := c.Do(context.Background(), "POST", "/custom", nil, json.RawMessage(`{"raw":1}`), &out)
	if err != nil || out["k"] != "v" || h.Get("X-Fc-Request-Id") != "req-1" {
		t.Fatalf("Do = %v, %v, %v", out, h, err)
	}
	if r := srv.lastRequest(); string(r.body) != `{"raw":1}` || r.authErr != nil {
		t.Errorf("body %q, auth %v", r.body, r.authErr)
	}
	if s := testCred.String() + testCred.GoString(); strings.Contains(s, testCred.AccessKeySecret) {
		t.Errorf("secret leaked: %s", s)
	}
}
