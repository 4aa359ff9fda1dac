package instance

import (
	"slices"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

func boolPtr(b bool) *bool { return &b }

// services answers LookupService from a map.
func services(svcs ...*fc.Service) func(string) (*fc.Service, bool) {
	return func(name string) (*fc.Service, bool) {
		for _, s := range svcs {
			if s.ServiceName == name {
				return s, true
			}
		}
		return nil, false
	}
}

// The spec of a new instance carries the function's network: internet
// access from the function, else its service, else on; DNS from
// customDNS.
func TestStartNetSpec(t *testing.T) {
	dns := &fc.CustomDNS{NameServers: []string{"8.8.8.8"}, Searches: []string{"svc.local"},
		DNSOptions: []fc.DNSOption{{Name: "ndots", Value: "2"}, {Name: "rotate"}}}
	offline := &fc.Service{ServiceName: "s", InternetAccess: boolPtr(false)}
	for _, tc := range []struct {
		name   string
		lookup func(string) (*fc.Service, bool)
		fnNet  *bool
		dns    *fc.CustomDNS
		want   sandbox.NetSpec
	}{
		{name: "no service lookup: FC's default", want: sandbox.NetSpec{}},
		{name: "service not found", lookup: services(), want: sandbox.NetSpec{}},
		{name: "service without internet", lookup: services(offline), want: sandbox.NetSpec{NoInternet: true}},
		{name: "function on overrides service off", lookup: services(offline), fnNet: boolPtr(true), want: sandbox.NetSpec{}},
		{name: "function off", lookup: services(&fc.Service{ServiceName: "s"}), fnNet: boolPtr(false), want: sandbox.NetSpec{NoInternet: true}},
		{name: "custom DNS", dns: dns, want: sandbox.NetSpec{Nameservers: []string{"8.8.8.8"}, Searches: []string{"svc.local"},
			Options: []string{"ndots:2", "rotate"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, sb := newMgr(t, Options{LookupService: tc.lookup})
			fn := testFn(1)
			fn.InternetAccess, fn.CustomDNS = tc.fnNet, tc.dns
			mustAcquire(t, m, fn, "r").Release()
			got := sb.all()[0].spec.Net
			if got.NoInternet != tc.want.NoInternet || !slices.Equal(got.Nameservers, tc.want.Nameservers) ||
				!slices.Equal(got.Searches, tc.want.Searches) || !slices.Equal(got.Options, tc.want.Options) {
				t.Errorf("spec.Net = %+v; want %+v", got, tc.want)
			}
		})
	}
}

// ListInstances reports each instance's address.
func TestListInstancesAddress(t *testing.T) {
	m, _ := newMgr(t, Options{Sandbox: &fakeSandbox{addr: "169.254.64.2"}})
	fn := testFn(1)
	mustAcquire(t, m, fn, "r").Release()
	list := m.ListInstances(fn.ServiceName, fn.FunctionName)
	if len(list) != 1 || list[0].Address != "169.254.64.2" {
		t.Fatalf("ListInstances = %+v; want one instance at 169.254.64.2", list)
	}
}

// A change of customDNS or internetAccess is a new configuration: the
// next request gets a new instance with the new network.
func TestNetworkChangeIsNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*fc.Function)
	}{
		{"internetAccess", func(f *fc.Function) { f.InternetAccess = boolPtr(false) }},
		{"customDNS", func(f *fc.Function) { f.CustomDNS = &fc.CustomDNS{NameServers: []string{"1.1.1.1"}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := testFn(1)
			upd := testFn(1)
			tc.change(upd)
			if fingerprint(old) == fingerprint(upd) {
				t.Fatalf("the fingerprint ignores %s", tc.name)
			}
			m, sb := newMgr(t, Options{})
			mustAcquire(t, m, old, "r1").Release()
			mustAcquire(t, m, upd, "r2").Release()
			if sb.count() != 2 {
				t.Fatalf("%d instances started; want a second one for the new %s", sb.count(), tc.name)
			}
			waitFor(t, "the old instance stopped", func() bool { return sb.all()[0].stopped.Load() })
			if sb.all()[1].spec.Net.NoInternet != !fc.InternetAccess(nil, upd) {
				t.Errorf("the new instance's spec.Net = %+v", sb.all()[1].spec.Net)
			}
		})
	}
}

// ForgetService retires the instances of every function of the service,
// and only those.
func TestForgetService(t *testing.T) {
	m, sb := newMgr(t, Options{})
	f1, f2 := fnNamed("a", 1), fnNamed("b", 1)
	other := fnNamed("c", 1)
	other.ServiceName = "other"
	for _, fn := range []*fc.Function{f1, f2, other} {
		mustAcquire(t, m, fn, "r").Release()
	}
	m.ForgetService("s")
	waitFor(t, "the instances of s stopped", func() bool { return sb.running() == 1 })
	if list := m.ListInstances("", ""); len(list) != 1 || list[0].ServiceName != "other" {
		t.Errorf("instances left = %+v; want only other/c", list)
	}
	mustAcquire(t, m, f1, "again").Release()
	if sb.count() != 4 {
		t.Errorf("%d instances started; want a new one for s/a after ForgetService", sb.count())
	}
}
