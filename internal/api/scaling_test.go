package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/client"
)

// fakeLister is the API's InstanceLister: canned instances per
// "service/function", and a record of the calls.
type fakeLister struct {
	mu    sync.Mutex
	byFn  map[string][]fc.InstanceInfo
	calls []string
}

func (f *fakeLister) ListInstances(service, function string) []fc.InstanceInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, service+"/"+function)
	return slices.Clone(f.byFn[service+"/"+function])
}

func (f *fakeLister) set(service, function string, infos ...fc.InstanceInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byFn == nil {
		f.byFn = map[string][]fc.InstanceInfo{}
	}
	f.byFn[service+"/"+function] = infos
}

func (f *fakeLister) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func resourceOf(service, function string) string {
	return testAccount + "#" + service + "#LATEST#" + function
}

// scalingCase is one request of a scaling table test.
type scalingCase struct {
	name   string
	method string
	path   string
	body   any    // nil: no body; []byte: sent as is
	status int    // on success
	code   string // on failure: the FC error code (status is then its status)
	want   string // on success with a body: the JSON wanted (compared structurally)
}

// runScaling sends each case in order; later cases see earlier effects.
func runScaling(t *testing.T, e *env, cases []scalingCase) {
	t.Helper()
	for _, tc := range cases {
		var raw json.RawMessage
		_, err := e.do(tc.method, tc.path, tc.body, &raw)
		if tc.code != "" {
			wantAPIError(t, err, tc.status, tc.code)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %s %s: %v", tc.name, tc.method, tc.path, err)
		}
		if tc.want == "" {
			if len(raw) != 0 {
				t.Errorf("%s: body %s, want none", tc.name, raw)
			}
			continue
		}
		var got, want any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: body %q: %v", tc.name, raw, err)
		}
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatalf("%s: bad want: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s %s = %s, want %s", tc.name, tc.method, tc.path, raw, tc.want)
		}
	}
}

func TestOnDemandConfig(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	p := fnPath("svc", "fn") + "/on-demand-config"
	pl := fnPath("svc.LATEST", "fn") + "/on-demand-config"
	res := resourceOf("svc", "fn")
	runScaling(t, e, []scalingCase{
		{name: "get absent", method: "GET", path: p, status: 404, code: "OnDemandConfigNotFound"},
		{name: "delete absent", method: "DELETE", path: p, status: 404, code: "OnDemandConfigNotFound"},
		{name: "put", method: "PUT", path: p, body: map[string]any{"maximumInstanceCount": 3}, status: 200,
			want: `{"resource":"` + res + `","maximumInstanceCount":3}`},
		{name: "get", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","maximumInstanceCount":3}`},
		{name: "get through LATEST", method: "GET", path: pl, status: 200, want: `{"resource":"` + res + `","maximumInstanceCount":3}`},
		{name: "put 0 through LATEST", method: "PUT", path: pl, body: map[string]any{"maximumInstanceCount": 0}, status: 200,
			want: `{"resource":"` + res + `","maximumInstanceCount":0}`},
		{name: "0 is a config, not its absence", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","maximumInstanceCount":0}`},
		{name: "negative", method: "PUT", path: p, body: map[string]any{"maximumInstanceCount": -1}, status: 400, code: "InvalidArgument"},
		{name: "missing field", method: "PUT", path: p, body: map[string]any{"max": 2}, status: 400, code: "InvalidArgument"},
		{name: "string", method: "PUT", path: p, body: map[string]any{"maximumInstanceCount": "2"}, status: 400, code: "InvalidArgument"},
		{name: "fraction", method: "PUT", path: p, body: []byte(`{"maximumInstanceCount":1.5}`), status: 400, code: "InvalidArgument"},
		{name: "not JSON", method: "PUT", path: p, body: []byte(`{`), status: 400, code: "InvalidArgument"},
		{name: "alias", method: "PUT", path: fnPath("svc.prod", "fn") + "/on-demand-config", body: map[string]any{"maximumInstanceCount": 1}, status: 404, code: "AliasNotFound"},
		{name: "version", method: "GET", path: fnPath("svc.2", "fn") + "/on-demand-config", status: 404, code: "VersionNotFound"},
		{name: "missing function", method: "PUT", path: fnPath("svc", "nope") + "/on-demand-config", body: map[string]any{"maximumInstanceCount": 1}, status: 404, code: "FunctionNotFound"},
		{name: "missing service", method: "GET", path: fnPath("nope", "fn") + "/on-demand-config", status: 404, code: "ServiceNotFound"},
		{name: "still 0 after refused writes", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","maximumInstanceCount":0}`},
	})
	if limit, set := e.st.OnDemandMax("svc", fc.LATEST, "fn"); limit != 0 || !set {
		t.Errorf("catalog OnDemandMax = %d %v, want 0 true", limit, set)
	}
	runScaling(t, e, []scalingCase{
		{name: "delete", method: "DELETE", path: p, status: 204},
		{name: "gone", method: "GET", path: p, status: 404, code: "OnDemandConfigNotFound"},
	})
	if _, set := e.st.OnDemandMax("svc", fc.LATEST, "fn"); set {
		t.Error("catalog still has the deleted on-demand config")
	}
}

func TestProvisionConfig(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.inst.set("svc", "fn",
		fc.InstanceInfo{InstanceID: "a", Provisioned: true},
		fc.InstanceInfo{InstanceID: "b"},
		fc.InstanceInfo{InstanceID: "c", Provisioned: true})
	p := fnPath("svc", "fn") + "/provision-config"
	res := resourceOf("svc", "fn")
	target := func(n string) string { return `{"resource":"` + res + `","target":` + n + `}` }
	runScaling(t, e, []scalingCase{
		{name: "get absent", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","target":0,"current":2}`},
		{name: "delete absent", method: "DELETE", path: p, status: 204},
		{name: "put", method: "PUT", path: p, body: map[string]any{"target": 2}, status: 200, want: target("2")},
		{name: "get", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","target":2,"current":2}`},
		{name: "cap", method: "PUT", path: p, body: map[string]any{"target": 100}, status: 200, want: target("100")},
		{name: "over the cap", method: "PUT", path: p, body: map[string]any{"target": 101}, status: 400, code: "InvalidArgument"},
		{name: "negative", method: "PUT", path: p, body: map[string]any{"target": -1}, status: 400, code: "InvalidArgument"},
		{name: "missing field", method: "PUT", path: p, body: map[string]any{}, status: 400, code: "InvalidArgument"},
		{name: "empty body", method: "PUT", path: p, body: []byte{}, status: 400, code: "InvalidArgument"},
		{name: "alias", method: "GET", path: fnPath("svc.prod", "fn") + "/provision-config", status: 404, code: "AliasNotFound"},
		{name: "missing function", method: "PUT", path: fnPath("svc", "nope") + "/provision-config", body: map[string]any{"target": 1}, status: 404, code: "FunctionNotFound"},
		{name: "missing service", method: "DELETE", path: fnPath("nope", "fn") + "/provision-config", status: 404, code: "ServiceNotFound"},
		{name: "unchanged by refused writes", method: "GET", path: fnPath("svc.LATEST", "fn") + "/provision-config", status: 200,
			want: `{"resource":"` + res + `","target":100,"current":2}`},
	})
	if got := e.st.ProvisionTargets(); len(got) != 1 || got[0].Target != 100 || got[0].Function != "fn" || got[0].Qualifier != fc.LATEST {
		t.Errorf("catalog ProvisionTargets = %+v", got)
	}
	runScaling(t, e, []scalingCase{
		{name: "put 0 removes", method: "PUT", path: p, body: map[string]any{"target": 0}, status: 200, want: target("0")},
		{name: "put 0 again", method: "PUT", path: p, body: map[string]any{"target": 0}, status: 200, want: target("0")},
	})
	if _, err := e.st.GetProvisionConfig(e.ctx, "svc", fc.LATEST, "fn"); !errors.Is(err, fc.ErrNotFound) {
		t.Errorf("after PUT target 0 the store has %v, want not found", err)
	}
	if got := e.st.ProvisionTargets(); len(got) != 0 {
		t.Errorf("ProvisionTargets after PUT target 0 = %+v", got)
	}
	runScaling(t, e, []scalingCase{
		{name: "put again", method: "PUT", path: p, body: map[string]any{"target": 1}, status: 200, want: target("1")},
		{name: "delete", method: "DELETE", path: p, status: 204},
		{name: "get after delete", method: "GET", path: p, status: 200, want: `{"resource":"` + res + `","target":0,"current":2}`},
	})
	if got := e.st.ProvisionTargets(); len(got) != 0 {
		t.Errorf("ProvisionTargets after DELETE = %+v", got)
	}
}

func TestScalingConfigLists(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"a", "b"} {
		e.createService(s)
		for _, f := range []string{"f1", "f2", "f3"} {
			e.createFunction(s, f)
		}
	}
	e.inst.set("b", "f1", fc.InstanceInfo{InstanceID: "x", Provisioned: true})
	for i, ref := range [][2]string{{"b", "f1"}, {"a", "f3"}, {"a", "f1"}, {"b", "f3"}} {
		e.must(http.MethodPut, fnPath(ref[0], ref[1])+"/on-demand-config", map[string]any{"maximumInstanceCount": i + 1}, nil)
		if ref[1] != "f3" {
			e.must(http.MethodPut, fnPath(ref[0], ref[1])+"/provision-config", map[string]any{"target": i + 1}, nil)
		}
	}
	od := func(s, f string, n int) client.OnDemandConfig {
		return client.OnDemandConfig{Resource: resourceOf(s, f), MaximumInstanceCount: n}
	}
	pc := func(s, f string, target, current int) client.ProvisionConfig {
		return client.ProvisionConfig{Resource: resourceOf(s, f), Target: target, Current: current}
	}
	for _, tc := range []struct {
		name     string
		opts     client.ListOptions
		want     []client.OnDemandConfig
		wantNext string
	}{
		{"all", client.ListOptions{}, []client.OnDemandConfig{od("a", "f1", 3), od("a", "f3", 2), od("b", "f1", 1), od("b", "f3", 4)}, ""},
		{"first page", client.ListOptions{Limit: 2}, []client.OnDemandConfig{od("a", "f1", 3), od("a", "f3", 2)}, "b#LATEST#f1"},
		{"next page", client.ListOptions{Limit: 2, NextToken: "b#LATEST#f1"}, []client.OnDemandConfig{od("b", "f1", 1), od("b", "f3", 4)}, ""},
		{"prefix", client.ListOptions{Prefix: "b#"}, []client.OnDemandConfig{od("b", "f1", 1), od("b", "f3", 4)}, ""},
		{"no match", client.ListOptions{Prefix: "c"}, []client.OnDemandConfig{}, ""},
	} {
		got, next, err := e.c.ListOnDemandConfigs(e.ctx, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) || next != tc.wantNext {
			t.Errorf("on-demand %s = %+v %q, want %+v %q", tc.name, got, next, tc.want, tc.wantNext)
		}
	}
	for _, tc := range []struct {
		name     string
		opts     client.ProvisionListOptions
		want     []client.ProvisionConfig
		wantNext string
	}{
		{"all", client.ProvisionListOptions{}, []client.ProvisionConfig{pc("a", "f1", 3, 0), pc("b", "f1", 1, 1)}, ""},
		{"service", client.ProvisionListOptions{ServiceName: "b"}, []client.ProvisionConfig{pc("b", "f1", 1, 1)}, ""},
		{"qualifier", client.ProvisionListOptions{ServiceName: "a", Qualifier: "LATEST"}, []client.ProvisionConfig{pc("a", "f1", 3, 0)}, ""},
		{"other qualifier", client.ProvisionListOptions{ServiceName: "a", Qualifier: "prod"}, []client.ProvisionConfig{}, ""},
		{"paged", client.ProvisionListOptions{ListOptions: client.ListOptions{Limit: 1}}, []client.ProvisionConfig{pc("a", "f1", 3, 0)}, "b#LATEST#f1"},
	} {
		got, next, err := e.c.ListProvisionConfigs(e.ctx, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) || next != tc.wantNext {
			t.Errorf("provision %s = %+v %q, want %+v %q", tc.name, got, next, tc.want, tc.wantNext)
		}
	}
	// The JSON keys are FC's.
	var raw map[string]json.RawMessage
	e.must(http.MethodGet, "/on-demand-configs", nil, &raw)
	if _, ok := raw["configs"]; !ok {
		t.Errorf("on-demand-configs body lacks configs: %v", raw)
	}
	raw = nil
	e.must(http.MethodGet, "/provision-configs", nil, &raw)
	if _, ok := raw["provisionConfigs"]; !ok {
		t.Errorf("provision-configs body lacks provisionConfigs: %v", raw)
	}
	_, err := e.do(http.MethodGet, "/on-demand-configs?limit=0", nil, nil)
	wantAPIError(t, err, 400, "InvalidArgument", "limit")
}

func TestDeleteFunctionDeletesScalingConfigs(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.createFunction("svc", "keep")
	for _, f := range []string{"fn", "keep"} {
		if _, err := e.c.PutOnDemandConfig(e.ctx, "svc", "", f, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.PutProvisionConfig(e.ctx, "svc", "", f, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.DeleteFunction(e.ctx, "svc", "fn"); err != nil {
		t.Fatal(err)
	}
	e.createFunction("svc", "fn")
	_, err := e.c.GetOnDemandConfig(e.ctx, "svc", "", "fn")
	wantAPIError(t, err, 404, "OnDemandConfigNotFound")
	if pc, err := e.c.GetProvisionConfig(e.ctx, "svc", "", "fn"); err != nil || pc.Target != 0 {
		t.Errorf("recreated function's provision config = %+v %v, want target 0", pc, err)
	}
	if od, err := e.c.GetOnDemandConfig(e.ctx, "svc", "", "keep"); err != nil || od.MaximumInstanceCount != 2 {
		t.Errorf("other function's on-demand config = %+v %v", od, err)
	}
	if got := e.st.ProvisionTargets(); len(got) != 1 || got[0].Function != "keep" {
		t.Errorf("ProvisionTargets = %+v, want only keep", got)
	}
}

func TestInstancesEndpoint(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	e.createFunction("svc", "idle")
	infos := []fc.InstanceInfo{
		{InstanceID: "i-1", ServiceName: "svc", FunctionName: "fn", Qualifier: fc.LATEST, State: fc.InstanceReady,
			StartedTime: "2024-05-06T07:08:09Z", InFlight: 1, RequestsServed: 42, Restarts: 1, Provisioned: true},
		{InstanceID: "i-2", ServiceName: "svc", FunctionName: "fn", Qualifier: fc.LATEST, State: fc.InstanceStarting},
	}
	e.inst.set("svc", "fn", infos...)

	var got struct {
		Instances []fc.InstanceInfo `json:"instances"`
	}
	e.must(http.MethodGet, fnPath("svc.LATEST", "fn")+"/instances", nil, &got)
	if !reflect.DeepEqual(got.Instances, infos) {
		t.Errorf("instances = %+v, want %+v", got.Instances, infos)
	}
	list, err := e.c.ListInstances(e.ctx, "svc", "", "fn")
	if err != nil || len(list) != 2 || list[0].InstanceID != "i-1" || list[0].RequestsServed != 42 || !list[0].Provisioned {
		t.Errorf("client ListInstances = %+v %v", list, err)
	}
	// A function without instances lists [], not null.
	st, _, body := e.raw(http.MethodGet, fnPath("svc", "idle")+"/instances", nil, nil, true)
	if st != 200 || string(body) != `{"instances":[]}` {
		t.Errorf("idle function: %d %s", st, body)
	}
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{fnPath("svc", "nope") + "/instances", 404, "FunctionNotFound"},
		{fnPath("nope", "fn") + "/instances", 404, "ServiceNotFound"},
		{fnPath("svc.prod", "fn") + "/instances", 404, "AliasNotFound"},
	} {
		_, err := e.do(http.MethodGet, tc.path, nil, nil)
		wantAPIError(t, err, tc.status, tc.code)
	}
	if calls := e.inst.called(); slices.Contains(calls, "svc/nope") || slices.Contains(calls, "nope/fn") {
		t.Errorf("the lister was asked about missing functions: %v", calls)
	}
	// Unsigned requests are refused before anything runs.
	st, h, body := e.raw(http.MethodGet, fnPath("svc", "fn")+"/instances", nil, nil, false)
	wantRawError(t, st, h, body, 400, "MissingRequiredHeader")
	st, h, body = e.raw(http.MethodPut, fnPath("svc", "fn")+"/provision-config", nil, []byte(`{"target":1}`), false)
	wantRawError(t, st, h, body, 400, "MissingRequiredHeader")
	if got := e.st.ProvisionTargets(); len(got) != 0 {
		t.Errorf("an unsigned PUT changed the targets: %+v", got)
	}
}

func TestNoInstanceLister(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "fn")
	a := api.New(api.Options{
		Store:              e.st,
		Verifier:           &auth.Verifier{Keys: testKeys},
		AccountID:          testAccount,
		MaxProvisionTarget: 3,
	})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, testAccount, client.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
	list, err := c.ListInstances(e.ctx, "svc", "", "fn")
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListInstances without a lister = %#v %v, want empty", list, err)
	}
	if _, err := c.PutProvisionConfig(e.ctx, "svc", "", "fn", 3); err != nil {
		t.Fatal(err)
	}
	pc, err := c.GetProvisionConfig(e.ctx, "svc", "", "fn")
	if err != nil || pc.Target != 3 || pc.Current != 0 {
		t.Errorf("GetProvisionConfig without a lister = %+v %v", pc, err)
	}
	_, err = c.PutProvisionConfig(e.ctx, "svc", "", "fn", 4)
	wantAPIError(t, err, 400, "InvalidArgument", "0 to 3")
}
