package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/codegc"
	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
	"github.com/openfc/openfc/pkg/fcsign"
)

const (
	testKeyID     = "LTAIapitestkey000001"
	testKeySecret = "api-test-secret-0123456789abcdef"
	testAccount   = "1234567890123456"
	testPublicURL = "http://fc.example.test:9000"
	// testMaxCode is the MaxCodeSize of the API under test: small, so that
	// the size cap is cheap to exceed.
	testMaxCode = 64 << 10
	// codeBucket is the object store the store keeps code zips in.
	codeBucket = "openfc_code"
)

// invocation is one call the fake invoker received.
type invocation struct {
	service, function, qualifier, requestID string
	body                                    string
}

// fakeInvoker records invocations and answers 200 "invoked <svc>/<fn>".
type fakeInvoker struct {
	mu    sync.Mutex
	calls []invocation
}

func (f *fakeInvoker) Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, invocation{service: fn.ServiceName, function: fn.FunctionName, qualifier: qualifier, requestID: requestID, body: string(b)})
	f.mu.Unlock()
	w.Header().Set("X-Fc-Request-Id", requestID)
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "invoked %s/%s", fn.ServiceName, fn.FunctionName)
}

func (f *fakeInvoker) recorded() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a fake time source that advances one second per reading, so
// every write gets a distinct timestamp.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// env is an API served over a real embedded NATS store.
type env struct {
	t       *testing.T
	ctx     context.Context
	st      *store.JetStream
	code    jetstream.ObjectStore
	srv     *httptest.Server
	c       *client.Client
	inv     *fakeInvoker
	inst    *fakeLister
	tasks   *fakeTasks
	mu      sync.Mutex
	changed []string // FunctionChanged calls, "svc/fn"
	// svcChanged lists the ServiceChanged calls.
	svcChanged []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the API's store wrapped by wrap (nil: none).
func newEnvWith(t *testing.T, wrap func(api.Store) api.Store) *env {
	t.Helper()
	ctx, conn, st := storetest.Open(t)
	code, err := conn.JS.ObjectStore(ctx, codeBucket)
	if err != nil {
		t.Fatalf("opening object store %s: %v", codeBucket, err)
	}
	e := &env{t: t, ctx: ctx, st: st, code: code, inv: &fakeInvoker{}, inst: &fakeLister{}, tasks: &fakeTasks{}}
	clk := &clock{t: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	var apiStore api.Store = st
	if wrap != nil {
		apiStore = wrap(st)
	}
	a := api.New(api.Options{
		Store:     apiStore,
		Verifier:  &auth.Verifier{Keys: testKeys},
		Invoker:   e.inv,
		Instances: e.inst,
		Tasks:     e.tasks,
		Domains:   st,
		AccountID: testAccount,
		PublicURL: testPublicURL,
		CodeLimits: codezip.Limits{MaxZipBytes: testMaxCode, MaxUnpackedBytes: 1 << 20,
			Knobs: codezip.Knobs{ZipBytes: "--max-code-size", UnpackedBytes: "--max-unpacked-code-size"}},
		Code: codegc.New(codegc.Options{Zips: st, Referrers: []codegc.Referrer{st.FunctionCodeChecksums}}),
		FunctionChanged: func(service, function string) {
			e.mu.Lock()
			e.changed = append(e.changed, service+"/"+function)
			e.mu.Unlock()
		},
		ServiceChanged: func(service string) {
			e.mu.Lock()
			e.svcChanged = append(e.svcChanged, service)
			e.mu.Unlock()
		},
		Now: clk.Now,
	})
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.srv.Close)
	e.c = client.New(e.srv.URL, testAccount, client.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
	return e
}

func (e *env) functionChanges() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.changed)
}

// do is client.Do with the test's context; it fails the test on a
// transport error (an API error is returned).
func (e *env) do(method, path string, in, out any) (http.Header, error) {
	e.t.Helper()
	h, err := e.c.Do(e.ctx, method, path, nil, in, out)
	var ae *client.Error
	if err != nil && !errors.As(err, &ae) {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return h, err
}

// must is do that fails the test on any error.
func (e *env) must(method, path string, in, out any) http.Header {
	e.t.Helper()
	h, err := e.do(method, path, in, out)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return h
}

// raw sends a request signed with the test key (when sign is true), with
// extra headers (If-Match, X-Fc-Account-Id, ...), and returns the status,
// headers and body.
func (e *env) raw(method, path string, header http.Header, body []byte, sign bool) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+"/"+fc.APIVersion+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("X-Fc-Account-Id", testAccount)
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if sign {
		fcsign.Sign(fcsign.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret}, req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// wantAPIError checks that err is an FC error with the status and code,
// a request id, and a message containing every one of msgs.
func wantAPIError(t *testing.T, err error, status int, code string, msgs ...string) {
	t.Helper()
	var ae *client.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v; want %d %s", err, status, code)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("got %d %s (%q); want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
	if ae.RequestID == "" {
		t.Errorf("%s error has no request id", code)
	}
	for _, m := range msgs {
		if !strings.Contains(ae.Message, m) {
			t.Errorf("%s message %q does not contain %q", code, ae.Message, m)
		}
	}
}

// wantRawError checks a raw error response.
func wantRawError(t *testing.T, status int, h http.Header, body []byte, wantStatus int, wantCode string, msgs ...string) {
	t.Helper()
	var eb fc.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("status %d, body is not FC error JSON: %q", status, body)
	}
	if status != wantStatus || eb.ErrorCode != wantCode {
		t.Fatalf("got %d %s (%q); want %d %s", status, eb.ErrorCode, eb.ErrorMessage, wantStatus, wantCode)
	}
	if eb.RequestID == "" || h.Get("X-Fc-Request-Id") != eb.RequestID {
		t.Errorf("request id: body %q, header %q", eb.RequestID, h.Get("X-Fc-Request-Id"))
	}
	for _, m := range msgs {
		if !strings.Contains(eb.ErrorMessage, m) {
			t.Errorf("%s message %q does not contain %q", wantCode, eb.ErrorMessage, m)
		}
	}
}

// zipEntry is one entry of a test zip.
type zipEntry struct {
	name    string
	body    string
	mode    fs.FileMode // 0: 0644 file
	symlink bool        // body is the target
}

// makeZip builds a zip in memory.
func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, en := range entries {
		h := &zip.FileHeader{Name: en.name, Method: zip.Deflate}
		switch {
		case en.symlink:
			h.SetMode(fs.ModeSymlink | 0o777)
		case strings.HasSuffix(en.name, "/"):
			h.SetMode(fs.ModeDir | 0o755)
		case en.mode != 0:
			h.SetMode(en.mode)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip entry %s: %v", en.name, err)
		}
		if _, err := io.WriteString(w, en.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// appZip is a valid code zip with no bootstrap; tag makes its checksum
// unique.
func appZip(t testing.TB, tag string) []byte {
	return makeZip(t, zipEntry{name: "app.py", body: "print('" + tag + "')\n"})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// fnBody is a valid create body for a custom-runtime function with a
// command, as a JSON object that cases can modify.
func fnBody(name string, zipBytes []byte) map[string]any {
	return map[string]any{
		"functionName":        name,
		"runtime":             "custom.debian10",
		"customRuntimeConfig": map[string]any{"command": []string{"python3", "app.py"}},
		"code":                map[string]any{"zipFile": b64(zipBytes)},
	}
}

func httpTrigger(name string, methods ...string) map[string]any {
	return map[string]any{
		"triggerName":   name,
		"triggerType":   "http",
		"triggerConfig": map[string]any{"authType": "anonymous", "methods": methods},
	}
}

func svcPath(s string) string { return "/services/" + url.PathEscape(s) }
func fnPath(s, f string) string {
	return svcPath(s) + "/functions/" + url.PathEscape(f)
}
func trigPath(s, f, tr string) string {
	return fnPath(s, f) + "/triggers/" + url.PathEscape(tr)
}

// createService creates a service through the API.
func (e *env) createService(name string) {
	e.t.Helper()
	e.must(http.MethodPost, "/services", map[string]any{"serviceName": name}, nil)
}

// createFunction creates a function with appZip(name) through the API.
func (e *env) createFunction(service, name string) fc.Function {
	e.t.Helper()
	var out fc.Function
	e.must(http.MethodPost, svcPath(service)+"/functions", fnBody(name, appZip(e.t, service+"/"+name)), &out)
	return out
}

// codeObjects returns the names of the code packages in the object store.
func (e *env) codeObjects() []string {
	e.t.Helper()
	infos, err := e.code.List(e.ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("listing code objects: %v", err)
	}
	var out []string
	for _, in := range infos {
		out = append(out, in.Name)
	}
	slices.Sort(out)
	return out
}

// codeStored reports whether the store holds the zip under its checksum.
func (e *env) codeStored(zipBytes []byte) bool {
	e.t.Helper()
	rc, err := e.st.GetCode(e.ctx, codezip.Checksum(zipBytes))
	if errors.Is(err, fc.ErrNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatalf("GetCode: %v", err)
	}
	rc.Close()
	return true
}

// snapshot lists everything in the store: "svc", "svc/fn", "svc/fn/trig"
// and "code:<checksum>", sorted.
func (e *env) snapshot() []string {
	e.t.Helper()
	var out []string
	svcs, err := e.st.ListServices(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range svcs {
		out = append(out, s.ServiceName)
		fns, err := e.st.ListFunctions(e.ctx, s.ServiceName)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, f := range fns {
			out = append(out, s.ServiceName+"/"+f.FunctionName)
			trs, err := e.st.ListTriggers(e.ctx, s.ServiceName, f.FunctionName)
			if err != nil {
				e.t.Fatal(err)
			}
			for _, tr := range trs {
				out = append(out, s.ServiceName+"/"+f.FunctionName+"/"+tr.TriggerName)
			}
		}
	}
	for _, c := range e.codeObjects() {
		out = append(out, "code:"+c)
	}
	slices.Sort(out)
	return out
}

// wantKeys checks that a decoded JSON object has every key in want and
// none of the keys in not.
func wantKeys(t *testing.T, what string, obj map[string]any, want, not []string) {
	t.Helper()
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s JSON lacks %q: %v", what, k, obj)
		}
	}
	for _, k := range not {
		if _, ok := obj[k]; ok {
			t.Errorf("%s JSON has %q: %v", what, k, obj)
		}
	}
}

func wantTimestamp(t *testing.T, what, v string) {
	t.Helper()
	if _, err := time.Parse(fc.TimeFormat, v); err != nil {
		t.Errorf("%s %q is not in FC's format %s", what, v, fc.TimeFormat)
	}
}

func etagOf(t *testing.T, h http.Header) string {
	t.Helper()
	tag := h.Get("ETag")
	if tag == "" {
		t.Fatalf("response has no ETag: %v", h)
	}
	return tag
}

func TestServiceCRUD(t *testing.T) {
	e := newEnv(t)
	var created map[string]any
	h := e.must(http.MethodPost, "/services", map[string]any{
		"serviceName": "svc1", "description": "first", "role": "acs:ram::1:role/x", "internetAccess": true,
	}, &created)
	etagOf(t, h)
	wantKeys(t, "service", created, []string{"serviceName", "serviceId", "description", "role", "internetAccess", "createdTime", "lastModifiedTime"},
		[]string{"ServiceName", "CreatedTime", "service_name"})
	if created["serviceName"] != "svc1" || created["description"] != "first" || created["serviceId"] == "" {
		t.Errorf("created service = %v", created)
	}
	wantTimestamp(t, "createdTime", fmt.Sprint(created["createdTime"]))
	if created["createdTime"] != created["lastModifiedTime"] {
		t.Errorf("new service: createdTime %v != lastModifiedTime %v", created["createdTime"], created["lastModifiedTime"])
	}

	got, err := e.c.GetService(e.ctx, "svc1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceID != created["serviceId"] || got.Description != "first" || got.Role != "acs:ram::1:role/x" || got.InternetAccess == nil || !*got.InternetAccess {
		t.Errorf("GET service = %+v; want what was created %v", got, created)
	}

	// Partial update: only the description changes.
	upd, err := e.c.UpdateService(e.ctx, "svc1", client.Service{Description: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Description != "second" || upd.Role != "acs:ram::1:role/x" || upd.InternetAccess == nil || !*upd.InternetAccess ||
		upd.ServiceID != got.ServiceID || upd.CreatedTime != got.CreatedTime || upd.LastModifiedTime == got.LastModifiedTime {
		t.Errorf("after PUT {description}: %+v; want only description and lastModifiedTime changed from %+v", upd, got)
	}
	if again, _ := e.c.GetService(e.ctx, "svc1"); again == nil || again.Description != "second" || again.Role != got.Role {
		t.Errorf("GET after update = %+v", again)
	}
	_, err = e.c.UpdateService(e.ctx, "svc1", client.Service{ServiceName: "other"})
	wantAPIError(t, err, 400, "InvalidArgument", "serviceName")

	_, err = e.c.CreateService(e.ctx, client.Service{ServiceName: "svc1"})
	wantAPIError(t, err, 409, "ServiceAlreadyExists", "svc1")

	for _, tc := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPut, map[string]any{"description": "x"}}, {http.MethodDelete, nil}} {
		_, err := e.do(tc.method, svcPath("nope"), tc.body, nil)
		wantAPIError(t, err, 404, "ServiceNotFound", "nope")
	}

	if err := e.c.DeleteService(e.ctx, "svc1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetService(e.ctx, "svc1")
	wantAPIError(t, err, 404, "ServiceNotFound", "svc1")
	wantAPIError(t, e.c.DeleteService(e.ctx, "svc1"), 404, "ServiceNotFound")
}

func TestFunctionCRUD(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	zipBytes := appZip(t, "crud")
	body := fnBody("fn", zipBytes)
	body["description"] = "d1"
	body["memorySize"] = 256
	body["environmentVariables"] = map[string]string{"A": "1", "B": "2"}
	var created map[string]any
	h := e.must(http.MethodPost, svcPath("svc")+"/functions", body, &created)
	etagOf(t, h)
	wantKeys(t, "function", created,
		[]string{"functionName", "functionId", "description", "runtime", "handler", "timeout", "memorySize", "instanceConcurrency",
			"customRuntimeConfig", "environmentVariables", "codeChecksum", "codeSize", "createdTime", "lastModifiedTime"},
		[]string{"code", "ServiceName", "serviceName", "FunctionName", "CodeChecksum"})
	wantTimestamp(t, "createdTime", fmt.Sprint(created["createdTime"]))

	var fn fc.Function
	e.must(http.MethodGet, fnPath("svc", "fn"), nil, &fn)
	wantSum := codezip.Checksum(zipBytes)
	if fn.CodeChecksum != wantSum || fn.CodeSize != int64(len(zipBytes)) {
		t.Errorf("codeChecksum/codeSize = %s/%d; want %s/%d", fn.CodeChecksum, fn.CodeSize, wantSum, len(zipBytes))
	}
	// FC's defaults for what was left out.
	if fn.Timeout != 3 || fn.InstanceConcurrency != 1 || fn.Handler != "index.handler" || fn.MemorySize != 256 || fn.Description != "d1" {
		t.Errorf("GET function = %+v; want timeout 3, instanceConcurrency 1, handler index.handler, memorySize 256", fn)
	}
	if fn.CustomRuntimeConfig == nil || !slices.Equal(fn.CustomRuntimeConfig.Command, []string{"python3", "app.py"}) {
		t.Errorf("customRuntimeConfig = %+v", fn.CustomRuntimeConfig)
	}
	rc, err := e.st.GetCode(e.ctx, wantSum)
	if err != nil {
		t.Fatalf("code package %s is not in the store: %v", wantSum, err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(stored, zipBytes) {
		t.Errorf("stored code package differs from the uploaded zip (%d vs %d bytes)", len(stored), len(zipBytes))
	}

	// PUT with only description keeps every other field.
	var upd fc.Function
	e.must(http.MethodPut, fnPath("svc", "fn"), map[string]any{"description": "d2"}, &upd)
	want := fn
	want.Description = "d2"
	want.LastModifiedTime = upd.LastModifiedTime
	if upd.LastModifiedTime == fn.LastModifiedTime {
		t.Errorf("lastModifiedTime did not change on update: %s", upd.LastModifiedTime)
	}
	var again fc.Function
	e.must(http.MethodGet, fnPath("svc", "fn"), nil, &again)
	for what, got := range map[string]fc.Function{"PUT response": upd, "GET after PUT": again} {
		if a, b := mustJSON(t, got), mustJSON(t, want); a != b {
			t.Errorf("%s after PUT {description}:\n got %s\nwant %s", what, a, b)
		}
	}

	// PUT with environmentVariables replaces the whole map.
	upd = fc.Function{} // decoding into a used map would merge
	e.must(http.MethodPut, fnPath("svc", "fn"), map[string]any{"environmentVariables": map[string]string{"C": "3"}}, &upd)
	if len(upd.EnvironmentVariables) != 1 || upd.EnvironmentVariables["C"] != "3" {
		t.Errorf("environmentVariables after PUT {C:3} = %v; want exactly {C:3}", upd.EnvironmentVariables)
	}
	if upd.MemorySize != 256 || upd.Description != "d2" || upd.CodeChecksum != wantSum {
		t.Errorf("PUT {environmentVariables} changed other fields: %+v", upd)
	}

	// PUT with new code replaces the package.
	zip2 := appZip(t, "crud-2")
	e.must(http.MethodPut, fnPath("svc", "fn"), map[string]any{"code": map[string]any{"zipFile": b64(zip2)}}, &upd)
	if upd.CodeChecksum != codezip.Checksum(zip2) || upd.CodeSize != int64(len(zip2)) || !e.codeStored(zip2) {
		t.Errorf("after PUT code: checksum %s size %d stored %v; want %s %d true", upd.CodeChecksum, upd.CodeSize, e.codeStored(zip2), codezip.Checksum(zip2), len(zip2))
	}
	if upd.CreatedTime != fn.CreatedTime || upd.FunctionID != fn.FunctionID {
		t.Errorf("PUT changed createdTime/functionId: %s/%s, was %s/%s", upd.CreatedTime, upd.FunctionID, fn.CreatedTime, fn.FunctionID)
	}
	if got := e.functionChanges(); !slices.Equal(got, []string{"svc/fn", "svc/fn", "svc/fn"}) {
		t.Errorf("FunctionChanged calls after 3 updates = %v", got)
	}

	// The body may not rename the function.
	_, err = e.do(http.MethodPut, fnPath("svc", "fn"), map[string]any{"functionName": "other"}, nil)
	wantAPIError(t, err, 400, "InvalidArgument", "functionName")

	// Listing shows it.
	fns, next, err := e.c.ListFunctions(e.ctx, "svc", client.ListOptions{})
	if err != nil || len(fns) != 1 || fns[0].FunctionName != "fn" || next != "" {
		t.Errorf("list functions = %+v %q %v", fns, next, err)
	}

	_, err = e.do(http.MethodPost, svcPath("svc")+"/functions", fnBody("fn", appZip(t, "dup")), nil)
	wantAPIError(t, err, 409, "FunctionAlreadyExists", "fn")

	for _, tc := range []struct {
		path, code string
	}{
		{fnPath("svc", "nope"), "FunctionNotFound"},
		{fnPath("nosvc", "fn"), "ServiceNotFound"},
	} {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			var body any
			if m == http.MethodPut {
				body = map[string]any{"description": "x"}
			}
			_, err := e.do(m, tc.path, body, nil)
			wantAPIError(t, err, 404, tc.code)
		}
	}
	_, err = e.do(http.MethodPost, svcPath("nosvc")+"/functions", fnBody("fn", appZip(t, "nosvc")), nil)
	wantAPIError(t, err, 404, "ServiceNotFound", "nosvc")
	_, err = e.do(http.MethodGet, svcPath("nosvc")+"/functions", nil, nil)
	wantAPIError(t, err, 404, "ServiceNotFound", "nosvc")

	if err := e.c.DeleteFunction(e.ctx, "svc", "fn"); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetFunction(e.ctx, "svc", "fn")
	wantAPIError(t, err, 404, "FunctionNotFound", "fn")
	if got := e.functionChanges(); len(got) != 4 || got[3] != "svc/fn" {
		t.Errorf("FunctionChanged calls after delete = %v", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTriggerCRUD(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	tb := httpTrigger("http", "get", "POST")
	tb["triggerConfig"].(map[string]any)["authType"] = nil // default: function
	var created map[string]any
	h := e.must(http.MethodPost, fnPath("svc", "fn")+"/triggers", tb, &created)
	etagOf(t, h)
	wantKeys(t, "trigger", created,
		[]string{"triggerName", "triggerId", "triggerType", "qualifier", "triggerConfig", "urlInternet", "urlIntranet", "createdTime", "lastModifiedTime"},
		[]string{"ServiceName", "serviceName", "functionName", "URLInternet"})
	wantURL := testPublicURL + "/2016-08-15/proxy/svc/fn/"
	if created["urlInternet"] != wantURL || created["urlIntranet"] != wantURL {
		t.Errorf("urlInternet/urlIntranet = %v / %v; want %s", created["urlInternet"], created["urlIntranet"], wantURL)
	}
	var tr fc.Trigger
	e.must(http.MethodGet, trigPath("svc", "fn", "http"), nil, &tr)
	if tr.TriggerType != "http" || tr.Qualifier != "LATEST" || tr.TriggerConfig == nil ||
		tr.TriggerConfig.AuthType != "function" || !slices.Equal(tr.TriggerConfig.Methods, []string{"GET", "POST"}) || tr.URLInternet != wantURL {
		t.Errorf("GET trigger = %+v (config %+v); want http LATEST function [GET POST] %s", tr, tr.TriggerConfig, wantURL)
	}

	// Partial update keeps the config.
	var upd fc.Trigger
	e.must(http.MethodPut, trigPath("svc", "fn", "http"), map[string]any{"description": "hi"}, &upd)
	if upd.Description != "hi" || upd.TriggerConfig == nil || !slices.Equal(upd.TriggerConfig.Methods, []string{"GET", "POST"}) ||
		upd.TriggerID != tr.TriggerID || upd.CreatedTime != tr.CreatedTime || upd.URLInternet != wantURL {
		t.Errorf("PUT {description} = %+v; want only description changed from %+v", upd, tr)
	}
	// triggerConfig is replaced as a whole; disableURLInternet hides both
	// URLs (the proxy form and the subdomain both refuse such a trigger).
	upd = fc.Trigger{}
	e.must(http.MethodPut, trigPath("svc", "fn", "http"), map[string]any{"triggerConfig": map[string]any{
		"authType": "anonymous", "methods": []string{"PUT"}, "disableURLInternet": true}}, &upd)
	var updRaw map[string]any
	e.must(http.MethodGet, trigPath("svc", "fn", "http"), nil, &updRaw)
	_, hasNet := updRaw["urlInternet"]
	_, hasIntra := updRaw["urlIntranet"]
	if hasNet || hasIntra {
		t.Errorf("with disableURLInternet: urlInternet %v urlIntranet %v; want neither", updRaw["urlInternet"], updRaw["urlIntranet"])
	}
	if !slices.Equal(upd.TriggerConfig.Methods, []string{"PUT"}) || upd.TriggerConfig.AuthType != "anonymous" || upd.Description != "hi" {
		t.Errorf("PUT {triggerConfig} = %+v (config %+v)", upd, upd.TriggerConfig)
	}
	_, err := e.do(http.MethodPut, trigPath("svc", "fn", "http"), map[string]any{"triggerName": "other"}, nil)
	wantAPIError(t, err, 400, "InvalidArgument", "triggerName")

	trs, next, err := e.c.ListTriggers(e.ctx, "svc", "fn", client.ListOptions{})
	if err != nil || len(trs) != 1 || trs[0].TriggerName != "http" || trs[0].URLIntranet != "" || next != "" {
		t.Errorf("list triggers = %+v %q %v", trs, next, err)
	}

	_, err = e.do(http.MethodPost, fnPath("svc", "fn")+"/triggers", httpTrigger("http", "GET"), nil)
	wantAPIError(t, err, 409, "TriggerAlreadyExists", "http")

	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		var body any
		if m == http.MethodPut {
			body = map[string]any{"description": "x"}
		}
		_, err := e.do(m, trigPath("svc", "fn", "nope"), body, nil)
		wantAPIError(t, err, 404, "TriggerNotFound", "nope")
	}
	_, err = e.do(http.MethodPost, fnPath("svc", "nofn")+"/triggers", httpTrigger("t", "GET"), nil)
	wantAPIError(t, err, 404, "FunctionNotFound", "nofn")
	_, err = e.do(http.MethodGet, fnPath("svc", "nofn")+"/triggers", nil, nil)
	wantAPIError(t, err, 404, "FunctionNotFound", "nofn")
	_, err = e.do(http.MethodGet, fnPath("nosvc", "fn")+"/triggers", nil, nil)
	wantAPIError(t, err, 404, "ServiceNotFound", "nosvc")

	if err := e.c.DeleteTrigger(e.ctx, "svc", "fn", "http"); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetTrigger(e.ctx, "svc", "fn", "http")
	wantAPIError(t, err, 404, "TriggerNotFound", "http")
}

// An ETag from a GET makes If-Match work; a stale one is refused with 412
// and changes nothing.
func TestETagIfMatch(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.must(http.MethodPost, fnPath("svc", "fn")+"/triggers", httpTrigger("http", "GET"), nil)
	e.createFunction("svc", "fn2")
	e.createService("svc2")
	for _, tc := range []struct {
		name, path string
		update     string // a JSON body changing the description
	}{
		{"trigger", trigPath("svc", "fn", "http"), `{"description":"%s"}`},
		// fn2: a function with triggers refuses DELETE as FunctionNotEmpty
		// whatever its If-Match says.
		{"function", fnPath("svc", "fn2"), `{"description":"%s"}`},
		{"service", svcPath("svc2"), `{"description":"%s"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			var cur map[string]any
			tag1 := etagOf(t, e.must(http.MethodGet, tc.path, nil, &cur))
			// The current ETag matches.
			st, h, b := e.raw(http.MethodPut, tc.path, http.Header{"If-Match": {tag1}}, fmt.Appendf(nil, tc.update, "v1"), true)
			if st != 200 {
				t.Fatalf("PUT with current If-Match: %d %s", st, b)
			}
			tag2 := etagOf(t, h)
			if tag2 == tag1 {
				t.Fatalf("ETag did not change on update: %s", tag2)
			}
			if g := etagOf(t, e.must(http.MethodGet, tc.path, nil, nil)); g != tag2 {
				t.Errorf("GET ETag %s; the PUT returned %s", g, tag2)
			}
			// The old one does not, for PUT and DELETE, and nothing changes.
			for _, m := range []string{http.MethodPut, http.MethodDelete} {
				for _, stale := range []string{tag1, `"zz-not-ours"`} {
					var body []byte
					if m == http.MethodPut {
						body = fmt.Appendf(nil, tc.update, "stale")
					}
					st, h, b := e.raw(m, tc.path, http.Header{"If-Match": {stale}}, body, true)
					wantRawError(t, st, h, b, 412, "PreconditionFailed")
				}
			}
			var after map[string]any
			if g := etagOf(t, e.must(http.MethodGet, tc.path, nil, &after)); g != tag2 || after["description"] != "v1" {
				t.Errorf("after refused writes: ETag %s description %v; want %s v1", g, after["description"], tag2)
			}
			if tc.name == "service" {
				// DELETE with the current ETag works.
				st, _, b := e.raw(http.MethodDelete, tc.path, http.Header{"If-Match": {tag2}}, nil, true)
				if st != 204 {
					t.Fatalf("DELETE with current If-Match: %d %s", st, b)
				}
				_, err := e.do(http.MethodGet, tc.path, nil, nil)
				wantAPIError(t, err, 404, "ServiceNotFound")
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	e := newEnv(t)
	var svcs []string
	for i := range 23 {
		n := fmt.Sprintf("svc-%02d", i)
		svcs = append(svcs, n)
		e.createService(n)
	}
	for _, n := range []string{"a-first", "zz-last", "svc_x"} {
		e.createService(n)
	}
	all := append([]string{"a-first"}, svcs...)
	all = append(all, "svc_x", "zz-last")

	svcNames := func(opts client.ListOptions, startKey string) ([]string, string) {
		t.Helper()
		q := url.Values{}
		if opts.Limit > 0 {
			q.Set("limit", fmt.Sprint(opts.Limit))
		}
		if opts.Prefix != "" {
			q.Set("prefix", opts.Prefix)
		}
		if opts.NextToken != "" {
			q.Set("nextToken", opts.NextToken)
		}
		if startKey != "" {
			q.Set("startKey", startKey)
		}
		var out struct {
			Services  []fc.Service `json:"services"`
			NextToken string       `json:"nextToken"`
		}
		if _, err := e.c.Do(e.ctx, http.MethodGet, "/services", q, nil, &out); err != nil {
			t.Fatalf("list services %v: %v", q, err)
		}
		var names []string
		for _, s := range out.Services {
			names = append(names, s.ServiceName)
		}
		return names, out.NextToken
	}

	// Walk every page.
	for _, tc := range []struct {
		limit, pages int
	}{{10, 3}, {7, 4}, {26, 1}, {100, 1}, {1, 26}} {
		var got []string
		token, pages := "", 0
		for {
			names, next := svcNames(client.ListOptions{Limit: tc.limit, NextToken: token}, "")
			pages++
			if len(names) > tc.limit {
				t.Fatalf("limit %d: a page has %d items", tc.limit, len(names))
			}
			got = append(got, names...)
			if next == "" {
				break
			}
			if pages > 30 {
				t.Fatalf("limit %d: more than 30 pages", tc.limit)
			}
			token = next
		}
		if !slices.Equal(got, all) || pages != tc.pages {
			t.Errorf("limit %d: %d pages %v; want %d pages %v", tc.limit, pages, got, tc.pages, all)
		}
	}
	// The default page is 20.
	if names, next := svcNames(client.ListOptions{}, ""); len(names) != 20 || next != all[20] {
		t.Errorf("default page: %d items, next %q; want 20, %q", len(names), next, all[20])
	}

	for _, tc := range []struct {
		name     string
		opts     client.ListOptions
		startKey string
		want     []string
		next     string
	}{
		{"prefix", client.ListOptions{Prefix: "svc-1"}, "", svcs[10:20], ""},
		{"prefix paged", client.ListOptions{Prefix: "svc-", Limit: 5}, "", svcs[:5], "svc-05"},
		{"prefix+token", client.ListOptions{Prefix: "svc-", Limit: 5, NextToken: "svc-20"}, "", svcs[20:], ""},
		{"startKey", client.ListOptions{}, "svc-20", []string{"svc-20", "svc-21", "svc-22", "svc_x", "zz-last"}, ""},
		{"startKey+limit", client.ListOptions{Limit: 2}, "svc-21", []string{"svc-21", "svc-22"}, "svc_x"},
		{"startKey+prefix", client.ListOptions{Prefix: "svc-"}, "svc-21", []string{"svc-21", "svc-22"}, ""},
		{"no match", client.ListOptions{Prefix: "nothing"}, "", nil, ""},
	} {
		names, next := svcNames(tc.opts, tc.startKey)
		if !slices.Equal(names, tc.want) || next != tc.next {
			t.Errorf("%s: got %v next %q; want %v next %q", tc.name, names, next, tc.want, tc.next)
		}
	}

	for _, bad := range []string{"0", "101", "-1", "ten"} {
		_, err := e.c.Do(e.ctx, http.MethodGet, "/services", url.Values{"limit": {bad}}, nil, nil)
		wantAPIError(t, err, 400, "InvalidArgument", "limit")
	}

	// Functions page the same way.
	var fns []string
	for i := range 12 {
		n := fmt.Sprintf("f%02d", i)
		fns = append(fns, n)
		e.createFunction("svc-00", n)
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		page, next, err := e.c.ListFunctions(e.ctx, "svc-00", client.ListOptions{Limit: 5, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 5 || pages > 3 {
			t.Fatalf("function page %d has %d items", pages, len(page))
		}
		for _, f := range page {
			got = append(got, f.FunctionName)
		}
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(got, fns) {
		t.Errorf("paged functions %v; want %v", got, fns)
	}
	page, next, err := e.c.ListFunctions(e.ctx, "svc-00", client.ListOptions{Prefix: "f1"})
	if err != nil || len(page) != 2 || page[0].FunctionName != "f10" || page[1].FunctionName != "f11" || next != "" {
		t.Errorf("functions with prefix f1: %+v %q %v", page, next, err)
	}
	_, _, err = e.c.ListFunctions(e.ctx, "svc-00", client.ListOptions{Limit: 500})
	wantAPIError(t, err, 400, "InvalidArgument", "limit")

	// Triggers: one per function, limit 1 on a list of one has no next page.
	e.must(http.MethodPost, fnPath("svc-00", "f00")+"/triggers", httpTrigger("t", "GET"), nil)
	trs, next, err := e.c.ListTriggers(e.ctx, "svc-00", "f00", client.ListOptions{Limit: 1})
	if err != nil || len(trs) != 1 || next != "" {
		t.Errorf("triggers limit 1: %+v %q %v", trs, next, err)
	}
	trs, _, err = e.c.ListTriggers(e.ctx, "svc-00", "f00", client.ListOptions{Prefix: "x"})
	if err != nil || len(trs) != 0 {
		t.Errorf("triggers prefix x: %+v %v", trs, err)
	}
}

func TestDeleteNotEmpty(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.must(http.MethodPost, fnPath("svc", "fn")+"/triggers", httpTrigger("http", "GET"), nil)

	wantAPIError(t, e.c.DeleteService(e.ctx, "svc"), 400, "ServiceNotEmpty", "svc")
	wantAPIError(t, e.c.DeleteFunction(e.ctx, "svc", "fn"), 400, "FunctionNotEmpty", "fn")
	if _, err := e.c.GetFunction(e.ctx, "svc", "fn"); err != nil {
		t.Fatalf("function gone after a refused delete: %v", err)
	}
	if len(e.functionChanges()) != 0 {
		t.Errorf("FunctionChanged called for a refused delete: %v", e.functionChanges())
	}
	if err := e.c.DeleteTrigger(e.ctx, "svc", "fn", "http"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, e.c.DeleteService(e.ctx, "svc"), 400, "ServiceNotEmpty")
	if err := e.c.DeleteFunction(e.ctx, "svc", "fn"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteService(e.ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if snap := e.snapshot(); slices.ContainsFunc(snap, func(s string) bool { return !strings.HasPrefix(s, "code:") }) {
		t.Errorf("store after deleting everything: %v", snap)
	}
}

func TestPathNotSupported(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/services/svc/things"},
		{http.MethodPatch, "/services/svc"},
		{http.MethodPost, "/services/svc"},
		{http.MethodPost, "/services/svc/functions/fn"},
		{http.MethodGet, "/services/svc/functions/fn/invocations"},
		{http.MethodGet, "/services/svc/functions/fn/triggers/t/extra"},
		{http.MethodDelete, "/services"},
		{http.MethodGet, ""},
		{http.MethodGet, "/services/svc/functions/fn/triggers/"},
	} {
		_, err := e.do(tc.method, tc.path, nil, nil)
		wantAPIError(t, err, 400, "PathNotSupported", tc.method, tc.path)
	}
}

func TestQualifiers(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	var s fc.Service
	e.must(http.MethodGet, svcPath("svc.LATEST"), nil, &s)
	if s.ServiceName != "svc" {
		t.Errorf("GET svc.LATEST = %+v", s)
	}
	var f fc.Function
	e.must(http.MethodGet, fnPath("svc.LATEST", "fn"), nil, &f)
	if f.FunctionName != "fn" || f.CodeChecksum == "" {
		t.Errorf("GET svc.LATEST/fn = %+v", f)
	}
	fns, _, err := e.c.ListFunctions(e.ctx, "svc.LATEST", client.ListOptions{})
	if err != nil || len(fns) != 1 {
		t.Errorf("list functions of svc.LATEST: %+v %v", fns, err)
	}
	for _, tc := range []struct{ method, path, code, msg string }{
		{http.MethodGet, svcPath("svc.prod"), "AliasNotFound", "prod"},
		{http.MethodGet, fnPath("svc.prod", "fn"), "AliasNotFound", "prod"},
		{http.MethodGet, svcPath("svc.prod") + "/functions", "AliasNotFound", "prod"},
		{http.MethodPost, fnPath("svc.prod", "fn") + "/invocations", "AliasNotFound", "prod"},
		{http.MethodGet, fnPath("svc.3", "fn"), "VersionNotFound", "3"},
	} {
		_, err := e.do(tc.method, tc.path, nil, nil)
		wantAPIError(t, err, 404, tc.code, tc.msg)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	before := e.snapshot()
	body := []byte(`{"serviceName":"sneaky"}`)
	for _, tc := range []struct {
		name   string
		header http.Header
		sign   bool
		status int
		code   string
		msg    string
	}{
		{"unsigned", nil, false, 400, "MissingRequiredHeader", "Authorization"},
		{"other account", http.Header{"X-Fc-Account-Id": {"9999999999999999"}}, true, 403, "AccessDenied", "9999999999999999"},
		{"bad signature", http.Header{"Authorization": {"FC " + testKeyID + ":bm90LWEtc2lnbmF0dXJl"}}, false, 403, "SignatureNotMatch", ""},
		{"unknown key", http.Header{"Authorization": {"FC LTAIunknown:bm90LWEtc2lnbmF0dXJl"}}, false, 403, "InvalidAccessKeyID", "LTAIunknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				method, path string
				body         []byte
			}{
				{http.MethodPost, "/services", body},
				{http.MethodGet, "/services/svc", nil},
				{http.MethodGet, "/services", nil},
				{http.MethodDelete, "/services/svc", nil},
				{http.MethodPost, "/services/svc/functions/fn/invocations", []byte("x")},
				{http.MethodGet, "/no/such/path", nil},
			} {
				st, h, b := e.raw(r.method, r.path, tc.header, r.body, tc.sign)
				var msgs []string
				if tc.msg != "" {
					msgs = append(msgs, tc.msg)
				}
				wantRawError(t, st, h, b, tc.status, tc.code, msgs...)
			}
		})
	}
	e.t = t
	if after := e.snapshot(); !slices.Equal(before, after) {
		t.Errorf("refused requests changed the store: %v -> %v", before, after)
	}
	if n := len(e.inv.recorded()); n != 0 {
		t.Errorf("refused invocations reached the invoker %d times", n)
	}
}

func TestInvoke(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.createFunction("svc", "other")
	for i, service := range []string{"svc", "svc.LATEST"} {
		resp, err := e.c.InvokeFunction(e.ctx, service, "", "fn", []byte(fmt.Sprintf("event-%d", i)), nil)
		if err != nil {
			t.Fatalf("invoke %s/fn: %v", service, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "invoked svc/fn" {
			t.Errorf("invoke %s/fn: %d %q", service, resp.StatusCode, b)
		}
	}
	calls := e.inv.recorded()
	if len(calls) != 2 {
		t.Fatalf("invoker got %d calls; want 2: %+v", len(calls), calls)
	}
	for i, c := range calls {
		if c.service != "svc" || c.function != "fn" || c.qualifier != "LATEST" || c.body != fmt.Sprintf("event-%d", i) || c.requestID == "" {
			t.Errorf("call %d = %+v; want svc/fn LATEST event-%d", i, c, i)
		}
	}
	for _, tc := range []struct{ service, function, code string }{
		{"svc", "nope", "FunctionNotFound"},
		{"nosvc", "fn", "ServiceNotFound"},
	} {
		_, err := e.c.InvokeFunction(e.ctx, tc.service, "", tc.function, []byte("x"), nil)
		wantAPIError(t, err, 404, tc.code)
	}
	_, err := e.c.InvokeFunction(e.ctx, "svc", "", "fn", nil, http.Header{"X-Fc-Invocation-Type": {"Later"}})
	wantAPIError(t, err, 400, "InvalidArgument", "X-Fc-Invocation-Type")
	if n := len(e.inv.recorded()); n != 2 {
		t.Errorf("refused invocations reached the invoker: %d calls", n)
	}
	// Async goes to the invoker too (the gateway's accept stage answers).
	if _, err := e.c.InvokeFunction(e.ctx, "svc", "", "fn", nil, http.Header{"X-Fc-Invocation-Type": {"Async"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inv.recorded()); n != 3 {
		t.Errorf("an async invocation did not reach the invoker: %d calls", n)
	}
	// A function deleted is no longer invocable.
	if err := e.c.DeleteFunction(e.ctx, "svc", "fn"); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.InvokeFunction(e.ctx, "svc", "", "fn", []byte("x"), nil)
	wantAPIError(t, err, 404, "FunctionNotFound")
}

// Server-computed fields sent by the client are ignored: ids, times,
// checksums and trigger URLs.
func TestServerOwnedFieldsIgnored(t *testing.T) {
	e := newEnv(t)
	var s fc.Service
	e.must(http.MethodPost, "/services", map[string]any{"serviceName": "svc", "serviceId": "mine", "createdTime": "1999-01-01T00:00:00Z"}, &s)
	if s.ServiceID == "mine" || s.CreatedTime == "1999-01-01T00:00:00Z" {
		t.Errorf("created service kept client values: %+v", s)
	}
	zipBytes := appZip(t, "owned")
	body := with(fnBody("fn", zipBytes), "functionId", "mine", "codeChecksum", "42", "codeSize", 1, "createdTime", "1999-01-01T00:00:00Z")
	var f fc.Function
	e.must(http.MethodPost, svcPath("svc")+"/functions", body, &f)
	if f.FunctionID == "mine" || f.CodeChecksum != codezip.Checksum(zipBytes) || f.CodeSize != int64(len(zipBytes)) || f.CreatedTime == "1999-01-01T00:00:00Z" {
		t.Errorf("created function kept client values: %+v", f)
	}
	var up fc.Function
	e.must(http.MethodPut, fnPath("svc", "fn"), map[string]any{"codeChecksum": "42", "codeSize": 7, "functionId": "x", "createdTime": "1999-01-01T00:00:00Z"}, &up)
	if up.CodeChecksum != f.CodeChecksum || up.CodeSize != f.CodeSize || up.FunctionID != f.FunctionID || up.CreatedTime != f.CreatedTime {
		t.Errorf("update took client values: %+v; was %+v", up, f)
	}

	wantURL := testPublicURL + "/2016-08-15/proxy/svc/fn/"
	for _, tc := range []struct {
		name         string
		disable      bool
		wantNetURL   string
		wantIntraURL string
	}{
		{"internet URL disabled", true, "", ""},
		{"internet URL enabled", false, wantURL, wantURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			tb := httpTrigger("http", "GET")
			tb["urlInternet"] = "http://evil.example/"
			tb["urlIntranet"] = "http://evil.example/"
			tb["triggerId"] = "mine"
			tb["triggerConfig"].(map[string]any)["disableURLInternet"] = tc.disable
			var created, got map[string]any
			e.must(http.MethodPost, fnPath("svc", "fn")+"/triggers", tb, &created)
			e.must(http.MethodGet, trigPath("svc", "fn", "http"), nil, &got)
			for what, m := range map[string]map[string]any{"POST": created, "GET": got} {
				net, _ := m["urlInternet"].(string)
				intra, _ := m["urlIntranet"].(string)
				if net != tc.wantNetURL || intra != tc.wantIntraURL || m["triggerId"] == "mine" {
					t.Errorf("%s: urlInternet %q urlIntranet %v triggerId %v; want %q %q and a server id", what, net, m["urlIntranet"], m["triggerId"], tc.wantNetURL, tc.wantIntraURL)
				}
			}
			if err := e.c.DeleteTrigger(e.ctx, "svc", "fn", "http"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testKeys knows the admin key testKeyID.
var testKeys = auth.AdminKey(fcsign.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
