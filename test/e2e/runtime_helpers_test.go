package e2e

import (
	"fmt"
	"path/filepath"
)

// builtinFC2 is a built-in runtime function as an FC 2.0 (fc component)
// s.yaml deploys it, so that it gets FC 2.0's HTTP handler: its service
// and name, runtime, code directory (relative to the repository unless
// absolute), handler and initializer ("": index.handler,
// index.initializer), instanceConcurrency and memorySize (0: FC's
// default), behind an anonymous GET/POST trigger.
type builtinFC2 struct {
	service, name, runtime, code string
	handler, initializer         string
	concurrency, memory          int
}

// deployBuiltinFC2 writes f's s.yaml and deploys it with the CLI.
func (s *server) deployBuiltinFC2(f builtinFC2) {
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
