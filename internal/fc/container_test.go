package fc

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Both shapes of customContainerConfig are read into FC 2.0's meaning:
// Command replaces ENTRYPOINT, Args replaces CMD.
func TestCustomContainerConfigShapes(t *testing.T) {
	tests := []struct {
		name          string
		json          string
		command, args []string
	}{
		{"FC 2.0 strings", `{"image":"a","command":"[\"node\",\"app.js\"]","args":"[\"-p\",\"9000\"]"}`,
			[]string{"node", "app.js"}, []string{"-p", "9000"}},
		{"FC 2.0 command only", `{"image":"a","command":"[\"/srv\"]"}`, []string{"/srv"}, nil},
		{"FC 2.0 args only", `{"image":"a","args":"[\"-v\"]"}`, nil, []string{"-v"}},
		{"FC 2.0 empty strings", `{"image":"a","command":"","args":""}`, nil, nil},
		{"FC 2.0 arrays with args", `{"image":"a","command":["node"],"args":["app.js"]}`, []string{"node"}, []string{"app.js"}},
		{"fc3 entrypoint and command", `{"image":"a","entrypoint":["node"],"command":["app.js"]}`, []string{"node"}, []string{"app.js"}},
		{"fc3 entrypoint only", `{"image":"a","entrypoint":["/srv","-x"]}`, []string{"/srv", "-x"}, nil},
		{"fc3 command only", `{"image":"a","command":["--port","9000"],"port":9000}`, nil, []string{"--port", "9000"}},
		{"null command", `{"image":"a","command":null}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c CustomContainerConfig
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Command, tt.command) || !slices.Equal(c.Args, tt.args) {
				t.Fatalf("command %q args %q; want %q %q", c.Command, c.Args, tt.command, tt.args)
			}
			// Stored and returned in FC 2.0's form, which reads back the same.
			b, err := json.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			var again CustomContainerConfig
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.Command, tt.command) || !slices.Equal(again.Args, tt.args) {
				t.Fatalf("round trip %s: command %q args %q", b, again.Command, again.Args)
			}
		})
	}
}

func TestCustomContainerConfigJSONForm(t *testing.T) {
	c := CustomContainerConfig{Image: "a", Command: StringArray{"node", "app.js"}, Args: StringArray{"x"}}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"image":"a","command":"[\"node\",\"app.js\"]","args":"[\"x\"]"}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestCustomContainerConfigBadJSON(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"mixed":          {`{"image":"a","entrypoint":["x"],"args":"[\"y\"]"}`, "use one shape"},
		"command string": {`{"image":"a","command":"node app.js"}`, "customContainerConfig.command"},
		"command number": {`{"image":"a","command":7}`, "customContainerConfig.command"},
		"args objects":   {`{"image":"a","args":[{"a":1}]}`, "customContainerConfig.args"},
	} {
		t.Run(name, func(t *testing.T) {
			var f Function
			err := json.Unmarshal([]byte(`{"customContainerConfig":`+tc.json+`}`), &f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestValidateContainerFunction(t *testing.T) {
	ok := func() *Function {
		return &Function{FunctionName: "f", Runtime: RuntimeCustomContainer, CAPort: 8080,
			CustomContainerConfig: &CustomContainerConfig{Image: "registry.example.com:5000/team/app:v1"}}
	}
	no, yes := false, true
	tests := []struct {
		name  string
		edit  func(*Function)
		field string // "" = valid
	}{
		{"valid", func(*Function) {}, ""},
		{"no config", func(f *Function) { f.CustomContainerConfig = nil }, "customContainerConfig.image"},
		{"no image", func(f *Function) { f.CustomContainerConfig.Image = "" }, "customContainerConfig.image"},
		{"bad image", func(f *Function) { f.CustomContainerConfig.Image = "Team/App" }, "customContainerConfig.image"},
		{"space in image", func(f *Function) { f.CustomContainerConfig.Image = "app v1" }, "customContainerConfig.image"},
		{"digest", func(f *Function) {
			f.CustomContainerConfig.Image = "app@sha256:" + strings.Repeat("ab", 32)
		}, ""},
		{"localhost", func(f *Function) { f.CustomContainerConfig.Image = "localhost:5000/app" }, ""},
		{"port", func(f *Function) { f.CustomContainerConfig.Port = 70000 }, "customContainerConfig.port"},
		{"empty entrypoint", func(f *Function) { f.CustomContainerConfig.Command = StringArray{""} }, "customContainerConfig.command[0]"},
		{"acceleration", func(f *Function) { f.CustomContainerConfig.AccelerationType = "Default" }, ""},
		{"bad acceleration", func(f *Function) { f.CustomContainerConfig.AccelerationType = "Turbo" }, "customContainerConfig.accelerationType"},
		{"instance ids", func(f *Function) {
			f.CustomContainerConfig.InstanceID, f.CustomContainerConfig.AcrInstanceID = "cri-1", "cri-1"
		}, ""},
		{"web server", func(f *Function) { f.CustomContainerConfig.WebServerMode = &yes }, ""},
		{"event container", func(f *Function) { f.CustomContainerConfig.WebServerMode = &no }, "customContainerConfig.webServerMode"},
		{"auth", func(f *Function) {
			f.CustomContainerConfig.RegistryConfig = &RegistryConfig{AuthConfig: &RegistryAuthConfig{UserName: "u", Password: "p"},
				NetworkConfig: &RegistryNetworkConfig{VpcID: "vpc-1"}}
		}, ""},
		{"insecure", func(f *Function) {
			f.CustomContainerConfig.RegistryConfig = &RegistryConfig{CertConfig: &RegistryCertConfig{Insecure: true}}
		}, "customContainerConfig.registryConfig.certConfig"},
		{"runtime config", func(f *Function) { f.CustomRuntimeConfig = &CustomRuntimeConfig{Port: 9000} }, "customRuntimeConfig"},
		{"health check", func(f *Function) {
			f.CustomContainerConfig.HealthCheckConfig = &HealthCheckConfig{HTTPGetURL: "/ready"}
		}, ""},
		{"bad health check", func(f *Function) {
			f.CustomContainerConfig.HealthCheckConfig = &HealthCheckConfig{HTTPGetURL: "ready"}
		}, "httpGetUrl"},
		{"container config on custom", func(f *Function) {
			f.Runtime = "custom"
			f.CustomRuntimeConfig = &CustomRuntimeConfig{Command: []string{"x"}}
		}, "customContainerConfig is only for runtime"},
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
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || !strings.Contains(fe.Message, tc.field) {
				t.Fatalf("got %v; want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
}

// The port of a custom container: fc3's customContainerConfig.port, else
// caPort, else 9000; its health check joins the other places.
func TestContainerPortAndHealthCheck(t *testing.T) {
	f := &Function{Runtime: RuntimeCustomContainer, CustomContainerConfig: &CustomContainerConfig{Image: "a"}}
	if f.Port() != DefaultCAPort {
		t.Fatalf("default port %d", f.Port())
	}
	f.CAPort = 8080
	if f.Port() != 8080 {
		t.Fatalf("caPort: %d", f.Port())
	}
	f.CustomContainerConfig.Port = 7000
	if f.Port() != 7000 {
		t.Fatalf("customContainerConfig.port: %d", f.Port())
	}
	if f.HealthCheck() != nil {
		t.Fatal("no health check expected")
	}
	hc := &HealthCheckConfig{HTTPGetURL: "/ready"}
	f.CustomContainerConfig.HealthCheckConfig = hc
	if f.HealthCheck() != hc {
		t.Fatal("customContainerConfig.healthCheckConfig not found")
	}
	if u, p := f.CustomContainerConfig.Credentials(); u != "" || p != "" {
		t.Fatalf("credentials %q %q", u, p)
	}
	f.CustomContainerConfig.RegistryConfig = &RegistryConfig{AuthConfig: &RegistryAuthConfig{UserName: "u", Password: "p"}}
	if u, p := f.CustomContainerConfig.Credentials(); u != "u" || p != "p" {
		t.Fatalf("credentials %q %q", u, p)
	}
}
