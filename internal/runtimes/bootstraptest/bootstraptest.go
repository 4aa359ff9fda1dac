// Package bootstraptest runs a built-in runtime's bootstrap the way an
// instance does (FC's environment, a port of its own) for the runtime
// packages' tests, and talks to it with FC's headers.
package bootstraptest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Token is the instance secret the tests give the bootstrap.
const Token = "test-runtime-token"

// Instance is a bootstrap started by a test.
type Instance struct {
	URL string
	Out *SyncBuffer // stdout and stderr, the instance's log
}

// SyncBuffer is a bytes.Buffer for a process's output, read while the
// process writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Interpreter returns bin when it is on PATH; a test without it fails:
// CI installs every runtime's interpreter (.ci/run).
func Interpreter(t *testing.T, bin string) string {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("no %s (CI installs it; locally: apt-get install it, or set the runtime's interpreter variable): %v", bin, err)
	}
	return bin
}

// Start runs interpreter with script (in the current directory, the
// runtime package's) on the handlers in testdata with FC's environment
// plus env (KEY=value), and waits until it listens. Its process group
// (a bootstrap may fork workers) is killed when the test ends.
func Start(t *testing.T, interpreter, script, handler string, env ...string) *Instance {
	t.Helper()
	port := freePort(t)
	code, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(interpreter, script)
	cmd.Env = append(os.Environ(),
		"FC_SERVER_PORT="+strconv.Itoa(port), "FC_FUNC_CODE_PATH="+code, "FC_FUNCTION_HANDLER="+handler,
		"FC_FUNCTION_NAME=fn", "FC_SERVICE_NAME=svc", "FC_FUNCTION_MEMORY_SIZE=128", "FC_TIMEOUT=30",
		"FC_REGION=cn-test", "FC_ACCOUNT_ID=1234", "FC_QUALIFIER=LATEST", "FC_INSTANCE_ID=i-1",
		"OPENFC_RUNTIME_TOKEN="+Token)
	cmd.Env = append(cmd.Env, env...)
	in := &Instance{URL: "http://127.0.0.1:" + strconv.Itoa(port), Out: &SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = in.Out, in.Out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", in.Out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return in
		}
		select {
		case <-done:
			t.Fatalf("bootstrap exited before listening:\n%s", in.Out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bootstrap not listening after 10s:\n%s", in.Out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Do sends one request with FC's headers (request id rid, control path
// /http-invoke unless hdr sets one) and returns the response with its
// body read.
func (in *Instance) Do(t *testing.T, method, path, rid string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Fc-Request-Id", rid)
	req.Header.Set("X-Fc-Control-Path", "/http-invoke")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// LogLines are the instance's output lines of FC's form
// "<time> <requestId> [LEVEL] <message>", by message.
func (in *Instance) LogLines() map[string][2]string {
	out := map[string][2]string{}
	for _, line := range strings.Split(in.Out.String(), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 || !strings.HasPrefix(f[2], "[") {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			continue
		}
		out[f[3]] = [2]string{f[1], strings.Trim(f[2], "[]")}
	}
	return out
}

// WaitLines is LogLines once every message in msgs is there (or after
// 5 s): output reaches the buffer through a pipe, after the answer.
func (in *Instance) WaitLines(msgs ...string) map[string][2]string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := in.LogLines()
		missing := false
		for _, m := range msgs {
			if _, ok := lines[m]; !ok {
				missing = true
			}
		}
		if !missing || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
}
