package e2e

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveRefused runs a second `openfc serve` on dataDir, which must exit
// on its own; it returns its exit code and output, and how long it ran.
func serveRefused(t *testing.T, dataDir string) (int, string, time.Duration) {
	t.Helper()
	args, _ := serveArgs("--listen", "127.0.0.1:0", "--admin-listen", "", "--data", dataDir)
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("a second server on %s was still running after 20s:\n%s", dataDir, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), time.Since(began)
}

// kill9 kills the server with SIGKILL, as a crash or the OOM killer would.
func (s *server) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
	<-s.done
}

// One server per data dir: a second one exits at once, non-zero, naming
// the dir and the holder's pid, and the first keeps serving. A server
// killed with SIGKILL leaves no lock behind.
func TestOneServerPerDataDir(t *testing.T) {
	dir := t.TempDir()
	a := startServer(t, dir)
	a.deployEcho(echoOpts{service: "lock", name: "echo"})

	code, out, took := serveRefused(t, dir)
	if code == 0 {
		t.Fatalf("second server exited 0:\n%s", out)
	}
	if took > 10*time.Second {
		t.Errorf("second server took %v to give up", took)
	}
	pid := strconv.Itoa(a.cmd.Process.Pid)
	for _, want := range []string{dir, "pid " + pid, "one server per data dir"} {
		if !strings.Contains(out, want) {
			t.Errorf("second server's message does not name %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "openfc serving") {
		t.Errorf("second server served:\n%s", out)
	}
	if r := a.getEcho("/2016-08-15/proxy/lock/echo/still", nil); r.Path != "/still" {
		t.Fatalf("first server answered %+v after the second was refused", r)
	}

	a.kill9()
	b := startServer(t, dir)
	if r := b.getEcho("/2016-08-15/proxy/lock/echo/after", nil); r.Path != "/after" {
		t.Fatalf("restarted server answered %+v", r)
	}
	b.stop()
	c := startServer(t, dir) // a clean stop releases the lock too
	c.getEcho("/2016-08-15/proxy/lock/echo/again", nil)
}
