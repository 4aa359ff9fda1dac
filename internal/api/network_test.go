package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// customDNS and internetAccess are stored on create, returned by GET,
// replaced as a whole by an update and cleared by null.
func TestFunctionNetworkFields(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	dns := map[string]any{
		"nameServers": []string{"8.8.8.8", "1.1.1.1"},
		"searches":    []string{"svc.cluster.local"},
		"dnsOptions":  []map[string]any{{"name": "ndots", "value": "2"}, {"name": "rotate"}},
	}
	body := with(fnBody("f", appZip(t, "net")), "customDNS", dns, "internetAccess", false)
	e.must(http.MethodPost, svcPath("svc")+"/functions", body, nil)

	var got fc.Function
	e.must(http.MethodGet, fnPath("svc", "f"), nil, &got)
	want := &fc.CustomDNS{NameServers: []string{"8.8.8.8", "1.1.1.1"}, Searches: []string{"svc.cluster.local"},
		DNSOptions: []fc.DNSOption{{Name: "ndots", Value: "2"}, {Name: "rotate"}}}
	if got.CustomDNS == nil || mustJSON(t, got.CustomDNS) != mustJSON(t, want) {
		t.Errorf("GET customDNS = %s; want %s", mustJSON(t, got.CustomDNS), mustJSON(t, want))
	}
	if got.InternetAccess == nil || *got.InternetAccess {
		t.Errorf("GET internetAccess = %v; want false", got.InternetAccess)
	}
	var raw map[string]any
	e.must(http.MethodGet, fnPath("svc", "f"), nil, &raw)
	wantKeys(t, "GET function", raw, []string{"customDNS", "internetAccess"}, nil)

	// An update replaces customDNS whole and retires the instances.
	before := len(e.functionChanges())
	got = fc.Function{} // decoding into a used value would keep what the answer leaves out
	e.must(http.MethodPut, fnPath("svc", "f"), map[string]any{"customDNS": map[string]any{"nameServers": []string{"9.9.9.9"}}}, &got)
	if got.CustomDNS == nil || !slices.Equal(got.CustomDNS.NameServers, []string{"9.9.9.9"}) || got.CustomDNS.Searches != nil {
		t.Errorf("after update customDNS = %s", mustJSON(t, got.CustomDNS))
	}
	if got.InternetAccess == nil || *got.InternetAccess {
		t.Errorf("an update without internetAccess changed it: %v", got.InternetAccess)
	}
	if n := len(e.functionChanges()) - before; n != 1 {
		t.Errorf("FunctionChanged called %d times for a customDNS update; want 1", n)
	}

	// null clears both; {} is stored as no custom DNS.
	got = fc.Function{}
	e.must(http.MethodPut, fnPath("svc", "f"), map[string]any{"customDNS": nil, "internetAccess": nil}, &got)
	if got.CustomDNS != nil || got.InternetAccess != nil {
		t.Errorf("after null: customDNS %s, internetAccess %v; want both unset", mustJSON(t, got.CustomDNS), got.InternetAccess)
	}
	e.must(http.MethodPut, fnPath("svc", "f"), map[string]any{"customDNS": map[string]any{}}, &got)
	raw = nil
	e.must(http.MethodGet, fnPath("svc", "f"), nil, &raw)
	wantKeys(t, "GET after customDNS {}", raw, nil, []string{"customDNS", "internetAccess"})
}

// Bad customDNS and internetAccess values are refused with 400
// InvalidArgument naming the field, on create and on update.
func TestBadNetworkInput(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	e.createFunction("svc", "keep")
	fns := svcPath("svc") + "/functions"
	ns := []string{"8.8.8.8"}
	bad := []struct {
		name string
		kv   []any
		msg  string
	}{
		{"name server not an IP", []any{"customDNS", map[string]any{"nameServers": []string{"dns.google"}}}, "customDNS.nameServers[0]"},
		{"4 name servers", []any{"customDNS", map[string]any{"nameServers": []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"}}}, "at most 3"},
		{"bad search domain", []any{"customDNS", map[string]any{"nameServers": ns, "searches": []string{"bad domain"}}}, "customDNS.searches[0]"},
		{"option without a name", []any{"customDNS", map[string]any{"nameServers": ns, "dnsOptions": []map[string]any{{"value": "2"}}}}, "customDNS.dnsOptions[0].name"},
		{"nameServers not a list", []any{"customDNS", map[string]any{"nameServers": "8.8.8.8"}}, "customDNS.nameServers"},
		{"internetAccess not a boolean", []any{"internetAccess", "no"}, "internetAccess"},
	}
	var cases []badCase
	for _, b := range bad {
		zip := appZip(t, "bad "+b.name)
		cases = append(cases,
			badCase{name: "create: " + b.name, path: fns, body: with(fnBody("f", zip), b.kv...),
				code: "InvalidArgument", msg: []string{b.msg}, gone: fnPath("svc", "f"), zip: zip},
			badCase{name: "update: " + b.name, method: http.MethodPut, path: fnPath("svc", "keep"), body: with(map[string]any{}, b.kv...),
				code: "InvalidArgument", msg: []string{b.msg}})
	}
	runBad(t, e, cases)
	e.t = t
	if n := len(e.functionChanges()); n != 0 {
		t.Errorf("FunctionChanged called %d times for refused requests", n)
	}
}

// A service update that changes internetAccess retires its functions'
// instances (ServiceChanged); one that changes nothing about them does not.
func TestServiceChangedOnInternetAccess(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	steps := []struct {
		body map[string]any
		want int // ServiceChanged calls so far
	}{
		{map[string]any{"description": "only the text"}, 0},
		{map[string]any{"internetAccess": true}, 0}, // true is the default already
		{map[string]any{"internetAccess": false}, 1},
		{map[string]any{"description": "still off"}, 1},
		{map[string]any{"internetAccess": nil}, 2}, // back to the default
	}
	for i, s := range steps {
		var out fc.Service
		e.must(http.MethodPut, svcPath("svc"), s.body, &out)
		e.mu.Lock()
		got := slices.Clone(e.svcChanged)
		e.mu.Unlock()
		if len(got) != s.want || (len(got) > 0 && got[len(got)-1] != "svc") {
			t.Fatalf("step %d (%v): ServiceChanged calls %v; want %d for svc", i, s.body, got, s.want)
		}
	}
	var got fc.Service
	e.must(http.MethodGet, svcPath("svc"), nil, &got)
	if got.InternetAccess != nil || got.Description != "still off" {
		t.Errorf("GET service = %+v", got)
	}
}
