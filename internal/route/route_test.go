package route

import (
	"net"
	"strings"
	"testing"
)

func TestParseProxyPath(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
		want     Target
	}{
		{"root", "/2016-08-15/proxy/s/f", true, Target{"s", "LATEST", "f", "/2016-08-15/proxy/s/f/", "/"}},
		{"slash", "/2016-08-15/proxy/s/f/", true, Target{"s", "LATEST", "f", "/2016-08-15/proxy/s/f/", "/"}},
		{"deep", "/2016-08-15/proxy/s/f/a/b%2Fc", true, Target{"s", "LATEST", "f", "/2016-08-15/proxy/s/f/", "/a/b%2Fc"}},
		{"qualifier", "/2016-08-15/proxy/s.prod/f/x", true, Target{"s", "prod", "f", "/2016-08-15/proxy/s.prod/f/", "/x"}},
		{"empty qualifier", "/2016-08-15/proxy/s./f/x", false, Target{}},
		{"no function", "/2016-08-15/proxy/s", false, Target{}},
		{"empty function", "/2016-08-15/proxy/s//x", false, Target{}},
		{"empty service", "/2016-08-15/proxy//f", false, Target{}},
		{"other api", "/2016-08-15/services/s", false, Target{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseProxyPath(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ParseProxyPath(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseProxyPath(f *testing.F) {
	for _, s := range []string{"/2016-08-15/proxy/s/f/x?y", "/2016-08-15/proxy/s.q/f", "/2016-08-15/proxy/", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := ParseProxyPath(in)
		if !ok {
			return
		}
		if got.Service == "" || got.Function == "" || got.Qualifier == "" || !strings.HasPrefix(got.Path, "/") {
			t.Fatalf("incomplete target %+v from %q", got, in)
		}
		if strings.Contains(got.Function, "/") || strings.Contains(got.Service, "/") {
			t.Fatalf("names contain '/': %+v", got)
		}
		if !strings.HasPrefix(in, strings.TrimSuffix(got.BasePath, "/")) {
			t.Fatalf("base path %q is not a prefix of %q", got.BasePath, in)
		}
	})
}

func TestSubdomainLabel(t *testing.T) {
	if got := SubdomainLabel("Svc_1", "My_Fn", "abc123"); got != "my-fn-svc-1-abc123" {
		t.Fatalf("got %q", got)
	}
	long := SubdomainLabel(strings.Repeat("s", 128), strings.Repeat("f", 64), "0123456789abcdef")
	if len(long) > 63 || !strings.HasSuffix(long, "-0123456789abcdef") {
		t.Fatalf("label %q (%d chars)", long, len(long))
	}
}

func TestParseTriggerHost(t *testing.T) {
	tests := []struct {
		host, label, id string
		ok              bool
	}{
		{"fn-svc-abc.fcapp.localhost:8080", "fn-svc-abc", "abc", true},
		{"FN-SVC-ABC.FCAPP.LOCALHOST.", "fn-svc-abc", "abc", true},
		{"fn-svc-abc.fcapp.localhost", "fn-svc-abc", "abc", true},
		{"fcapp.localhost", "", "", false},
		{"a.b.fcapp.localhost", "", "", false},
		{"noid.fcapp.localhost", "", "", false},
		{"fn-.fcapp.localhost", "", "", false},
		{"fn-svc-abc.example.com", "", "", false},
		{"]0000-000:.fcapp.localhost", "", "", false},
		{"fn_svc-abc.fcapp.localhost", "", "", false},
		{"127.0.0.1:8080", "", "", false},
	}
	for _, tc := range tests {
		label, id, ok := ParseTriggerHost(tc.host, "fcapp.localhost")
		if label != tc.label || id != tc.id || ok != tc.ok {
			t.Errorf("ParseTriggerHost(%q) = %q, %q, %v; want %q, %q, %v", tc.host, label, id, ok, tc.label, tc.id, tc.ok)
		}
	}
}

func FuzzParseTriggerHost(f *testing.F) {
	for _, s := range []string{"fn-svc-abc.fcapp.localhost:8080", "x.fcapp.localhost", "[::1]:80", "-.fcapp.localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		label, id, ok := ParseTriggerHost(host, "fcapp.localhost")
		if isASCII(host) {
			// The allocation-free matcher agrees with the plain one.
			if l2, id2, ok2 := parseTriggerHostPlain(host, "FCAPP.localhost"); l2 != label || id2 != id || ok2 != ok {
				t.Fatalf("ParseTriggerHost(%q) = %q, %q, %v; the plain matcher says %q, %q, %v", host, label, id, ok, l2, id2, ok2)
			}
		}
		if !ok {
			return
		}
		if id == "" || !strings.HasSuffix(label, "-"+id) || strings.Contains(label, ".") {
			t.Fatalf("ParseTriggerHost(%q) = %q, %q", host, label, id)
		}
		// A label we build routes back to its id.
		if _, id2, ok2 := ParseTriggerHost(SubdomainLabel("s", "f", id)+".fcapp.localhost", "fcapp.localhost"); !ok2 || id2 != id {
			if !strings.Contains(id, "-") {
				t.Fatalf("round trip of id %q failed", id)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// parseTriggerHostPlain is ParseTriggerHost written the obvious way
// (lower-case everything, cut the suffix), the reference for the fuzzer.
func parseTriggerHostPlain(host, domain string) (label, id string, ok bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label, found := strings.CutSuffix(host, "."+strings.ToLower(domain))
	if !found || label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return "", "", false // a label holds letters, digits and '-' only
	}
	i := strings.LastIndexByte(label, '-')
	if i <= 0 || i == len(label)-1 {
		return "", "", false
	}
	return label, label[i+1:], true
}

// TestParseTriggerHostAllocs: every front-door request goes through
// ParseTriggerHost; a lower-case host, with or without a port, costs no
// allocation (neither for a trigger host nor for any other).
func TestParseTriggerHostAllocs(t *testing.T) {
	for _, host := range []string{"fn-svc-abc.fcapp.localhost:8080", "fn-svc-abc.fcapp.localhost", "127.0.0.1:8080", "example.com"} {
		if n := testing.AllocsPerRun(100, func() { ParseTriggerHost(host, "fcapp.localhost") }); n != 0 {
			t.Errorf("ParseTriggerHost(%q) allocates %.0f times; want 0", host, n)
		}
	}
}

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"a.example.com": "a.example.com", "A.Example.COM:8443": "a.example.com", "a.example.com.": "a.example.com",
		"127.0.0.1:8080": "127.0.0.1", "[::1]:80": "::1", "[::1]": "::1", "": "", "localhost": "localhost",
	} {
		if got := HostName(in); got != want {
			t.Errorf("HostName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsPlatformHost(t *testing.T) {
	extra := []string{"api.internal.example"}
	for name, want := range map[string]bool{
		"": true, "localhost": true, "openfc": true, "127.0.0.1": true, "::1": true, "10.1.2.3": true,
		"app.localhost": true, "fcapp.localhost": true, "x-1.fcapp.localhost": true,
		"123456.cn-hangzhou.fc.aliyuncs.com": true, "123456.cn-hangzhou-internal.fc.aliyuncs.com": true,
		"api.internal.example": true, "API.internal.example": true,
		"example.com": false, "a.example.com": false, "fcapp.localhost.example.com": false, "fc.aliyuncs.com.evil": false,
	} {
		if got := IsPlatformHost(name, "fcapp.localhost", extra); got != want {
			t.Errorf("IsPlatformHost(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestPlatformHostAllocs: the host check runs for every request at the
// front door, so a lower-case host costs no allocation.
func TestPlatformHostAllocs(t *testing.T) {
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "app.example.com", "shop.example.com:443", "[::1]:8080"} {
		if n := testing.AllocsPerRun(100, func() { IsPlatformHost(HostName(host), "fcapp.localhost", []string{"api.example"}) }); n != 0 {
			t.Errorf("IsPlatformHost(HostName(%q)) allocates %.0f times; want 0", host, n)
		}
	}
}
