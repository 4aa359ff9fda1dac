package route

import (
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
