package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNATS runs a real nats-server with JetStream on a free port: the
// one `make deps` builds into bin/, else one from PATH.
func startNATS(t *testing.T) string {
	t.Helper()
	bin := natsServerTool().mustFind(t)
	t.Logf("nats-server: %s", bin)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", t.TempDir())
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	waitFor(t, 10*time.Second, func() error {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		c.Close()
		if !strings.Contains(log.String(), "Server is ready") {
			return fmt.Errorf("nats-server not ready yet")
		}
		return nil
	})
	return url
}

// Two openfc nodes share one external NATS JetStream: a function deployed
// through one node is served by the other, which runs its own instance.
func TestExternalNATSTwoNodes(t *testing.T) {
	url := startNATS(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url)
	a.deployEcho(echoOpts{service: "shared", name: "echo"})

	var r echoReply
	waitFor(t, 10*time.Second, func() error {
		resp, body := b.do("GET", "/2016-08-15/proxy/shared/echo/via-b", nil, nil)
		if resp.StatusCode != 200 {
			return fmt.Errorf("node b: %d %s", resp.StatusCode, body)
		}
		return nil
	})
	r = b.getEcho("/2016-08-15/proxy/shared/echo/via-b", nil)
	if r.Name != "echo" || r.Path != "/via-b" {
		t.Fatalf("node b answered %+v", r)
	}
	if !strings.HasPrefix(r.CWD, b.dataDir) {
		t.Errorf("node b's instance runs in %s; want its own data dir %s", r.CWD, b.dataDir)
	}
	// The embedded server was not used: no JetStream store in the data dir.
	if _, err := os.Stat(filepath.Join(a.dataDir, "jetstream")); err == nil {
		t.Errorf("node a created an embedded JetStream store although --nats was given")
	}
	out := b.cli("functions", "list", "shared")
	if !strings.Contains(out, "echo") {
		t.Fatalf("node b does not list the function deployed through node a:\n%s", out)
	}
}

// An access key is one for every node: made through node a, it signs a
// trigger call on node b (which unsealed it from the shared store), and
// deleted through node a, it stops working on node b within a second.
func TestExternalNATSAccessKeyOnEveryNode(t *testing.T) {
	url := startNATS(t)
	a := startServer(t, "", "--nats", url)
	b := startServer(t, "", "--nats", url)
	a.deployAuthEcho("keys", "echo")
	k := a.createKey("--invoke-only", "--resource", "keys/echo")

	waitFor(t, 10*time.Second, func() error {
		if resp, body := b.triggerCall(creds(k), "keys", "echo"); resp.StatusCode != 200 {
			return fmt.Errorf("node b: %d %s", resp.StatusCode, body)
		}
		return nil
	})
	a.cli("keys", "delete", k.AccessKeyID)
	deleted := time.Now()
	waitFor(t, time.Second, func() error {
		if resp, body := b.triggerCall(creds(k), "keys", "echo"); resp.StatusCode != 403 {
			return fmt.Errorf("node b still takes the deleted key: %d %s", resp.StatusCode, body)
		}
		return nil
	})
	t.Logf("node b refused the deleted key %v after the delete through node a", time.Since(deleted).Round(time.Millisecond))
	resp, body := b.triggerCall(creds(k), "keys", "echo")
	expectError(t, "deleted key on node b", resp, body, 403, "InvalidAccessKeyID")
}
