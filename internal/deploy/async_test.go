package deploy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

const asyncFC3 = `
edition: 3.0.0
name: app
resources:
  web:
    component: fc3
    props:
      functionName: web
      runtime: custom.debian10
      code: ./code
      customRuntimeConfig: {command: [./bootstrap]}
      asyncInvokeConfig:
        qualifier: LATEST
        maxAsyncRetryAttempts: 2
        maxAsyncEventAgeInSeconds: 300
        asyncTask: true
        destinationConfig:
          onSuccess: {destination: "https://hooks.example.com/ok"}
          onFailure: {destination: "acs:fc:cn-hangzhou:123:services/app/functions/dlq"}
`

const asyncFC2 = `
edition: 1.0.0
services:
  s:
    component: fc
    props:
      service: {name: s}
      function:
        name: f
        runtime: custom
        codeUri: ./code
        customRuntimeConfig: {command: [./bootstrap]}
        asyncConfiguration:
          destination:
            onFailure: acs:fc:::services/s.LATEST/functions/dlq
          maxAsyncRetryAttempts: 0
          statefulInvocation: true
`

func TestParseAsyncConfig(t *testing.T) {
	two, zero, age := 2, 0, int64(300)
	for _, tc := range []struct {
		name, data string
		want       *fc.AsyncInvokeConfig
	}{
		{"fc3", asyncFC3, &fc.AsyncInvokeConfig{Service: "app", Qualifier: fc.LATEST, Function: "web", MaxAsyncRetryAttempts: &two,
			MaxAsyncEventAgeInSeconds: &age, StatefulInvocation: true, DestinationConfig: &fc.DestinationConfig{
				OnSuccess: &fc.Destination{Destination: "https://hooks.example.com/ok"},
				OnFailure: &fc.Destination{Destination: "acs:fc:cn-hangzhou:123:services/app/functions/dlq"}}}},
		{"fc2", asyncFC2, &fc.AsyncInvokeConfig{Service: "s", Function: "f", MaxAsyncRetryAttempts: &zero, StatefulInvocation: true,
			DestinationConfig: &fc.DestinationConfig{OnFailure: &fc.Destination{Destination: "acs:fc:::services/s.LATEST/functions/dlq"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, notices, err := Parse("/srv/app/s.yaml", doc(tc.data), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			checkNotices(t, notices, nil)
			if got := plan.Services[0].Functions[0].AsyncConfig; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("async config\ngot:  %s\nwant: %s", show(got), show(tc.want))
			}
		})
	}
}

func TestParseAsyncConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"retries", "maxAsyncRetryAttempts: 2", "maxAsyncRetryAttempts: 9",
			"s.yaml:11: resources.web.props.asyncInvokeConfig: maxAsyncRetryAttempts 9 is out of range"},
		{"age", "maxAsyncEventAgeInSeconds: 300", "maxAsyncEventAgeInSeconds: 0", "maxAsyncEventAgeInSeconds 0 is out of range"},
		{"destination", "acs:fc:cn-hangzhou:123:services/app/functions/dlq", "acs:mns:cn-hangzhou:123:/queues/q",
			"s.yaml:18: resources.web.props.asyncInvokeConfig.destinationConfig.onFailure"},
		{"typo", "asyncTask: true", "asyncTasks: true", `unknown key "asyncTasks" in asyncInvokeConfig; did you mean "asyncTask"?`},
		{"qualifier", "qualifier: LATEST", "qualifier: prod", "openfc has no versions or aliases yet"},
		{"not an integer", "maxAsyncRetryAttempts: 2", "maxAsyncRetryAttempts: two", "expected an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(asyncFC3, tc.from, tc.to, 1)
			_, _, err := Parse("/srv/app/s.yaml", doc(data), nil, "")
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an s.yaml error containing %q", err, tc.want)
			}
		})
	}
}
