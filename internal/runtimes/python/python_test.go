package python

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestMatches(t *testing.T) {
	for rt, want := range map[string]bool{
		"python3": true, "python3.9": true, "python3.10": true, "python3.12": true,
		"python2.7": false, "python3.": false, "python3.x": false, "python310": false, "nodejs18": false, "custom": false, "": false,
	} {
		if got := (Runtime{}).Matches(rt); got != want {
			t.Errorf("Matches(%q) = %v, want %v", rt, got, want)
		}
	}
}

// fakePython writes an interpreter that reports version v.
func fakePython(t *testing.T, v string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+v+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, version, rt string
		warn, err         string // substrings; "" for none
	}{
		{"newer", "3.11.2", "python3.10", "", ""},
		{"plain python3", "3.9.2", "python3", "", ""},
		{"older than asked", "3.9.2", "python3.10", "asks for Python 3.10; this node runs it on Python 3.9.2", ""},
		{"too old", "3.6.9", "python3", "", "needs Python 3.9 or later"},
		{"python 2", "2.7.18", "python3", "", "needs Python 3.9 or later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warn, err := Runtime{Interpreter: fakePython(t, tc.version)}.Check(tc.rt)
			if !contains(warn, tc.warn) || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Check(%q) = %q, %v; want warning %q, error %q", tc.rt, warn, err, tc.warn, tc.err)
			}
		})
	}
}

func contains(s, sub string) bool {
	if sub == "" {
		return s == ""
	}
	return strings.Contains(s, sub)
}

// TestCheckMissing: no interpreter is a deploy-time error naming the
// Debian package, or the variable that named a missing one.
func TestCheckMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(InterpreterEnv, "")
	if _, err := (Runtime{}).Check("python3.10"); err == nil || !strings.Contains(err.Error(), "apt-get install python3") {
		t.Errorf("no python3: %v", err)
	}
	t.Setenv(InterpreterEnv, "/nonexistent/python")
	if _, err := (Runtime{}).Check("python3.10"); err == nil || !strings.Contains(err.Error(), InterpreterEnv+"=/nonexistent/python") {
		t.Errorf("missing %s: %v", InterpreterEnv, err)
	}
}

func TestLaunch(t *testing.T) {
	t.Setenv(InterpreterEnv, "/opt/venv/bin/python")
	fn := &fc.Function{Runtime: "python3.10", Handler: "index.handler", Initializer: "index.init",
		InstanceLifecycleConfig: &fc.InstanceLifecycleConfig{PreStop: &fc.LifecycleHook{Handler: "index.stop", Timeout: 3}}}
	l, err := Runtime{}.Launch(fn, "/code", "/var/lib/openfc/runtimes/python")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/opt/venv/bin/python", "/var/lib/openfc/runtimes/python/bootstrap.py"}; !slices.Equal(l.Command, want) {
		t.Errorf("command %v, want %v", l.Command, want)
	}
	for _, kv := range []string{"PYTHONDONTWRITEBYTECODE=1", "FC_RUNTIME=python3.10"} {
		if !slices.Contains(l.Env, kv) {
			t.Errorf("env %v lacks %s", l.Env, kv)
		}
	}
	for _, h := range []string{"index", ".handler", "index.", "a b.handler"} {
		fn := &fc.Function{Runtime: "python3", Handler: h}
		if _, err := (Runtime{}).Launch(fn, "/code", "/b"); err == nil {
			t.Errorf("handler %q accepted", h)
		}
	}
}

// TestFilesHoldBootstrap: the embedded files are what Launch runs.
func TestFilesHoldBootstrap(t *testing.T) {
	b, err := Files.ReadFile("bootstrap.py")
	if err != nil || !strings.Contains(string(b), "def main():") {
		t.Fatalf("embedded bootstrap.py: %v", err)
	}
	if _, err := Files.ReadFile("_openfc_event.py"); err != nil {
		t.Fatalf("embedded _openfc_event.py: %v", err)
	}
}
