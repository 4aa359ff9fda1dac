package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// fc3Head is the first three lines of most error cases; the resource's
// props start on line 6.
const fc3Head = "edition: 3.0.0\nname: app\nresources:\n  web:\n    component: fc3\n    props:\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		env  map[string]string
		want string
	}{
		// YAML itself.
		{"syntax error", "name: app\nresources:\n  web: {component: fc3\n", nil,
			"s.yaml:2: invalid YAML: did not find expected ',' or '}'"},
		{"empty file", "", nil, "s.yaml: the file is empty"},
		{"comments only", "# nothing\n", nil, "s.yaml: the file is empty"},
		{"top level is a list", "- a\n- b\n", nil, `s.yaml:1: expected a mapping at the top level, got a list`},
		{"duplicate key", fc3Head + "      functionName: web\n      functionName: web2\n", nil,
			"s.yaml:8: resources.web.props.functionName: defined twice (first at line 7)"},

		// Structure.
		{"nothing to deploy", "edition: 3.0.0\nname: app\n", nil,
			"s.yaml:1: nothing to deploy: the file has no resources (edition 3.0.0) or services (edition 1.0.0)"},
		{"no fc component", "name: app\nresources:\n  b:\n    component: oss\n", nil,
			"s.yaml:2: resources: nothing to deploy: no resource uses the fc3 or fc component"},
		{"both sections", "name: app\nresources: {}\nservices: {}\n", nil,
			"s.yaml:3: services: use either resources (edition 3.0.0) or services (edition 1.0.0), not both"},
		{"resources not a mapping", "name: app\nresources:\n  - web\n", nil,
			`s.yaml:2: resources: expected a mapping, got a list`},
		{"empty resource", "name: app\nresources:\n  web:\n", nil,
			"s.yaml:3: resources.web: expected a mapping, got an empty value"},
		{"missing component", "name: app\nresources:\n  web:\n    props: {}\n", nil,
			"s.yaml:3: resources.web: component is required"},
		{"missing props", "name: app\nresources:\n  web:\n    component: fc3\n", nil,
			"s.yaml:3: resources.web: props is required"},
		{"props not a mapping", "name: app\nresources:\n  web:\n    component: fc3\n    props: hello\n", nil,
			`s.yaml:5: resources.web.props: expected a mapping, got "hello"`},
		{"fc3 without name", "resources:\n  web:\n    component: fc3\n    props: {functionName: f, runtime: custom, code: .}\n", nil,
			"s.yaml:1: name: name is required: openfc deploys fc3 functions into the service it names"},
		{"invalid app name", "name: 9app\nresources:\n  web:\n    component: fc3\n    props: {functionName: f, runtime: custom, code: .}\n", nil,
			`s.yaml:1: name: serviceName "9app" is invalid: use letters, digits, '_' and '-', and do not start with a digit or '-'`},

		// Required fields: the line of the parent mapping.
		{"missing functionName", fc3Head + "      runtime: custom\n      code: ./code\n", nil,
			"s.yaml:6: resources.web.props: functionName is required"},
		{"missing runtime", fc3Head + "      functionName: web\n      code: ./code\n", nil,
			"s.yaml:6: resources.web.props: runtime is required"},
		{"missing code", fc3Head + "      functionName: web\n      runtime: custom\n", nil,
			"s.yaml:6: resources.web.props: code is required"},
		{"empty code", fc3Head + "      functionName: web\n      runtime: custom\n      code: ''\n", nil,
			"s.yaml:9: resources.web.props.code: expected a path, got an empty string"},
		{"oss code", fc3Head + "      functionName: web\n      runtime: custom\n      code:\n        ossBucketName: b\n        ossObjectName: o\n", nil,
			"s.yaml:9: resources.web.props.code: code in OSS is not supported; give a local directory"},

		// Wrong types: the line of the key.
		{"memorySize not an integer", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      memorySize: big\n", nil,
			`s.yaml:10: resources.web.props.memorySize: expected an integer, got "big"`},
		{"timeout a float", fc3Head + "      timeout: 1.5\n", nil,
			`s.yaml:7: resources.web.props.timeout: expected an integer, got "1.5"`},
		{"timeout a list", fc3Head + "      timeout: [1]\n", nil,
			`s.yaml:7: resources.web.props.timeout: expected an integer, got a list`},
		{"functionName a mapping", fc3Head + "      functionName:\n        a: b\n", nil,
			`s.yaml:7: resources.web.props.functionName: expected a string, got a mapping`},
		{"port not an integer", fc3Head + "      customRuntimeConfig:\n        port: abc\n", nil,
			`s.yaml:8: resources.web.props.customRuntimeConfig.port: expected an integer, got "abc"`},
		{"command not a list", fc3Head + "      customRuntimeConfig:\n        command: node server.js\n", nil,
			`s.yaml:8: resources.web.props.customRuntimeConfig.command: expected a list, got "node server.js"`},
		{"command item a mapping", fc3Head + "      customRuntimeConfig:\n        command:\n          - node\n          - {a: b}\n", nil,
			`s.yaml:10: resources.web.props.customRuntimeConfig.command[1]: expected a string, got a mapping`},
		{"env value a mapping", fc3Head + "      environmentVariables:\n        A: 1\n        B: {c: d}\n", nil,
			`s.yaml:9: resources.web.props.environmentVariables.B: expected a string, got a mapping`},
		{"env not a mapping", fc3Head + "      environmentVariables: [A=1]\n", nil,
			`s.yaml:7: resources.web.props.environmentVariables: expected a mapping, got a list`},

		// Variables.
		{"missing env var", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      environmentVariables:\n        TOKEN: ${env(TOKEN)}\n", nil,
			"s.yaml:11: resources.web.props.environmentVariables.TOKEN: environment variable TOKEN is not set (used as ${env(TOKEN)})"},
		{"missing env var, dot form", fc3Head + "      functionName: fn-${env.STAGE}\n", nil,
			"s.yaml:7: resources.web.props.functionName: environment variable STAGE is not set (used as ${env.STAGE})"},
		{"env var in an integer", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      memorySize: ${env(MEM)}\n", map[string]string{"MEM": "lots"},
			`s.yaml:10: resources.web.props.memorySize: expected an integer, got "lots"`},
		{"config variable", fc3Head + "      description: 'account ${config(AccountID)}'\n", nil,
			"s.yaml:7: resources.web.props.description: unsupported variable ${config(AccountID)}: openfc expands ${env(NAME)}, ${env.NAME} and ${vars.NAME} only"},
		{"output variable", fc3Head + "      functionName: ${resources.other.output.functionName}\n", nil,
			"s.yaml:7: resources.web.props.functionName: unsupported variable ${resources.other.output.functionName}: openfc expands ${env(NAME)}, ${env.NAME} and ${vars.NAME} only"},
		{"undefined var", fc3Head + "      functionName: ${vars.nope}\n", nil,
			"s.yaml:7: resources.web.props.functionName: variable ${vars.nope} is not defined"},
		{"undefined nested var", "vars:\n  a: {b: 1}\n" + fc3Head + "      functionName: f-${vars.a.c}\n", nil,
			"s.yaml:9: resources.web.props.functionName: variable ${vars.a.c} is not defined"},
		{"var of a mapping in a string", "vars:\n  a: {b: 1}\n" + fc3Head + "      functionName: f-${vars.a}\n", nil,
			"s.yaml:9: resources.web.props.functionName: ${vars.a} is a mapping, which cannot be part of a string"},
		{"missing env var inside vars", "vars:\n  fn: ${env(FN)}\n" + fc3Head + "      functionName: ${vars.fn}\n", nil,
			"s.yaml:2: vars.fn: environment variable FN is not set (used as ${env(FN)})"},
		{"vars loop", "vars:\n  a: ${vars.b}\n  b: ${vars.a}\n" + fc3Head + "      functionName: ${vars.a}\n", nil,
			"s.yaml:3: vars.b: variables refer to each other in a loop: vars.a -> vars.b -> vars.a"},
		{"vars string loop", "vars:\n  a: x${vars.b}\n  b: y${vars.a}\n" + fc3Head + "      functionName: ${vars.a}\n", nil,
			"s.yaml:3: vars.b: variables refer to each other in a loop: vars.a -> vars.b -> vars.a"},
		{"malformed env", fc3Head + "      functionName: ${env()}\n", nil,
			"s.yaml:7: resources.web.props.functionName: malformed variable ${env()}: use ${env(NAME)} or ${env(NAME, default)}"},
		{"vars not a mapping", "vars: [1]\n" + fc3Head, nil, "s.yaml:1: vars: expected a mapping, got a list"},

		// Validation by package fc: the line of the block.
		{"builtin runtime", fc3Head + "      functionName: web\n      runtime: dotnetcore3.1\n      code: .\n", nil,
			`s.yaml:8: resources.web.props.runtime: runtime "dotnetcore3.1" needs a .NET runtime (the dotnet command), which this machine does not have, and openfc has no C# bootstrap yet; openfc runs custom, custom.debian10, custom.debian11, custom.debian12, custom-container, nodejs12, nodejs14, nodejs16, nodejs18, nodejs20, python3, python3.9, python3.10, php7.2, java8, java11`},
		{"memory out of range", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      memorySize: 100\n", nil,
			"s.yaml:6: resources.web.props: memorySize 100 is out of range [128, 32768]"},
		{"bad function name", fc3Head + "      functionName: -web\n      runtime: custom\n      code: .\n", nil,
			`s.yaml:6: resources.web.props: functionName "-web" is invalid: use letters, digits, '_' and '-', and do not start with a digit or '-'`},
		{"args without command", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      customRuntimeConfig: {args: [x]}\n", nil,
			"s.yaml:6: resources.web.props: customRuntimeConfig.command is required when customRuntimeConfig.args is set"},
		{"duplicate function", "name: app\nresources:\n  a:\n    component: fc3\n    props: {functionName: f, runtime: custom, code: .}\n  b:\n    component: fc3\n    props: {functionName: f, runtime: custom, code: .}\n", nil,
			"s.yaml:8: resources.b.props: function f is defined twice in service app (first at line 5)"},

		// Triggers.
		{"trigger without methods", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig: {authType: anonymous}\n", nil,
			"s.yaml:11: resources.web.props.triggers[0]: triggerConfig.methods is required"},
		{"trigger without config", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - {triggerName: t, triggerType: http}\n", nil,
			"s.yaml:11: resources.web.props.triggers[0]: triggerConfig is required for an HTTP trigger"},
		{"trigger without type", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n", nil,
			"s.yaml:11: resources.web.props.triggers[0]: triggerType is required"},
		{"timer trigger", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: timer\n          triggerConfig: {cronExpression: '@every 1m'}\n", nil,
			`s.yaml:11: resources.web.props.triggers[0]: triggerType "timer" is not supported: openfc runs HTTP triggers only`},
		{"bad method", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig: {methods: [GET, FETCH]}\n", nil,
			`s.yaml:11: resources.web.props.triggers[0]: triggerConfig.methods[1] "FETCH" is invalid: use GET, POST, PUT, DELETE, HEAD, PATCH or OPTIONS`},
		{"methods a string", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            methods: GET\n", nil,
			`s.yaml:14: resources.web.props.triggers[0].triggerConfig.methods: expected a list, got "GET"`},
		{"bad disableURLInternet", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            methods: [GET]\n            disableURLInternet: maybe\n", nil,
			`s.yaml:15: resources.web.props.triggers[0].triggerConfig.disableURLInternet: expected true or false, got "maybe"`},
		{"jwt trigger without authConfig", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            authType: jwt\n            methods: [GET]\n", nil,
			`s.yaml:11: resources.web.props.triggers[0]: triggerConfig.authConfig is required when triggerConfig.authType is "jwt": give jwks and tokenLookup`},
		{"jwt bad readPosition", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            authType: jwt\n            methods: [GET]\n            authConfig:\n              jwks: {keys: [{kty: oct, kid: a, k: c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0}]}\n              tokenLookup: [{readPosition: header, parameterName: Authorization}, {readPosition: body, parameterName: t}]\n", nil,
			`s.yaml:11: resources.web.props.triggers[0]: triggerConfig.authConfig.tokenLookup[1].readPosition "body" is invalid: use header, query, cookie or form`},
		{"jwt unknown authConfig field", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            authType: jwt\n            methods: [GET]\n            authConfig: {jwks: {}, tokenLookup: [{type: header}]}\n", nil,
			`s.yaml:16: resources.web.props.triggers[0].triggerConfig.authConfig: triggerConfig.authConfig has an unknown field "type": use jwks, tokenLookup, claimPassBy, whitelist or blacklist (and their documented members)`},
		{"jwt authConfig a bad string", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - triggerName: t\n          triggerType: http\n          triggerConfig:\n            authType: jwt\n            methods: [GET]\n            authConfig: '{\"jwks\": '\n", nil,
			`s.yaml:16: resources.web.props.triggers[0].triggerConfig.authConfig: triggerConfig.authConfig is invalid: unexpected EOF`},
		{"duplicate trigger", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        - {triggerName: t, triggerType: http, triggerConfig: {methods: [GET]}}\n        - {triggerName: t, triggerType: http, triggerConfig: {methods: [POST]}}\n", nil,
			"s.yaml:12: resources.web.props.triggers[1]: trigger t is defined twice (first at line 11)"},
		{"trigger item empty", fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      triggers:\n        -\n", nil,
			"s.yaml:11: resources.web.props.triggers[0]: expected a mapping, got an empty value"},

		// The FC 2.0 fc component.
		{"fc2 without service", "services:\n  s:\n    component: fc\n    props:\n      function: {name: f, runtime: custom, codeUri: .}\n", nil,
			"s.yaml:4: services.s.props: service is required"},
		{"fc2 service without name", "services:\n  s:\n    component: fc\n    props:\n      service:\n        description: x\n", nil,
			"s.yaml:5: services.s.props.service: name is required"},
		{"fc2 function without name", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function:\n        runtime: custom\n        codeUri: .\n", nil,
			"s.yaml:6: services.s.props.function: name is required"},
		{"fc2 function without code", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function: {name: f, runtime: custom}\n", nil,
			"s.yaml:6: services.s.props.function: codeUri is required"},
		{"fc2 oss code", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function: {name: f, runtime: custom, ossBucket: b, ossKey: k}\n", nil,
			"s.yaml:6: services.s.props.function: code in OSS is not supported; set codeUri to a local directory"},
		{"fc2 triggers without function", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      triggers: []\n", nil,
			"s.yaml:4: services.s.props: function is required when triggers are given"},
		{"fc2 internetAccess", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s, internetAccess: sometimes}\n", nil,
			`s.yaml:5: services.s.props.service.internetAccess: expected true or false, got "sometimes"`},
		{"fc2 trigger without type", "services:\n  s:\n    component: fc\n    props:\n      service: {name: s}\n      function: {name: f, runtime: custom, codeUri: .}\n      triggers:\n        - name: t\n          config: {methods: [GET]}\n", nil,
			"s.yaml:8: services.s.props.triggers[0]: type is required"},
		{"fc2 bad service name", "services:\n  s:\n    component: fc\n    props:\n      service: {name: 'a b'}\n", nil,
			`s.yaml:5: services.s.props.service: serviceName "a b" is invalid: use letters, digits, '_' and '-', and do not start with a digit or '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, _, err := Parse("s.yaml", []byte(tt.data), env(tt.env), "")
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q\nplan: %s", tt.want, show(plan))
			}
			if err.Error() != tt.want {
				t.Errorf("error\ngot:  %s\nwant: %s", err, tt.want)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *deploy.Error", err)
			}
		})
	}
}

// TestValidationErrorUnwraps checks that validation failures carry the
// *fc.Error of package fc.
func TestValidationErrorUnwraps(t *testing.T) {
	data := fc3Head + "      functionName: web\n      runtime: custom\n      code: .\n      timeout: 100000\n"
	_, _, err := Parse("s.yaml", []byte(data), nil, "")
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != fc.CodeInvalidArgument {
		t.Fatalf("err = %v, want an InvalidArgument *fc.Error inside", err)
	}
	var de *Error
	if !errors.As(err, &de) || de.Line != 6 || de.Field != "resources.web.props" {
		t.Fatalf("err = %#v, want line 6, field resources.web.props", de)
	}
}

// TestNoticesKeptOnError checks that notices gathered before an error are
// returned with it.
func TestNoticesKeptOnError(t *testing.T) {
	data := "extend: base.yaml\n" + fc3Head + "      runtime: custom\n"
	_, notices, err := Parse("s.yaml", []byte(data), nil, "")
	if err == nil || !strings.Contains(err.Error(), "functionName is required") {
		t.Fatalf("err = %v", err)
	}
	if len(notices) != 1 || !strings.Contains(string(notices[0]), "extend is not supported") {
		t.Fatalf("notices = %q", notices)
	}
}

// FuzzParse checks that Parse never panics and that it returns either a
// plan or an error.
func FuzzParse(f *testing.F) {
	f.Add(fc3Sample)
	f.Add(fc2Sample)
	f.Add("vars:\n  a: ${vars.b}\n  b: [${vars.a}]\nname: ${vars.a}\nresources: ${vars.b}\n")
	f.Add("name: x\nresources:\n  w: {component: fc3, props: {functionName: '${env(A, b, c)}'}}\n")
	f.Add("a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, data string) {
		plan, _, err := Parse("s.yaml", []byte(data), env(map[string]string{"A": "a"}), "cn-hangzhou")
		if (plan == nil) == (err == nil) {
			t.Fatalf("plan %v, err %v", plan, err)
		}
	})
}
