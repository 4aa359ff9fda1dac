package fc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every code in the table has a sensible status and type, and WriteError
// renders it as FC does.
func TestErrorTable(t *testing.T) {
	for _, code := range Codes() {
		t.Run(string(code), func(t *testing.T) {
			st, typ := code.Status(), code.Type()
			switch {
			case st < 400 || st > 599:
				t.Fatalf("status %d is not an error status", st)
			case st == http.StatusBadGateway && typ != UnhandledInvocationError:
				t.Fatalf("502 must be UnhandledInvocationError, is %s", typ)
			case st >= 400 && st < 500 && st != http.StatusPreconditionFailed && typ != FcCommonError:
				t.Fatalf("request error %d must be FcCommonError, is %s", st, typ)
			case code.GRPC() < GRPCCanceled || code.GRPC() > GRPCUnauthenticated:
				t.Fatalf("gRPC status %d is not an error status", code.GRPC())
			case st == http.StatusNotFound && code.GRPC() != GRPCNotFound:
				t.Fatalf("404 must be gRPC NOT_FOUND, is %d", code.GRPC())
			}
			rec := httptest.NewRecorder()
			WriteError(rec, "req-1", Errorf(code, "msg %d", 7))
			if rec.Code != st {
				t.Fatalf("WriteError status %d; want %d", rec.Code, st)
			}
			if rec.Header().Get(HeaderErrorType) != string(typ) || rec.Header().Get(HeaderRequestID) != "req-1" {
				t.Fatalf("headers %v", rec.Header())
			}
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body != (ErrorBody{ErrorCode: string(code), ErrorMessage: "msg 7", RequestID: "req-1"}) {
				t.Fatalf("body %+v", body)
			}
		})
	}
}

func TestUnknownErrorsAreInternalAndHidden(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, "r", errors.New("secret detail"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	wrapped := Errorf(CodeInvalidArgument, "bad: %w", ErrNotFound)
	if !errors.Is(wrapped, ErrNotFound) {
		t.Fatal("Errorf with %w must keep the cause")
	}
}

func TestValidateFunction(t *testing.T) {
	ok := func() *Function {
		return &Function{FunctionName: "f", Runtime: "custom.debian10", CustomRuntimeConfig: &CustomRuntimeConfig{Command: []string{"node"}}}
	}
	tests := []struct {
		name  string
		edit  func(*Function)
		field string // "" = valid
	}{
		{"valid", func(*Function) {}, ""},
		{"empty name", func(f *Function) { f.FunctionName = "" }, "functionName"},
		{"digit first", func(f *Function) { f.FunctionName = "1f" }, "functionName"},
		{"dash first", func(f *Function) { f.FunctionName = "-f" }, "functionName"},
		{"dot", func(f *Function) { f.FunctionName = "a.b" }, "functionName"},
		{"too long", func(f *Function) { f.FunctionName = strings.Repeat("a", 65) }, "functionName"},
		{"unknown runtime", func(f *Function) { f.Runtime = "cobol" }, "runtime"},
		{"builtin not yet", func(f *Function) { f.Runtime = "dotnetcore3.1" }, "runtime"},
		{"builtin handler", func(f *Function) { f.Runtime, f.Handler = "nodejs18", "index" }, "handler"},
		{"java handler", func(f *Function) { f.Runtime, f.Handler = "java11", "example.App::handleRequest" }, ""},
		{"java handler form", func(f *Function) { f.Runtime, f.Handler = "java11", "example.App.handleRequest" }, "handler"},
		{"java initializer form", func(f *Function) {
			f.Runtime, f.Handler, f.Initializer = "java8", "example.App::handleRequest", "example.App"
		}, "initializer"},
		{"handler style", func(f *Function) { f.HandlerStyle = "rpc" }, "handlerStyle"},
		{"port high", func(f *Function) { f.CustomRuntimeConfig.Port = 70000 }, "customRuntimeConfig.port"},
		{"caPort zero ok", func(f *Function) { f.CAPort = 0 }, ""},
		{"caPort negative", func(f *Function) { f.CAPort = -1 }, "caPort"},
		{"memory", func(f *Function) { f.MemorySize = 100 }, "memorySize"},
		{"memory step", func(f *Function) { f.MemorySize = 200 }, "memorySize"},
		{"timeout", func(f *Function) { f.Timeout = 86401 }, "timeout"},
		{"concurrency", func(f *Function) { f.InstanceConcurrency = 201 }, "instanceConcurrency"},
		{"env key", func(f *Function) { f.EnvironmentVariables = map[string]string{"1A": "x"} }, "environmentVariables"},
		{"env size", func(f *Function) { f.EnvironmentVariables = map[string]string{"A": strings.Repeat("x", 5000)} }, "environmentVariables"},
		{"args without command", func(f *Function) { f.CustomRuntimeConfig = &CustomRuntimeConfig{Args: []string{"x"}} }, "customRuntimeConfig.command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ok()
			tc.edit(f)
			err := ValidateFunction(f)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if f.Timeout != DefaultTimeout || f.MemorySize != DefaultMemorySize || f.InstanceConcurrency != 1 {
					t.Fatalf("defaults not applied: %+v", f)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || !strings.Contains(fe.Message, tc.field) {
				t.Fatalf("got %v; want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
}

// ValidateRuntime accepts FC's custom runtimes and custom containers only, and its refusals
// list them; an unknown runtime gets the closest FC runtime as a hint.
func TestValidateRuntime(t *testing.T) {
	const runnable = "openfc runs custom, custom.debian10, custom.debian11, custom.debian12, custom-container, nodejs12, nodejs14, nodejs16, nodejs18, nodejs20, python3, python3.9, python3.10, php7.2, java8, java11"
	for _, r := range []string{"custom", "custom.debian10", "custom.debian11", "custom.debian12", "custom-container", "nodejs18", "python3.10", "php7.2", "java11"} {
		if err := ValidateRuntime(r); err != nil {
			t.Errorf("ValidateRuntime(%q) = %v", r, err)
		}
	}
	tests := []struct{ runtime, want string }{
		{"custom.debain10", `runtime "custom.debain10" is not a Function Compute runtime (did you mean "custom.debian10"?); ` + runnable},
		{"Custom", `runtime "Custom" is not a Function Compute runtime (did you mean "custom"?); ` + runnable},
		{"pyhton3.10", `runtime "pyhton3.10" is not a Function Compute runtime (did you mean "python3.10"?); ` + runnable},
		{"custom.alpine", `runtime "custom.alpine" is not a Function Compute runtime; ` + runnable},
		{"cobol", `runtime "cobol" is not a Function Compute runtime; ` + runnable},
		{"dotnetcore3.1", `runtime "dotnetcore3.1" needs a .NET runtime (the dotnet command), which this machine does not have, and openfc has no C# bootstrap yet; ` + runnable},
		{"custom-contianer", `runtime "custom-contianer" is not a Function Compute runtime (did you mean "custom-container"?); ` + runnable},
		{"", "runtime is required"},
	}
	for _, tt := range tests {
		err := ValidateRuntime(tt.runtime)
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || fe.Message != tt.want {
			t.Errorf("ValidateRuntime(%q) = %v\nwant InvalidArgument %q", tt.runtime, err, tt.want)
		}
	}
}

func TestValidateTrigger(t *testing.T) {
	tr := &Trigger{TriggerName: "t", TriggerType: "HTTP", TriggerConfig: &HTTPTriggerConfig{Methods: []string{"get", "POST"}}}
	if err := ValidateTrigger(tr); err != nil {
		t.Fatal(err)
	}
	if tr.TriggerType != "http" || tr.TriggerConfig.AuthType != AuthFunction || tr.TriggerConfig.Methods[0] != "GET" || tr.Qualifier != LATEST {
		t.Fatalf("not normalised: %+v %+v", tr, tr.TriggerConfig)
	}
	for name, bad := range map[string]*Trigger{
		"no config":  {TriggerName: "t", TriggerType: "http"},
		"oss":        {TriggerName: "t", TriggerType: "oss", TriggerConfig: &HTTPTriggerConfig{Methods: []string{"GET"}}},
		"method":     {TriggerName: "t", TriggerType: "http", TriggerConfig: &HTTPTriggerConfig{Methods: []string{"TRACE"}}},
		"dup method": {TriggerName: "t", TriggerType: "http", TriggerConfig: &HTTPTriggerConfig{Methods: []string{"GET", "get"}}},
		"no methods": {TriggerName: "t", TriggerType: "http", TriggerConfig: &HTTPTriggerConfig{}},
		"auth":       {TriggerName: "t", TriggerType: "http", TriggerConfig: &HTTPTriggerConfig{AuthType: "magic", Methods: []string{"GET"}}},
		"name":       {TriggerName: "-t", TriggerType: "http", TriggerConfig: &HTTPTriggerConfig{Methods: []string{"GET"}}},
	} {
		if err := ValidateTrigger(bad); err == nil {
			t.Errorf("%s: accepted %+v", name, bad)
		}
	}
}
