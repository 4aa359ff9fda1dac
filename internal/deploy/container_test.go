package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// An fc3 custom container: entrypoint and command (lists), port, health
// check and registry credentials; no code needed.
const fc3Container = `
edition: 3.0.0
name: app
resources:
  web:
    component: fc3
    props:
      functionName: web
      runtime: custom-container
      memorySize: 256
      customContainerConfig:
        image: registry.example.com/team/web:v1
        entrypoint: [/srv/web]
        command: ["--port", "9000"]
        port: 9000
        healthCheckConfig: {httpGetUrl: /ready}
        registryConfig:
          authConfig: {userName: bob, password: "${env(REG_PASSWORD)}"}
          networkConfig: {vpcId: vpc-1}
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig: {authType: anonymous, methods: [GET]}
`

// An FC 2.0 fc-component custom container, as its docs write it: command
// and args are strings holding JSON arrays, and codeUri is carried along.
const fc2Container = `
edition: 1.0.0
name: app
services:
  web:
    component: fc
    props:
      service: {name: svc}
      function:
        name: web
        runtime: custom-container
        codeUri: ./
        handler: not-used
        caPort: 8080
        customContainerConfig:
          image: registry.example.com/team/web:v1
          command: '["/srv/web"]'
          args: '["--port", "8080"]'
          accelerationType: Default
          instanceID: cri-xxxx
          webServerMode: true
`

func TestParseContainerFC3(t *testing.T) {
	plan, notices, err := Parse("/x/s.yaml", doc(fc3Container), env(map[string]string{"REG_PASSWORD": "pw"}), "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	checkNotices(t, notices, nil)
	fp := plan.Services[0].Functions[0]
	f := fp.Function
	c := f.CustomContainerConfig
	if fp.CodeDir != "" || c == nil {
		t.Fatalf("code dir %q, config %+v", fp.CodeDir, c)
	}
	if c.Image != "registry.example.com/team/web:v1" || !slices.Equal(c.Command, []string{"/srv/web"}) || !slices.Equal(c.Args, []string{"--port", "9000"}) {
		t.Errorf("entrypoint/command not read as command/args: %+v", c)
	}
	if f.Port() != 9000 || f.HealthCheck() == nil || f.HealthCheck().PeriodSeconds != 3 {
		t.Errorf("port %d health check %+v", f.Port(), f.HealthCheck())
	}
	if u, p := c.Credentials(); u != "bob" || p != "pw" {
		t.Errorf("credentials %q %q", u, p)
	}
	if c.RegistryConfig.NetworkConfig == nil || c.RegistryConfig.NetworkConfig.VpcID != "vpc-1" {
		t.Errorf("network config %+v", c.RegistryConfig.NetworkConfig)
	}
}

func TestParseContainerFC2(t *testing.T) {
	plan, notices, err := Parse("/x/s.yaml", doc(fc2Container), nil, "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(string(notices[0]), "services.web.props.function.codeUri: a custom-container function runs customContainerConfig.image") {
		t.Errorf("notices %q; want one about codeUri", notices)
	}
	fp := plan.Services[0].Functions[0]
	c := fp.Function.CustomContainerConfig
	if fp.CodeDir != "" || c == nil || !slices.Equal(c.Command, []string{"/srv/web"}) || !slices.Equal(c.Args, []string{"--port", "8080"}) {
		t.Fatalf("code dir %q, config %+v", fp.CodeDir, c)
	}
	if fp.Function.Port() != 8080 || c.AccelerationType != "Default" || c.InstanceID != "cri-xxxx" || c.WebServerMode == nil || !*c.WebServerMode {
		t.Errorf("function %+v config %+v", fp.Function, c)
	}
	// YAML lists are read as well.
	src := strings.Replace(fc2Container, `command: '["/srv/web"]'`, `command: [/srv/web, -x]`, 1)
	plan, _, err = Parse("/x/s.yaml", doc(src), nil, "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Services[0].Functions[0].Function.CustomContainerConfig.Command; !slices.Equal(got, []string{"/srv/web", "-x"}) {
		t.Errorf("list command %q", got)
	}
}

func TestParseContainerErrors(t *testing.T) {
	tests := []struct {
		name, src, old, new, want string
	}{
		{"fc3 image missing", fc3Container, "        image: registry.example.com/team/web:v1\n", "",
			"customContainerConfig.image is required"},
		{"fc3 args is fc2's", fc3Container, "port: 9000", "args: [x]",
			`resources.web.props.customContainerConfig.args: unknown key "args" in customContainerConfig`},
		{"fc3 entrypoint string", fc3Container, "entrypoint: [/srv/web]", "entrypoint: /srv/web",
			"resources.web.props.customContainerConfig.entrypoint: expected a list"},
		{"fc3 insecure", fc3Container, "networkConfig: {vpcId: vpc-1}", "certConfig: {insecure: true}",
			"customContainerConfig.registryConfig.certConfig is not supported"},
		{"fc2 command not JSON", fc2Container, `command: '["/srv/web"]'`, `command: /srv/web`,
			`services.web.props.function.customContainerConfig.command: expected a JSON array of strings`},
		{"fc2 entrypoint is fc3's", fc2Container, "instanceID: cri-xxxx", "entrypoint: [x]",
			`unknown key "entrypoint" in customContainerConfig`},
		{"fc2 event container", fc2Container, "webServerMode: true", "webServerMode: false",
			"customContainerConfig.webServerMode false"},
		{"fc2 bad image", fc2Container, "image: registry.example.com/team/web:v1", "image: Web",
			`customContainerConfig.image "Web" is not an image reference`},
		{"config on a custom runtime", fc2Container, "runtime: custom-container", "runtime: custom",
			"customContainerConfig is only for runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(tt.src, tt.old, tt.new, 1)
			if src == tt.src {
				t.Fatalf("%q not found in the sample", tt.old)
			}
			_, _, err := Parse("/x/s.yaml", doc(src), env(map[string]string{"REG_PASSWORD": "pw"}), "cn-hangzhou")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// The runtime is still FC's to name: a custom container is runnable.
func TestParseContainerRuntimeRunnable(t *testing.T) {
	if err := fc.ValidateRuntime(fc.RuntimeCustomContainer); err != nil {
		t.Fatal(err)
	}
}
