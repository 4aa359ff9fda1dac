package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// builtinFn is a built-in runtime function: its service and name,
// runtime, code directory (relative to the repository unless absolute),
// handler and initializer ("": index.handler, index.initializer),
// instanceConcurrency and memorySize (0: FC's default).
type builtinFn struct {
	service, name, runtime, code string
	handler, initializer         string
	concurrency, memory          int
}

// deployBuiltinFC2 deploys f from an FC 2.0 (fc component) s.yaml, so
// that it gets FC 2.0's HTTP handler, behind an anonymous GET/POST
// trigger.
func (s *server) deployBuiltinFC2(f builtinFn) {
	s.t.Helper()
	if f.handler == "" {
		f.handler, f.initializer = "index.handler", "index.initializer"
	}
	if !filepath.IsAbs(f.code) {
		f.code = filepath.Join(repoRoot(), f.code)
	}
	extra := ""
	if f.concurrency > 0 {
		extra += fmt.Sprintf("        instanceConcurrency: %d\n", f.concurrency)
	}
	if f.memory > 0 {
		extra += fmt.Sprintf("        memorySize: %d\n", f.memory)
	}
	yaml := fmt.Sprintf(`edition: 1.0.0
name: %[1]s
services:
  fn:
    component: devsapp/fc
    props:
      region: cn-hangzhou
      service: {name: %[1]s}
      function:
        name: %[2]s
        runtime: %[3]s
        codeUri: %[4]s
        handler: %[5]s
        initializer: %[6]s
        timeout: 20
%[7]s      triggers:
        - name: http
          type: http
          config: {authType: anonymous, methods: [GET, POST]}
`, f.service, f.name, f.runtime, f.code, f.handler, f.initializer, extra)
	s.cli("deploy", "-f", writeYAML(s.t, yaml))
}

// deployBuiltinFC3 deploys f (the s.yaml's name is its service) from
// an fc3 s.yaml, so that it gets FC 3.0's HTTP event, behind an anonymous
// GET trigger.
func (s *server) deployBuiltinFC3(f builtinFn) {
	s.t.Helper()
	if !filepath.IsAbs(f.code) {
		f.code = filepath.Join(repoRoot(), f.code)
	}
	extra := ""
	if f.memory > 0 {
		extra = fmt.Sprintf("      memorySize: %d\n", f.memory)
	}
	yaml := fmt.Sprintf(`edition: 3.0.0
name: %[1]s
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %[2]s
      runtime: %[3]s
      code: %[4]s
      handler: %[5]s
%[6]s      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET]}
`, f.service, f.name, f.runtime, f.code, f.handler, extra)
	s.cli("deploy", "-f", writeYAML(s.t, yaml))
}

// initializedOnce checks that the function at base (its /init answers
// {"InitCalls": n}) ran its initializer once.
func (s *server) initializedOnce(t *testing.T, base string) {
	t.Helper()
	var init struct{ InitCalls int }
	json.Unmarshal([]byte(s.getOK(base+"/init")), &init)
	if init.InitCalls != 1 {
		t.Errorf("initializer ran %d times; want 1", init.InitCalls)
	}
}

// goBootstrap builds the Go program pkg (a path from the repository
// root) statically into a fresh code directory as its bootstrap, and
// returns the directory.
func goBootstrap(t *testing.T, pkg string) string {
	t.Helper()
	code := t.TempDir()
	goBuild(t, pkg, filepath.Join(code, "bootstrap"))
	return code
}

// goBuild builds the Go program pkg statically into out.
func goBuild(t *testing.T, pkg, out string) {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir = repoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}
