package deploy

import (
	"reflect"
	"testing"

	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
)

func TestVariables(t *testing.T) {
	environ := map[string]string{"A": "alpha", "B": "beta", "MEM": "1024", "FN": "from-env"}
	tests := []struct {
		name string
		vars string // the top-level vars block, if any
		prop string // one extra line (or block) in props
		env  map[string]string
		// want extracts the field under test from the parsed function; exp is
		// its expected value.
		want func(f fc.Function) any
		exp  any
	}{
		{name: "env()", prop: "description: ${env(A)}", want: desc, exp: "alpha"},
		{name: "env with single quotes", prop: "description: ${env('A')}", want: desc, exp: "alpha"},
		{name: "env with double quotes", prop: `description: '${env("A")}'`, want: desc, exp: "alpha"},
		{name: "env dot form", prop: "description: ${env.B}", want: desc, exp: "beta"},
		{name: "spaces inside", prop: "description: ${ env( A ) }", want: desc, exp: "alpha"},
		{name: "several in one value", prop: "description: x-${env(A)}-${env.B}-y", want: desc, exp: "x-alpha-beta-y"},
		{name: "default used", prop: "description: ${env('UNSET', 'fallback value')}", want: desc, exp: "fallback value"},
		{name: "default not used", prop: "description: ${env(A, other)}", want: desc, exp: "alpha"},
		{name: "not a variable", prop: "description: 'cost: $5, {x}, $A, ${'", want: desc, exp: "cost: $5, {x}, $A, ${"},
		{name: "integer from env", prop: "memorySize: ${env(MEM)}", want: mem, exp: 1024},
		{name: "integer from vars", vars: "vars:\n  mem: 256\n", prop: "memorySize: ${vars.mem}", want: mem, exp: 256},
		{name: "vars in a string", vars: "vars:\n  stage: prod\n", prop: "description: app-${vars.stage}", want: desc, exp: "app-prod"},
		{name: "nested vars", vars: "vars:\n  a:\n    b: deep\n", prop: "description: ${vars.a.b}", want: desc, exp: "deep"},
		{name: "vars refer to env", vars: "vars:\n  d: ${env(A)}!\n", prop: "description: ${vars.d}", want: desc, exp: "alpha!"},
		{name: "vars refer to vars", vars: "vars:\n  x: ${vars.y}\n  y: why\n", prop: "description: '[${vars.x}]'", want: desc, exp: "[why]"},
		{name: "vars in a string, reference chain", vars: "vars:\n  x: ${vars.y}\n  y: why\n", prop: "description: x=${vars.x}", want: desc, exp: "x=why"},
		{name: "null var in a string", vars: "vars:\n  x:\n", prop: "description: a${vars.x}b", want: desc, exp: "ab"},
		{
			name: "whole mapping from vars", vars: "vars:\n  envs:\n    K1: ${env(A)}\n    K2: two\n",
			prop: "environmentVariables: ${vars.envs}", want: envs,
			exp: map[string]string{"K1": "alpha", "K2": "two"},
		},
		{
			name: "whole list from vars", vars: "vars:\n  cmd: [node, server.js]\n",
			prop: "customRuntimeConfig:\n        command: ${vars.cmd}", want: command,
			exp: []string{"node", "server.js"},
		},
		{
			name: "mapping reached through a reference", vars: "vars:\n  base: ${vars.real}\n  real: {port: 8080}\n",
			prop: "customRuntimeConfig:\n        port: ${vars.base.port}", want: port, exp: 8080,
		},
		{
			name: "ignored fields are not expanded", prop: "role: acs:ram::${config(AccountID)}:role/x\n      vpcConfig: ${resources.x.output}",
			want: desc, exp: "",
		},
		{name: "env var set to a number", prop: "description: ${env(MEM)}", want: desc, exp: "1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.vars + "name: app\nresources:\n  web:\n    component: fc3\n    props:\n" +
				"      functionName: web\n      runtime: custom\n      code: .\n      " + tt.prop + "\n"
			e := environ
			if tt.env != nil {
				e = tt.env
			}
			plan, _, err := Parse("s.yaml", []byte(data), env(e), "")
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, data)
			}
			got := tt.want(plan.Services[0].Functions[0].Function)
			if !reflect.DeepEqual(got, tt.exp) {
				t.Errorf("got %#v, want %#v", got, tt.exp)
			}
		})
	}
}

func desc(f fc.Function) any { return f.Description }
func mem(f fc.Function) any  { return f.MemorySize }
func envs(f fc.Function) any { return f.EnvironmentVariables }
func command(f fc.Function) any {
	if f.CustomRuntimeConfig == nil {
		return nil
	}
	return f.CustomRuntimeConfig.Command
}
func port(f fc.Function) any {
	if f.CustomRuntimeConfig == nil {
		return nil
	}
	return f.CustomRuntimeConfig.Port
}

// TestServiceFromVars checks a whole FC 2.0 service mapping taken from vars
// and the name of an app written with variables.
func TestServiceFromVars(t *testing.T) {
	data := `
edition: 1.0.0
name: app
vars:
  service:
    name: svc-${env(STAGE)}
    description: from vars
services:
  fn:
    component: fc
    props:
      service: ${vars.service}
      function:
        name: fn
        runtime: custom
        codeUri: ./code
      triggers:
        - name: http
          type: HTTP
          config:
            authType: JWT
            methods: [GET]
            authConfig:
              jwks: {keys: [{kty: oct, kid: '${env(STAGE)}', k: c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0}]}
              tokenLookup: [{readPosition: HEADER, parameterName: 'X-Token-${env(STAGE)}'}]
              whitelist: [/public/*]
            qualifier: prod
`
	plan, _, err := Parse("/srv/app/s.yaml", doc(data), env(map[string]string{"STAGE": "dev"}), "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	sp := plan.Services[0]
	if sp.Service.ServiceName != "svc-dev" || sp.Service.Description != "from vars" {
		t.Errorf("service = %+v", sp.Service)
	}
	tr := sp.Functions[0].Triggers[0]
	if tr.TriggerType != "http" || tr.Qualifier != "prod" || tr.TriggerConfig.AuthType != "jwt" {
		t.Errorf("trigger = %s", show(tr))
	}
	ac := tr.TriggerConfig.AuthConfig
	if ac == nil {
		t.Fatalf("authConfig = nil; want the typed config")
	}
	wantLookup := []fc.JWTTokenLookup{{ReadPosition: "header", ParameterName: "X-Token-dev"}}
	if !reflect.DeepEqual(ac.TokenLookup, wantLookup) || !reflect.DeepEqual(ac.Whitelist, []string{"/public/*"}) {
		t.Errorf("authConfig = %s", show(ac))
	}
	keys, err := auth.ParseJWKS(ac.JWKS)
	if err != nil || len(keys) != 1 || keys[0].KeyID != "dev" {
		t.Errorf("jwks keys = %v, %v; want one key with kid dev", keys, err)
	}
}
