package deploy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// doc turns a test YAML literal into file data: the newline right after the
// opening backquote is dropped so that line 1 is the first line written.
func doc(s string) []byte { return []byte(strings.TrimPrefix(s, "\n")) }

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// show renders v as indented JSON for failure messages.
func show(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func checkPlan(t *testing.T, got, want *Plan) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan mismatch\ngot:  %s\nwant: %s", show(got), show(want))
	}
}

func checkNotices(t *testing.T, got, want []Notice) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notices mismatch\ngot:  %q\nwant: %q", got, want)
	}
}

// The fc3 sample of spec §11.3, with a custom runtime command.
const fc3Sample = `
edition: 3.0.0
name: app
access: default
resources:
  web:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: web
      runtime: custom.debian10        # or custom-container / nodejs18 / python3.10 ...
      code: ./code
      handler: index.handler
      memorySize: 512
      timeout: 60
      customRuntimeConfig: {command: ["/code/bootstrap"], port: 9000}
      environmentVariables: {KEY: v}
      triggers:
        - triggerName: httpTrigger
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET, POST], disableURLInternet: false}
      customDomain:
        domainName: auto               # or your domain
        protocol: HTTP
        route: {path: /*, qualifier: LATEST}
`

// An FC 2.0 fc-component sample in the shape of devsapp/fc docs/zh/yaml.md.
const fc2Sample = `
edition: 1.0.0
name: fc2-app
access: default
vars:
  region: cn-shanghai
services:
  hello:
    component: devsapp/fc
    props:
      region: ${vars.region}
      service:
        name: fc2-demo
        description: FC 2.0 demo
        internetAccess: false
        role: 'acs:ram::${config(AccountID)}:role/AliyunFcDefaultRole'
        logConfig: auto
      function:
        name: hello
        runtime: custom
        codeUri: ../shared/code
        handler: index.handler
        memorySize: 256
        timeout: 10
        instanceConcurrency: 5
        caPort: 8000
        initializer: index.init
        initializationTimeout: 20
        environmentVariables:
          MODE: prod
          PORT: 8000
          EMPTY:
      triggers:
        - name: http-t
          type: http
          qualifier: prod
          config:
            authType: function
            methods:
              - get
              - POST
      customDomains:
        - domainName: auto
          protocol: HTTP
          routeConfigs:
            - path: /*
`

func TestParseSamples(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		region  string
		want    *Plan
		notices []Notice
	}{
		{
			name:   "fc3 sample from spec 11.3",
			data:   fc3Sample,
			region: "cn-hangzhou",
			want: &Plan{Services: []ServicePlan{{
				Service: fc.Service{ServiceName: "app"},
				Functions: []FunctionPlan{{
					Function: fc.Function{
						FunctionName: "web", ServiceName: "app", Runtime: "custom.debian10",
						Handler: "index.handler", MemorySize: 512, Timeout: 60, InstanceConcurrency: 1,
						CustomRuntimeConfig:  &fc.CustomRuntimeConfig{Command: []string{"/code/bootstrap"}, Port: 9000},
						EnvironmentVariables: map[string]string{"KEY": "v"},
					},
					CodeDir: "/srv/app/code",
					Triggers: []fc.Trigger{{
						TriggerName: "httpTrigger", ServiceName: "app", FunctionName: "web",
						TriggerType: "http", Qualifier: "LATEST",
						TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET", "POST"}},
					}},
				}},
			}}},
			notices: []Notice{
				"/srv/app/s.yaml:22: resources.web.props.customDomain.domainName: domainName auto (FC's generated test domain) is not deployed by openfc: the trigger's own URL serves",
			},
		},
		{
			name:   "fc3 sample in another region",
			data:   fc3Sample[:strings.Index(fc3Sample, "      customDomain:")],
			region: "local",
			want: &Plan{Services: []ServicePlan{{
				Service: fc.Service{ServiceName: "app"},
				Functions: []FunctionPlan{{
					Function: fc.Function{
						FunctionName: "web", ServiceName: "app", Runtime: "custom.debian10",
						Handler: "index.handler", MemorySize: 512, Timeout: 60, InstanceConcurrency: 1,
						CustomRuntimeConfig:  &fc.CustomRuntimeConfig{Command: []string{"/code/bootstrap"}, Port: 9000},
						EnvironmentVariables: map[string]string{"KEY": "v"},
					},
					CodeDir: "/srv/app/code",
					Triggers: []fc.Trigger{{
						TriggerName: "httpTrigger", ServiceName: "app", FunctionName: "web",
						TriggerType: "http", Qualifier: "LATEST",
						TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET", "POST"}},
					}},
				}},
			}}},
			notices: []Notice{"/srv/app/s.yaml:8: s.yaml says region cn-hangzhou; openfc serves region local"},
		},
		{
			name:   "fc2 sample",
			data:   fc2Sample,
			region: "cn-hangzhou",
			want: &Plan{Services: []ServicePlan{{
				Service: fc.Service{ServiceName: "fc2-demo", Description: "FC 2.0 demo", InternetAccess: new(false)},
				Functions: []FunctionPlan{{
					Function: fc.Function{
						FunctionName: "hello", ServiceName: "fc2-demo", Runtime: "custom",
						Handler: "index.handler", MemorySize: 256, Timeout: 10, InstanceConcurrency: 5,
						CAPort: 8000, Initializer: "index.init", InitializationTimeout: 20,
						EnvironmentVariables: map[string]string{"MODE": "prod", "PORT": "8000", "EMPTY": ""},
					},
					CodeDir: "/srv/shared/code",
					Triggers: []fc.Trigger{{
						TriggerName: "http-t", ServiceName: "fc2-demo", FunctionName: "hello",
						TriggerType: "http", Qualifier: "prod",
						TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "function", Methods: []string{"GET", "POST"}},
					}},
				}},
			}}},
			notices: []Notice{
				"/srv/app/s.yaml:10: s.yaml says region cn-shanghai; openfc serves region cn-hangzhou",
				"/srv/app/s.yaml:15: services.hello.props.service.role: openfc does not apply role; ignored",
				"/srv/app/s.yaml:16: services.hello.props.service.logConfig: openfc does not apply logConfig; ignored",
				"/srv/app/s.yaml:42: services.hello.props.customDomains[0].domainName: domainName auto (FC's generated test domain) is not deployed by openfc: the trigger's own URL serves",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, notices, err := Parse("/srv/app/s.yaml", doc(tt.data), env(nil), tt.region)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkPlan(t, plan, tt.want)
			checkNotices(t, notices, tt.notices)
		})
	}
}

// fc3Plan is the plan of the smallest valid fc3 function in service app,
// with code in /srv/app/code, changed by mods.
func fc3Plan(name string, mods ...func(*FunctionPlan)) FunctionPlan {
	fp := FunctionPlan{
		Function: fc.Function{
			FunctionName: name, ServiceName: "app", Runtime: "custom", Handler: "index.handler",
			MemorySize: fc.DefaultMemorySize, Timeout: fc.DefaultTimeout, InstanceConcurrency: 1,
		},
		CodeDir: "/srv/app/code",
	}
	for _, m := range mods {
		m(&fp)
	}
	return fp
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    *Plan
		notices []Notice
	}{
		{
			name: "component spellings and order",
			data: `
edition: 3.0.0
name: app
resources:
  b:
    component: devsapp/fc3
    props: {functionName: b, runtime: custom, code: ./code}
  a:
    component: fc3@dev
    props: {functionName: a, runtime: custom, code: ./code}
  c:
    component: FC3@0.1.0
    props: {functionName: c, runtime: custom, code: ./code}
`,
			want: &Plan{Services: []ServicePlan{{
				Service:   fc.Service{ServiceName: "app"},
				Functions: []FunctionPlan{fc3Plan("b"), fc3Plan("a"), fc3Plan("c")},
			}}},
		},
		{
			name: "fc3 lifecycle initializer and code src",
			data: `
edition: 3.0.0
name: app
resources:
  web:
    component: fc3
    props:
      functionName: web
      runtime: custom.debian10
      code: {src: ./code}
      instanceLifecycleConfig:
        initializer: {handler: index.init, timeout: 7}
        preStop: {handler: index.stop, timeout: 3}
`,
			want: &Plan{Services: []ServicePlan{{
				Service: fc.Service{ServiceName: "app"},
				Functions: []FunctionPlan{fc3Plan("web", func(fp *FunctionPlan) {
					fp.Function.Runtime = "custom.debian10"
					fp.Function.Initializer = "index.init"
					fp.Function.InitializationTimeout = 7
					fp.Function.InstanceLifecycleConfig = &fc.InstanceLifecycleConfig{PreStop: &fc.LifecycleHook{Handler: "index.stop", Timeout: 3}}
				})},
			}}},
		},
		{
			name: "fc component under resources, merged services, service-only entry",
			data: `
edition: 3.0.0
name: app
resources:
  svc-only:
    component: fc
    props:
      service: {name: shared}
  one:
    component: devsapp/fc
    props:
      service: {name: shared}
      function: {name: one, runtime: custom, code: ./code}
  two:
    component: fc
    props:
      service: {name: shared, description: other}
      function: {name: two, runtime: custom, codeUri: {src: ./code}}
  web:
    component: fc3
    props: {functionName: web, runtime: custom, code: ./code}
  domain:
    component: fc3-domain
    props: {domainName: auto}
`,
			want: &Plan{Services: []ServicePlan{
				{
					Service: fc.Service{ServiceName: "shared"},
					Functions: []FunctionPlan{
						fc3Plan("one", func(fp *FunctionPlan) { fp.Function.ServiceName = "shared" }),
						fc3Plan("two", func(fp *FunctionPlan) { fp.Function.ServiceName = "shared" }),
					},
				},
				{Service: fc.Service{ServiceName: "app"}, Functions: []FunctionPlan{fc3Plan("web")}},
			}},
			notices: []Notice{
				"/srv/app/s.yaml:16: service shared is also configured at line 7 with different settings; the first one is used",
				"/srv/app/s.yaml:22: resources.domain uses component fc3-domain, which openfc does not deploy; skipped",
			},
		},
		{
			name: "actions, extend and YAML anchors",
			data: `
edition: 3.0.0
name: app
extend: base.yaml
vars:
  props: &common
    runtime: custom
    code: ./code
    timeout: 9
resources:
  web:
    component: fc3
    actions:
      pre-deploy:
        - run: npm ci
          path: ./code
        - plugin: some-plugin
    props:
      <<: *common
      functionName: web
      timeout: 12
`,
			want: &Plan{Services: []ServicePlan{{
				Service: fc.Service{ServiceName: "app"},
				Functions: []FunctionPlan{fc3Plan("web", func(fp *FunctionPlan) {
					fp.Function.Timeout = 12
				})},
			}}},
			notices: []Notice{
				"/srv/app/s.yaml:3: extend is not supported by openfc and was ignored",
				`/srv/app/s.yaml:12: openfc does not run actions; run them yourself before deploying (pre-deploy: "npm ci" in ./code)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, notices, err := Parse("/srv/app/s.yaml", doc(tt.data), env(nil), "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkPlan(t, plan, tt.want)
			checkNotices(t, notices, tt.notices)
		})
	}
}

func TestCodeDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		code string
		want string
	}{
		{"dot slash", "/srv/app/s.yaml", "./code", "/srv/app/code"},
		{"bare name", "/srv/app/s.yaml", "code", "/srv/app/code"},
		{"parent", "/srv/app/s.yaml", "../lib/code/", "/srv/lib/code"},
		{"the s.yaml directory", "/srv/app/s.yaml", ".", "/srv/app"},
		{"absolute", "/srv/app/s.yaml", "/opt/fn", "/opt/fn"},
		{"src mapping", "/srv/app/s.yaml", "{src: ./code}", "/srv/app/code"},
		{"relative s.yaml path", "sub/s.yaml", "./code", filepath.Join(cwd, "sub", "code")},
		{"bare s.yaml name", "s.yaml", "code", filepath.Join(cwd, "code")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "name: app\nresources:\n  f:\n    component: fc3\n    props: {functionName: f, runtime: custom, code: " + tt.code + "}\n"
			plan, _, err := Parse(tt.path, []byte(data), nil, "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := plan.Services[0].Functions[0].CodeDir; got != tt.want {
				t.Errorf("CodeDir = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseExamples(t *testing.T) {
	code, err := filepath.Abs("../../examples/express-hello/code")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file     string
		service  string
		function fc.Function
		// noDeps is the notice's text after the file name when the
		// example's node_modules is missing.
		noDeps string
	}{
		{
			file:    "../../examples/express-hello/s.yaml",
			service: "demo",
			noDeps:  ":16: resources.express-hello.props.code: ./code",
			function: fc.Function{
				FunctionName: "express-hello", ServiceName: "demo", Runtime: "custom.debian10",
				Description: "Express 4 hello-world on a custom runtime",
				Handler:     "index.handler", MemorySize: 512, Timeout: 30, InstanceConcurrency: 1,
				CustomRuntimeConfig:  &fc.CustomRuntimeConfig{Command: []string{"node"}, Args: []string{"server.js"}, Port: 9000},
				EnvironmentVariables: map[string]string{"GREETING": "hello"},
			},
		},
		{
			file:    "../../examples/fc2-hello/s.yaml",
			service: "fc2-demo",
			noDeps:  ":21: services.hello.props.function.codeUri: ../express-hello/code",
			function: fc.Function{
				FunctionName: "hello", ServiceName: "fc2-demo", Runtime: "custom",
				Description: "Express 4 hello-world on a custom runtime",
				Handler:     "index.handler", MemorySize: 512, Timeout: 30, InstanceConcurrency: 1, CAPort: 9000,
				CustomRuntimeConfig:  &fc.CustomRuntimeConfig{Command: []string{"node"}, Args: []string{"server.js"}},
				EnvironmentVariables: map[string]string{"GREETING": "hello from FC 2.0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			plan, notices, err := ParseFile(tt.file, env(nil), "cn-hangzhou")
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			// The example's dependencies are installed by `make deps`;
			// without them deploy warns, and nothing else.
			var wantNotices []Notice
			if _, err := os.Stat(filepath.Join(code, "node_modules")); err != nil {
				wantNotices = []Notice{Notice(tt.file + tt.noDeps + " has a package.json with dependencies but no node_modules directory; " +
					"openfc uploads the directory as it is (FC's tools do not install them either): run `npm install` there first")}
			}
			checkNotices(t, notices, wantNotices)
			if len(plan.Services) != 1 || plan.Services[0].Service.ServiceName != tt.service {
				t.Fatalf("services: %s", show(plan.Services))
			}
			fns := plan.Services[0].Functions
			if len(fns) != 1 {
				t.Fatalf("functions: %s", show(fns))
			}
			if !reflect.DeepEqual(fns[0].Function, tt.function) {
				t.Errorf("function\ngot:  %s\nwant: %s", show(fns[0].Function), show(tt.function))
			}
			if fns[0].CodeDir != code {
				t.Errorf("CodeDir = %q, want %q", fns[0].CodeDir, code)
			}
			want := []fc.Trigger{{
				TriggerName: "httpTrigger", ServiceName: tt.service, FunctionName: tt.function.FunctionName,
				TriggerType: "http", Qualifier: "LATEST",
				TriggerConfig: &fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET", "POST"}},
			}}
			if !reflect.DeepEqual(fns[0].Triggers, want) {
				t.Errorf("triggers\ngot:  %s\nwant: %s", show(fns[0].Triggers), show(want))
			}
		})
	}
}

func TestParseFileMissing(t *testing.T) {
	_, _, err := ParseFile(filepath.Join(t.TempDir(), "s.yaml"), nil, "")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}

func TestComponentKind(t *testing.T) {
	tests := map[string]string{
		"fc3": "fc3", "devsapp/fc3": "fc3", "fc3@dev": "fc3", "devsapp/fc3@0.0.24": "fc3",
		"fc": "fc", "devsapp/fc": "fc", "fc@1.0": "fc", "FC": "fc",
		"fc3-domain": "fc3-domain", "devsapp/oss": "oss",
	}
	for in, want := range tests {
		if got := componentKind(in); got != want {
			t.Errorf("componentKind(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNameOnlyForFC3 checks that a file without fc3 resources needs no
// top-level name, and that the name is not even expanded.
func TestNameOnlyForFC3(t *testing.T) {
	for _, head := range []string{"", "name: ${config(Name)}\n"} {
		data := head + "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function: {name: f, runtime: custom, codeUri: .}\n"
		plan, _, err := Parse("/srv/app/s.yaml", []byte(data), nil, "")
		if err != nil {
			t.Fatalf("Parse(%q): %v", head, err)
		}
		if got := plan.Services[0].Functions[0].Function.FunctionName; got != "f" {
			t.Errorf("function %q", got)
		}
	}
}
