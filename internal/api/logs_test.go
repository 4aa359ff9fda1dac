package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

// logsCatalog is a store holding one service "svc" with one function
// "fn"; only the lookups the logs endpoint makes are implemented.
type logsCatalog struct {
	api.Store
}

// QualifierExists: the logs store has no versions or aliases.
func (logsCatalog) QualifierExists(_, q string) bool { return q == fc.LATEST }

func (logsCatalog) GetService(_ context.Context, name string) (*fc.Service, uint64, error) {
	if name != "svc" {
		return nil, 0, fmt.Errorf("service %s: %w", name, fc.ErrNotFound)
	}
	return &fc.Service{ServiceName: name}, 1, nil
}

func (logsCatalog) GetFunction(_ context.Context, service, name string) (*fc.Function, uint64, error) {
	if service != "svc" || name != "fn" {
		return nil, 0, fmt.Errorf("function %s/%s: %w", service, name, fc.ErrNotFound)
	}
	return &fc.Function{ServiceName: service, FunctionName: name}, 1, nil
}

// logsEnv is an API over logsCatalog and a real logs.Store.
type logsEnv struct {
	srv      *httptest.Server
	c        *client.Client
	ls       *logs.Store
	inFlight atomic.Int64 // requests being served
}

func newLogsEnv(t *testing.T, withLogs bool) *logsEnv {
	t.Helper()
	ls := logs.New(logs.Options{})
	if !withLogs {
		return newLogsEnvReader(t, ls, nil)
	}
	return newLogsEnvReader(t, ls, storeReader{ls})
}

// newLogsEnvReader is newLogsEnv with the API reading r (nil: none).
func newLogsEnvReader(t *testing.T, ls *logs.Store, r api.LogReader) *logsEnv {
	t.Helper()
	e := &logsEnv{ls: ls}
	o := api.Options{
		Store:     logsCatalog{},
		Verifier:  &auth.Verifier{Keys: testKeys},
		AccountID: testAccount,
		Logs:      r,
	}
	a := api.New(o)
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.inFlight.Add(1)
		defer e.inFlight.Add(-1)
		a.ServeHTTP(w, r)
	}))
	// What the daemon does: shutting the server down ends log streams.
	e.srv.Config.RegisterOnShutdown(e.ls.Close)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.c = client.New(e.srv.URL, testAccount, client.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
	return e
}

// storeReader reads a node-local logs.Store as the API reads the journal
// (whose own tests run on JetStream).
type storeReader struct{ s *logs.Store }

func (r storeReader) Query(_ context.Context, function string, f logs.Filter) ([]logs.Record, error) {
	return r.s.Query(function, f), nil
}

func (r storeReader) Follow(ctx context.Context, function string, f logs.Filter) (<-chan logs.Record, error) {
	return r.s.Follow(ctx, function, f), nil
}

// brokenReader cannot read the logs now, as the journal when NATS is
// unreachable.
type brokenReader struct{}

func (brokenReader) Query(context.Context, string, logs.Filter) ([]logs.Record, error) {
	return nil, errors.New("nats: no servers available")
}

func (brokenReader) Follow(context.Context, string, logs.Filter) (<-chan logs.Record, error) {
	return nil, errors.New("nats: no servers available")
}

// waitIdle waits until the server has no request in flight.
func (e *logsEnv) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.inFlight.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in flight", e.inFlight.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var logsT0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// seed appends the standard records of svc/fn and svc/other.
func (e *logsEnv) seed() {
	for i, r := range []logs.Record{
		{Instance: "i1", Message: "booting"},
		{Instance: "i1", RequestID: "r1", Message: "FC Invoke Start RequestId: r1"},
		{Instance: "i1", RequestID: "r1", Message: "hello from r1"},
		{Instance: "i2", RequestID: "r2", Message: "hello from r2"},
		{Instance: "i1", RequestID: "r1", Message: "FC Invoke End RequestId: r1"},
	} {
		r.Function = "svc/fn"
		r.Time = logsT0.Add(time.Duration(i) * time.Second)
		e.ls.Append(r)
	}
	e.ls.Append(logs.Record{Function: "svc/other", Instance: "i9", Message: "not fn", Time: logsT0})
}

// readAll drains a stream.
func readAll(t *testing.T, st *client.LogStream) []client.LogRecord {
	t.Helper()
	defer st.Close()
	var out []client.LogRecord
	for {
		r, err := st.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, r)
	}
}

func logMessages(rs []client.LogRecord) string {
	m := make([]string, len(rs))
	for i, r := range rs {
		m[i] = r.Message
	}
	return strings.Join(m, "|")
}

func TestFunctionLogsQuery(t *testing.T) {
	e := newLogsEnv(t, true)
	e.seed()
	tests := []struct {
		name      string
		qualifier string
		q         client.LogsQuery
		want      string
	}{
		{"all", "", client.LogsQuery{}, "booting|FC Invoke Start RequestId: r1|hello from r1|hello from r2|FC Invoke End RequestId: r1"},
		{"LATEST", "LATEST", client.LogsQuery{}, "booting|FC Invoke Start RequestId: r1|hello from r1|hello from r2|FC Invoke End RequestId: r1"},
		{"request", "", client.LogsQuery{RequestID: "r1"}, "FC Invoke Start RequestId: r1|hello from r1|FC Invoke End RequestId: r1"},
		{"instance", "", client.LogsQuery{InstanceID: "i2"}, "hello from r2"},
		{"tail", "", client.LogsQuery{Tail: 2}, "hello from r2|FC Invoke End RequestId: r1"},
		{"since", "", client.LogsQuery{Since: logsT0.Add(3 * time.Second)}, "hello from r2|FC Invoke End RequestId: r1"},
		{"since other zone", "", client.LogsQuery{Since: logsT0.Add(3 * time.Second).In(time.FixedZone("X", 8*3600))}, "hello from r2|FC Invoke End RequestId: r1"},
		{"combined", "", client.LogsQuery{InstanceID: "i1", RequestID: "r1", Tail: 1}, "FC Invoke End RequestId: r1"},
		{"none", "", client.LogsQuery{RequestID: "nope"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Qualifier = tt.qualifier
			st, err := e.c.Logs(t.Context(), "svc", "fn", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, st)
			if m := logMessages(got); m != tt.want {
				t.Errorf("got %q; want %q", m, tt.want)
			}
			for _, r := range got {
				if r.Function != "svc/fn" || r.InstanceID == "" || r.Time.IsZero() {
					t.Errorf("record %+v lacks its function, instance or time", r)
				}
			}
		})
	}
}

func TestFunctionLogsWireFormat(t *testing.T) {
	e := newLogsEnv(t, true)
	e.seed()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/"+fc.APIVersion+"/services/svc/functions/fn/logs?requestId=r1&tail=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	fcsign.Sign(fcsign.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret}, req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" || resp.Header.Get("X-Fc-Request-Id") == "" {
		t.Fatalf("got %d %q (request id %q); want 200 application/x-ndjson with a request id", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Fc-Request-Id"))
	}
	want := `{"time":"2024-05-06T07:08:13Z","function":"svc/fn","instanceId":"i1","requestId":"r1","message":"FC Invoke End RequestId: r1"}` + "\n"
	if string(body) != want {
		t.Errorf("body = %q; want %q", body, want)
	}
}

func TestFunctionLogsErrors(t *testing.T) {
	with := newLogsEnv(t, true)
	without := newLogsEnv(t, false)
	broken := newLogsEnvReader(t, logs.New(logs.Options{}), brokenReader{})
	tests := []struct {
		name              string
		e                 *logsEnv
		service, function string
		q                 client.LogsQuery
		rawQuery          string // sent instead of q when set
		status            int
		code              string
	}{
		{"unknown service", with, "nosvc", "fn", client.LogsQuery{}, "", 404, "ServiceNotFound"},
		{"unknown function", with, "svc", "nofn", client.LogsQuery{}, "", 404, "FunctionNotFound"},
		{"unknown alias", with, "svc", "fn", client.LogsQuery{Qualifier: "prod"}, "", 404, "AliasNotFound"},
		{"unknown version", with, "svc", "fn", client.LogsQuery{Qualifier: "3"}, "", 404, "VersionNotFound"},
		{"negative tail", with, "svc", "fn", client.LogsQuery{}, "tail=-1", 400, "InvalidArgument"},
		{"word tail", with, "svc", "fn", client.LogsQuery{}, "tail=ten", 400, "InvalidArgument"},
		{"bad since", with, "svc", "fn", client.LogsQuery{}, "since=10m", 400, "InvalidArgument"},
		{"bad follow", with, "svc", "fn", client.LogsQuery{}, "follow=maybe", 400, "InvalidArgument"},
		{"no log store", without, "svc", "fn", client.LogsQuery{}, "", 503, "ServiceUnavailable"},
		{"no log store, unknown function first", without, "svc", "nofn", client.LogsQuery{}, "", 404, "FunctionNotFound"},
		{"logs unreadable", broken, "svc", "fn", client.LogsQuery{}, "", 503, "ServiceUnavailable"},
		{"logs unreadable, follow", broken, "svc", "fn", client.LogsQuery{Follow: true}, "", 503, "ServiceUnavailable"},
		{"logs unreadable, unknown function first", broken, "svc", "nofn", client.LogsQuery{}, "", 404, "FunctionNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.rawQuery != "" {
				err = getLogsRaw(t, tt.e, tt.service, tt.function, tt.rawQuery)
			} else {
				var st *client.LogStream
				st, err = tt.e.c.Logs(t.Context(), tt.service, tt.function, tt.q)
				if err == nil {
					st.Close()
				}
			}
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code || ae.RequestID == "" {
				t.Fatalf("got %v; want %d %s with a request id", err, tt.status, tt.code)
			}
		})
	}

	t.Run("unsigned", func(t *testing.T) {
		resp, err := http.Get(with.srv.URL + "/" + fc.APIVersion + "/services/svc/functions/fn/logs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb fc.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unsigned request: %d %s; want refused", resp.StatusCode, eb.ErrorCode)
		}
		if eb.ErrorCode == "" {
			t.Errorf("unsigned request refused without an FC error body")
		}
	})
}

// getLogsRaw sends a signed logs request with a literal query and returns
// the API error, as client.Do does.
func getLogsRaw(t *testing.T, e *logsEnv, service, function, rawQuery string) error {
	t.Helper()
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.Do(t.Context(), http.MethodGet, "/services/"+service+"/functions/"+function+"/logs", q, nil, nil)
	return err
}

// nextWithin reads one record, failing the test after a while.
func nextWithin(t *testing.T, st *client.LogStream) (client.LogRecord, error) {
	t.Helper()
	type res struct {
		r   client.LogRecord
		err error
	}
	ch := make(chan res, 1)
	go func() {
		r, err := st.Next()
		ch <- res{r, err}
	}()
	select {
	case x := <-ch:
		return x.r, x.err
	case <-time.After(10 * time.Second):
		t.Fatal("no record from the log stream")
		return client.LogRecord{}, nil
	}
}

func TestFunctionLogsFollow(t *testing.T) {
	e := newLogsEnv(t, true)
	e.seed()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// Logs returns as soon as the headers arrive, before any live record.
	st, err := e.c.Logs(ctx, "svc", "fn", client.LogsQuery{RequestID: "r1", Tail: 1, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if r, err := nextWithin(t, st); err != nil || r.Message != "FC Invoke End RequestId: r1" {
		t.Fatalf("backlog: %+v, %v; want the tail record", r, err)
	}
	e.ls.Append(logs.Record{Function: "svc/fn", Instance: "i1", RequestID: "r2", Message: "other invocation"})
	e.ls.Append(logs.Record{Function: "svc/other", Instance: "i1", RequestID: "r1", Message: "other function"})
	e.ls.Append(logs.Record{Function: "svc/fn", Instance: "i3", RequestID: "r1", Message: "live r1"})
	if r, err := nextWithin(t, st); err != nil || r.Message != "live r1" || r.InstanceID != "i3" {
		t.Fatalf("live: %+v, %v; want live r1 from i3", r, err)
	}
	// The client going away ends the handler.
	cancel()
	if _, err := nextWithin(t, st); err == nil {
		t.Fatal("Next after cancel succeeded")
	}
	e.waitIdle(t)
}

func TestFunctionLogsFollowEndedByServer(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *logsEnv) error
	}{
		{"function forgotten", func(e *logsEnv) error { e.ls.Forget("svc/fn"); return nil }},
		{"server shutdown", func(e *logsEnv) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return e.srv.Config.Shutdown(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLogsEnv(t, true)
			// Bounded, so that a stream whose headers never come fails
			// the test instead of hanging it.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			st, err := e.c.Logs(ctx, "svc", "fn", client.LogsQuery{Follow: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			e.ls.Append(logs.Record{Function: "svc/fn", Instance: "i1", Message: "live"})
			if r, err := nextWithin(t, st); err != nil || r.Message != "live" {
				t.Fatalf("live: %+v, %v", r, err)
			}
			done := make(chan error, 1)
			go func() { done <- tt.end(e) }()
			if _, err := nextWithin(t, st); !errors.Is(err, io.EOF) {
				t.Fatalf("after the end: %v; want io.EOF (a clean end of stream)", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("ending: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ending the stream did not return")
			}
			e.waitIdle(t)
		})
	}
}
