package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool is a program an e2e test runs that the test binary does not build
// itself. `make deps` provides each of them; a test whose tool is missing
// fails (never skips) with the command that installs it.
type tool struct {
	name string
	// env, when set in the environment, names the binary to use.
	env string
	// repoBin is where `make deps` puts it, relative to the repo root;
	// empty when it comes from the system's packages instead.
	repoBin string
	// path are the names looked up in PATH, in order.
	path []string
	// install is the exact command that provides it.
	install string
}

// natsServerTool is the external NATS server of the cluster test, built
// from the nats-server module version go.mod pins.
func natsServerTool() tool {
	return tool{
		name:    "nats-server",
		env:     "OPENFC_E2E_NATS_SERVER",
		repoBin: "bin/nats-server",
		path:    []string{"nats-server"},
		install: "make deps (it runs: go build -o bin/nats-server github.com/nats-io/nats-server/v2)",
	}
}

// chromiumTool is the browser of the CORS test.
func chromiumTool() tool {
	return tool{
		name:    "Chromium",
		env:     "OPENFC_E2E_CHROMIUM",
		path:    []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"},
		install: "make deps (as root with apt-get it runs: apt-get install -y chromium); otherwise: sudo apt-get update && sudo apt-get install -y chromium",
	}
}

// ipTool and nftTool show the host's links and rules to the instance
// network tests.
func ipTool() tool {
	return tool{name: "ip", path: []string{"ip"},
		install: "make deps (as root with apt-get it runs: apt-get install -y iproute2); otherwise: sudo apt-get install -y iproute2"}
}

func nftTool() tool {
	return tool{name: "nft", path: []string{"nft"},
		install: "make deps (as root with apt-get it runs: apt-get install -y nftables); otherwise: sudo apt-get install -y nftables"}
}

// find returns the tool's binary: $env, else root/repoBin, else the first
// of path found in PATH.
func (tl tool) find(root string, getenv func(string) string) (string, error) {
	if p := getenv(tl.env); tl.env != "" && p != "" {
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %v; unset it, or install %s with: %s", tl.env, p, err, tl.name, tl.install)
		}
		return p, nil
	}
	var looked []string
	if tl.repoBin != "" {
		p := filepath.Join(root, tl.repoBin)
		if isExecutable(p) == nil {
			return p, nil
		}
		looked = append(looked, p)
	}
	for _, n := range tl.path {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	looked = append(looked, strings.Join(tl.path, ", ")+" in PATH")
	return "", fmt.Errorf("%s not found (looked for %s; %s unset); install it with: %s",
		tl.name, strings.Join(looked, " and "), tl.env, tl.install)
}

// mustFind is find for a test: a missing tool fails it.
func (tl tool) mustFind(t *testing.T) string {
	t.Helper()
	p, err := tl.find(repoRoot(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// On a machine without the tools (no PATH entries, no bin/), the message
// is the command that installs each one.
func TestMissingToolNamesInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root := t.TempDir()
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		tl   tool
		want []string
	}{
		{natsServerTool(), []string{
			"nats-server not found",
			filepath.Join(root, "bin/nats-server"),
			"make deps",
			"go build -o bin/nats-server github.com/nats-io/nats-server/v2",
		}},
		{chromiumTool(), []string{
			"Chromium not found",
			"chromium, chromium-browser, google-chrome, google-chrome-stable in PATH",
			"make deps",
			"sudo apt-get update && sudo apt-get install -y chromium",
		}},
	} {
		p, err := tc.tl.find(root, noEnv)
		if err == nil {
			t.Fatalf("%s found at %s with an empty PATH", tc.tl.name, p)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: message %q does not contain %q", tc.tl.name, err, w)
			}
		}
	}
}

// The repo's bin/ comes before PATH, and the variable before both; a
// variable naming nothing is an error, not a fallback.
func TestToolLookupOrder(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root := t.TempDir()
	bin := filepath.Join(root, "bin", "nats-server")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tl := natsServerTool()
	if p, err := tl.find(root, func(string) string { return "" }); err != nil || p != bin {
		t.Fatalf("find = %q, %v; want %s", p, err, bin)
	}
	other := filepath.Join(t.TempDir(), "my-nats")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{tl.env: other}
	if p, err := tl.find(root, func(k string) string { return env[k] }); err != nil || p != other {
		t.Fatalf("find with %s = %q, %v; want %s", tl.env, p, err, other)
	}
	env[tl.env] = filepath.Join(root, "missing")
	if _, err := tl.find(root, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("find with %s naming nothing = %v, want an error naming make deps", tl.env, err)
	}
}

// runcTool runs the containers of custom-container functions.
func runcTool() tool {
	return tool{name: "runc", path: []string{"runc"},
		install: "make deps (as root with apt-get it runs: apt-get install -y runc); otherwise: sudo apt-get install -y runc"}
}
