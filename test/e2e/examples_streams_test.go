package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// exampleDeploy builds an example's server into a copy of the example
// (its s.yaml and a code directory with the bootstrap) and deploys it
// from its own s.yaml, as its README says.
func exampleDeploy(t *testing.T, s *server, example string) {
	t.Helper()
	dir := t.TempDir()
	y, err := os.ReadFile(filepath.Join(repoRoot(), "examples", example, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	goBuild(t, "./examples/"+example+"/server", filepath.Join(dir, "code", "bootstrap"))
	s.cli("deploy", "-f", filepath.Join(dir, "s.yaml"))
}

// TestExampleGRPCEcho: the gRPC example deployed from its s.yaml answers
// its own client, unary and streaming, through the trigger subdomain.
func TestExampleGRPCEcho(t *testing.T) {
	s := startServer(t, "")
	exampleDeploy(t, s, "grpc-echo")
	host := triggerHost(t, s, "demo/grpc-echo")
	client := filepath.Join(t.TempDir(), "client")
	goBuild(t, "./examples/grpc-echo/client", client)
	addr := strings.TrimPrefix(s.URL, "http://")
	out, err := exec.Command(client, "-addr", addr, "-authority", host, "-message", "hi there").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "hi there (request ") {
		t.Errorf("unary: %v\n%s", err, out)
	}
	out, err = exec.Command(client, "-addr", addr, "-authority", host, "-count", "3").CombinedOutput()
	if err != nil || strings.Count(string(out), ": hello (request ") != 3 || !strings.Contains(string(out), "3: hello") {
		t.Errorf("stream: %v\n%s", err, out)
	}
}

// TestExampleWebSocketChat: the chat example deployed from its s.yaml
// serves its page, and what one member says reaches every member.
func TestExampleWebSocketChat(t *testing.T) {
	s := startServer(t, "")
	exampleDeploy(t, s, "websocket-chat")
	s.cli("scaling", "set", "demo/chat", "--max", "1")
	resp, body := s.do("GET", "/2016-08-15/proxy/demo/chat/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "new WebSocket") {
		t.Fatalf("the page: %d %.200s", resp.StatusCode, body)
	}
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/2016-08-15/proxy/demo/chat/chat"
	alice, bob := wsDial(t, url), wsDial(t, url)
	ctx := ctxFor(t, 30*time.Second)
	// Bob may not have joined the room when Alice first speaks: she
	// repeats herself until he hears her. (A read cut by its context
	// closes a connection: Bob reads once, on his own goroutine.)
	heard := make(chan string, 1)
	go func() {
		_, got, err := bob.Read(ctx)
		if err != nil {
			got = []byte(err.Error())
		}
		heard <- string(got)
	}()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for got := ""; got == ""; {
		if err := alice.Write(ctx, websocket.MessageText, []byte("hi bob")); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-heard:
			if got != "hi bob" {
				t.Fatalf("bob got %q; want \"hi bob\"", got)
			}
		case <-tick.C:
		}
	}
	if _, got, err := alice.Read(ctx); err != nil || string(got) != "hi bob" {
		t.Errorf("alice got %q, %v; want her own \"hi bob\"", got, err)
	}
}
