package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// containerBody is a create body for a custom-container function with the
// given customContainerConfig.
func containerBody(name string, cfg map[string]any) map[string]any {
	return map[string]any{
		"functionName":          name,
		"runtime":               "custom-container",
		"memorySize":            256,
		"customContainerConfig": cfg,
	}
}

// A custom-container function needs no code: both shapes of
// customContainerConfig are accepted, stored with FC 2.0's meaning, and
// GetFunction returns them in FC 2.0's form (command and args as strings
// holding JSON arrays).
func TestCustomContainerCreateAndGet(t *testing.T) {
	e := newEnv(t)
	e.createService("s")
	tests := []struct {
		name          string
		cfg           map[string]any
		caPort        int
		command, args []string
		port          int
	}{
		{"fc2", map[string]any{"image": "registry.example.com/team/app:v1", "command": `["/srv"]`, "args": `["-v"]`,
			"accelerationType": "Default", "instanceID": "cri-1", "webServerMode": true},
			8080, []string{"/srv"}, []string{"-v"}, 8080},
		{"fc3", map[string]any{"image": "localhost:5000/app@sha256:" + hex64, "entrypoint": []string{"/srv"}, "command": []string{"-v"}, "port": 9001,
			"healthCheckConfig": map[string]any{"httpGetUrl": "/ready"},
			"registryConfig":    map[string]any{"authConfig": map[string]any{"userName": "u", "password": "p"}}},
			0, []string{"/srv"}, []string{"-v"}, 9001},
		{"fc3-cmd", map[string]any{"image": "app", "command": []string{"--port", "9000"}}, 0, nil, []string{"--port", "9000"}, 9000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := containerBody(tt.name, tt.cfg)
			if tt.caPort != 0 {
				body["caPort"] = tt.caPort
			}
			var created fc.Function
			e.must(http.MethodPost, svcPath("s")+"/functions", body, &created)
			if created.CodeChecksum != "" || created.CodeSize != 0 {
				t.Errorf("a container function has no code: %q %d", created.CodeChecksum, created.CodeSize)
			}
			var got fc.Function
			e.must(http.MethodGet, fnPath("s", tt.name), nil, &got)
			c := got.CustomContainerConfig
			if c == nil || c.Image != tt.cfg["image"] || !slices.Equal(c.Command, tt.command) || !slices.Equal(c.Args, tt.args) || got.Port() != tt.port {
				t.Fatalf("GetFunction: %+v (port %d)", c, got.Port())
			}
			var raw map[string]any
			e.must(http.MethodGet, fnPath("s", tt.name), nil, &raw)
			cc, _ := raw["customContainerConfig"].(map[string]any)
			if tt.args != nil {
				if s, ok := cc["args"].(string); !ok || s != mustJSON(t, tt.args) {
					t.Errorf("args in GetFunction: %#v; want FC 2.0's string", cc["args"])
				}
			}
			if _, ok := cc["entrypoint"]; ok {
				t.Errorf("GetFunction has fc3's entrypoint: %v", cc)
			}
		})
	}
	var got fc.Function
	e.must(http.MethodGet, fnPath("s", "fc3"), nil, &got)
	if hc := got.HealthCheck(); hc == nil || hc.HTTPGetURL != "/ready" || hc.PeriodSeconds != 3 {
		t.Errorf("health check with defaults: %+v", hc)
	}
	if u, p := got.CustomContainerConfig.Credentials(); u != "u" || p != "p" {
		t.Errorf("registry credentials %q %q", u, p)
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// What the API cannot honour is refused with a 400 naming the field.
func TestCustomContainerRefusals(t *testing.T) {
	e := newEnv(t)
	e.createService("s")
	zip := appZip(t, "x")
	tests := []struct {
		name string
		body map[string]any
		msgs []string
	}{
		{"no config", containerBody("f", nil), []string{"customContainerConfig.image is required"}},
		{"no image", containerBody("f", map[string]any{"command": `["x"]`}), []string{"customContainerConfig.image is required"}},
		{"bad image", containerBody("f", map[string]any{"image": "Not An Image"}), []string{"customContainerConfig.image"}},
		{"code", func() map[string]any {
			b := containerBody("f", map[string]any{"image": "app"})
			b["code"] = map[string]any{"zipFile": b64(zip)}
			return b
		}(), []string{"code is not used"}},
		{"event container", containerBody("f", map[string]any{"image": "app", "webServerMode": false}), []string{"customContainerConfig.webServerMode"}},
		{"mixed shapes", containerBody("f", map[string]any{"image": "app", "entrypoint": []string{"a"}, "args": `["b"]`}), []string{"use one shape"}},
		{"command not JSON", containerBody("f", map[string]any{"image": "app", "command": "node app.js"}), []string{"customContainerConfig.command", "node app.js"}},
		{"cert config", containerBody("f", map[string]any{"image": "app", "registryConfig": map[string]any{"certConfig": map[string]any{"insecure": true}}}),
			[]string{"customContainerConfig.registryConfig.certConfig"}},
		{"acceleration", containerBody("f", map[string]any{"image": "app", "accelerationType": "Turbo"}), []string{"customContainerConfig.accelerationType"}},
		{"container config on custom", func() map[string]any {
			b := fnBody("f", zip)
			b["customContainerConfig"] = map[string]any{"image": "app"}
			return b
		}(), []string{"customContainerConfig is only for runtime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.do(http.MethodPost, svcPath("s")+"/functions", tt.body, nil)
			wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", tt.msgs...)
		})
	}
	if got := e.snapshot(); !slices.Equal(got, []string{"s"}) {
		t.Errorf("refused creates left %v", got)
	}
}

// A custom-runtime function becomes a container (its code is released)
// and back (code is then required).
func TestCustomContainerUpdate(t *testing.T) {
	e := newEnv(t)
	e.createService("s")
	created := e.createFunction("s", "f")
	zip := appZip(t, "s/f")
	if !e.codeStored(zip) {
		t.Fatal("code not stored")
	}
	patch := map[string]any{"runtime": "custom-container", "customRuntimeConfig": nil,
		"customContainerConfig": map[string]any{"image": "app:v2", "entrypoint": []string{"/srv"}}}
	var upd fc.Function
	e.must(http.MethodPut, fnPath("s", "f"), patch, &upd)
	if upd.CodeChecksum != "" || upd.CodeSize != 0 || upd.CustomContainerConfig == nil || upd.CustomContainerConfig.Image != "app:v2" {
		t.Fatalf("after the switch: %+v", upd)
	}
	if e.codeStored(zip) {
		t.Errorf("code %s of the former custom runtime is still stored", created.CodeChecksum)
	}
	// An update that leaves the container alone keeps it.
	e.must(http.MethodPut, fnPath("s", "f"), map[string]any{"timeout": 30}, &upd)
	if upd.Timeout != 30 || upd.CustomContainerConfig.Image != "app:v2" || !slices.Equal(upd.CustomContainerConfig.Command, []string{"/srv"}) {
		t.Fatalf("after a timeout update: %+v", upd.CustomContainerConfig)
	}
	back := map[string]any{"runtime": "custom.debian10", "customContainerConfig": nil,
		"customRuntimeConfig": map[string]any{"command": []string{"python3", "app.py"}}}
	_, err := e.do(http.MethodPut, fnPath("s", "f"), back, nil)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", "code is required")
	back["code"] = map[string]any{"zipFile": b64(zip)}
	upd = fc.Function{}
	e.must(http.MethodPut, fnPath("s", "f"), back, &upd)
	if upd.CodeChecksum == "" || upd.CustomContainerConfig != nil {
		t.Fatalf("back to a custom runtime: %+v", upd)
	}
	// Keeping customContainerConfig on a custom runtime is refused.
	_, err = e.do(http.MethodPut, fnPath("s", "f"), map[string]any{"customContainerConfig": map[string]any{"image": "app"}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidArgument", "customContainerConfig is only for runtime")
}
