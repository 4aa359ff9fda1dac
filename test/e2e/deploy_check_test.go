package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

// cliSplit runs the CLI against s and returns its stdout and stderr apart.
func (s *server) cliSplit(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(binary, append([]string{"--endpoint", s.URL}, args...)...)
	cmd.Env = testEnv()
	cmd.Dir = repoRoot()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// checkCodeDir returns a directory holding s.yaml files and ./code, a copy
// of pyecho whose package.json lists a dependency without node_modules
// when withPackage is set.
func checkCodeDir(t *testing.T, withPackage bool) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repoRoot(), "test/e2e/testdata/pyecho/server.py"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"server.py": string(src)}
	if withPackage {
		files["package.json"] = `{"name": "echo", "dependencies": {"left-pad": "^1.3.0"}}`
	}
	if err := os.Mkdir(filepath.Join(dir, "code"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, "code", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withoutLine returns s without the line holding marker.
func withoutLine(s, marker string) string {
	i := strings.Index(s, marker)
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := i + strings.IndexByte(s[i:], '\n') + 1
	return s[:start] + s[end:]
}

// checkState is what the server holds, to compare before and after a
// refused deploy.
type checkState struct {
	Services  []string
	Functions []string
	Keep      client.Function
	Trigger   client.Trigger
}

func readCheckState(ctx context.Context, t *testing.T, c *client.Client) checkState {
	t.Helper()
	var st checkState
	svcs, _, err := c.ListServices(ctx, client.ListOptions{})
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	for _, s := range svcs {
		st.Services = append(st.Services, s.ServiceName)
	}
	fns, _, err := c.ListFunctions(ctx, "chk", client.ListOptions{})
	if err != nil {
		t.Fatalf("list functions: %v", err)
	}
	for _, f := range fns {
		st.Functions = append(st.Functions, f.FunctionName)
	}
	slices.Sort(st.Services)
	slices.Sort(st.Functions)
	keep, err := c.GetFunction(ctx, "chk", "keep")
	if err != nil {
		t.Fatalf("get keep: %v", err)
	}
	trig, err := c.GetTrigger(ctx, "chk", "keep", "http")
	if err != nil {
		t.Fatalf("get keep's trigger: %v", err)
	}
	st.Keep, st.Trigger = *keep, *trig
	return st
}

// checkKeep is an fc3 resource that redeploys chk/keep with other settings
// (and a trigger allowing GET only): it is valid, so the refused files
// below would change keep if openfc applied them in part.
const checkKeep = `  keep:
    component: fc3
    props:
      functionName: keep
      runtime: custom.debian10
      code: ./code
      memorySize: 256
      description: changed by a refused deploy
      customRuntimeConfig: {command: [python3, server.py], port: 9000}
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET]}
`

// checkAdded is a new fc3 function; BAD is replaced by a case's line (a
// valid one, as the mistake is elsewhere, or the mistake).
const checkAdded = `  added:
    component: fc3
    props:
      functionName: added
      runtime: custom.debian10
      code: ./code
      customRuntimeConfig: {command: [python3, server.py]}
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET]}
      BAD
`

// checkFC2 is a new service with a function in the FC 2.0 format; BAD is
// replaced as in checkAdded.
const checkFC2 = `  fc2:
    component: devsapp/fc
    props:
      service:
        name: chk-fc2
        BAD
      function:
        name: fc2fn
        runtime: custom
        codeUri: ./code
        customRuntimeConfig: {command: [python3, server.py]}
      triggers:
        - name: http
          type: http
          config: {authType: anonymous, methods: [GET]}
`

// s.yaml files with a mistake fail before anything changes on the server,
// naming the file, line and key, with a hint when one is close; FC
// settings openfc does not apply deploy with a warning each, and the
// function works.
func TestDeployCheck(t *testing.T) {
	s := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := client.New(s.URL, accountID, client.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret})
	s.deployEcho(echoOpts{service: "chk", name: "keep"})
	before := readCheckState(ctx, t, c)
	dir := checkCodeDir(t, false)

	for _, tc := range []struct {
		name string
		// resources is the file's resources (after checkKeep); from is
		// the text in it that bad replaces, the line with BAD when empty.
		// The error must name bad's line.
		resources, from, bad string
		msgs                 []string
	}{
		{"unknown key", checkAdded, "", "timout: 10",
			[]string{`resources.added.props.timout: unknown key "timout" in an fc3 function; did you mean "timeout"?`}},
		{"key case", checkAdded, "", "MemorySize: 512",
			[]string{`resources.added.props.MemorySize: unknown key "MemorySize" in an fc3 function; did you mean "memorySize"?`}},
		{"unknown runtime", checkAdded, "runtime: custom.debian10", "runtime: custom.debain10",
			[]string{`resources.added.props.runtime: runtime "custom.debain10" is not a Function Compute runtime (did you mean "custom.debian10"?)`,
				"openfc runs custom, custom.debian10, custom.debian11, custom.debian12"}},
		{"wrong type", checkAdded, "", "memorySize: big",
			[]string{`resources.added.props.memorySize: expected an integer, got "big"`}},
		{"missing code", checkAdded, "code: ./code", "code: ./cdoe",
			[]string{"resources.added.props.code: code directory ./cdoe does not exist", "did you mean ./code?"}},
		{"trigger config key", checkAdded, "methods: [GET]", "methds: [GET]",
			[]string{`resources.added.props.triggers[0].triggerConfig.methds: unknown key "methds" in an HTTP trigger's config; did you mean "methods"?`}},
		{"fc2 service key", checkFC2, "", "internetAcess: true",
			[]string{`resources.fc2.props.service.internetAcess: unknown key "internetAcess" in a service; did you mean "internetAccess"?`}},
		{"fc2 function key", checkFC2, "codeUri: ./code", "codeURI: ./code",
			[]string{`resources.fc2.props.function.codeURI: unknown key "codeURI" in a function; did you mean "codeUri"?`}},
	} {
		res := tc.resources
		if tc.from == "" {
			res = strings.Replace(res, "BAD", tc.bad, 1)
		} else {
			res = withoutLine(strings.Replace(res, tc.from, tc.bad, 1), "BAD")
		}
		yaml := "edition: 3.0.0\nname: chk\nresources:\n" + checkKeep + res
		path := filepath.Join(dir, tc.name+".yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		i := strings.Index(yaml, tc.bad)
		if i < 0 {
			t.Fatalf("%s: %q is not in the file", tc.name, tc.bad)
		}
		line := strings.Count(yaml[:i], "\n") + 1
		out, err := s.tryCLI("deploy", "-f", path)
		if err == nil {
			t.Errorf("%s: deploy succeeded:\n%s", tc.name, out)
		}
		for _, m := range append([]string{fmt.Sprintf("%s:%d: ", path, line)}, tc.msgs...) {
			if !strings.Contains(out, m) {
				t.Errorf("%s: deploy output does not contain %q:\n%s", tc.name, m, out)
			}
		}
		if strings.Contains(out, "deployed ") {
			t.Errorf("%s: deploy printed a deployed function:\n%s", tc.name, out)
		}
		if after := readCheckState(ctx, t, c); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: the server changed\nbefore: %+v\nafter:  %+v", tc.name, before, after)
		}
	}
	// The CLI's view agrees: chk holds keep only, unchanged.
	if list := s.cli("functions", "list", "chk"); strings.Contains(list, "added") || !strings.Contains(list, "keep") {
		t.Errorf("functions list chk:\n%s", list)
	}
	if r := s.getEcho("/2016-08-15/proxy/chk/keep/still", nil); r.Name != "keep" {
		t.Errorf("keep answered %+v", r)
	}

	t.Run("real-world settings", func(t *testing.T) { deployRealWorld(t, s) })
}

// realWorldYAML is an s.yaml shaped like the components' own examples:
// VPC, log, NAS and role settings, layers, a custom domain, next to what
// openfc runs. Its fc3 function's code has a package.json without
// node_modules.
const realWorldYAML = `edition: 3.0.0
name: rw
access: default
vars:
  region: cn-hangzhou
resources:
  web:
    component: fc3
    props:
      region: ${vars.region}
      functionName: web
      runtime: custom.debian10
      code: ./code
      memorySize: 512
      timeout: 30
      role: acs:ram::1234567890123456:role/aliyunfcdefaultrole
      logConfig: auto
      vpcConfig:
        vpcId: vpc-xxx
        securityGroupId: sg-xxx
        vSwitchIds: [vsw-xxx]
      customRuntimeConfig:
        command: [python3, server.py]
        port: 9000
      environmentVariables:
        ECHO_NAME: rw-web
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET, POST]}
  legacy:
    component: devsapp/fc
    props:
      region: cn-hangzhou
      service:
        name: rw-fc2
        description: FC 2.0 shaped
        internetAccess: true
        logConfig:
          project: my-project
          logstore: my-logstore
          enableRequestMetrics: true
        vpcConfig: auto
        nasConfig: auto
      function:
        name: hello
        runtime: custom
        codeUri: ./code
        memorySize: 256
        layers: [acs:fc:cn-hangzhou:official:layers/Python310/versions/2]
        customRuntimeConfig: {command: [python3, server.py]}
        environmentVariables: {ECHO_NAME: rw-fc2}
      triggers:
        - name: http
          type: http
          config: {authType: anonymous, methods: [GET]}
      customDomains:
        - domainName: auto
          protocol: HTTP
          routeConfigs:
            - path: /*
              serviceName: rw-fc2
              functionName: hello
`

// deployRealWorld deploys realWorldYAML: one warning on stderr per ignored
// setting, at its line, and both functions answer.
func deployRealWorld(t *testing.T, s *server) {
	dir := checkCodeDir(t, true)
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(realWorldYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := s.cliSplit("deploy", "-f", path)
	if err != nil {
		t.Fatalf("deploy: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	lineOf := func(text string) int {
		i := strings.Index(realWorldYAML, text)
		if i < 0 {
			t.Fatalf("%q is not in the file", text)
		}
		return strings.Count(realWorldYAML[:i], "\n") + 1
	}
	var want []string
	for _, w := range []struct{ field, text string }{
		{"resources.web.props.role", "      role:"},
		{"resources.web.props.logConfig", "      logConfig: auto"},
		{"resources.web.props.vpcConfig", "      vpcConfig:\n        vpcId"},
		{"resources.legacy.props.service.logConfig", "        logConfig:\n"},
		{"resources.legacy.props.service.vpcConfig", "        vpcConfig: auto"},
		{"resources.legacy.props.service.nasConfig", "        nasConfig: auto"},
		{"resources.legacy.props.function.layers", "        layers:"},
	} {
		key := w.field[strings.LastIndex(w.field, ".")+1:]
		want = append(want, fmt.Sprintf("warning: %s:%d: %s: openfc does not apply %s; ignored", path, lineOf(w.text), w.field, key))
	}
	want = append(want,
		fmt.Sprintf("warning: %s:%d: resources.legacy.props.customDomains[0].domainName: domainName auto (FC's generated test domain) is not deployed by openfc: the trigger's own URL serves", path, lineOf("        - domainName: auto")),
		fmt.Sprintf("warning: %s:%d: resources.web.props.code: ./code has a package.json with dependencies but no node_modules directory", path, lineOf("      code: ./code")),
		fmt.Sprintf("warning: %s:%d: resources.legacy.props.function.codeUri: ./code has a package.json with dependencies but no node_modules directory", path, lineOf("        codeUri: ./code")),
	)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, w := range want {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("stderr has %d lines starting %q; want 1:\n%s", n, w, stderr)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("stderr has %d lines; want %d warnings:\n%s", len(lines), len(want), stderr)
	}
	if strings.Contains(stdout, "warning:") || !strings.Contains(stdout, "deployed rw/web") || !strings.Contains(stdout, "deployed rw-fc2/hello") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if r := s.getEcho("/2016-08-15/proxy/rw/web/hi", nil); r.Name != "rw-web" || r.Path != "/hi" {
		t.Errorf("rw/web answered %+v", r)
	}
	if r := s.getEcho("/2016-08-15/proxy/rw-fc2/hello/there", nil); r.Name != "rw-fc2" || r.Path != "/there" {
		t.Errorf("rw-fc2/hello answered %+v", r)
	}
}
