package config

import (
	"strings"
	"testing"
)

// --isolation: process by default, container on request, anything else
// refused naming both.
func TestIsolationFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  string
	}{
		{nil, IsolationProcess, ""},
		{[]string{"--isolation", "container"}, IsolationContainer, ""},
		{[]string{"--isolation=process"}, IsolationProcess, ""},
		{[]string{"--isolation", "runc"}, "", `--isolation "runc": use process or container`},
	} {
		o, err := Load(tc.args, noEnv)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v; want an error containing %q", tc.args, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case o.Isolation != tc.want:
			t.Errorf("%q: isolation %q; want %q", tc.args, o.Isolation, tc.want)
		}
	}
}
