package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fc3Fn is a valid fc3 function's props after fc3Head, on lines 7 to 9.
const fc3Fn = "      functionName: web\n      runtime: custom\n      code: .\n"

// fc2Head is an FC 2.0 resource up to its function's name, runtime and
// codeUri (lines 1 to 9); service keys go on line 6, function keys from
// line 10.
const fc2Head = "services:\n  s:\n    component: fc\n    props:\n      service:\n        name: s\n      function:\n        name: f\n        runtime: custom\n        codeUri: .\n"

// fc2Trigger is an HTTP trigger for fc2Head, on lines 11 to 15.
const fc2Trigger = "      triggers:\n        - name: t\n          type: http\n          config:\n            methods: [GET]\n"

// TestCheckErrors covers the checks of item 4: unknown keys (with a hint
// when one is close), unknown runtimes (with the list openfc runs) and
// values of the wrong type, in both formats, each at its file:line and key.
func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		// Unknown keys in a function, fc3.
		{"fc3 typo", fc3Head + fc3Fn + "      timout: 10\n",
			`s.yaml:10: resources.web.props.timout: unknown key "timout" in an fc3 function; did you mean "timeout"?`},
		{"fc3 case", fc3Head + fc3Fn + "      MemorySize: 256\n",
			`s.yaml:10: resources.web.props.MemorySize: unknown key "MemorySize" in an fc3 function; did you mean "memorySize"?`},
		{"fc3 swapped letters", fc3Head + fc3Fn + "      enviromentVairables: {A: b}\n",
			`s.yaml:10: resources.web.props.enviromentVairables: unknown key "enviromentVairables" in an fc3 function; did you mean "environmentVariables"?`},
		{"fc3 nothing close", fc3Head + fc3Fn + "      flavour: vanilla\n",
			`s.yaml:10: resources.web.props.flavour: unknown key "flavour" in an fc3 function`},
		{"fc3 typo before a missing field", fc3Head + "      functionName: web\n      runtim: custom\n      code: .\n",
			`s.yaml:8: resources.web.props.runtim: unknown key "runtim" in an fc3 function; did you mean "runtime"?`},
		{"fc3 fc2 key", fc3Head + fc3Fn + "      codeUri: .\n",
			`s.yaml:10: resources.web.props.codeUri: unknown key "codeUri" in an fc3 function`},
		{"fc3 trigger", fc3Head + fc3Fn + "      triggers:\n        - triggerNmae: t\n          triggerType: http\n",
			`s.yaml:11: resources.web.props.triggers[0].triggerNmae: unknown key "triggerNmae" in a trigger; did you mean "triggerName"?`},
		{"fc3 trigger with fc2 names", fc3Head + fc3Fn + "      triggers:\n        - name: t\n",
			`s.yaml:11: resources.web.props.triggers[0].name: unknown key "name" in a trigger`},
		{"fc3 trigger config", fc3Head + fc3Fn + "      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            method: [GET]\n",
			`s.yaml:14: resources.web.props.triggers[0].triggerConfig.method: unknown key "method" in an HTTP trigger's config; did you mean "methods"?`},
		{"fc3 custom runtime config", fc3Head + fc3Fn + "      customRuntimeConfig:\n        comand: [node]\n",
			`s.yaml:11: resources.web.props.customRuntimeConfig.comand: unknown key "comand" in customRuntimeConfig; did you mean "command"?`},
		{"fc3 health check", fc3Head + fc3Fn + "      customRuntimeConfig:\n        healthCheckConfig:\n          httpGetURL: /\n",
			`s.yaml:12: resources.web.props.customRuntimeConfig.healthCheckConfig.httpGetURL: unknown key "httpGetURL" in a health check; did you mean "httpGetUrl"?`},
		{"fc3 lifecycle", fc3Head + fc3Fn + "      instanceLifecycleConfig:\n        initialiser: {handler: i}\n",
			`s.yaml:11: resources.web.props.instanceLifecycleConfig.initialiser: unknown key "initialiser" in instanceLifecycleConfig; did you mean "initializer"?`},
		{"fc3 lifecycle hook", fc3Head + fc3Fn + "      instanceLifecycleConfig:\n        preStop:\n          handler: h\n          timout: 3\n",
			`s.yaml:13: resources.web.props.instanceLifecycleConfig.preStop.timout: unknown key "timout" in a lifecycle hook; did you mean "timeout"?`},
		{"fc3 code mapping", fc3Head + "      functionName: web\n      runtime: custom\n      code:\n        scr: .\n",
			`s.yaml:10: resources.web.props.code.scr: unknown key "scr" in a code mapping; did you mean "src"?`},
		{"fc3 custom domain", fc3Head + fc3Fn + "      customDomain:\n        domainNmae: auto\n",
			`s.yaml:11: resources.web.props.customDomain.domainNmae: unknown key "domainNmae" in a custom domain; did you mean "domainName"?`},
		{"fc3 custom domain route", fc3Head + fc3Fn + "      customDomain:\n        domainName: auto\n        route:\n          paht: /*\n",
			`s.yaml:13: resources.web.props.customDomain.route.paht: unknown key "paht" in a custom domain route; did you mean "path"?`},

		// Unknown keys, FC 2.0.
		{"fc2 props", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      fucntion: {name: f}\n",
			`s.yaml:6: services.s.props.fucntion: unknown key "fucntion" in the props of an fc resource; did you mean "function"?`},
		{"fc2 service", "services:\n  s:\n    component: fc\n    props:\n      service:\n        name: s\n        internetAcess: true\n",
			`s.yaml:7: services.s.props.service.internetAcess: unknown key "internetAcess" in a service; did you mean "internetAccess"?`},
		{"fc2 function", fc2Head + "        memorySise: 256\n",
			`s.yaml:11: services.s.props.function.memorySise: unknown key "memorySise" in a function; did you mean "memorySize"?`},
		{"fc2 function with the fc3 name key", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function:\n        functionName: f\n",
			`s.yaml:7: services.s.props.function.functionName: unknown key "functionName" in a function`},
		{"fc2 trigger", fc2Head + "      triggers:\n        - name: t\n          typ: http\n",
			`s.yaml:13: services.s.props.triggers[0].typ: unknown key "typ" in a trigger; did you mean "type"?`},
		{"fc2 trigger config", fc2Head + fc2Trigger + "            authTyp: anonymous\n",
			`s.yaml:16: services.s.props.triggers[0].config.authTyp: unknown key "authTyp" in an HTTP trigger's config; did you mean "authType"?`},
		{"fc2 custom domain", fc2Head + "      customDomains:\n        - domainName: auto\n          protocl: HTTP\n",
			`s.yaml:13: services.s.props.customDomains[0].protocl: unknown key "protocl" in a custom domain; did you mean "protocol"?`},
		{"fc2 custom domain route", fc2Head + "      customDomains:\n        - domainName: auto\n          routeConfigs:\n            - path: /*\n              funtionName: f\n",
			`s.yaml:15: services.s.props.customDomains[0].routeConfigs[0].funtionName: unknown key "funtionName" in a custom domain route; did you mean "functionName"?`},
		{"fc2 custom domain not a mapping", fc2Head + "      customDomains:\n        - auto\n",
			`s.yaml:12: services.s.props.customDomains[0]: expected a mapping, got "auto"`},
		{"fc2 lifecycle hook as in the fc docs", fc2Head + "        instanceLifecycleConfig:\n          preStop:\n            handler: index.stop\n            preStop: 60\n",
			`s.yaml:14: services.s.props.function.instanceLifecycleConfig.preStop.preStop: unknown key "preStop" in a lifecycle hook`},

		// Runtimes: the line of the runtime key, a hint and the list.
		{"fc3 runtime typo", fc3Head + "      functionName: web\n      runtime: custom.debain10\n      code: .\n",
			`s.yaml:8: resources.web.props.runtime: runtime "custom.debain10" is not a Function Compute runtime (did you mean "custom.debian10"?); openfc runs custom, custom.debian10, custom.debian11, custom.debian12, custom-container, nodejs12, nodejs14, nodejs16, nodejs18, nodejs20, python3, python3.9, python3.10, php7.2, java8, java11`},
		{"fc3 unknown custom flavour", fc3Head + "      functionName: web\n      runtime: custom.alpine\n      code: .\n",
			`s.yaml:8: resources.web.props.runtime: runtime "custom.alpine" is not a Function Compute runtime; openfc runs custom, custom.debian10, custom.debian11, custom.debian12, custom-container, nodejs12, nodejs14, nodejs16, nodejs18, nodejs20, python3, python3.9, python3.10, php7.2, java8, java11`},
		{"fc2 runtime typo", strings.Replace(fc2Head, "runtime: custom", "runtime: nodejs-18", 1),
			`s.yaml:9: services.s.props.function.runtime: runtime "nodejs-18" is not a Function Compute runtime (did you mean "nodejs18"?); openfc runs custom, custom.debian10, custom.debian11, custom.debian12, custom-container, nodejs12, nodejs14, nodejs16, nodejs18, nodejs20, python3, python3.9, python3.10, php7.2, java8, java11`},

		// Wrong types, FC 2.0 (fc3's are in TestParseErrors).
		{"fc2 memorySize", fc2Head + "        memorySize: big\n",
			`s.yaml:11: services.s.props.function.memorySize: expected an integer, got "big"`},
		{"fc2 timeout", fc2Head + "        timeout: [10]\n",
			`s.yaml:11: services.s.props.function.timeout: expected an integer, got a list`},
		{"fc2 methods", fc2Head + "      triggers:\n        - name: t\n          type: http\n          config:\n            methods: GET\n",
			`s.yaml:15: services.s.props.triggers[0].config.methods: expected a list, got "GET"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, _, err := Parse("s.yaml", []byte(tt.data), nil, "")
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q\nplan: %s", tt.want, show(plan))
			}
			if err.Error() != tt.want {
				t.Errorf("error\ngot:  %s\nwant: %s", err, tt.want)
			}
			var de *Error
			if !errors.As(err, &de) || de.Line == 0 || de.Field == "" {
				t.Errorf("error %#v is not a *deploy.Error with a line and a field", err)
			}
		})
	}
}

// TestIgnoredKeys checks that FC settings openfc does not apply are
// accepted with one notice each, at their own line, and change nothing in
// the plan; null ones are not mentioned.
func TestIgnoredKeys(t *testing.T) {
	fc3 := fc3Head + fc3Fn + `      vpcConfig:
        vpcId: vpc-1
        securityGroupId: sg-1
        vSwitchIds: [vsw-1]
      logConfig: auto
      nasConfig: auto
      role: acs:ram::1:role/AliyunFcDefaultRole
      tracingConfig: {type: Jaeger}
      diskSize: 512
      ossMountConfig: {mountPoints: []}
      layers: [acs:fc:cn-hangzhou:official:layers/Nodejs20/versions/1]
      gpuConfig: {gpuMemorySize: 8192, gpuType: fc.gpu.tesla.1}
      tags: [{key: team, value: web}]
      cpu:
      instanceLifecycleConfig:
        preStop: {handler: index.stop, command: [sh]}
      triggers:
        - triggerName: t
          triggerType: http
          invocationRole: acs:ram::1:role/x
          triggerConfig: {methods: [GET]}
`
	fc2 := `services:
  s:
    component: fc
    props:
      service:
        name: app
        role: acs:ram::1:role/AliyunFcDefaultRole
        logConfig: {project: p, logstore: l}
        vpcConfig: auto
        nasConfig:
          userId: 10003
          groupId: 10003
          mountPoints: [{serverAddr: x.nas.aliyuncs.com, nasDir: /s, fcDir: /mnt/auto}]
        tracingConfig: Enable
      function:
        name: f
        runtime: custom
        codeUri: .
        layers: [a]
        asyncConfiguration: {maxAsyncRetryAttempts: 1}
`
	tests := []struct {
		name string
		data string
		want []Notice
	}{
		{"fc3", fc3, []Notice{
			"/srv/app/s.yaml:10: resources.web.props.vpcConfig: openfc does not apply vpcConfig; ignored",
			"/srv/app/s.yaml:14: resources.web.props.logConfig: openfc does not apply logConfig; ignored",
			"/srv/app/s.yaml:15: resources.web.props.nasConfig: openfc does not apply nasConfig; ignored",
			"/srv/app/s.yaml:16: resources.web.props.role: openfc does not apply role; ignored",
			"/srv/app/s.yaml:17: resources.web.props.tracingConfig: openfc does not apply tracingConfig; ignored",
			"/srv/app/s.yaml:18: resources.web.props.diskSize: openfc does not apply diskSize; ignored",
			"/srv/app/s.yaml:19: resources.web.props.ossMountConfig: openfc does not apply ossMountConfig; ignored",
			"/srv/app/s.yaml:20: resources.web.props.layers: openfc does not apply layers; ignored",
			"/srv/app/s.yaml:21: resources.web.props.gpuConfig: openfc does not apply gpuConfig; ignored",
			"/srv/app/s.yaml:22: resources.web.props.tags: openfc does not apply tags; ignored",
			"/srv/app/s.yaml:25: resources.web.props.instanceLifecycleConfig.preStop.command: openfc does not apply command; ignored",
			"/srv/app/s.yaml:29: resources.web.props.triggers[0].invocationRole: openfc does not apply invocationRole; ignored",
		}},
		{"fc2", fc2, []Notice{
			"/srv/app/s.yaml:7: services.s.props.service.role: openfc does not apply role; ignored",
			"/srv/app/s.yaml:8: services.s.props.service.logConfig: openfc does not apply logConfig; ignored",
			"/srv/app/s.yaml:9: services.s.props.service.vpcConfig: openfc does not apply vpcConfig; ignored",
			"/srv/app/s.yaml:10: services.s.props.service.nasConfig: openfc does not apply nasConfig; ignored",
			"/srv/app/s.yaml:14: services.s.props.service.tracingConfig: openfc does not apply tracingConfig; ignored",
			"/srv/app/s.yaml:19: services.s.props.function.layers: openfc does not apply layers; ignored",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, notices, err := Parse("/srv/app/s.yaml", []byte(tt.data), nil, "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkNotices(t, notices, tt.want)
			fn := plan.Services[0].Functions[0].Function
			if fn.Runtime != "custom" || fn.MemorySize != 128 || fn.Timeout != 3 {
				t.Errorf("function %s", show(fn))
			}
		})
	}
}

// writeFiles creates files (path: content) under dir; a path ending in /
// is a directory.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckCode checks what ParseFile finds on disk: a code path that does
// not exist or is not a directory is an error at the code key's line (with
// a close neighbour as a hint), and a package.json with dependencies but no
// node_modules is a notice. Parse alone does not look.
func TestCheckCode(t *testing.T) {
	const deps = `{"name": "x", "dependencies": {"express": "^4.19.2"}}`
	tests := []struct {
		name    string
		files   map[string]string
		props   string // fc3 props after functionName and runtime, line 9 on
		wantErr string // after "<dir>/s.yaml"
		notice  string // after "<dir>/s.yaml"
	}{
		{"exists", map[string]string{"code/server.js": ""}, "      code: ./code\n", "", ""},
		{"missing with a close neighbour", map[string]string{"code/server.js": ""}, "      code: ./cdoe\n",
			":9: resources.web.props.code: code directory ./cdoe does not exist (looked for <dir>/cdoe); did you mean ./code?", ""},
		{"missing", nil, "      code: ./src\n",
			":9: resources.web.props.code: code directory ./src does not exist (looked for <dir>/src)", ""},
		{"missing, src mapping", nil, "      code:\n        src: <dir>/nope\n",
			":10: resources.web.props.code.src: code directory <dir>/nope does not exist", ""},
		{"a file", map[string]string{"code.zip": "PK"}, "      code: code.zip\n",
			":9: resources.web.props.code: code.zip is not a directory: openfc uploads a code directory", ""},
		{"dependencies without node_modules", map[string]string{"code/package.json": deps}, "      code: ./code\n", "",
			":9: resources.web.props.code: ./code has a package.json with dependencies but no node_modules directory; " +
				"openfc uploads the directory as it is (FC's tools do not install them either): run `npm install` there first"},
		{"dependencies installed", map[string]string{"code/package.json": deps, "code/node_modules/express/": ""}, "      code: ./code\n", "", ""},
		{"no dependencies", map[string]string{"code/package.json": `{"name": "x", "dependencies": {}}`}, "      code: ./code\n", "", ""},
		{"invalid package.json", map[string]string{"code/package.json": `{`}, "      code: ./code\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			path := filepath.Join(dir, "s.yaml")
			data := fc3Head + "      functionName: web\n      runtime: custom\n" + strings.ReplaceAll(tt.props, "<dir>", dir)
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Parse(path, []byte(data), nil, ""); err != nil {
				t.Fatalf("Parse (no disk checks): %v", err)
			}
			plan, notices, err := ParseFile(path, nil, "")
			if tt.wantErr != "" {
				want := path + strings.ReplaceAll(tt.wantErr, "<dir>", dir)
				var de *Error
				if err == nil || err.Error() != want || !errors.As(err, &de) {
					t.Fatalf("err = %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			var want []Notice
			if tt.notice != "" {
				want = []Notice{Notice(path + tt.notice)}
			}
			checkNotices(t, notices, want)
			if plan.Services[0].Functions[0].CodeDir != filepath.Join(dir, "code") {
				t.Errorf("CodeDir = %s", plan.Services[0].Functions[0].CodeDir)
			}
		})
	}
}

// realFC3 is an s.yaml in the shape of the fc3 component's examples, with
// many of the settings FC 3.0 has.
const realFC3 = `edition: 3.0.0
name: hello-world-app
access: default
vars:
  region: cn-hangzhou
resources:
  hello_world:
    component: fc3
    props:
      region: ${vars.region}
      functionName: hello
      description: hello world by serverless devs
      runtime: custom.debian10
      code: ./code
      handler: index.handler
      memorySize: 512
      cpu: 0.35
      diskSize: 512
      timeout: 45
      instanceConcurrency: 10
      internetAccess: true
      role: acs:ram::1234567890123456:role/aliyunfcdefaultrole
      logConfig: auto
      vpcConfig:
        vpcId: vpc-xxx
        securityGroupId: sg-xxx
        vSwitchIds: [vsw-xxx]
      nasConfig: auto
      customRuntimeConfig:
        command: [node, server.js]
        port: 9000
        healthCheckConfig:
          httpGetUrl: /ready
          initialDelaySeconds: 1
      instanceLifecycleConfig:
        initializer: {handler: index.init, timeout: 10}
        preStop: {handler: index.stop, timeout: 5}
      environmentVariables:
        NODE_ENV: production
      asyncInvokeConfig:
        maxAsyncRetryAttempts: 1
      provisionConfig:
        defaultTarget: 1
      triggers:
        - triggerName: httpTrigger
          triggerType: http
          description: http
          qualifier: LATEST
          triggerConfig:
            methods: [GET, POST]
            authType: anonymous
            disableURLInternet: false
      customDomain:
        domainName: auto
        protocol: HTTP
        route:
          path: /*
          qualifier: LATEST
          methods: [GET]
`

// realFC2 is an s.yaml in the shape of the full example in devsapp/fc's
// docs/en/yaml, on a custom runtime with an HTTP trigger.
const realFC2 = `edition: 1.0.0
name: fc-app
access: default
services:
  fc-deploy-test:
    component: devsapp/fc
    props:
      region: cn-hangzhou
      service:
        name: fc-deploy-service
        description: demo for fc-deploy component
        internetAccess: true
        role: 'acs:ram::xxx:role/AliyunFcDefaultRole'
        tracingConfig: Enable
        nasConfig:
          userId: 10003
          groupId: 10003
          mountPoints:
            - serverAddr: xxx.cn-hangzhou.nas.aliyuncs.com
              nasDir: /fc-deploy-service
              fcDir: /mnt/auto
        vpcConfig:
          vpcId: xxx
          securityGroupId: xxx
          vswitchIds: [vsw-xxx]
        logConfig:
          project: xxx
          logstore: xxx
          enableRequestMetrics: true
      function:
        name: fc-base-service
        description: 'this is test'
        codeUri: './code'
        handler: 'index.handler'
        memorySize: 128
        runtime: custom
        timeout: 60
        caPort: 9000
        environmentVariables:
          key: 'value'
        initializationTimeout: 20
        initializer: index.initializer
        instanceConcurrency: 1
        instanceType: e1
        layers: [xxx]
        customDNS:
          nameServers: [8.8.8.8]
        customRuntimeConfig:
          command: [node]
          args: [server.js]
        instanceLifecycleConfig:
          preFreeze: {handler: index.freeze, timeout: 60}
          preStop: {handler: index.stop, timeout: 60}
        asyncConfiguration:
          destination:
            onSuccess: acs:fc:::services/s.LATEST/functions/f
          maxAsyncEventAgeInSeconds: 456
          maxAsyncRetryAttempts: 3
          statefulInvocation: true
      triggers:
        - name: httpTrigger
          type: http
          qualifier: LATEST
          config:
            authType: anonymous
            methods: [GET]
      customDomains:
        - domainName: auto
          protocol: HTTP
          routeConfigs:
            - path: /a
              serviceName: fc-deploy-service
              functionName: fc-base-service
              methods: [GET]
          certConfig:
            certName: xxx
            certificate: xxx
            privateKey: xxx
`

// TestRealWorldFiles parses s.yaml files in the shape of the components'
// own full examples: every key FC knows is accepted, and the notices are
// one per setting openfc does not apply, plus the "auto" custom domain's.
func TestRealWorldFiles(t *testing.T) {
	tests := []struct {
		name, data string
		ignored    []string
		domain     string
	}{
		{"fc3", realFC3, []string{"cpu", "diskSize", "role", "logConfig", "vpcConfig", "nasConfig",
			"provisionConfig"}, "customDomain.domainName"},
		{"fc2", realFC2, []string{"service.role", "service.tracingConfig", "service.nasConfig", "service.vpcConfig",
			"service.logConfig", "function.layers"}, "customDomains[0].domainName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, notices, err := Parse("/srv/app/s.yaml", []byte(tt.data), nil, "cn-hangzhou")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			fns := plan.Services[0].Functions
			if len(fns) != 1 || len(fns[0].Triggers) != 1 {
				t.Fatalf("plan %s", show(plan))
			}
			var got []string
			for _, n := range notices {
				_, rest, _ := strings.Cut(string(n), ".props.")
				got = append(got, rest)
			}
			var want []string
			for _, k := range tt.ignored {
				key := k[strings.LastIndex(k, ".")+1:]
				want = append(want, k+": openfc does not apply "+key+"; ignored")
			}
			want = append(want, tt.domain+": domainName auto (FC's generated test domain) is not deployed by openfc: the trigger's own URL serves")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("notices (after props.):\ngot:  %q\nwant: %q", got, want)
			}
		})
	}
}
